package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects output written by the program while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mustServeDir writes a config and two articles into a temp folder.
func mustServeDir(t *testing.T) (dir, cfgPath string) {
	t.Helper()
	dir = t.TempDir()
	cfgPath = filepath.Join(dir, "config.toml")
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("config.toml", `[site]
title = "Serve Test"
base_url = "http://127.0.0.1/"
[email]
from = "Serve Test <brief@example.org>"
transport = "file"
[[digests]]
name = "daily"
title = "Daily"
schedule = "0 7 * * *"
[subscriptions]
secret_env = "SERVE_TEST_SECRET"
[server]
metrics_listen = "127.0.0.1:0"
`)
	for i, title := range []string{"Harbour cranes get a quieter motor", "A library opens on a Sunday"} {
		write(fmt.Sprintf("content/a%d.md", i), fmt.Sprintf(`+++
title = %q
date = 2026-03-0%dT08:00:00Z
tags = ["city"]
+++

## 30-Second Take
- The first point of the take.
- The second point of the take.
`, title, i+1))
	}
	return dir, cfgPath
}

func TestServe(t *testing.T) {
	dir, cfgPath := mustServeDir(t)
	env := map[string]string{"SERVE_TEST_SECRET": strings.Repeat("s", 40)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"--config", cfgPath, "serve", "--listen", "127.0.0.1:0"}, &stdout, &stderr, func(k string) string { return env[k] })
	}()
	addrRE := regexp.MustCompile(`msg=serving addr=(\S+)`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == "" && time.Now().Before(deadline); {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d early:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("serve did not start:\n%s", stderr.String())
	}
	base := "http://" + addr
	get := func(p string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	for _, tt := range []struct {
		path, ctype, want string
	}{
		{"/", "text/html; charset=utf-8", "Harbour cranes get a quieter motor"},
		{"/feed.xml", "application/rss+xml; charset=utf-8", "A library opens on a Sunday"},
		{"/atom.xml", "application/atom+xml; charset=utf-8", "<feed"},
		{"/feed.json", "application/feed+json; charset=utf-8", "jsonfeed.org"},
		{"/subscribe", "text/html; charset=utf-8", `name="website"`},
		{"/healthz", "text/plain; charset=utf-8", "ok"},
	} {
		resp, body := get(tt.path)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.ctype || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %q, body has %q: %v", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), tt.want, strings.Contains(body, tt.want))
		}
	}
	// The metrics are on their own loopback listener, never the public one.
	if resp, _ := get("/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the public listener = %d, want 404", resp.StatusCode)
	}
	m := regexp.MustCompile(`msg=serving .*metrics=(127\.0\.0\.1:\d+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no metrics address in the serving line:\n%s", stderr.String())
	}
	if m[1] == addr {
		t.Errorf("metrics share the public address %s", addr)
	}
	if resp, err := http.Get("http://" + m[1] + "/metrics"); err != nil {
		t.Errorf("metrics listener: %v", err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "briefcast_subscribers{status=") {
			t.Errorf("GET /metrics on the metrics listener = %d, has briefcast_subscribers: %v", resp.StatusCode, strings.Contains(string(b), "briefcast_subscribers{status="))
		}
	}
	resp, err := http.PostForm(base+"/subscribe", url.Values{"email": {"reader@example.org"}, "digest": {"daily"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("subscribe: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "public", "feed.xml")); err != nil {
		t.Errorf("static copy not written: %v", err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d:\n%s", code, stderr.String())
		}
		// The confirmation is sent from a queue, which a shutdown drains.
		emls, _ := filepath.Glob(filepath.Join(dir, "data", "outbox", "confirm", "*.eml"))
		if len(emls) != 1 {
			t.Errorf("confirmation emails in the outbox: %v", emls)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if logs := stderr.String(); strings.Contains(logs, "reader@example.org") || strings.Contains(logs, "token=") {
		t.Errorf("logs hold an address or a token:\n%s", logs)
	}
}

func TestServeBadListen(t *testing.T) {
	_, cfgPath := mustServeDir(t)
	var stdout, stderr lockedBuffer
	code := Run(context.Background(), []string{"--config", cfgPath, "serve", "--listen", "256.0.0.1:99999"}, &stdout, &stderr, func(string) string { return "" })
	if code != 1 || !strings.Contains(stderr.String(), "server.listen") {
		t.Errorf("got %d:\n%s", code, stderr.String())
	}
}

func TestServeBadMetricsListen(t *testing.T) {
	_, cfgPath := mustServeDir(t)
	// Something already listens there: serve must not start without its
	// metrics, nor fall back to the public port.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), `metrics_listen = "127.0.0.1:0"`, fmt.Sprintf("metrics_listen = %q", taken.Addr().String()), 1)
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr lockedBuffer
	env := map[string]string{"SERVE_TEST_SECRET": strings.Repeat("s", 40)}
	code := Run(context.Background(), []string{"--config", cfgPath, "serve", "--listen", "127.0.0.1:0", "--no-scheduler"}, &stdout, &stderr, func(k string) string { return env[k] })
	if code != 1 || !strings.Contains(stderr.String(), "server.metrics_listen") {
		t.Errorf("got %d:\n%s", code, stderr.String())
	}
}
