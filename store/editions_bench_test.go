package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"briefcast/editions"
	"briefcast/store"
	"briefcast/store/storetest"
	"briefcast/subscribers"
)

// Two stores on one database stand for two processes: claims from both
// never overlap and every delivery is sent exactly once.
func TestEditionsTwoInstances(t *testing.T) {
	tests := []struct {
		name string
		open func(t *testing.T) (*store.DB, *store.DB)
	}{
		{"sqlite", func(t *testing.T) (*store.DB, *store.DB) {
			path := filepath.Join(t.TempDir(), "shared.db")
			return mustOpen(t, "sqlite", path), mustOpen(t, "sqlite", path)
		}},
		{"postgres", func(t *testing.T) (*store.DB, *store.DB) {
			u := storetest.PostgresURL(t)
			return mustOpen(t, "postgres", u), mustOpen(t, "postgres", u)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.open(t)
			const n = 200
			mustImportActive(t, a, "daily", n)
			e := &editions.Edition{Digest: "daily", Key: "k", Cutoff: time.Date(2025, 11, 23, 7, 0, 0, 0, time.UTC)}
			if err := a.CreateEdition(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			// The other instance loses the race for the same key.
			again := *e
			if err := b.CreateEdition(context.Background(), &again); err == nil {
				t.Fatal("second instance created the same edition again")
			}
			counts := storetest.DrainConcurrently(t, []*store.DB{a, b}, e.ID, 4, 9)
			if len(counts) != n {
				t.Errorf("%d distinct deliveries claimed, want %d", len(counts), n)
			}
			for id, c := range counts {
				if c != 1 {
					t.Errorf("delivery %d claimed %d times", id, c)
				}
			}
			p, err := b.Progress(context.Background(), e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.Sent != n || !p.Done() {
				t.Errorf("progress = %+v, want %d sent", p, n)
			}
		})
	}
}

// The SQLite store prepares its delivery statements on first use: a first
// caller whose context is already cancelled fails, and must not leave the
// store unable to claim or record for good.
func TestEditionsCancelledFirstUse(t *testing.T) {
	tests := []struct {
		name  string
		first func(ctx context.Context, st *store.DB, ed int64) error
	}{
		{"claim", func(ctx context.Context, st *store.DB, ed int64) error {
			_, err := st.ClaimDeliveries(ctx, ed, "first", 4, benchNow, time.Minute)
			return err
		}},
		{"record", func(ctx context.Context, st *store.DB, ed int64) error {
			return st.RecordResults(ctx, []editions.Result{{DeliveryID: 1, State: editions.DeliverySent, Attempts: 1, At: benchNow}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustOpen(t, "sqlite", filepath.Join(t.TempDir(), "first.db"))
			mustImportActive(t, st, "daily", 3)
			e := &editions.Edition{Digest: "daily", Key: "k", Cutoff: benchNow}
			if err := st.CreateEdition(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			cancelled, cancel := context.WithCancel(context.Background())
			cancel()
			if err := tt.first(cancelled, st, e.ID); err == nil {
				t.Fatal("first call with a cancelled context succeeded")
			}
			ds, err := st.ClaimDeliveries(context.Background(), e.ID, "second", 10, benchNow, time.Minute)
			if err != nil {
				t.Fatalf("claim after a cancelled first use: %v", err)
			}
			if len(ds) != 3 {
				t.Fatalf("claimed %d deliveries, want 3", len(ds))
			}
			rs := make([]editions.Result, len(ds))
			for i, d := range ds {
				rs[i] = editions.Result{DeliveryID: d.ID, SubscriberID: d.Subscriber.ID, State: editions.DeliverySent, Attempts: 1, At: benchNow}
			}
			if err := st.RecordResults(context.Background(), rs); err != nil {
				t.Fatalf("record after a cancelled first use: %v", err)
			}
			p, err := st.Progress(context.Background(), e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.Sent != 3 || !p.Done() {
				t.Errorf("progress = %+v, want 3 sent", p)
			}
		})
	}
}

// BenchmarkClaimRecord drains one edition of 100,000 recipients the way the
// delivery engine does: claim 64 deliveries, record their results in
// groups of 16 (one transaction each), with 1 or 4 senders working the
// same edition at once. Creating the edition is timed separately and
// reported as create-ms.
//
//	BRIEFCAST_TEST_POSTGRES=postgres://... go test -run '^$' -bench BenchmarkClaimRecord -benchtime=1x ./subscribers/
func BenchmarkClaimRecord(b *testing.B) {
	const recipients = 100_000
	dialects := []struct {
		name string
		open func(b *testing.B) *store.DB
	}{
		{"sqlite", func(b *testing.B) *store.DB {
			return mustOpen(b, "sqlite", filepath.Join(b.TempDir(), "bench.db"))
		}},
		{"postgres", func(b *testing.B) *store.DB {
			return mustOpen(b, "postgres", benchPostgresURL(b))
		}},
	}
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			st := d.open(b)
			mustImportActive(b, st, "daily", recipients)
			made := 0
			for _, senders := range []int{1, 4} {
				b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
					var created time.Duration
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						start := time.Now()
						made++
						e := &editions.Edition{Digest: "daily", Key: fmt.Sprintf("k%d", made),
							Cutoff: benchNow.Add(time.Duration(made) * time.Hour)}
						if err := st.CreateEdition(context.Background(), e); err != nil {
							b.Fatal(err)
						}
						created += time.Since(start)
						b.StartTimer()
						if n := drainEdition(b, st, e.ID, senders); n != recipients {
							b.Fatalf("drained %d deliveries, want %d", n, recipients)
						}
					}
					b.ReportMetric(float64(recipients)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
					b.ReportMetric(float64(created.Milliseconds())/float64(b.N), "create-ms")
				})
			}
		})
	}
}

// benchNow is the benchmark's fixed clock.
var benchNow = time.Date(2025, 11, 23, 7, 0, 0, 0, time.UTC)

// drainEdition runs senders goroutines that claim 64 deliveries at a time
// and record them sent in groups of 16 until nothing is left to claim; it
// returns how many deliveries were recorded.
func drainEdition(b *testing.B, st *store.DB, editionID int64, senders int) int {
	ctx := context.Background()
	var (
		wg    sync.WaitGroup
		total atomic.Int64
		mu    sync.Mutex
		fail  error
	)
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("sender%d", w)
			for {
				ds, err := st.ClaimDeliveries(ctx, editionID, owner, 64, benchNow, time.Minute)
				if err != nil {
					mu.Lock()
					fail = err
					mu.Unlock()
					return
				}
				if len(ds) == 0 {
					return
				}
				for j := 0; j < len(ds); j += 16 {
					group := ds[j:min(j+16, len(ds))]
					rs := make([]editions.Result, len(group))
					for k, x := range group {
						rs[k] = editions.Result{DeliveryID: x.ID, SubscriberID: x.Subscriber.ID,
							State: editions.DeliverySent, Attempts: 1, LastReply: "250 2.0.0 OK", At: benchNow}
					}
					if err := st.RecordResults(ctx, rs); err != nil {
						mu.Lock()
						fail = err
						mu.Unlock()
						return
					}
				}
				total.Add(int64(len(ds)))
			}
		}()
	}
	wg.Wait()
	if fail != nil {
		b.Fatal(fail)
	}
	return int(total.Load())
}

