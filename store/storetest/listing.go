package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"briefcast/store"
	"briefcast/subscribers"
)

func testKeysetStreaming(t *testing.T, st *store.DB) {
	ctx := context.Background()
	const total = 2500
	c := mustImport(t, st, importRows(total, "daily"))
	if c.Added != total {
		t.Fatalf("imported %+v, want %d added", c, total)
	}
	var ids []int64
	after := int64(0)
	for pages := 0; ; pages++ {
		if pages > total {
			t.Fatal("List never ends")
		}
		got := 0
		err := st.List(ctx, subscribers.Filter{AfterID: after, Limit: 700}, func(s *subscribers.Subscriber) error {
			ids = append(ids, s.ID)
			after = s.ID
			got++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got > 700 {
			t.Fatalf("page of %d rows, limit 700", got)
		}
		if got == 0 {
			break
		}
	}
	if len(ids) != total {
		t.Fatalf("streamed %d rows, want %d", len(ids), total)
	}
	if !sort.SliceIsSorted(ids, func(i, j int) bool { return ids[i] < ids[j] }) {
		t.Error("rows not in id order")
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			t.Fatalf("id %d seen twice", ids[i])
		}
	}
	// An error from fn stops the walk and comes back.
	stop := errors.New("stop")
	n := 0
	err := st.List(ctx, subscribers.Filter{}, func(*subscribers.Subscriber) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("List after fn error: got %v after %d rows, want stop after 3", err, n)
	}
}

func testListFilters(t *testing.T, st *store.DB) {
	ctx := context.Background()
	a := mustCreate(t, st, &subscribers.Subscriber{Email: "a@example.com", Status: subscribers.Active, Digests: []string{"daily"}})
	mustCreate(t, st, &subscribers.Subscriber{Email: "b@example.com", Status: subscribers.Pending, Digests: []string{"daily", "weekly"}})
	mustCreate(t, st, &subscribers.Subscriber{Email: "c@example.com", Status: subscribers.Active, Digests: []string{"weekly"}})
	mustCreate(t, st, &subscribers.Subscriber{Email: "d@example.com", Status: subscribers.Active})
	tests := []struct {
		name string
		f    subscribers.Filter
		want []string
	}{
		{"all", subscribers.Filter{}, []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"}},
		{"active", subscribers.Filter{Status: subscribers.Active}, []string{"a@example.com", "c@example.com", "d@example.com"}},
		{"daily", subscribers.Filter{Digest: "daily"}, []string{"a@example.com", "b@example.com"}},
		{"active weekly", subscribers.Filter{Digest: "weekly", Status: subscribers.Active}, []string{"c@example.com"}},
		{"after a", subscribers.Filter{AfterID: a.ID, Limit: 2}, []string{"b@example.com", "c@example.com"}},
		{"none", subscribers.Filter{Digest: "monthly"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, listEmails(t, st, tt.f)); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}
	// Changing digests moves a subscriber between digest lists.
	if err := st.UpdatePreferences(ctx, a.ID, subscribers.Preferences{Digests: []string{"weekly"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b@example.com"}, listEmails(t, st, subscribers.Filter{Digest: "daily"})); diff != "" {
		t.Errorf("daily after change (-want +got):\n%s", diff)
	}
}

func testCounts(t *testing.T, st *store.DB) {
	ctx := context.Background()
	got, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum(got) != 0 {
		t.Errorf("empty store counts %v", got)
	}
	statuses := []subscribers.Status{subscribers.Active, subscribers.Active, subscribers.Pending, subscribers.Bounced}
	for i, s := range statuses {
		mustCreate(t, st, &subscribers.Subscriber{Email: fmt.Sprintf("c%d@example.com", i), Status: s})
	}
	got, err = st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[subscribers.Status]int64{subscribers.Active: 2, subscribers.Pending: 1, subscribers.Bounced: 1, subscribers.Unsubscribed: 0, subscribers.Complained: 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func testHistory(t *testing.T, st *store.DB) {
	ctx := context.Background()
	a := mustCreate(t, st, &subscribers.Subscriber{Email: "h1@example.com", Status: subscribers.Active})
	mustCreate(t, st, &subscribers.Subscriber{Email: "h2@example.com", Status: subscribers.Active})
	p := mustCreate(t, st, &subscribers.Subscriber{Email: "h3@example.com", Status: subscribers.Pending})
	mustImport(t, st, []subscribers.ImportRow{{Email: "h4@example.com"}, {Email: "h5@example.com", Status: subscribers.Pending}})
	if err := st.SetStatus(ctx, p.ID, subscribers.Active, "confirmed"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetStatus(ctx, a.ID, subscribers.Unsubscribed, "link"); err != nil {
		t.Fatal(err)
	}
	if err := st.Forget(ctx, "h2@example.com"); err != nil {
		t.Fatal(err)
	}
	// Active now: h3, h4.
	now := time.Now().UTC()
	tomorrow := now.Add(24 * time.Hour)
	got, err := st.History(ctx, 3, tomorrow)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	want := []subscribers.DayCount{
		{Day: today.AddDate(0, 0, -1), Active: 0},
		{Day: today, Active: 2},
		{Day: today.AddDate(0, 0, 1), Active: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	if got, err := st.History(ctx, 0, now); err != nil || len(got) != 0 {
		t.Errorf("History(0) = %v, %v", got, err)
	}
}
