package daemon

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"briefcast/config"
	"briefcast/metrics"
	"briefcast/scheduler"
	"briefcast/store"
)

const testConfig = `[site]
title = "Daemon Test"
base_url = "BASEURL"
[feeds]
rebuild = "@every 1h"
[email]
from = "FROM"
transport = "file"
[server]
listen = "LISTEN"
metrics_listen = "off"
DIGESTS
[subscriptions]
secret_env = "DAEMON_TEST_SECRET"
`

const twoDigests = `[[digests]]
name = "daily"
schedule = "0 7 * * *"
timezone = "America/New_York"
[[digests]]
name = "rebuild"
schedule = "@weekly"
catch_up = "0"
`

const article = `+++
title = "Harbour Lights Switch to LED"
date = 2026-11-20T16:45:00
tags = ["town"]
+++

## Instant Insight

- The harbour's lamps now use a third of the power.

## 2-Minute Digest

The work was done at night.

## Full Depth

The council paid for it from the lighting budget.
`

// lockedBuffer is a log sink the daemon's goroutines write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

type testEnv struct {
	dir, cfgPath string
	logs         *lockedBuffer
	getenv       func(string) string
}

type settings struct{ base, from, listen, digests string }

var defaults = settings{"http://127.0.0.1/", "Daemon Test <brief@example.org>", "127.0.0.1:0", twoDigests}

