package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"briefcast/subscribers"
)

func TestSubscribeForm(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	w := e.do(t, "GET", "/subscribe", nil)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	for _, want := range []string{
		`<form class="subscribe" method="post" action="/subscribe">`,
		`name="email" type="email" required`,
		`name="name"`,
		`name="digest" value="daily" checked> Daily Brief`,
		`name="digest" value="weekly" checked> Weekly Review`,
		`<div class="hp" aria-hidden="true">`,
		`name="website" type="text" tabindex="-1"`,
		"By subscribing you agree",
		`href="/assets/style.css"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("form lacks %q", want)
		}
	}
	// One script, the site's own file: no inline code.
	if strings.Count(body, "<script") != 1 || !strings.Contains(body, `<script src="/subscribe.js" defer></script>`) {
		t.Errorf("form has scripts other than its own /subscribe.js")
	}
	for h, want := range map[string]string{
		"Content-Type":    "text/html; charset=utf-8",
		"Cache-Control":   "no-store",
		"Referrer-Policy": "no-referrer",
	} {
		if got := w.Header().Get(h); got != want {
			t.Errorf("%s: got %q, want %q", h, got, want)
		}
	}
}

// TestSubscribeConfirm walks sign-up, confirmation and its replay.
func TestSubscribeConfirm(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	form := subscribeForm("Ada@Example.ORG", "daily", "weekly", "unknown")
	w := e.post(t, "/subscribe", form, "203.0.113.7")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Check your inbox") {
		t.Fatalf("subscribe: %d %s", w.Code, w.Body.String())
	}
	sub := mustSubscriber(t, e.store, "ada@example.org")
	if sub.Status != subscribers.Pending {
		t.Errorf("status: got %s, want pending", sub.Status)
	}
	if fmt.Sprint(sub.Digests) != "[daily weekly]" || sub.Name != "Ada" || sub.Source != subscribers.SourceForm {
		t.Errorf("stored %+v", sub)
	}
	if sub.ConsentIP != "203.0.113.7" || !sub.ConsentAt.Equal(t0) || sub.ConsentText != e.srv.consent {
		t.Errorf("consent: ip %q at %v text %q", sub.ConsentIP, sub.ConsentAt, sub.ConsentText)
	}
	link := e.mail.link(sub.Email)
	if !strings.HasPrefix(link, "http://example.org/confirm?token=") {
		t.Fatalf("confirmation link %q", link)
	}
	u, _ := url.Parse(link)
	// Opening the link (as a mail provider's link scanner does) shows a
	// button and changes nothing.
	for i := 0; i < 2; i++ {
		w = e.do(t, "GET", u.RequestURI(), nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `<button type="submit" id="confirm">`) ||
			!strings.Contains(w.Body.String(), `name="token" value="`+tokenOf(t, link)+`"`) {
			t.Fatalf("confirm page %d: %d %s", i, w.Code, w.Body.String())
		}
		if w.Header().Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("token page may leak its URL in Referer")
		}
		mustStatus(t, e.store, sub.ID, subscribers.Pending)
	}
	for i := 0; i < 2; i++ { // the second is a replay
		w = e.post(t, "/confirm", url.Values{"token": {tokenOf(t, link)}}, "203.0.113.7")
		if w.Code != 200 || !strings.Contains(w.Body.String(), "You are subscribed") {
			t.Fatalf("confirm %d: %d %s", i, w.Code, w.Body.String())
		}
		mustStatus(t, e.store, sub.ID, subscribers.Active)
	}
	if w = e.do(t, "GET", u.RequestURI(), nil); !strings.Contains(w.Body.String(), "You are subscribed") {
		t.Errorf("the page of a confirmed link: %d %s", w.Code, w.Body.String())
	}
	evs, err := e.store.Events(context.Background(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[1].To != subscribers.Active {
		t.Errorf("events: %+v", evs)
	}
	// The link stops working after confirm_ttl.
	e.clock.Add(72*time.Hour + time.Second)
	if w = e.do(t, "GET", u.RequestURI(), nil); w.Code != 400 || !strings.Contains(w.Body.String(), "expired") {
		t.Errorf("expired link: %d", w.Code)
	}
	if w = e.post(t, "/confirm", url.Values{"token": {tokenOf(t, link)}}, "203.0.113.7"); w.Code != 400 || !strings.Contains(w.Body.String(), "expired") {
		t.Errorf("expired link, POST: %d", w.Code)
	}
}

// TestSubscribeSamePage checks the answer reveals nothing about the
// address: new, pending, active and unsubscribed addresses all get the
// same bytes.
func TestSubscribeSamePage(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	ctx := context.Background()
	mk := func(addr string, st subscribers.Status) {
		s, _, err := e.store.Subscribe(ctx, subscribers.SubscribeRequest{Email: addr, Digests: []string{"weekly"}, Source: subscribers.SourceCLI, Active: st != subscribers.Pending})
		if err != nil {
			t.Fatal(err)
		}
		if st == subscribers.Unsubscribed {
			if err := e.store.SetStatus(ctx, s.ID, st, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("pending@example.org", subscribers.Pending)
	mk("active@example.org", subscribers.Active)
	mk("gone@example.org", subscribers.Unsubscribed)
	var first []byte
	for i, addr := range []string{"new@example.org", "pending@example.org", "active@example.org", "gone@example.org"} {
		w := e.post(t, "/subscribe", subscribeForm(addr), fmt.Sprintf("198.51.100.%d", i+1))
		if w.Code != 200 {
			t.Fatalf("%s: status %d", addr, w.Code)
		}
		if first == nil {
			first = w.Body.Bytes()
		} else if !bytes.Equal(first, w.Body.Bytes()) {
			t.Errorf("%s: a different page", addr)
		}
	}
	// The active subscriber's preferences were not changed by a stranger.
	if s := mustSubscriber(t, e.store, "active@example.org"); s.Status != subscribers.Active || fmt.Sprint(s.Digests) != "[weekly]" {
		t.Errorf("active subscriber changed: %+v", s)
	}
	// The suppressed one is pending again and was sent a confirmation.
	if s := mustSubscriber(t, e.store, "gone@example.org"); s.Status != subscribers.Pending || e.mail.link(s.Email) == "" {
		t.Errorf("resubscribe: %s, link %q", s.Status, e.mail.link(s.Email))
	}
	if e.mail.link("active@example.org") != "" {
		t.Errorf("an active subscriber was sent a confirmation")
	}
}

func TestSubscribeBadInput(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	long := strings.Repeat("a", 10<<10) + "@example.org"
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"empty", url.Values{"digest": {"daily"}}, 400, "does not look like an e-mail address"},
		{"not an address", subscribeForm("not-an-address"), 400, "does not look like"},
		{"header injection", subscribeForm("a@example.org\r\nBcc: victim@example.net"), 400, "does not look like"},
		{"lf only", subscribeForm("a@example.org\nX: y"), 400, "does not look like"},
		{"ten kilobytes", subscribeForm(long), 400, "does not look like"},
		{"nul", subscribeForm("a@exam\x00ple.org"), 400, "does not look like"},
		{"markup", subscribeForm(`"><script>alert(1)</script>@example.org`), 400, "&lt;script&gt;"},
		{"invalid utf-8", subscribeForm("a\xff@example.org"), 400, "does not look like"},
		{"two addresses", subscribeForm("a@example.org, b@example.org"), 400, "does not look like"},
		{"no digest", url.Values{"email": {"a@example.org"}}, 400, "tick at least one digest"},
		{"unknown digest only", subscribeForm("a@example.org", "monthly"), 400, "tick at least one digest"},
		{"name over the store's limit", withName(subscribeForm("a@example.org"), strings.Repeat("é", subscribers.MaxNameLen/2+1)), 400, "name is too long"},
		{"ten-kilobyte name", withName(subscribeForm("a@example.org"), strings.Repeat("n", 10<<10)), 400, "name is too long"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.post(t, "/subscribe", tt.form, fmt.Sprintf("192.0.2.%d", i+1))
			if w.Code != tt.status {
				t.Fatalf("status: got %d, want %d", w.Code, tt.status)
			}
			body := w.Body.String()
			if !strings.Contains(body, tt.want) {
				t.Errorf("page lacks %q", tt.want)
			}
			if strings.Contains(body, "<script>") {
				t.Errorf("markup reflected unescaped")
			}
			// The page holds the zone list twice (list and search), about
			// 38 KB; a reflected ten-kilobyte field would show.
			if len(body) > 46<<10 {
				t.Errorf("a %d-byte page: the long input was reflected", len(body))
			}
		})
	}
	counts, _ := e.store.Counts(context.Background())
	var n int64
	for _, c := range counts {
		n += c
	}
	if n != 0 || e.mail.count() != 0 {
		t.Errorf("bad input stored %v or mailed %d", n, e.mail.count())
	}
}

