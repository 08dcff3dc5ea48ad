package admin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"briefcast/server"
	"briefcast/templates"
	"briefcast/tokens"
)

// fakeNow is a clock the test moves by hand.
type fakeNow struct{ t time.Time }

func (c *fakeNow) Now() time.Time { return c.t }

func mustAuthHandler(t *testing.T, opts ...Option) (*Handler, *fakeNow) {
	t.Helper()
	h, err := New(mustStore(t), nil, templates.Embedded(), token, slog.New(slog.DiscardHandler), opts...)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeNow{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	h.Now = clock.Now
	return h, clock
}

// get sends GET target from the client at remote with the given bearer
// token and cookie (either may be "").
func get(h http.Handler, target, remote, bearerTok, cookie string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", target, nil)
	req.RemoteAddr = remote
	if bearerTok != "" {
		req.Header.Set("Authorization", "Bearer "+bearerTok)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// login opens /admin/?token= and returns the session cookie it set.
func login(t *testing.T, h http.Handler) *http.Cookie {
	t.Helper()
	rec := get(h, "/admin/?token="+token, "192.0.2.10:4000", "", "")
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("login: status %d", rec.Code)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	t.Fatal("login set no session cookie")
	return nil
}

func TestShortTokenDisables(t *testing.T) {
	for _, tt := range []struct {
		name    string
		tok     string
		enabled bool
	}{
		{"one character", "a", false},
		{"31 characters", strings.Repeat("x", MinTokenLength-1), false},
		{"32 characters", strings.Repeat("x", MinTokenLength), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h, err := New(mustStore(t), nil, templates.Embedded(), tt.tok, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if h.Enabled() != tt.enabled {
				t.Errorf("Enabled() = %v, want %v", h.Enabled(), tt.enabled)
			}
			want := http.StatusOK
			if !tt.enabled {
				want = http.StatusNotFound
			}
			if rec := get(h, "/admin/", "192.0.2.1:1", tt.tok, ""); rec.Code != want {
				t.Errorf("GET /admin/ with that token = %d, want %d", rec.Code, want)
			}
			logged := strings.Contains(logs.String(), "msg=admin_disabled")
			if logged == tt.enabled {
				t.Errorf("admin_disabled logged %v, want %v:\n%s", logged, !tt.enabled, logs.String())
			}
			if len(tt.tok) > 1 && strings.Contains(logs.String(), tt.tok) {
				t.Errorf("the log shows the token:\n%s", logs.String())
			}
		})
	}
}

func TestWrongTokensThrottledPerClient(t *testing.T) {
	h, clock := mustAuthHandler(t)
	const attacker, other = "198.51.100.7:5000", "203.0.113.9:6000"
	for i := range maxFailures {
		if rec := get(h, "/admin/", attacker, "wrong-guess-"+strings.Repeat("x", 30), ""); rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: status %d, want 401", i+1, rec.Code)
		}
	}
	rec := get(h, "/admin/", attacker, token, "")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("right bearer after %d failures: %d (Retry-After %q), want 429", maxFailures, rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := get(h, "/admin/?token="+token, attacker, "", ""); rec.Code != http.StatusTooManyRequests {
		t.Errorf("right ?token= after %d failures: %d, want 429", maxFailures, rec.Code)
	}
	if rec := get(h, "/admin/", other, token, ""); rec.Code != http.StatusOK {
		t.Errorf("another client with the right token: %d, want 200", rec.Code)
	}
	// The same /64 is the same client.
	if rec := get(h, "/admin/", "[2001:db8::1]:1", "wrong", ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("v6 wrong token: %d", rec.Code)
	}
	for range maxFailures - 1 {
		get(h, "/admin/", "[2001:db8::2]:1", "wrong", "")
	}
	if rec := get(h, "/admin/", "[2001:db8::ffff]:1", token, ""); rec.Code != http.StatusTooManyRequests {
		t.Errorf("right token from the same /64: %d, want 429", rec.Code)
	}
	clock.t = clock.t.Add(blockFor)
	if rec := get(h, "/admin/", attacker, token, ""); rec.Code != http.StatusOK {
		t.Errorf("right token once the block is over: %d, want 200", rec.Code)
	}
}

// TestThrottleBehindProxy counts failures per client as server.ClientIP
// sees it: behind a trusted proxy, by X-Forwarded-For, so one client's
// guesses do not lock out everyone else who comes through the proxy.
func TestThrottleBehindProxy(t *testing.T) {
	opts := server.Options{BaseURL: "http://localhost:8080/", TrustedProxies: []string{"10.0.0.0/8"}}
	signer, err := tokens.NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(opts, mustStore(t), nil, signer, templates.Embedded(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := mustAuthHandler(t, WithClientIP(srv.ClientIP))
	send := func(client, tok string) int {
		req := httptest.NewRequest("GET", "/admin/", nil)
		req.RemoteAddr = "10.0.0.2:443" // the proxy
		req.Header.Set("X-Forwarded-For", client)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for range maxFailures {
		send("198.51.100.7", "wrong")
	}
	if code := send("198.51.100.7", token); code != http.StatusTooManyRequests {
		t.Errorf("the guessing client: %d, want 429", code)
	}
	if code := send("203.0.113.9", token); code != http.StatusOK {
		t.Errorf("another client through the same proxy: %d, want 200", code)
	}
}

func TestSessionCookie(t *testing.T) {
	h, clock := mustAuthHandler(t)
	first, second := login(t, h), login(t, h)
	if first.Value == second.Value {
		t.Errorf("two logins got the same cookie %q", first.Value)
	}
	old := sha256.Sum256([]byte("briefcast admin cookie\x00" + token))
	for _, c := range []*http.Cookie{first, second} {
		if len(c.Value) < 32 || strings.Contains(c.Value, token) || c.Value == hex.EncodeToString(old[:]) {
			t.Errorf("cookie %q is short or derived from the token", c.Value)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != Path || c.MaxAge <= 0 {
			t.Errorf("cookie attributes %+v", c)
		}
		if c.Secure {
			t.Errorf("Secure on plain http without WithSecureCookie: %+v", c)
		}
	}
	if rec := get(h, "/admin/", "192.0.2.10:1", "", first.Value); rec.Code != http.StatusOK {
		t.Errorf("with the session: %d, want 200", rec.Code)
	}
	// The server forgets the session after its TTL, whatever the browser
	// keeps.
	clock.t = clock.t.Add(sessionTTL - time.Second)
	if rec := get(h, "/admin/", "192.0.2.10:1", "", first.Value); rec.Code != http.StatusOK {
		t.Errorf("just before expiry: %d, want 200", rec.Code)
	}
	clock.t = clock.t.Add(time.Second)
	if rec := get(h, "/admin/", "192.0.2.10:1", "", first.Value); rec.Code != http.StatusUnauthorized {
		t.Errorf("after %v: %d, want 401", sessionTTL, rec.Code)
	}
}

func TestLogout(t *testing.T) {
	h, _ := mustAuthHandler(t)
	c, other := login(t, h), login(t, h)
	if rec := get(h, "/admin/", "192.0.2.10:1", "", c.Value); !strings.Contains(rec.Body.String(), `action="/admin/logout"`) {
		t.Errorf("the page has no logout form")
	}
	if rec := get(h, "/admin/logout", "192.0.2.10:1", "", c.Value); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /admin/logout = %d, want 405", rec.Code)
	}
	req := httptest.NewRequest("POST", "/admin/logout", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: c.Value})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("POST /admin/logout = %d, want 303", rec.Code)
	}
	if cs := rec.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 || cs[0].Value != "" {
		t.Errorf("logout did not clear the cookie: %v", cs)
	}
	if rec := get(h, "/admin/", "192.0.2.10:1", "", c.Value); rec.Code != http.StatusUnauthorized {
		t.Errorf("the logged-out session: %d, want 401", rec.Code)
	}
	if rec := get(h, "/admin/", "192.0.2.10:1", "", other.Value); rec.Code != http.StatusOK {
		t.Errorf("another session after a logout: %d, want 200", rec.Code)
	}
}

func TestSecureCookie(t *testing.T) {
	h, _ := mustAuthHandler(t, WithSecureCookie(true))
	if c := login(t, h); !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("with an https base_url: cookie %+v, want Secure, HttpOnly, SameSite=Strict", c)
	}
}

func TestSessionsBounded(t *testing.T) {
	var s sessions
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	first := s.create(now)
	for i := range maxSessions {
		s.create(now.Add(time.Duration(i+1) * time.Second))
	}
	held := 0
	for _, x := range s.slots {
		if x.expires.After(now) {
			held++
		}
	}
	if held != maxSessions {
		t.Errorf("%d sessions held, want at most %d", held, maxSessions)
	}
	if s.valid(first, now) {
		t.Errorf("the oldest session survived a full table")
	}
}

// Enabled reports whether the page is served.
func (h *Handler) Enabled() bool { return h.token != "" }