func (e *testEnv) write(t *testing.T, s settings) {
	t.Helper()
	text := strings.NewReplacer("BASEURL", s.base, "FROM", s.from, "LISTEN", s.listen, "DIGESTS", s.digests).Replace(testConfig)
	if err := os.WriteFile(e.cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *testEnv) load() (*config.Config, error) { return config.Load(e.cfgPath, e.getenv) }

func mustEnv(t *testing.T) *testEnv {
	t.Helper()
	e := &testEnv{dir: t.TempDir(), logs: &lockedBuffer{}}
	e.cfgPath = filepath.Join(e.dir, "config.toml")
	e.getenv = func(k string) string {
		if k == "DAEMON_TEST_SECRET" {
			return strings.Repeat("s", 40)
		}
		return ""
	}
	e.write(t, defaults)
	if err := os.MkdirAll(filepath.Join(e.dir, "content"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "content", "lights.md"), []byte(article), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *testEnv) options() Options {
	return Options{
		Log: slog.New(slog.NewTextHandler(e.logs, nil)), Getenv: e.getenv, Load: e.load,
		OpenStore: func(ctx context.Context, cfg *config.Config) (Store, error) {
			if err := os.MkdirAll(filepath.Dir(cfg.Store.DSN), 0o755); err != nil {
				return nil, err
			}
			return store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN)
		},
		Metrics: metrics.New(prometheus.NewRegistry()),
	}
}

// mustDaemon makes a daemon that is not running: tests drive its parts.
func (e *testEnv) mustDaemon(t *testing.T, o Options) *Daemon {
	t.Helper()
	cfg, err := e.load()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	return d
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

func TestJobs(t *testing.T) {
	e := mustEnv(t)
	d := e.mustDaemon(t, e.options())
	got := d.sched.Entries()
	want := []struct{ name, spec, zone string }{
		{"digest:daily", "0 7 * * *", "America/New_York"},
		{"digest:rebuild", "@weekly", "UTC"},
		{"rebuild", "@every 1h", "UTC"},
	}
	if len(got) != len(want) {
		t.Fatalf("entries %+v", got)
	}
	for i, w := range want {
		if got[i].Name != w.name || got[i].Spec != w.spec || got[i].Location.String() != w.zone {
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
			if got := SchedulerLockPath(cfg); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSingleInstanceOnSQLite(t *testing.T) {
	e := mustEnv(t)
	first := e.mustDaemon(t, e.options())
	ctx := context.Background()
	if err := first.start(ctx); err != nil {
		t.Fatal(err)
	}
	second := e.mustDaemon(t, e.options())
	err := second.start(ctx)
	if !errors.Is(err, scheduler.ErrLocked) || !strings.Contains(err.Error(), "briefcast.db.scheduler.lock") {
		t.Errorf("second start = %v, want ErrLocked naming the lock file", err)
	}
	mustStop(t, first)
	if err := second.start(ctx); err != nil {
		t.Errorf("start after the first stopped: %v", err)
	}
	mustStop(t, second)
}

func mustStop(t *testing.T, d *Daemon) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// TestRebuildKeepsLastGood: an article saved broken keeps its last good
// version on the site; an emptied content folder keeps the whole site
// unless AllowEmpty.
func TestRebuildKeepsLastGood(t *testing.T) {
	for _, allow := range []bool{false, true} {
		e := mustEnv(t)
		o := e.options()
		o.AllowEmpty = allow
		d := e.mustDaemon(t, o)
		path := filepath.Join(e.dir, "content", "lights.md")
		if err := os.WriteFile(path, []byte("+++\ntitle = \n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.rebuild(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(d.cur.Load().srv.Site().Articles); n != 1 {
			t.Errorf("after a broken save the site has %d articles, want the last good 1", n)
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		err := d.rebuild(context.Background())
		served := len(d.cur.Load().srv.Site().Articles)
		switch {
		case !allow && (err == nil || !strings.Contains(err.Error(), "site.content_dir") || served != 1):
			t.Errorf("rebuild with no articles: %v; serves %d (want the old 1)", err, served)
		case allow && (err != nil || served != 0):
			t.Errorf("rebuild with no articles, allowed: %v; serves %d (want 0)", err, served)
		}
	}
}

func TestWatcherRebuilds(t *testing.T) {
	e := mustEnv(t)
	d := e.mustDaemon(t, e.options())
	if err := d.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer mustStop(t, d)
	second := strings.Replace(article, "Harbour Lights Switch to LED", "Ferry Timetable Changes", 1)
	if err := os.WriteFile(filepath.Join(e.dir, "content", "ferry.md"), []byte(second), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the new article served", func() bool {
		_, body := get(t, d, "/")
		return strings.Contains(body, "Ferry Timetable Changes")
	})
}

// waitUntil polls cond: the watcher's debounce and the scheduler run on
// their own goroutines, and no event says they are done.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func outbox(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".eml") {
			b, _ := os.ReadFile(p)
			out = append(out, string(b))
		}
		return nil
	})
	return out
}

// signUp posts the sign-up form and flushes the confirmation queue of the
// current graph, returning the messages in the outbox.
func signUp(t *testing.T, d *Daemon, path, addr string) []string {
	t.Helper()
	form := url.Values{"email": {addr}, "digest": {"daily"}}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	d.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("sign-up: %d\n%s", rec.Code, rec.Body.String())
	}
	if err := d.cur.Load().mailer.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return outbox(t, filepath.Join(filepath.Dir(d.Config().Path), "data", "outbox"))
}

// TestReloadRebuildsGraph: a reloaded base_url reaches the pages and the
// confirmation mail's link, a reloaded from its From; the old graph's
// queued mail is still sent.
func TestReloadRebuildsGraph(t *testing.T) {
	e := mustEnv(t)
	d := e.mustDaemon(t, e.options())
	if _, body := get(t, d, "/"); !strings.Contains(body, `href="http://127.0.0.1/feed.xml"`) {
		t.Fatalf("the index does not name the first base_url")
	}
	before := signUp(t, d, "/subscribe", "ada@example.org")
	if len(before) != 1 || !strings.Contains(before[0], "brief@example.org") {
		t.Fatalf("first confirmation: %q", before)
	}

	s := defaults
	s.base, s.from = "https://news.example.org/town/", "Town News <town@example.org>"
	e.write(t, s)
	if err := d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, d, "/town/")
	if code != http.StatusOK || !strings.Contains(body, `href="https://news.example.org/town/feed.xml"`) || strings.Contains(body, "http://127.0.0.1/") {
		t.Errorf("after reload GET /town/ = %d; want links under the new base_url:\n%.600s", code, body)
	}
	after := signUp(t, d, "/town/subscribe", "bob@example.org")
	var bob string
	for _, m := range after {
		if strings.Contains(m, "bob@example.org") {
			bob = m
		}
	}
	if !strings.Contains(bob, "From: \"Town News\" <town@example.org>") || !strings.Contains(bob, "https://news.example.org/town/confirm?token=") {
		t.Errorf("confirmation after reload lacks the new From or base_url:\n%s", bob)
	}
	if !strings.Contains(e.logs.String(), "msg=reloaded") {
		t.Errorf("the reload was not logged")
	}
}