func TestSubscribeHoneypotSizeMethod(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	form := subscribeForm("bot@example.org")
	form.Set("website", "http://spam.example")
	w := e.post(t, "/subscribe", form, "192.0.2.1")
	human := e.post(t, "/subscribe", subscribeForm("human@example.org"), "192.0.2.2")
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), human.Body.Bytes()) {
		t.Errorf("honeypot: status %d, same page %v", w.Code, bytes.Equal(w.Body.Bytes(), human.Body.Bytes()))
	}
	if _, err := e.store.GetByEmail(context.Background(), "bot@example.org"); err != subscribers.ErrNotFound {
		t.Errorf("honeypot stored the bot: %v", err)
	}
	if e.mail.link("bot@example.org") != "" {
		t.Errorf("honeypot mailed the bot")
	}

	big := url.Values{"email": {"big@example.org"}, "digest": {"daily"}, "name": {strings.Repeat("x", 100<<10)}}
	for _, target := range []string{"/subscribe", "/unsubscribe", "/preferences"} {
		if w := e.post(t, target, big, "192.0.2.3"); w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s oversized: got %d, want 413", target, w.Code)
		}
	}
	tests := []struct{ method, path, allow string }{
		{"PUT", "/subscribe", "GET, HEAD, POST"},
		{"DELETE", "/unsubscribe", "GET, HEAD, POST"},
		{"PATCH", "/preferences", "GET, HEAD, POST"},
		{"PUT", "/confirm", "GET, HEAD, POST"},
		{"POST", "/healthz", "GET, HEAD"},
	}
	for _, tt := range tests {
		w := e.do(t, tt.method, tt.path, strings.NewReader(""))
		if w.Code != 405 || w.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: got %d Allow %q, want 405 %q", tt.method, tt.path, w.Code, w.Header().Get("Allow"), tt.allow)
		}
	}
}