// mustOpen opens a store, closed at cleanup.
func mustOpen(tb testing.TB, driver, dsn string) *store.DB {
	tb.Helper()
	st, err := store.Open(context.Background(), driver, dsn)
	if err != nil {
		tb.Fatalf("open %s: %v", driver, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// mustImportActive adds n active subscribers of digest, in import batches.
func mustImportActive(tb testing.TB, st *store.DB, digest string, n int) {
	tb.Helper()
	const batch = 5000
	for start := 0; start < n; start += batch {
		rows := make([]subscribers.ImportRow, 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			rows = append(rows, subscribers.ImportRow{Line: i + 1, Email: fmt.Sprintf("reader%06d@example.org", i),
				Name: "Reader", Digests: []string{digest}, Tags: []string{"energy"}, Status: subscribers.Active})
		}
		c, err := st.Import(context.Background(), rows)
		if err != nil {
			tb.Fatalf("import: %v", err)
		}
		if c.Added != len(rows) {
			tb.Fatalf("import added %d of %d rows (%+v)", c.Added, len(rows), c)
		}
	}
}

// benchPostgresURL is storetest.PostgresURL for benchmarks: a fresh database,
// dropped at cleanup; skipped without BRIEFCAST_TEST_POSTGRES.
func benchPostgresURL(b *testing.B) string {
	b.Helper()
	base := os.Getenv(storetest.PostgresEnv)
	if base == "" {
		b.Skipf("%s is not set", storetest.PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatalf("%s is not a URL", storetest.PostgresEnv)
	}
	var r [6]byte
	rand.Read(r[:])
	name := pgx.Identifier{"briefcast_bench_" + hex.EncodeToString(r[:])}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatalf("connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name.Sanitize()); err != nil {
		b.Fatalf("create database: %v", err)
	}
	b.Cleanup(func() {
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			b.Errorf("drop database: %v", err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name.Sanitize()+" WITH (FORCE)"); err != nil {
			b.Errorf("drop database: %v", err)
		}
	})
	u.Path = "/" + name[0]
	return u.String()
}
