package metrics

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServe scrapes the metrics listener over real loopback TCP: /metrics
// answers with the registry's text, every other path is 404, and a
// cancelled context stops it cleanly.
func TestServe(t *testing.T) {
	m := New(nil)
	m.Build(time.Second, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- m.Serve(ctx, ln, slog.New(slog.DiscardHandler)) }()
	base := "http://" + ln.Addr().String()
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
			req, _ := http.NewRequest(tt.method, base+tt.path, nil)
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
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve after cancel = %v, want nil", err)
	}
	if _, err := http.Get(base + "/metrics"); err == nil {
		t.Error("the listener still answers after Serve returned")
	}
}
