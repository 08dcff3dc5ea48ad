package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"briefcast/editions"
	"briefcast/store"
	"briefcast/subscribers"
)

func testRecordResults(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustActive(t, st, "daily", 5)
	e := mustEdition(t, st, "daily", "k", 0)
	ds := mustClaim(t, st, e.ID, "a", 10, edT0)
	if len(ds) != 5 {
		t.Fatalf("claim got %d, want 5", len(ds))
	}
	at := edT0.Add(time.Minute)
	bounceReply := "550 5.1.1 mailbox unknown"
	results := []editions.Result{
		sent(ds[0], at),
		{DeliveryID: ds[1].ID, SubscriberID: ds[1].Subscriber.ID, State: editions.DeliveryRetrying, Attempts: 1,
			LastReply: "451 4.3.0 later", NextAttempt: at.Add(5 * time.Minute), At: at},
		{DeliveryID: ds[2].ID, SubscriberID: ds[2].Subscriber.ID, State: editions.DeliveryFailed, Attempts: 1,
			LastReply: "554 5.7.1 rejected", At: at},
		{DeliveryID: ds[3].ID, SubscriberID: ds[3].Subscriber.ID, State: editions.DeliveryFailed, Attempts: 1,
			LastReply: bounceReply, At: at, Bounce: true},
		{DeliveryID: ds[4].ID, SubscriberID: ds[4].Subscriber.ID, State: editions.DeliverySkipped, At: at},
	}
	mustRecord(t, st, results...)
	want := editions.Progress{Sent: 1, Retrying: 1, Failed: 2, Skipped: 1}
	if diff := cmp.Diff(want, mustProgress(t, st, e.ID)); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}

	fails, err := st.Failures(ctx, e.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var gotFails []string
	for _, f := range fails {
		gotFails = append(gotFails, fmt.Sprintf("%d %s %d %s", f.Subscriber.ID, f.State, f.Attempts, f.LastReply))
	}
	wantFails := []string{
		fmt.Sprintf("%d retrying 1 451 4.3.0 later", ds[1].Subscriber.ID),
		fmt.Sprintf("%d failed 1 554 5.7.1 rejected", ds[2].Subscriber.ID),
		fmt.Sprintf("%d failed 1 %s", ds[3].Subscriber.ID, bounceReply),
	}
	sort.Strings(gotFails)
	sort.Strings(wantFails)
	if diff := cmp.Diff(wantFails, gotFails); diff != "" {
		t.Errorf("Failures (-want +got):\n%s", diff)
	}
	if fails, err := st.Failures(ctx, e.ID, 1); err != nil || len(fails) != 1 {
		t.Errorf("Failures(limit 1) = %d, %v; want 1", len(fails), err)
	}

	// The hard bounce marked its subscriber bounced, with the reply as the
	// reason; the plain failure did not.
	bounced, err := st.Get(ctx, ds[3].Subscriber.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bounced.Status != subscribers.Bounced {
		t.Errorf("bounced subscriber status = %s, want bounced", bounced.Status)
	}
	evs, err := st.Events(ctx, bounced.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.From != subscribers.Active || last.To != subscribers.Bounced || last.Reason != bounceReply {
		t.Errorf("last event = %s -> %s (%q), want active -> bounced (%q)", last.From, last.To, last.Reason, bounceReply)
	}
	if other, err := st.Get(ctx, ds[2].Subscriber.ID); err != nil || other.Status != subscribers.Active {
		t.Errorf("failed (not bounced) subscriber = %v, %v; want still active", other, err)
	}

	// A late result for a delivery another sender already finished (its
	// lease had expired) does not undo the send; a second bounce of the
	// same subscriber records nothing more.
	late := results[0]
	late.State, late.LastReply = editions.DeliveryRetrying, "421 late"
	again := results[3]
	mustRecord(t, st, late, again)
	if diff := cmp.Diff(want, mustProgress(t, st, e.ID)); diff != "" {
		t.Errorf("progress after late results (-want +got):\n%s", diff)
	}
	if evs2, err := st.Events(ctx, bounced.ID); err != nil || len(evs2) != len(evs) {
		t.Errorf("events after a repeated bounce: %d, %v; want %d", len(evs2), err, len(evs))
	}
	if err := st.RecordResults(ctx, []editions.Result{{DeliveryID: ds[0].ID, State: editions.DeliveryQueued}}); err == nil {
		t.Error("RecordResults accepted state queued")
	}
}

func testProgressAndFinish(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustActive(t, st, "daily", 3)
	older := mustEdition(t, st, "daily", "k1", 0)
	newer := mustEdition(t, st, "daily", "k2", 24)

	finish := func(id int64, now time.Time) bool {
		t.Helper()
		done, err := st.FinishEdition(ctx, id, now)
		if err != nil {
			t.Fatalf("FinishEdition(%d): %v", id, err)
		}
		return done
	}
	unfinished := func() int64 {
		t.Helper()
		e, err := st.UnfinishedEdition(ctx, "daily")
		if errors.Is(err, subscribers.ErrNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return e.ID
	}

	if got := unfinished(); got != older.ID {
		t.Errorf("UnfinishedEdition = %d, want the older %d", got, older.ID)
	}
	if finish(older.ID, edT0) {
		t.Error("FinishEdition with 3 queued reported done")
	}
	ds := mustClaim(t, st, older.ID, "a", 10, edT0)
	if p := mustProgress(t, st, older.ID); p.InFlight != 3 || p.Done() {
		t.Errorf("progress while leased = %+v, want 3 in flight, not done", p)
	}
	if finish(older.ID, edT0) {
		t.Error("FinishEdition with 3 in flight reported done")
	}
	for _, d := range ds {
		mustRecord(t, st, sent(d, edT0))
	}
	doneAt := edT0.Add(2 * time.Minute)
	if !finish(older.ID, doneAt) {
		t.Fatal("FinishEdition with everything sent reported not done")
	}
	if !finish(older.ID, doneAt.Add(time.Hour)) {
		t.Error("FinishEdition on a finished edition reported not done")
	}
	got, err := st.Edition(ctx, older.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.FinishedAt.Equal(doneAt) {
		t.Errorf("FinishedAt = %v, want the first finish time %v", got.FinishedAt, doneAt)
	}
	if got := unfinished(); got != newer.ID {
		t.Errorf("UnfinishedEdition = %d, want the newer %d", got, newer.ID)
	}
	for _, d := range mustClaim(t, st, newer.ID, "a", 10, edT0) {
		mustRecord(t, st, editions.Result{DeliveryID: d.ID, SubscriberID: d.Subscriber.ID, State: editions.DeliveryFailed,
			Attempts: 1, LastReply: "550 no", At: edT0})
	}
	if !finish(newer.ID, doneAt) {
		t.Error("FinishEdition with everything failed reported not done")
	}
	if got := unfinished(); got != 0 {
		t.Errorf("UnfinishedEdition = %d, want ErrNotFound", got)
	}
	if _, err := st.FinishEdition(ctx, newer.ID+100, doneAt); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("FinishEdition(unknown) = %v, want ErrNotFound", err)
	}
	// An edition nobody receives is done at once.
	empty := mustEdition(t, st, "nobody", "k", 0)
	if !finish(empty.ID, doneAt) {
		t.Error("FinishEdition of an edition without recipients reported not done")
	}
}

func testEditionOrdering(t *testing.T, st *store.DB) {
	ctx := context.Background()
	if _, err := st.LatestEdition(ctx, "daily"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("LatestEdition with none = %v, want ErrNotFound", err)
	}
	if _, err := st.UnfinishedEdition(ctx, "daily"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("UnfinishedEdition with none = %v, want ErrNotFound", err)
	}
	if _, err := st.Edition(ctx, 12345); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("Edition(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := st.ClaimDeliveries(ctx, 12345, "a", 10, edT0, time.Minute); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("ClaimDeliveries(unknown edition) = %v, want ErrNotFound", err)
	}
	// Created out of cutoff order, on purpose.
	mid := mustEdition(t, st, "daily", "mid", 24, "m")
	last := mustEdition(t, st, "daily", "last", 48, "l2", "l1")
	first := mustEdition(t, st, "daily", "first", 0, "f")
	other := mustEdition(t, st, "weekly", "w", 36)

	latest, err := st.LatestEdition(ctx, "daily")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(last, latest); diff != "" {
		t.Errorf("LatestEdition (-want +got):\n%s", diff)
	}
	if got, err := st.UnfinishedEdition(ctx, "daily"); err != nil || got.ID != first.ID {
		t.Errorf("UnfinishedEdition = %v, %v; want the earliest cutoff %d", got, err, first.ID)
	}
	keys := func(es []*editions.Edition) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Key)
		}
		return out
	}
	tests := []struct {
		digest string
		limit  int
		want   []string
	}{
		{"daily", 0, []string{"last", "mid", "first"}},
		{"daily", 2, []string{"last", "mid"}},
		{"", 0, []string{"last", "w", "mid", "first"}},
		{"", 1, []string{"last"}},
		{"weekly", 5, []string{"w"}},
		{"monthly", 5, nil},
	}
	for _, tt := range tests {
		es, err := st.Editions(ctx, tt.digest, tt.limit)
		if err != nil {
			t.Fatalf("Editions(%q, %d): %v", tt.digest, tt.limit, err)
		}
		if diff := cmp.Diff(tt.want, keys(es)); diff != "" {
			t.Errorf("Editions(%q, %d) (-want +got):\n%s", tt.digest, tt.limit, diff)
		}
	}
	all, err := st.Editions(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*editions.Edition{last, other, mid, first}, all); diff != "" {
		t.Errorf("Editions returns other fields than CreateEdition set (-want +got):\n%s", diff)
	}
}

