package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"briefcast/store"
	"briefcast/subscribers"
)

// testSubscribeOutcomes: a sign-up creates a new address, brings back a
// suppressed one with the new choices, and leaves a pending or active
// subscriber's stored spelling and choices alone.
func testSubscribeOutcomes(t *testing.T, st *store.DB) {
	ctx := context.Background()
	tests := []struct {
		from        subscribers.Status // "" = new address
		active      bool
		wantOutcome subscribers.Outcome
		wantStatus  subscribers.Status
		wantNew     bool // the request's name, digests, tags and zone are stored
	}{
		{"", false, subscribers.Created, subscribers.Pending, true},
		{"", true, subscribers.Created, subscribers.Active, true},
		{subscribers.Pending, false, subscribers.StillPending, subscribers.Pending, false},
		{subscribers.Pending, true, subscribers.Refreshed, subscribers.Active, false},
		{subscribers.Active, false, subscribers.Unchanged, subscribers.Active, false},
		{subscribers.Active, true, subscribers.Unchanged, subscribers.Active, false},
		{subscribers.Unsubscribed, false, subscribers.Refreshed, subscribers.Pending, true},
		{subscribers.Unsubscribed, true, subscribers.Refreshed, subscribers.Active, true},
		{subscribers.Bounced, false, subscribers.Refreshed, subscribers.Pending, true},
		{subscribers.Complained, true, subscribers.Refreshed, subscribers.Active, true},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s active=%v", tt.from, tt.active), func(t *testing.T) {
			email := fmt.Sprintf("Sub%d@example.com", i)
			var before *subscribers.Subscriber
			if tt.from != "" {
				before = mustCreate(t, st, &subscribers.Subscriber{Email: email, Name: "Old Name", Status: tt.from,
					Digests: []string{"daily"}, Timezone: "Europe/Oslo"})
			}
			consent := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
			got, out, err := st.Subscribe(ctx, subscribers.SubscribeRequest{
				Email: strings.ToUpper(email), Name: "New Name", Digests: []string{"weekly"}, Tags: []string{"space"}, Timezone: "Asia/Tokyo",
				Active: tt.active, Source: subscribers.SourceForm, ConsentAt: consent, ConsentIP: "198.51.100.1", ConsentText: "ok",
			})
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.wantOutcome || got.Status != tt.wantStatus {
				t.Errorf("got %s/%s, want %s/%s", out, got.Status, tt.wantOutcome, tt.wantStatus)
			}
			stored := mustGet(t, st, email)
			if stored.Status != tt.wantStatus || stored.ID != got.ID {
				t.Errorf("stored %d/%s, want %d/%s", stored.ID, stored.Status, got.ID, tt.wantStatus)
			}
			wantEmail := email
			if before == nil {
				wantEmail = strings.ToUpper(email[:len(email)-len("@example.com")]) + "@example.com"
			}
			if stored.Email != wantEmail || got.Email != wantEmail {
				t.Errorf("address stored as %q, returned as %q; want %q", stored.Email, got.Email, wantEmail)
			}
			want := subscribers.Preferences{Digests: []string{"daily"}, Timezone: "Europe/Oslo"}
			wantName := "Old Name"
			if tt.wantNew {
				want = subscribers.Preferences{Digests: []string{"weekly"}, Tags: []string{"space"}, Timezone: "Asia/Tokyo"}
				wantName = "New Name"
			}
			gotPrefs := subscribers.Preferences{Digests: stored.Digests, Tags: stored.Tags, Timezone: stored.Timezone}
			if diff := cmp.Diff(want, gotPrefs); diff != "" || stored.Name != wantName {
				t.Errorf("name %q (want %q); preferences (-want +got):\n%s", stored.Name, wantName, diff)
			}
			if !tt.wantNew && tt.wantOutcome != subscribers.Refreshed && !stored.ConsentAt.IsZero() {
				t.Errorf("consent of a subscriber already there replaced: %v", stored.ConsentAt)
			}
			if tt.wantStatus == subscribers.Active && stored.ConfirmedAt.IsZero() {
				t.Error("active without ConfirmedAt")
			}
			if !stored.UnsubscribedAt.IsZero() {
				t.Error("UnsubscribedAt kept after subscribing again")
			}
			if sup, err := st.Suppressed(ctx, email); err != nil || sup {
				t.Errorf("Suppressed after subscribe = %v, %v; want false", sup, err)
			}
		})
	}
}

func testSetStatusEvents(t *testing.T, st *store.DB) {
	ctx := context.Background()
	s := mustCreate(t, st, &subscribers.Subscriber{Email: "ev@example.com"})
	steps := []struct {
		to     subscribers.Status
		reason string
	}{
		{subscribers.Active, "confirmed"},
		{subscribers.Active, "again"}, // no change, no event
		{subscribers.Unsubscribed, "link"},
		{subscribers.Active, "cli"},
		{subscribers.Bounced, "550 5.1.1"},
	}
	for _, step := range steps {
		if err := st.SetStatus(ctx, s.ID, step.to, step.reason); err != nil {
			t.Fatalf("SetStatus(%s): %v", step.to, err)
		}
		got, err := st.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != step.to {
			t.Errorf("status %s, want %s", got.Status, step.to)
		}
		if step.to == subscribers.Unsubscribed && got.UnsubscribedAt.IsZero() {
			t.Error("UnsubscribedAt not set")
		}
		if step.to == subscribers.Active && got.ConfirmedAt.IsZero() {
			t.Error("ConfirmedAt not set")
		}
	}
	if err := st.SetStatus(ctx, s.ID, "nonsense", "x"); err == nil {
		t.Error("SetStatus accepted an unknown status")
	}
	evs, err := st.Events(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	type tr struct {
		From, To subscribers.Status
		Reason   string
	}
	var got []tr
	for i, e := range evs {
		got = append(got, tr{e.From, e.To, e.Reason})
		if e.SubscriberID != s.ID || e.At.IsZero() || (i > 0 && e.At.Before(evs[i-1].At)) {
			t.Errorf("event %d: %+v", i, e)
		}
	}
	want := []tr{
		{"", subscribers.Pending, "test"},
		{subscribers.Pending, subscribers.Active, "confirmed"},
		{subscribers.Active, subscribers.Unsubscribed, "link"},
		{subscribers.Unsubscribed, subscribers.Active, "cli"},
		{subscribers.Active, subscribers.Bounced, "550 5.1.1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func testSuppression(t *testing.T, st *store.DB) {
	ctx := context.Background()
	for _, status := range []subscribers.Status{subscribers.Pending, subscribers.Active, subscribers.Unsubscribed, subscribers.Bounced, subscribers.Complained} {
		email := string(status) + "@example.com"
		mustCreate(t, st, &subscribers.Subscriber{Email: email, Status: status})
		got, err := st.Suppressed(ctx, strings.ToUpper(email))
		if err != nil {
			t.Fatal(err)
		}
		if got != status.Suppressed() {
			t.Errorf("Suppressed(%s) = %v, want %v", status, got, status.Suppressed())
		}
	}
	if got, err := st.Suppressed(ctx, "stranger@example.com"); err != nil || got {
		t.Errorf("Suppressed(unknown) = %v, %v; want false", got, err)
	}
}
