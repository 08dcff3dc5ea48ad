package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"briefcast/editions"
	"briefcast/scheduler"
	"briefcast/store"
	"briefcast/subscribers"
	"briefcast/templates"
)

const token = "s3cret-admin-token-0123456789abcdefghij"

func mustStore(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "briefcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, email := range []string{"ada@example.org", "bob@example.org"} {
		_, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{
			Email: email, Digests: []string{"daily"}, Active: true,
			Source: subscribers.SourceImport, ConsentAt: time.Now(),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	e := &editions.Edition{Digest: "daily", Key: "20261125T1200Z", Cutoff: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Articles: []string{"a1", "a2"}}
	if err := st.CreateEdition(ctx, e); err != nil {
		t.Fatal(err)
	}
	return st
}

func mustHandler(t *testing.T, st *store.DB, tok string) *Handler {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sched := scheduler.New(log, scheduler.NewFakeClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)), nil)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	run := func(context.Context, time.Time) error { return nil }
	if err := sched.Add(scheduler.Job{Name: "digest:daily", Spec: "0 7 * * *", Location: ny, Run: run}); err != nil {
		t.Fatal(err)
	}
	if err := sched.Add(scheduler.Job{Name: "<script>alert(1)</script>", Spec: "@every 5m", Run: run}); err != nil {
		t.Fatal(err)
	}
	h, err := New(st, sched, templates.Embedded(), tok, log)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAuth(t *testing.T) {
	st := mustStore(t)
	on := mustHandler(t, st, token)
	off := mustHandler(t, st, "")
	tests := []struct {
		name   string
		h      *Handler
		method string
		target string
		header string
		cookie string
		want   int
	}{
		{"disabled without a token", off, "GET", "/admin/", "Bearer ", "", 404},
		{"disabled ignores any bearer", off, "GET", "/admin/", "Bearer anything", "", 404},
		{"no credentials", on, "GET", "/admin/", "", "", 401},
		{"wrong bearer", on, "GET", "/admin/", "Bearer nope", "", 401},
		{"token as basic auth", on, "GET", "/admin/", "Basic " + token, "", 401},
		{"wrong query token", on, "GET", "/admin/?token=nope", "", "", 401},
		{"wrong cookie", on, "GET", "/admin/", "", "0000", 401},
		{"right bearer", on, "GET", "/admin/", "Bearer " + token, "", 200},
		{"right query token redirects", on, "GET", "/admin/?token=" + token, "", "", 303},
		{"head", on, "HEAD", "/admin/", "Bearer " + token, "", 200},
		{"post", on, "POST", "/admin/", "Bearer " + token, "", 405},
		{"other path", on, "GET", "/admin/other", "Bearer " + token, "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: cookieName, Value: tt.cookie})
			}
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d", rec.Code, tt.want)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
				t.Errorf("CSP %q", csp)
			}
			if tt.want != 200 && strings.Contains(rec.Body.String(), "digest:daily") {
				t.Errorf("status %d leaks the page", rec.Code)
			}
		})
	}
}

func TestQueryTokenSetsCookie(t *testing.T) {
	h := mustHandler(t, mustStore(t), token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/admin/?token="+token, nil))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/" {
		t.Fatalf("status %d location %q", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin/" || strings.Contains(c.Value, token) {
		t.Errorf("cookie %+v", c)
	}
	req := httptest.NewRequest("GET", "/admin/", nil)
	req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("with the cookie: status %d", rec.Code)
	}
}

func TestPage(t *testing.T) {
	h := mustHandler(t, mustStore(t), token)
	h.Now = func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) }
	req := httptest.NewRequest("GET", "/admin/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"digest:daily", "<code>0 7 * * *</code>", "America/New_York",
		"2026-11-25 07:00 EST", "2026-11-25 12:00 UTC", // next run in its zone and in UTC
		"20261125T1200Z", "sending", // the edition, still sending to its two recipients
		"<svg", "<polyline", // the subscriber chart
		"&lt;script&gt;alert(1)&lt;/script&gt;", // names are escaped
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(body), "<script") {
		t.Errorf("page has a script tag")
	}
	if strings.Contains(body, token) {
		t.Errorf("page shows the token")
	}
}

func TestChart(t *testing.T) {
	day := func(i int, n int64) subscribers.DayCount {
		return subscribers.DayCount{Day: time.Date(2026, 11, 1+i, 0, 0, 0, 0, time.UTC), Active: n}
	}
	tests := []struct {
		name string
		days []subscribers.DayCount
		want string
	}{
		{"rising", []subscribers.DayCount{day(0, 0), day(1, 5), day(2, 10)}, "40,135 335,73 630,10"},
		{"one day", []subscribers.DayCount{day(0, 3)}, "40,10 630,10"},
		{"all zero", []subscribers.DayCount{day(0, 0), day(1, 0)}, "40,135 630,135"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newChart(tt.days).Points; got != tt.want {
				t.Errorf("points %q, want %q", got, tt.want)
			}
		})
	}
	if newChart(nil) != nil {
		t.Errorf("a chart of no days")
	}
}