func testQueueSize(t *testing.T, st *store.DB) {
	ctx := context.Background()
	queue := func() int64 {
		t.Helper()
		n, err := st.QueueSize(ctx)
		if err != nil {
			t.Fatalf("QueueSize: %v", err)
		}
		return n
	}
	if got := queue(); got != 0 {
		t.Errorf("QueueSize of an empty store = %d, want 0", got)
	}
	mustActive(t, st, "daily", 3)
	mustSubscribers(t, st, edSub{"w1@example.org", subscribers.Active, []string{"weekly"}},
		edSub{"w2@example.org", subscribers.Active, []string{"weekly"}})
	d := mustEdition(t, st, "daily", "k", 0)
	w := mustEdition(t, st, "weekly", "k", 0)
	if got := queue(); got != 5 {
		t.Errorf("QueueSize = %d, want 5", got)
	}
	ds := mustClaim(t, st, d.ID, "a", 10, edT0)
	if got := queue(); got != 5 {
		t.Errorf("QueueSize with leases = %d, want 5 (leased ones are still to send)", got)
	}
	mustRecord(t, st, sent(ds[0], edT0), editions.Result{DeliveryID: ds[1].ID, SubscriberID: ds[1].Subscriber.ID,
		State: editions.DeliveryRetrying, Attempts: 1, NextAttempt: edT0.Add(time.Minute), At: edT0})
	if got := queue(); got != 4 {
		t.Errorf("QueueSize after one sent = %d, want 4", got)
	}
	for _, x := range mustClaim(t, st, w.ID, "a", 10, edT0) {
		mustRecord(t, st, sent(x, edT0))
	}
	if done, err := st.FinishEdition(ctx, w.ID, edT0); err != nil || !done {
		t.Fatalf("FinishEdition(weekly) = %v, %v", done, err)
	}
	if got := queue(); got != 2 {
		t.Errorf("QueueSize after the weekly finished = %d, want 2", got)
	}
}