// TestReloadSchedules: a changed digest list changes the jobs; a bad
// schedule is rejected and the old jobs stay.
func TestReloadSchedules(t *testing.T) {
	e := mustEnv(t)
	d := e.mustDaemon(t, e.options())
	names := func() string {
		var out []string
		for _, en := range d.sched.Entries() {
			out = append(out, en.Name+"="+en.Spec)
		}
		return strings.Join(out, " ")
	}
	s := defaults
	s.digests = strings.Replace(twoDigests, "0 7 * * *", "0 25 * * *", 1)
	e.write(t, s)
	if err := d.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "schedule") {
		t.Errorf("Reload of a bad schedule = %v", err)
	}
	if got, want := names(), "digest:daily=0 7 * * * digest:rebuild=@weekly rebuild=@every 1h"; got != want {
		t.Errorf("after a rejected reload: %s, want %s", got, want)
	}
	if !strings.Contains(e.logs.String(), "reload_rejected") {
		t.Errorf("the rejected reload was not logged")
	}

	s.digests = "[[digests]]\nname = \"weekly\"\nschedule = \"30 6 * * 1\"\n"
	e.write(t, s)
	if err := d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := names(), "digest:weekly=30 6 * * 1 rebuild=@every 1h"; got != want {
		t.Errorf("after reload: %s, want %s", got, want)
	}
	if _, body := get(t, d, "/subscribe"); !strings.Contains(body, `value="weekly"`) || strings.Contains(body, `value="daily"`) {
		t.Errorf("the sign-up form does not offer the reloaded digest list")
	}
}

// TestReloadNeedsRestart: a changed listen address is logged as needing a
// restart, and the running listener stays.
func TestReloadNeedsRestart(t *testing.T) {
	e := mustEnv(t)
	d := e.mustDaemon(t, e.options())
	addr := d.Addr()
	s := defaults
	s.listen = "127.0.0.1:1"
	e.write(t, s)
	if err := d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.logs.String(), "msg=reload_needs_restart key=server.listen") {
		t.Errorf("a changed listen was not logged as needing a restart:\n%s", e.logs.String())
	}
	if d.Addr() != addr {
		t.Errorf("the listener moved to %s", d.Addr())
	}
	// The --listen override holds across reloads: nothing to restart.
	e2 := mustEnv(t)
	o := e2.options()
	o.Listen = "127.0.0.1:0"
	d2 := e2.mustDaemon(t, o)
	e2.write(t, s)
	if err := d2.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e2.logs.String(), "reload_needs_restart") {
		t.Errorf("--listen given, yet the reload asks for a restart:\n%s", e2.logs.String())
	}
}

func TestAdmin(t *testing.T) {
	tok := strings.Repeat("t0k", 12)
	for _, tt := range []struct {
		base   string
		secure bool
	}{
		{"https://news.example.org/", true},
		{"http://127.0.0.1/", false},
	} {
		t.Run(tt.base, func(t *testing.T) {
			e := mustEnv(t)
			s := defaults
			s.base = tt.base
			e.write(t, s)
			o := e.options()
			o.Getenv = func(k string) string {
				if k == "BRIEFCAST_ADMIN_TOKEN" {
					return tok
				}
				return e.getenv(k)
			}
			d := e.mustDaemon(t, o)
			rec := httptest.NewRecorder()
			d.ServeHTTP(rec, httptest.NewRequest("GET", "/admin/?token="+tok, nil))
			cs := rec.Result().Cookies()
			if rec.Code != http.StatusSeeOther || len(cs) != 1 {
				t.Fatalf("login: %d, cookies %v", rec.Code, cs)
			}
			// Behind a proxy that ends TLS the request is plain http, yet
			// the browser is on https: base_url decides.
			if cs[0].Secure != tt.secure || cs[0].SameSite != http.SameSiteStrictMode || !cs[0].HttpOnly {
				t.Errorf("cookie %+v, want Secure %v, SameSite=Strict, HttpOnly", cs[0], tt.secure)
			}
		})
	}
	e := mustEnv(t)
	d := e.mustDaemon(t, e.options())
	if code, _ := get(t, d, "/admin/"); code != http.StatusNotFound {
		t.Errorf("without BRIEFCAST_ADMIN_TOKEN GET /admin/ = %d, want 404", code)
	}
}
