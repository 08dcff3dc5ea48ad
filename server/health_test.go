package server

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"briefcast/store"
	"briefcast/templates"
)

func TestHealthz(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	if w := e.do(t, "GET", "/healthz", nil); w.Code != 200 {
		t.Errorf("healthy: %d", w.Code)
	}
	empty, err := New(optionsOf(e.cfg), e.store, e.mail, e.signer, templates.Embedded(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	empty.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != 503 {
		t.Errorf("no site: %d", w.Code)
	}
	closed := newEnv(t, "http://example.org/", "")
	closed.store.Close()
	if w := closed.do(t, "GET", "/healthz", nil); w.Code != 503 {
		t.Errorf("store closed: %d", w.Code)
	}
}

// TestHealthzReadOnlyStore serves the same SQLite file through a store
// opened read-only (mode=ro: SQLite itself refuses writes, which chmod
// cannot do for root). Reads still work there, so only a write probe tells
// that sign-ups and deliveries would fail.
func TestHealthzReadOnlyStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "briefcast.db")
	for _, tt := range []struct {
		name, dsn string
		want      int
	}{
		{"writable", path, 200},
		{"read-only", "file:" + path + "?mode=ro", 503},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, err := store.Open(context.Background(), "sqlite", tt.dsn)
			if err != nil {
				t.Fatalf("open %s: %v", tt.dsn, err)
			}
			defer st.Close()
			e := newEnv(t, "http://example.org/", "")
			srv, err := New(optionsOf(e.cfg), st, e.mail, e.signer, templates.Embedded(), nil)
			if err != nil {
				t.Fatal(err)
			}
			srv.SetSite(testSite(1))
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
			if w.Code != tt.want {
				t.Errorf("GET /healthz = %d %q, want %d", w.Code, w.Body.String(), tt.want)
			}
		})
	}
}

// TestHealthCheckCache: the write probe runs at most once per healthTTL,
// whatever it found, so /healthz cannot be used to load the database.
func TestHealthCheckCache(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := &healthCheck{now: func() time.Time { return now }}
	probes := 0
	fail := errors.New("disk full")
	probe := func(context.Context) error { probes++; return fail }
	for i := range 3 {
		if err, fresh := h.check(context.Background(), probe); err != fail || fresh != (i == 0) {
			t.Errorf("check %d = %v, fresh %v", i, err, fresh)
		}
	}
	if probes != 1 {
		t.Errorf("probes within the TTL = %d, want 1", probes)
	}
	now = now.Add(healthTTL)
	fail = nil
	if err, fresh := h.check(context.Background(), probe); err != nil || !fresh || probes != 2 {
		t.Errorf("after the TTL: %v, fresh %v, probes %d; want a new probe", err, fresh, probes)
	}
}
