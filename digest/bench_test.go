package digest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	gomail "github.com/wneessen/go-mail"

	"briefcast/articles"
	"briefcast/bench/rawsend"
	"briefcast/config"
	"briefcast/email"
	"briefcast/email/smtptest"
	"briefcast/store"
	"briefcast/store/storetest"
)

const benchConns = 16

// benchN is the edition size of the send benchmarks; smaller values help
// profiling on a busy machine.
var benchN = flag.Int("bench-subscribers", 100_000, "subscribers in the send benchmarks")

// BenchmarkSendSQLite100k sends one edition to 100,000 subscribers over 16
// connections into a discarding SMTP sink on loopback, with every
// recipient's state durable in a SQLite file, and compares the rate with
// bare go-mail sending the same kind of messages to the same sink:
//
//	go test ./digest -run '^$' -bench 'Send(SQLite|Postgres)100k' -benchtime 1x
func BenchmarkSendSQLite100k(b *testing.B) {
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchSend(b, st, true)
}

// BenchmarkSendPostgres100k is BenchmarkSendSQLite100k on the PostgreSQL
// server of BRIEFCAST_TEST_POSTGRES (skipped when unset).
func BenchmarkSendPostgres100k(b *testing.B) {
	st, err := store.Open(context.Background(), "postgres", benchPostgresURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchSend(b, st, false)
}

func benchSend(b *testing.B, st *store.DB, single bool) {
	ctx := context.Background()
	srv := smtptest.Start(b, smtptest.Options{Discard: true})
	cfg := mustConfig(b, srv.Port(), benchConns)
	d := cfg.Digests[0]
	composer := mustComposer(b, cfg)
	tr, err := email.NewTransport(email.TransportOptionsOf(cfg), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	mustImport(b, st, *benchN)
	runtime.GC()
	s := &Sender{
		Store: st, Composer: composer, Transport: tr, Log: slog.New(slog.DiscardHandler),
		Connections: benchConns, Owner: "bench", SingleInstance: single,
	}
	arts := testArticles()

	cpu0 := cpuTime()
	rawBefore := rawRate(b, composer, d, srv.Port(), arts)
	rawCPU := cpuTime() - cpu0
	sunk := srv.Count()
	var commits int64
	b.ResetTimer()
	cpu0 = cpuTime()
	start := time.Now()
	for i := range b.N {
		// Each round is a new edition with one new article.
		cut := cutoff.AddDate(0, 0, i)
		arts = append(arts, art(fmt.Sprintf("story-%d", i), cut.Add(-time.Minute)))
		rep, err := s.Run(ctx, d, arts, cut)
		if err != nil {
			b.Fatal(err)
		}
		commits += rep.Commits
		if rep.Progress.Sent != int64(*benchN) {
			b.Fatalf("sent %d, want %d: %+v", rep.Progress.Sent, *benchN, rep.Progress)
		}
	}
	elapsed := time.Since(start)
	sendCPU := cpuTime() - cpu0
	b.ReportMetric(float64(*benchN)/float64(max(commits, 1)), "results/commit")
	b.StopTimer()
	if got := srv.Count() - sunk; got != int64(b.N**benchN) {
		b.Fatalf("sink counted %d messages, want %d", got, b.N**benchN)
	}
	rate := float64(b.N**benchN) / elapsed.Seconds()

	// The ceiling: bare go-mail, pre-built messages, same sink, same
	// number of connections, measured before and after the timed part (on
	// a shared machine the load drifts) and averaged.
	raw := (rawBefore + rawRate(b, composer, d, srv.Port(), arts)) / 2
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(raw, "raw-msgs/s")
	b.ReportMetric(rate/raw, "ratio")
	// CPU time per message (this process, sink included) depends far less
	// on other load than the rates do.
	perMsg := float64(sendCPU.Microseconds()) / float64(b.N**benchN)
	rawPerMsg := float64(rawCPU.Microseconds()) / float64(*benchN)
	b.ReportMetric(perMsg, "cpu-µs/msg")
	b.ReportMetric(rawPerMsg, "raw-cpu-µs/msg")
	b.ReportMetric(rawPerMsg/perMsg, "cpu-ratio")
}

func rawRate(b *testing.B, c *email.Composer, d config.Digest, port int, arts []*articles.Article) float64 {
	b.Helper()
	e := &email.Edition{Digest: d, Key: EditionKey(cutoff), Date: cutoff, Articles: arts[:3]}
	const n = 256
	msgs := make([]*gomail.Msg, n)
	for i := range msgs {
		m, _, err := c.Digest(e, email.Recipient{ID: int64(i + 1), Email: fmt.Sprintf("user%d@example.net", i), Name: fmt.Sprintf("User %d", i)}, nil)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = m.Msg
	}
	rate, err := rawsend.Rate(context.Background(), "127.0.0.1", port, benchConns, *benchN,
		func(i int) *gomail.Msg { return msgs[i%n] })
	if err != nil {
		b.Fatal(err)
	}
	return rate
}

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPostgresURL creates a fresh database for a benchmark, dropped at
// cleanup (storetest.PostgresURL does the same for tests).
func benchPostgresURL(b *testing.B) string {
	base := os.Getenv(storetest.PostgresEnv)
	if base == "" {
		b.Skipf("%s is not set: skipping PostgreSQL", storetest.PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatalf("%s is not a URL", storetest.PostgresEnv)
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	name := "briefcast_bench_" + hex.EncodeToString(r[:])
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			b.Error(err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			b.Error(err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
