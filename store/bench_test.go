package store_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"briefcast/store"
	"briefcast/store/storetest"
	"briefcast/subscribers"
)

// The million-row benchmarks take tens of seconds each: they run only when
// -bench asks for them, e.g.
//
//	go test -run '^$' -bench 1M -benchtime 1x ./store/
//
// BRIEFCAST_BENCH_ROWS overrides the million, for quick profiling.
var benchRows = 1_000_000

func init() {
	if n, err := strconv.Atoi(os.Getenv("BRIEFCAST_BENCH_ROWS")); err == nil && n > 0 {
		benchRows = n
	}
}

func skipUnlessBench(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		b.Skip("run with -bench")
	}
}

// writeBenchCSV writes n subscribers in the import format.
func writeBenchCSV(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "subscribers.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "email,name,digests,tags,timezone,status")
	zones := []string{"", "Europe/Berlin", "America/New_York", "Asia/Tokyo"}
	for i := range n {
		digests := "daily"
		if i%10 == 0 {
			digests = "daily;weekly"
		}
		status := ""
		if i%20 == 0 {
			status = "unsubscribed"
		}
		fmt.Fprintf(w, "Reader.%07d@Example%d.com,Reader %d,%s,,%s,%s\n", i, i%100, i, digests, zones[i%len(zones)], status)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// importCSV reads path into st through ImportCSV, 2,000 rows a batch.
func importCSV(b *testing.B, st *store.DB, path string) subscribers.ImportCounts {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	c, rejected, err := subscribers.ImportCSV(context.Background(), st, f, 2000, nil)
	if err != nil || len(rejected) > 0 {
		b.Fatalf("import: %v, %d rejected", err, len(rejected))
	}
	return c
}

func benchImport(b *testing.B, open func(b *testing.B) *store.DB) {
	skipUnlessBench(b)
	path := writeBenchCSV(b, benchRows)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		st := open(b)
		b.StartTimer()
		start, cpu := time.Now(), cpuTime(b)
		c := importCSV(b, st, path)
		b.ReportMetric(float64(benchRows)/time.Since(start).Seconds(), "rows/s")
		b.ReportMetric(float64(cpuTime(b)-cpu)/float64(benchRows), "cpu-ns/row")
		b.StopTimer()
		if c.Added != benchRows {
			b.Fatalf("added %d, want %d", c.Added, benchRows)
		}
		st.Close()
		b.StartTimer()
	}
}

func benchStream(b *testing.B, open func(b *testing.B) *store.DB) {
	skipUnlessBench(b)
	st := open(b)
	importCSV(b, st, writeBenchCSV(b, benchRows))
	want := benchRows - benchRows/20 // every 20th is unsubscribed
	b.ResetTimer()
	for range b.N {
		start, cpu := time.Now(), cpuTime(b)
		n := 0
		err := st.List(context.Background(), subscribers.Filter{Digest: "daily", Status: subscribers.Active}, func(s *subscribers.Subscriber) error {
			n++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("streamed %d, want %d", n, want)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
		b.ReportMetric(float64(cpuTime(b)-cpu)/float64(n), "cpu-ns/row")
	}
}

// cpuTime is the CPU time (user and system) this process has used so far.
// The benchmarks report it per row besides rows/s because the wall clock
// of a shared machine says more about the neighbours than about the code.
// It counts this process only: PostgreSQL's own work is not in it.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchSQLite(b *testing.B) *store.DB {
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func benchPostgres(b *testing.B) *store.DB {
	st, err := store.Open(context.Background(), "postgres", storetest.PostgresURLTB(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkImport1M imports a generated 1,000,000-row CSV into a fresh
// SQLite file through ReadCSV and Import.
func BenchmarkImport1M(b *testing.B) { benchImport(b, benchSQLite) }

// BenchmarkStreamDigest1M streams the active subscribers of one digest out
// of 1,000,000 in SQLite.
func BenchmarkStreamDigest1M(b *testing.B) { benchStream(b, benchSQLite) }

// BenchmarkImport1MPostgres is BenchmarkImport1M on PostgreSQL.
func BenchmarkImport1MPostgres(b *testing.B) { benchImport(b, benchPostgres) }

// BenchmarkStreamDigest1MPostgres is BenchmarkStreamDigest1M on PostgreSQL.
func BenchmarkStreamDigest1MPostgres(b *testing.B) { benchStream(b, benchPostgres) }
