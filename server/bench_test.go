package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"briefcast/email"
	"briefcast/site"
	"briefcast/store"
	"briefcast/templates"
)

// nullWriter is a ResponseWriter that keeps nothing, so a benchmark
// measures the handler alone.
type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) WriteHeader(int)             {}

// BenchmarkFeedHandler measures the /feed.xml hot path in the handler:
// go test -run '^$' -bench FeedHandler -benchmem ./server/
func BenchmarkFeedHandler(b *testing.B) {
	srv, err := New(optionsOf(mustConfig(b, "http://example.org/", "")), nil, nil, mustSigner(b), templates.Embedded(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	srv.SetSite(testSite(1))
	e := &env{srv: srv}
	etag := e.do(b, "GET", "/feed.xml", nil).Header().Get("ETag")
	for _, bc := range []struct {
		name string
		inm  string
	}{{"plain", ""}, {"304", etag}} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/feed.xml", nil)
			if bc.inm != "" {
				r.Header.Set("If-None-Match", bc.inm)
			}
			w := &nullWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				e.srv.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkSubscribePost measures sign-ups through POST /subscribe on a
// SQLite store, each one composing its confirmation and writing it with
// the file transport, from 4 concurrent clients; it reports the p99
// latency and the throughput:
// go test -run '^$' -bench SubscribePost -benchtime=2000x ./server/
func BenchmarkSubscribePost(b *testing.B) {
	cfg := mustConfig(b, "http://example.org/", "")
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	signer := mustSigner(b)
	log := slog.New(slog.DiscardHandler)
	composer, err := email.NewComposer(email.OptionsOf(cfg), templates.Embedded(), signer)
	if err != nil {
		b.Fatal(err)
	}
	transport, err := email.NewTransport(email.TransportOptionsOf(cfg), log)
	if err != nil {
		b.Fatal(err)
	}
	// No rate limits: every request comes from one test client.
	mailer := NewMailer(composer, transport, log)
	srv, err := New(optionsOf(cfg), st, mailer, signer, templates.Embedded(), log, WithRateLimits(RateLimit{}, RateLimit{}))
	if err != nil {
		b.Fatal(err)
	}
	var (
		mu   sync.Mutex
		lats []time.Duration
		seq  atomic.Int64
	)
	b.SetParallelism(2) // 2 × GOMAXPROCS clients
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			n := seq.Add(1)
			form := url.Values{"email": {fmt.Sprintf("reader%d@example.org", n)}, "digest": {"daily"}}
			r := httptest.NewRequest("POST", "/subscribe", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			t := time.Now()
			srv.ServeHTTP(w, r)
			mine = append(mine, time.Since(t))
			if w.Code != 200 {
				b.Errorf("status %d", w.Code)
				return
			}
		}
		mu.Lock()
		lats = append(lats, mine...)
		mu.Unlock()
	})
	if err := mailer.Close(context.Background()); err != nil { // the queued confirmations count too
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	if len(lats) == 0 {
		return
	}
	slices.Sort(lats)
	b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lats[len(lats)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(len(lats))/elapsed.Seconds(), "signups/s")
}

// BenchmarkSetSite10k measures swapping in a 10,000-page site: the first
// time (every page hashed) and a rebuild where nothing changed.
// go test -run '^$' -bench SetSite10k -benchtime=3x ./server/
func BenchmarkSetSite10k(b *testing.B) {
	mk := func() *site.Site {
		st := &site.Site{Files: map[string]*site.File{}}
		for i := 0; i < 10000; i++ {
			p := fmt.Sprintf("/articles/a%d/index.html", i)
			st.Files[p] = &site.File{Path: p, Body: []byte(fmt.Sprintf(pageBody, i, strings.Repeat("brief ", 2000), i)), ContentType: "text/html; charset=utf-8", Modified: t0}
		}
		return st
	}
	srv, err := New(optionsOf(mustConfig(b, "http://example.org/", "")), nil, nil, mustSigner(b), templates.Embedded(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	a, c := mk(), mk()
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			srv.snap.Store(nil)
			srv.SetSite(a)
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		srv.SetSite(a)
		for b.Loop() {
			srv.SetSite(c)
		}
	})
}
