package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"briefcast/editions"
	"briefcast/store"
	"briefcast/subscribers"
)

func testClaimsDoNotOverlap(t *testing.T, st *store.DB) {
	mustActive(t, st, "daily", 10)
	e := mustEdition(t, st, "daily", "k", 0)
	a := mustClaim(t, st, e.ID, "a", 4, edT0)
	b := mustClaim(t, st, e.ID, "b", 10, edT0)
	c := mustClaim(t, st, e.ID, "c", 10, edT0.Add(30*time.Second))
	if len(a) != 4 || len(b) != 6 || len(c) != 0 {
		t.Fatalf("claims got %d, %d, %d deliveries; want 4, 6, 0", len(a), len(b), len(c))
	}
	all := deliveryIDs(append(a, b...))
	if len(all) != 10 {
		t.Errorf("claims overlap: %d distinct deliveries in 10 claimed", len(all))
	}
	if p := mustProgress(t, st, e.ID); p.InFlight != 10 || p.Queued != 0 {
		t.Errorf("progress with everything leased = %+v, want 10 in flight", p)
	}
}

func testExpiredLeaseReclaimed(t *testing.T, st *store.DB) {
	mustActive(t, st, "daily", 5)
	e := mustEdition(t, st, "daily", "k", 0)
	a := mustClaim(t, st, e.ID, "a", 3, edT0)
	// Leases last a minute: a's is still held at +59s (b gets the other
	// two until +1m59s) and free at +90s.
	if got := mustClaim(t, st, e.ID, "b", 10, edT0.Add(59*time.Second)); len(got) != 2 {
		t.Fatalf("claim before expiry got %d, want the 2 never claimed", len(got))
	}
	got := mustClaim(t, st, e.ID, "c", 10, edT0.Add(90*time.Second))
	if diff := cmp.Diff(deliveryIDs(a), deliveryIDs(got)); diff != "" {
		t.Errorf("after expiry, claim got other deliveries than a's (-a +got):\n%s", diff)
	}
}

func testReleaseClaims(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustActive(t, st, "daily", 4)
	e := mustEdition(t, st, "daily", "k", 0)
	a := mustClaim(t, st, e.ID, "a", 10, edT0)
	if len(a) != 4 {
		t.Fatalf("claim got %d, want 4", len(a))
	}
	if err := st.ReleaseClaims(ctx, e.ID); err != nil {
		t.Fatalf("ReleaseClaims: %v", err)
	}
	if p := mustProgress(t, st, e.ID); p.InFlight != 0 || p.Queued != 4 {
		t.Errorf("progress after ReleaseClaims = %+v, want 4 queued", p)
	}
	if got := mustClaim(t, st, e.ID, "b", 10, edT0); len(got) != 4 {
		t.Errorf("claim after ReleaseClaims got %d, want 4", len(got))
	}
}

func testRetryingNotDue(t *testing.T, st *store.DB) {
	mustActive(t, st, "daily", 3)
	e := mustEdition(t, st, "daily", "k", 0)
	ds := mustClaim(t, st, e.ID, "a", 10, edT0)
	if len(ds) != 3 {
		t.Fatalf("claim got %d, want 3", len(ds))
	}
	retry := edT0.Add(time.Hour)
	mustRecord(t, st,
		sent(ds[0], edT0),
		editions.Result{DeliveryID: ds[1].ID, SubscriberID: ds[1].Subscriber.ID, State: editions.DeliveryRetrying,
			Attempts: 1, LastReply: "451 4.3.0 try later", NextAttempt: retry, At: edT0},
		editions.Result{DeliveryID: ds[2].ID, SubscriberID: ds[2].Subscriber.ID, State: editions.DeliveryRetrying,
			Attempts: 2, LastReply: "421 4.7.0 busy", NextAttempt: retry.Add(time.Hour), At: edT0},
	)
	tests := []struct {
		name string
		now  time.Time
		want []int64
	}{
		{"not due", retry.Add(-time.Second), nil},
		{"first due", retry, []int64{ds[1].ID}},
		// An hour later the first one's lease has expired too: both are
		// due, the longest-waiting first.
		{"both due", retry.Add(time.Hour), []int64{ds[1].ID, ds[2].ID}},
	}
	for _, tt := range tests {
		got := mustClaim(t, st, e.ID, "b", 10, tt.now)
		var ids []int64
		for _, d := range got {
			ids = append(ids, d.ID)
			if d.State != editions.DeliveryRetrying || d.Attempts == 0 || d.LastReply == "" || d.NextAttempt.IsZero() {
				t.Errorf("%s: claimed retry = %+v, want its state, attempts, reply and next attempt", tt.name, d)
			}
		}
		if diff := cmp.Diff(tt.want, ids); diff != "" {
			t.Errorf("%s: claimed (-want +got):\n%s", tt.name, diff)
		}
	}
	if p := mustProgress(t, st, e.ID); p.Sent != 1 || p.InFlight != 2 || p.Retrying != 0 {
		t.Errorf("progress = %+v, want 1 sent and 2 in flight", p)
	}
}