// TestRateLimit: 429 with Retry-After once a client IP or an address has
// used its burst; tokens come back with time.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	for i := 0; i < 5; i++ {
		if w := e.post(t, "/subscribe", subscribeForm(fmt.Sprintf("u%d@example.org", i)), "192.0.2.9"); w.Code != 200 {
			t.Fatalf("attempt %d: %d", i, w.Code)
		}
	}
	w := e.post(t, "/subscribe", subscribeForm("u9@example.org"), "192.0.2.9")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
		t.Fatalf("sixth from one IP: got %d Retry-After %q, want 429 Retry-After 60", w.Code, w.Header().Get("Retry-After"))
	}
	if _, err := e.store.GetByEmail(context.Background(), "u9@example.org"); err != subscribers.ErrNotFound {
		t.Errorf("rate-limited sign-up was stored")
	}
	for i := 0; i < 3; i++ {
		if w := e.post(t, "/subscribe", subscribeForm("target@example.org"), fmt.Sprintf("198.51.100.%d", i+1)); w.Code != 200 {
			t.Fatalf("address attempt %d: %d", i, w.Code)
		}
	}
	if w := e.post(t, "/subscribe", subscribeForm("TARGET@example.org"), "198.51.100.50"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "600" {
		t.Fatalf("fourth for one address: got %d Retry-After %q, want 429 Retry-After 600", w.Code, w.Header().Get("Retry-After"))
	}
	if e.mail.count() != 5+3 {
		t.Errorf("mails: got %d, want 8", e.mail.count())
	}
	e.clock.Add(time.Hour)
	if w := e.post(t, "/subscribe", subscribeForm("u9@example.org"), "192.0.2.9"); w.Code != 200 {
		t.Errorf("after an hour: got %d, want 200", w.Code)
	}
}

