package digest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"briefcast/email/smtptest"
	"briefcast/store"
	"briefcast/store/storetest"
)

// TestPostgresTwoSenders runs two senders, each with its own store (two
// processes, as far as the database can tell), on one edition at once:
// they share the work and every recipient gets exactly one message.
func TestPostgresTwoSenders(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	open := func() *store.DB {
		st, err := store.Open(ctx, "postgres", url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	stores := []*store.DB{open(), open()}
	srv := smtptest.Start(t, smtptest.Options{})
	f := &fixture{cfg: mustConfig(t, srv.Port(), 3), store: stores[0], srv: srv}
	f.subs = mustSubscribers(t, stores[0], 300)
	d := f.cfg.Digests[0]

	var (
		wg   sync.WaitGroup
		reps [2]*Report
		errs [2]error
		sent [2]int64
	)
	for i, st := range stores {
		s := f.sender(t)
		s.Store, s.SingleInstance, s.Owner = st, false, fmt.Sprintf("process-%d", i)
		s.ClaimBatch = 8 // small claims, so both senders get a share
		wg.Go(func() {
			reps[i], errs[i] = s.Run(ctx, d, testArticles(), cutoff)
		})
	}
	wg.Wait()
	for i := range reps {
		if errs[i] != nil {
			t.Fatalf("sender %d: %v", i, errs[i])
		}
		sent[i] = reps[i].Sent
	}
	if reps[0].Edition.ID != reps[1].Edition.ID {
		t.Fatalf("senders delivered editions %d and %d, want one", reps[0].Edition.ID, reps[1].Edition.ID)
	}
	if sent[0]+sent[1] != int64(len(f.subs)) {
		t.Errorf("senders sent %d + %d, want %d in all", sent[0], sent[1], len(f.subs))
	}
	if sent[0] == 0 || sent[1] == 0 {
		t.Logf("one sender did all the work: %d and %d", sent[0], sent[1])
	}
	// Each sender waits for the other's claims to settle, so both see
	// the edition done.
	for i, rep := range reps {
		if !rep.Done {
			t.Errorf("sender %d returned before the edition was done: %+v", i, rep.Progress)
		}
	}
	f.check(t, reps[0], want{})
}