func testCancelAtClaim(t *testing.T, st *store.DB) {
	ctx := context.Background()
	ids := mustSubscribers(t, st,
		edSub{"ann@example.org", subscribers.Active, []string{"daily"}},
		edSub{"bob@example.org", subscribers.Active, []string{"daily", "weekly"}},
		edSub{"cat@example.org", subscribers.Active, []string{"daily"}},
		edSub{"dan@example.org", subscribers.Active, []string{"daily"}},
	)
	e := mustEdition(t, st, "daily", "k", 0)
	// After the edition was created, ann unsubscribes and bob drops daily:
	// the first two deliveries in claim order are no longer wanted.
	if err := st.SetStatus(ctx, ids["ann@example.org"], subscribers.Unsubscribed, "link"); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdatePreferences(ctx, ids["bob@example.org"], subscribers.Preferences{Digests: []string{"weekly"}}); err != nil {
		t.Fatal(err)
	}
	got := mustClaim(t, st, e.ID, "a", 1, edT0)
	if diff := cmp.Diff([]string{"cat@example.org"}, emails(got)); diff != "" {
		t.Errorf("claim of 1 behind two cancelled (-want +got):\n%s", diff)
	}
	got = mustClaim(t, st, e.ID, "a", 10, edT0)
	if diff := cmp.Diff([]string{"dan@example.org"}, emails(got)); diff != "" {
		t.Errorf("second claim (-want +got):\n%s", diff)
	}
	if p := mustProgress(t, st, e.ID); p.Cancelled != 2 || p.InFlight != 2 || p.Total() != 4 {
		t.Errorf("progress = %+v, want 2 cancelled and 2 in flight", p)
	}
}

func testConcurrentClaimers(t *testing.T, st *store.DB) {
	const n = 300
	mustActive(t, st, "daily", n)
	e := mustEdition(t, st, "daily", "k", 0)
	counts := DrainConcurrently(t, []*store.DB{st}, e.ID, 8, 7)
	if len(counts) != n {
		t.Errorf("%d distinct deliveries claimed, want %d", len(counts), n)
	}
	for id, c := range counts {
		if c != 1 {
			t.Errorf("delivery %d claimed %d times", id, c)
		}
	}
	if p := mustProgress(t, st, e.ID); p.Sent != n || !p.Done() {
		t.Errorf("progress after draining = %+v, want %d sent", p, n)
	}
}

// DrainConcurrently runs workers goroutines per store, each claiming batch
// deliveries of the edition at a time and recording them sent until a claim
// comes back empty, and returns how many times each delivery was claimed.
// Stores may be separate instances on one database, as several processes
// would be.
func DrainConcurrently(t *testing.T, stores []*store.DB, editionID int64, workers, batch int) map[int64]int {
	t.Helper()
	ctx := context.Background()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int64]int{}
		errs   []error
	)
	for si, st := range stores {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("store%d-worker%d", si, w)
				for {
					ds, err := st.ClaimDeliveries(ctx, editionID, owner, batch, edT0, time.Hour)
					if err == nil && len(ds) > 0 {
						rs := make([]editions.Result, len(ds))
						for i, d := range ds {
							rs[i] = sent(d, edT0)
						}
						err = st.RecordResults(ctx, rs)
					}
					mu.Lock()
					for _, d := range ds {
						counts[d.ID]++
					}
					if err != nil {
						errs = append(errs, err)
					}
					mu.Unlock()
					if err != nil || len(ds) == 0 {
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	for _, err := range errs {
		t.Errorf("concurrent claim/record: %v", err)
	}
	return counts
}