func TestLimiterBounded(t *testing.T) {
	l := newLimiter(RateLimit{Burst: 1, Every: time.Hour})
	l.buckets.Max = 100
	for i := 0; i < 1000; i++ {
		l.allow(fmt.Sprint(i), t0)
	}
	if n := len(l.buckets.m); n > 100 {
		t.Errorf("map grew to %d", n)
	}
}

func TestClientIP(t *testing.T) {
	e := newEnv(t, "http://example.org/", `[server]
trusted_proxies = ["10.0.0.0/8", "fd00::/8", "192.0.2.1"]`)
	tests := []struct {
		name, peer, xff, want string
	}{
		{"direct", "203.0.113.5:1234", "", "203.0.113.5"},
		{"untrusted peer ignores header", "203.0.113.5:1234", "198.51.100.1", "203.0.113.5"},
		{"trusted proxy", "10.1.2.3:1234", "198.51.100.1", "198.51.100.1"},
		{"single trusted address", "192.0.2.1:1234", "198.51.100.1", "198.51.100.1"},
		{"chain of proxies", "10.1.2.3:1234", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"spoofed left part", "10.1.2.3:1234", "6.6.6.6, 198.51.100.1", "198.51.100.1"},
		{"garbage", "10.1.2.3:1234", "not-an-ip", "10.1.2.3"},
		{"ipv6", "[fd00::1]:1234", "2001:db8::7", "2001:db8::7"},
		{"mapped", "[::ffff:203.0.113.5]:1234", "", "203.0.113.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/subscribe", nil)
			r.RemoteAddr = tt.peer
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := e.srv.ClientIP(r).String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	if got := ClientKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); got != "2001:db8:1:2::/64" {
		t.Errorf("ClientKey: %s", got)
	}
}

func TestSingleOptIn(t *testing.T) {
	e := newEnv(t, "http://example.org/", "[subscriptions]\ndouble_opt_in = false")
	w := e.post(t, "/subscribe", subscribeForm("ada@example.org"), "192.0.2.1")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Thank you") {
		t.Fatalf("subscribe: %d", w.Code)
	}
	if s := mustSubscriber(t, e.store, "ada@example.org"); s.Status != subscribers.Active {
		t.Errorf("status: got %s, want active", s.Status)
	}
	if e.mail.count() != 0 {
		t.Errorf("a confirmation was sent without double opt-in")
	}
}

// TestQueueFullUnavailable: a sign-up the queue cannot take is refused
// with a 503, the same for every address, and nothing is stored.
func TestQueueFullUnavailable(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	mustSubscribed(t, e, "active@example.org")
	e.mail.err = errQueueFull
	for i, addr := range []string{"ada@example.org", "active@example.org"} {
		w := e.post(t, "/subscribe", subscribeForm(addr), fmt.Sprintf("192.0.2.%d", i+1))
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: got %d, want 503 with Retry-After", addr, w.Code)
		}
	}
	if _, err := e.store.GetByEmail(context.Background(), "ada@example.org"); err != subscribers.ErrNotFound {
		t.Errorf("a refused sign-up was stored: %v", err)
	}
}

// mustSubscribed creates an active subscriber and returns its id.
func mustSubscribed(t *testing.T, e *env, addr string) int64 {
	t.Helper()
	s, _, err := e.store.Subscribe(context.Background(), subscribers.SubscribeRequest{Email: addr, Digests: []string{"daily"}, Active: true, Source: subscribers.SourceCLI})
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}
