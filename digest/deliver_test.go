package digest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"briefcast/editions"
	"briefcast/email/smtptest"
	"briefcast/store"
)

// hookStore runs record instead of the store's RecordResults.
type hookStore struct {
	Store
	record func(ctx context.Context, rs []editions.Result) error
}

func (s *hookStore) RecordResults(ctx context.Context, rs []editions.Result) error {
	return s.record(ctx, rs)
}

// preparedAt returns server options that close the returned channel when
// the n-th message's data begins: its sender has prepared it.
func preparedAt(n int) (smtptest.Options, <-chan struct{}) {
	ch := make(chan struct{})
	var once sync.Once
	return smtptest.Options{Fault: func(fp smtptest.FaultPoint) *smtp.SMTPError {
		if fp.Stage == "data" && fp.N == n {
			once.Do(func() { close(ch) })
		}
		return nil
	}}, ch
}

// await waits for ch; the limit only keeps a broken sender from hanging
// the test.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Errorf("gave up waiting for %s", what)
	}
}

// TestDeliverPreparedNotSent ends a run while one connection has its next
// message prepared (its data all sent but the final ".") and the outcome
// of the previous one is being written: the prepared message must never
// be delivered, and the next run delivers it once.
func TestDeliverPreparedNotSent(t *testing.T) {
	tests := []struct {
		name string
		// record stands in for writing outcomes, from the first batch on.
		record  func(inner *store.DB, cancel context.CancelFunc) func(context.Context, []editions.Result) error
		wantErr error
		// firstRecorded: the first message's outcome is durable, so the
		// next run sends it no second copy.
		firstRecorded bool
	}{
		{
			name: "the outcome cannot be recorded",
			record: func(*store.DB, context.CancelFunc) func(context.Context, []editions.Result) error {
				return func(context.Context, []editions.Result) error { return errors.New("disk full") }
			},
		},
		{
			name: "the run is cancelled",
			record: func(inner *store.DB, cancel context.CancelFunc) func(context.Context, []editions.Result) error {
				return func(ctx context.Context, rs []editions.Result) error {
					cancel()
					return inner.RecordResults(ctx, rs)
				}
			},
			wantErr:       context.Canceled,
			firstRecorded: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, prepared := preparedAt(2)
			f := newFixture(t, 5, opts)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := f.sender(t)
			s.Connections = 1
			inner := tt.record(f.store, cancel)
			var calls atomic.Int64
			s.Store = &hookStore{Store: f.store, record: func(ctx context.Context, rs []editions.Result) error {
				if calls.Add(1) == 1 {
					await(t, prepared, "the second message to be prepared while the first is recorded")
				}
				return inner(ctx, rs)
			}}
			_, err := s.Run(ctx, f.cfg.Digests[0], testArticles(), cutoff)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("Run = %v, want an error (%v)", err, tt.wantErr)
			}
			smtptest.WaitFor(t, "the server to see the prepared data cut off", func() bool { return f.srv.Unfinished() == 1 })
			if n := f.srv.Count(); n != 1 {
				t.Fatalf("server accepted %d messages, want only the first", n)
			}

			// The next run delivers the rest, the prepared message once.
			s = f.sender(t)
			rep, err := s.Run(context.Background(), f.cfg.Digests[0], testArticles(), cutoff)
			if err != nil {
				t.Fatal(err)
			}
			if tt.firstRecorded {
				f.check(t, rep, want{})
				return
			}
			got := f.received()
			for i, sub := range f.subs {
				if c, want := got[sub.Email], 1; c != want && (i != 0 || c != 2) {
					t.Errorf("subscriber %d received %d copies, want %d", i, c, want)
				}
			}
		})
	}
}

// TestDeliverDuplicateBound checks the crash guarantee throughout a run:
// at every moment, the messages the server has accepted but whose sending
// is not yet durable (those a crash would send twice) are at most one per
// connection. It samples at every data transfer the server starts and
// around every write of outcomes.
func TestDeliverDuplicateBound(t *testing.T) {
	const (
		n     = 300
		conns = 4
	)
	var (
		durable atomic.Int64 // sent outcomes written
		worst   atomic.Int64
		srv     *smtptest.Server
	)
	sample := func() {
		accepted := srv.Count() // read first: durable only grows
		ahead := accepted - durable.Load()
		for {
			w := worst.Load()
			if ahead <= w || worst.CompareAndSwap(w, ahead) {
				return
			}
		}
	}
	f := newFixture(t, n, smtptest.Options{Fault: func(fp smtptest.FaultPoint) *smtp.SMTPError {
		sample()
		return nil
	}})
	srv = f.srv
	s := f.sender(t)
	s.Connections = conns
	s.Store = &hookStore{Store: f.store, record: func(ctx context.Context, rs []editions.Result) error {
		sample()
		err := f.store.RecordResults(ctx, rs)
		if err == nil {
			for _, r := range rs {
				if r.State == editions.DeliverySent {
					durable.Add(1)
				}
			}
		}
		sample()
		return err
	}}
	rep, err := s.Run(context.Background(), f.cfg.Digests[0], testArticles(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, rep, want{})
	if w := worst.Load(); w > conns {
		t.Errorf("up to %d messages were accepted but not recorded, want at most %d (one per connection)", w, conns)
	}
	t.Logf("at most %d accepted messages unrecorded over %d commits", worst.Load(), rep.Commits)
}
