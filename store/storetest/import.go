package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"briefcast/store"
	"briefcast/subscribers"
)

func testImport(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustCreate(t, st, &subscribers.Subscriber{Email: "old@example.com", Name: "Old", Status: subscribers.Pending, Digests: []string{"weekly"}, Timezone: "UTC"})
	rows := []subscribers.ImportRow{
		{Line: 2, Email: "new1@example.com", Name: "One", Digests: []string{"daily"}, Tags: []string{"a", "b"}, Timezone: "Europe/Berlin"},
		{Line: 3, Email: "New2@Example.COM", Status: subscribers.Pending},
		{Line: 4, Email: "OLD@example.com", Name: "Older"},           // name changes, rest kept
		{Line: 5, Email: "not-an-address"},                           // rejected
		{Line: 6, Email: "new1@EXAMPLE.com"},                         // duplicate in batch: rejected
		{Line: 7, Email: "tz@example.com", Timezone: "Mars/Olympus"}, // rejected
	}
	c := mustImport(t, st, rows)
	if want := (subscribers.ImportCounts{Added: 2, Updated: 1, Rejected: 3}); c != want {
		t.Errorf("first import: got %+v, want %+v", c, want)
	}
	n1 := mustGet(t, st, "new1@example.com")
	if n1.Status != subscribers.Active || n1.Source != subscribers.SourceImport || n1.Name != "One" ||
		!cmp.Equal(n1.Digests, []string{"daily"}) || !cmp.Equal(n1.Tags, []string{"a", "b"}) || n1.Timezone != "Europe/Berlin" {
		t.Errorf("new1 = %+v", n1)
	}
	if n2 := mustGet(t, st, "new2@example.com"); n2.Status != subscribers.Pending || n2.Email != "New2@example.com" {
		t.Errorf("new2 = %+v", n2)
	}
	old := mustGet(t, st, "old@example.com")
	if old.Name != "Older" || old.Status != subscribers.Pending || !cmp.Equal(old.Digests, []string{"weekly"}) || old.Timezone != "UTC" {
		t.Errorf("old = %+v", old)
	}
	evs, err := st.Events(ctx, n1.ID)
	if err != nil || len(evs) != 1 || evs[0].Reason != "import" || evs[0].To != subscribers.Active {
		t.Errorf("events of an imported subscriber: %+v, %v", evs, err)
	}
	before := old.UpdatedAt
	// The same batch again changes nothing.
	c = mustImport(t, st, rows)
	if want := (subscribers.ImportCounts{Unchanged: 3, Rejected: 3}); c != want {
		t.Errorf("second import: got %+v, want %+v", c, want)
	}
	if again := mustGet(t, st, "old@example.com"); !again.UpdatedAt.Equal(before) {
		t.Error("an unchanged row was written")
	}
	// Explicit changes apply, with an event for the status.
	c = mustImport(t, st, []subscribers.ImportRow{
		{Email: "old@example.com", Status: subscribers.Active, Digests: []string{"daily", "weekly"}},
		{Email: "new1@example.com", Tags: []string{}}, // empty list: keep
	})
	if want := (subscribers.ImportCounts{Updated: 1, Unchanged: 1}); c != want {
		t.Errorf("third import: got %+v, want %+v", c, want)
	}
	old = mustGet(t, st, "old@example.com")
	if old.Status != subscribers.Active || !cmp.Equal(old.Digests, []string{"daily", "weekly"}) {
		t.Errorf("old after update = %+v", old)
	}
	if got := listEmails(t, st, subscribers.Filter{Digest: "daily", Status: subscribers.Active}); !cmp.Equal(got, []string{"old@example.com", "new1@example.com"}) {
		t.Errorf("active daily = %v", got)
	}
	evs, _ = st.Events(ctx, old.ID)
	if last := evs[len(evs)-1]; last.From != subscribers.Pending || last.To != subscribers.Active || last.Reason != "import" {
		t.Errorf("last event %+v", last)
	}
	if c := mustImport(t, st, nil); c != (subscribers.ImportCounts{}) {
		t.Errorf("empty import: %+v", c)
	}
}

func testImportSuppressed(t *testing.T, st *store.DB) {
	for _, status := range []subscribers.Status{subscribers.Unsubscribed, subscribers.Bounced, subscribers.Complained} {
		t.Run(string(status), func(t *testing.T) {
			email := "sup-" + string(status) + "@example.com"
			mustCreate(t, st, &subscribers.Subscriber{Email: email, Status: status})
			c := mustImport(t, st, []subscribers.ImportRow{{Email: email, Status: subscribers.Active}})
			if c != (subscribers.ImportCounts{Suppressed: 1}) {
				t.Errorf("status-only row: %+v, want 1 suppressed", c)
			}
			c = mustImport(t, st, []subscribers.ImportRow{{Email: email, Name: "Renamed", Status: subscribers.Active}})
			if c != (subscribers.ImportCounts{Suppressed: 1}) {
				t.Errorf("row with a new name: %+v, want 1 suppressed", c)
			}
			if got := mustGet(t, st, email); got.Status != status || got.Name != "Renamed" {
				t.Errorf("got %s %q, want %s \"Renamed\"", got.Status, got.Name, status)
			}
			// A row that leaves the status alone (or repeats it) is an
			// ordinary update.
			c = mustImport(t, st, []subscribers.ImportRow{{Email: email, Name: "Again", Status: status}})
			if c != (subscribers.ImportCounts{Updated: 1}) {
				t.Errorf("row keeping the status: %+v, want 1 updated", c)
			}
		})
	}
}
