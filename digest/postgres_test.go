package digest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"briefcast/articles"
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

// TestPostgresWaveInstances: three instances, each with its own store,
// run the same waves at once: each wave is created once and every
// subscriber in its zones gets exactly one message.
func TestPostgresWaveInstances(t *testing.T) {
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
	stores := []*store.DB{open(), open(), open()}
	zones := map[string]string{"tokyo": "Asia/Tokyo", "seoul": "Asia/Seoul", "ny": "America/New_York", "plain": ""}
	f, _ := zoneFixture(t, stores[0], zones)
	d := f.cfg.Digests[0]
	arts := []*articles.Article{art("x", utcAt("2026-11-24T14:00:00Z"))}
	for _, at := range []time.Time{utcAt("2026-11-24T22:00:00Z"), utcAt("2026-11-25T07:00:00Z"), utcAt("2026-11-25T12:00:00Z")} {
		var wg sync.WaitGroup
		errs := make([]error, len(stores))
		for i, st := range stores {
			s := f.sender(t)
			s.Store, s.SingleInstance, s.Owner = st, false, fmt.Sprintf("instance-%d", i)
			wg.Go(func() { _, errs[i] = s.RunWave(ctx, d, arts, at) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("instance %d, wave %s: %v", i, at, err)
			}
		}
	}
	got := f.inbox(arts)
	for who := range zones {
		if g := strings.Join(got[who], " "); g != "x" {
			t.Errorf("%s got %q, want one message with x", who, g)
		}
	}
	waves, err := stores[1].Waves(ctx, "daily", utcAt("2026-11-24T00:00:00Z"), utcAt("2026-11-26T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if len(waves) != 3 || strings.Join(waves[0].Edition.Zones, "+") != "Asia/Seoul+Asia/Tokyo" || waves[0].Progress.Sent != 2 {
		t.Errorf("waves = %+v", waves)
	}
}
