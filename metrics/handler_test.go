package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestHandlerRoutes scrapes the handler over real loopback TCP: GET
// /metrics answers with the registry's text, every other path is 404 and
// another method 405.
func TestHandlerRoutes(t *testing.T) {
	m := New(nil)
	m.Build(time.Second, 2)
	ts := httptest.NewServer(m.Handler())
	defer ts.Close()
	for _, tt := range []struct {
		name, method, path string
		code               int
		body               string
	}{
		{"metrics", "GET", "/metrics", 200, "briefcast_build_rejected_articles 2"},
		{"root", "GET", "/", 404, ""},
		{"admin", "GET", "/admin/", 404, ""},
		{"post", "POST", "/metrics", 405, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.body) {
				t.Errorf("%s %s = %d, body has %q: %v; want %d", tt.method, tt.path, resp.StatusCode, tt.body, strings.Contains(string(b), tt.body), tt.code)
			}
		})
	}
}
