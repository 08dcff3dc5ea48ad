package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"briefcast/config"
	"briefcast/editions"
	"briefcast/metrics"
	"briefcast/scheduler"
	"briefcast/store"
	"briefcast/subscribers"
	"briefcast/templates"
)

const daemonTestConfig = `[site]
title = "Daemon Test"
base_url = "http://127.0.0.1/"
[feeds]
rebuild = "REBUILD"
[email]
from = "Daemon Test <brief@example.org>"
transport = "file"
[[digests]]
name = "daily"
schedule = "SCHEDULE"
timezone = "America/New_York"
[[digests]]
name = "rebuild"
schedule = "@weekly"
catch_up = "0"
[subscriptions]
secret_env = "DAEMON_TEST_SECRET"
`

type daemonEnv struct {
	dir, cfgPath string
	a            *App
	cfg          *config.Config
	store        *store.DB
	logs         *lockedBuffer
	rebuilds     chan struct{}
	digests      chan time.Time
}

func writeDaemonConfig(t *testing.T, path, schedule, rebuild string) {
	t.Helper()
	text := strings.NewReplacer("SCHEDULE", schedule, "REBUILD", rebuild).Replace(daemonTestConfig)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustDaemonEnv(t *testing.T, schedule string) *daemonEnv {
	t.Helper()
	e := &daemonEnv{dir: t.TempDir(), logs: &lockedBuffer{}, rebuilds: make(chan struct{}, 16), digests: make(chan time.Time, 16)}
	e.cfgPath = filepath.Join(e.dir, "config.toml")
	writeDaemonConfig(t, e.cfgPath, schedule, "@every 1h")
	if err := os.MkdirAll(filepath.Join(e.dir, "content"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.a = &App{Stdout: io.Discard, Stderr: io.Discard, Stdin: strings.NewReader(""),
		Getenv: func(string) string { return "" }, Log: slog.New(slog.NewTextHandler(e.logs, nil)),
		Now: time.Now, ConfigPath: e.cfgPath}
	cfg, err := e.a.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	e.store, err = e.a.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	return e
}

func (e *daemonEnv) newDaemon(t *testing.T) *daemon {
	t.Helper()
	d, err := newDaemon(e.a, e.cfg, e.store, metrics.New(prometheus.NewRegistry()),
		func(context.Context) error { e.rebuilds <- struct{}{}; return nil },
		func(_ context.Context, dg config.Digest, cutoff time.Time) error {
			if dg.Name == "daily" {
				e.digests <- cutoff
			}
			return nil
		},
		func(context.Context, config.Digest) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func stopDaemon(t *testing.T, d *daemon) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

func TestDaemonJobs(t *testing.T) {
	e := mustDaemonEnv(t, "0 7 * * *")
	d := e.newDaemon(t)
	got := d.Scheduler().Entries()
	want := []struct{ name, spec, zone string }{
		{"digest:daily", "0 7 * * *", "America/New_York"},
		{"digest:rebuild", "@weekly", "UTC"},
		{"rebuild", "@every 1h", "UTC"},
	}
	if len(got) != len(want) {
		t.Fatalf("entries %+v", got)
	}
	for i, w := range want {
		if got[i].Name != w.name || got[i].Spec != w.spec || got[i].Location.String() != w.zone || len(got[i].Next) != 3 {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], w)
		}
	}
}

func TestSchedulerLockPath(t *testing.T) {
	tests := []struct {
		name, driver, dsn, want string
	}{
		{"sqlite file", "sqlite", "/var/lib/briefcast/briefcast.db", "/var/lib/briefcast/briefcast.db.scheduler.lock"},
		{"sqlite uri", "sqlite", "file:/data/b.db?_pragma=busy_timeout(5000)", "/data/b.db.scheduler.lock"},
		{"sqlite memory", "sqlite", ":memory:", ""},
		{"postgres", "postgres", "postgres://u@h/db", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Store.Driver, cfg.Store.DSN = tt.driver, tt.dsn
			if got := schedulerLockPath(cfg); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDaemonSingleInstanceOnSQLite(t *testing.T) {
	e := mustDaemonEnv(t, "0 7 * * *")
	first := e.newDaemon(t)
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, err := newDaemon(e.a, e.cfg, e.store, metrics.New(prometheus.NewRegistry()),
		func(context.Context) error { return nil },
		func(context.Context, config.Digest, time.Time) error { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = second.Start(context.Background())
	if !errors.Is(err, scheduler.ErrLocked) || !strings.Contains(err.Error(), "briefcast.db.scheduler.lock") {
		t.Errorf("second Start = %v, want ErrLocked naming the lock file", err)
	}
	stopDaemon(t, first)
	// Once the first has stopped, another may start.
	if err := second.Start(context.Background()); err != nil {
		t.Errorf("Start after the first stopped: %v", err)
	}
	stopDaemon(t, second)
}

func TestDaemonCatchUpAndWatch(t *testing.T) {
	e := mustDaemonEnv(t, "* * * * *")
	// The last edition is three minutes old: the newest missed minute runs
	// once, at start.
	last := time.Now().Add(-3 * time.Minute).Truncate(time.Minute)
	if _, _, err := e.store.Subscribe(context.Background(), subscribers.SubscribeRequest{Email: "ada@example.org", Digests: []string{"daily"},
		Active: true, Source: subscribers.SourceImport, ConsentAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ed := &editions.Edition{Digest: "daily", Key: "x", Cutoff: last, Articles: []string{"a"}}
	if err := e.store.CreateEdition(context.Background(), ed); err != nil {
		t.Fatal(err)
	}
	d := e.newDaemon(t)
	start := time.Now()
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stopDaemon(t, d)
	cutoff := waitFor(t, e.digests, "catch-up run")
	if !cutoff.After(last) || cutoff.After(start) || !cutoff.Equal(cutoff.Truncate(time.Minute)) {
		t.Errorf("caught up with cut-off %v; last %v, start %v", cutoff, last, start)
	}

	// A new article file makes a rebuild.
	if err := os.WriteFile(filepath.Join(e.dir, "content", "new.md"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, e.rebuilds, "rebuild after a content change")
}

func TestDaemonReload(t *testing.T) {
	e := mustDaemonEnv(t, "0 7 * * *")
	d := e.newDaemon(t)
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stopDaemon(t, d)
	specOf := func() string {
		for _, en := range d.Scheduler().Entries() {
			if en.Name == "digest:daily" {
				return en.Spec
			}
		}
		return ""
	}

	writeDaemonConfig(t, e.cfgPath, "0 25 * * *", "@every 1h")
	if _, err := d.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "schedule") {
		t.Errorf("Reload of a bad schedule = %v", err)
	}
	if got := specOf(); got != "0 7 * * *" {
		t.Errorf("after a rejected reload the spec is %q", got)
	}
	if !strings.Contains(e.logs.String(), "reload_rejected") {
		t.Errorf("the rejected reload was not logged")
	}

	writeDaemonConfig(t, e.cfgPath, "30 6 * * 1-5", "@every 1h")
	cfg, err := d.Reload(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := specOf(); got != "30 6 * * 1-5" || cfg.Digests[0].Schedule != "30 6 * * 1-5" {
		t.Errorf("after reload the spec is %q", got)
	}
}

func TestNewAdminHandlerDisabled(t *testing.T) {
	e := mustDaemonEnv(t, "0 7 * * *")
	h, err := newAdminHandler(e.a, e.cfg, e.store, nil, templates.Embedded(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Enabled() {
		t.Errorf("enabled without BRIEFCAST_ADMIN_TOKEN")
	}
	e.a.Getenv = func(k string) string {
		if k == "BRIEFCAST_ADMIN_TOKEN" {
			return "a"
		}
		return ""
	}
	if h, err = newAdminHandler(e.a, e.cfg, e.store, nil, templates.Embedded(), nil); err != nil {
		t.Fatal(err)
	}
	if h.Enabled() || !strings.Contains(e.logs.String(), "msg=admin_disabled") {
		t.Errorf("BRIEFCAST_ADMIN_TOKEN=a: enabled %v, logs:\n%s", h.Enabled(), e.logs.String())
	}
}

// TestNewAdminHandlerSecureCookie: behind a proxy that ends TLS the request
// is plain http, yet the browser is on https, so the session cookie must be
// Secure because base_url says https.
func TestNewAdminHandlerSecureCookie(t *testing.T) {
	tok := strings.Repeat("t0k", 12)
	for _, tt := range []struct {
		base   string
		secure bool
	}{
		{"https://news.example.org/", true},
		{"http://127.0.0.1/", false},
	} {
		t.Run(tt.base, func(t *testing.T) {
			e := mustDaemonEnv(t, "0 7 * * *")
			e.a.Getenv = func(k string) string {
				if k == "BRIEFCAST_ADMIN_TOKEN" {
					return tok
				}
				return ""
			}
			e.cfg.Site.BaseURL = tt.base
			h, err := newAdminHandler(e.a, e.cfg, e.store, nil, templates.Embedded(), nil)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/admin/?token="+tok, nil))
			cs := rec.Result().Cookies()
			if rec.Code != http.StatusSeeOther || len(cs) != 1 {
				t.Fatalf("login: %d, cookies %v", rec.Code, cs)
			}
			if cs[0].Secure != tt.secure || cs[0].SameSite != http.SameSiteStrictMode || !cs[0].HttpOnly {
				t.Errorf("cookie %+v, want Secure %v, SameSite=Strict, HttpOnly", cs[0], tt.secure)
			}
		})
	}
}
