package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
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
	e := newEnv(&testing.T{}, "http://example.org/", "")
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
