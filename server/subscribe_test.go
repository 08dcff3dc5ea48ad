package server

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"briefcast/subscribers"
	"briefcast/tokens"
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
	l.max = 100
	for i := 0; i < 1000; i++ {
		l.allow(fmt.Sprint(i), t0)
	}
	if n := len(l.buckets); n > 100 {
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

func TestConfirmBadTokens(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	ctx := context.Background()
	s, _, err := e.store.Subscribe(ctx, subscribers.SubscribeRequest{Email: "p@example.org", Digests: []string{"daily"}, Source: subscribers.SourceForm})
	if err != nil {
		t.Fatal(err)
	}
	gone := mustSubscribed(t, e, "gone@example.org")
	if err := e.store.SetStatus(ctx, gone, subscribers.Unsubscribed, "test"); err != nil {
		t.Fatal(err)
	}
	good := e.sign(t, tokens.Confirm, s.ID, t0.Add(time.Hour))
	tampered := []byte(good)
	tampered[3] ^= 1
	tests := []struct {
		name, token, want string
	}{
		{"missing", "", "not valid"},
		{"garbage", "hello", "not valid"},
		{"tampered", string(tampered), "not valid"},
		{"truncated", good[:len(good)-2], "not valid"},
		{"expired", e.sign(t, tokens.Confirm, s.ID, t0.Add(-time.Second)), "expired"},
		{"wrong purpose", e.sign(t, tokens.Unsubscribe, s.ID, t0.Add(time.Hour)), "not valid"},
		{"preferences token", e.sign(t, tokens.Preferences, s.ID, t0.Add(time.Hour)), "not valid"},
		{"unknown subscriber", e.sign(t, tokens.Confirm, 99999, t0.Add(time.Hour)), "not valid"},
		{"unsubscribed since", e.sign(t, tokens.Confirm, gone, t0.Add(time.Hour)), "no longer valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			get := e.do(t, "GET", "/confirm?token="+url.QueryEscape(tt.token), nil)
			post := e.post(t, "/confirm", url.Values{"token": {tt.token}}, "192.0.2.1")
			for _, w := range []*httptest.ResponseRecorder{get, post} {
				if w.Code != 400 {
					t.Fatalf("status: got %d, want 400", w.Code)
				}
				body := w.Body.String()
				if !strings.Contains(body, tt.want) || !strings.Contains(body, `href="/subscribe"`) {
					t.Errorf("page lacks %q or a link to subscribe", tt.want)
				}
			}
		})
	}
	mustStatus(t, e.store, s.ID, subscribers.Pending)
	mustStatus(t, e.store, gone, subscribers.Unsubscribed)
}

func TestUnsubscribe(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	tok := func(id int64) string { return e.sign(t, tokens.Unsubscribe, id, t0.Add(linkTTL)) }

	t.Run("page then button", func(t *testing.T) {
		id := mustSubscribed(t, e, "button@example.org")
		w := e.do(t, "GET", "/unsubscribe?token="+tok(id), nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `<button type="submit" id="unsubscribe">`) ||
			!strings.Contains(w.Body.String(), `name="token" value="`+tok(id)+`"`) {
			t.Fatalf("page: %d %s", w.Code, w.Body.String())
		}
		mustStatus(t, e.store, id, subscribers.Active) // a GET changes nothing
		w = e.post(t, "/unsubscribe", url.Values{"token": {tok(id)}}, "192.0.2.1")
		if w.Code != 200 || !strings.Contains(w.Body.String(), "You are unsubscribed") {
			t.Fatalf("post: %d", w.Code)
		}
		mustStatus(t, e.store, id, subscribers.Unsubscribed)
		w = e.do(t, "GET", "/unsubscribe?token="+tok(id), nil)
		if !strings.Contains(w.Body.String(), "You are unsubscribed") {
			t.Errorf("page after: not shown as done")
		}
	})
	t.Run("one-click", func(t *testing.T) {
		id := mustSubscribed(t, e, "oneclick@example.org")
		w := e.post(t, "/unsubscribe?token="+tok(id), url.Values{"List-Unsubscribe": {"One-Click"}}, "192.0.2.1")
		if w.Code != 200 || w.Header().Get("Location") != "" || w.Header().Get("Set-Cookie") != "" {
			t.Fatalf("one-click: %d %v", w.Code, w.Header())
		}
		mustStatus(t, e.store, id, subscribers.Unsubscribed)
		evs, _ := e.store.Events(context.Background(), id)
		if last := evs[len(evs)-1]; last.Reason != "one-click unsubscribe" {
			t.Errorf("event reason %q", last.Reason)
		}
		// Repeating it is harmless.
		if w := e.post(t, "/unsubscribe?token="+tok(id), url.Values{"List-Unsubscribe": {"One-Click"}}, "192.0.2.1"); w.Code != 200 {
			t.Errorf("repeat: %d", w.Code)
		}
		if evs2, _ := e.store.Events(context.Background(), id); len(evs2) != len(evs) {
			t.Errorf("repeat recorded another event")
		}
	})
	t.Run("one-click multipart", func(t *testing.T) {
		id := mustSubscribed(t, e, "multipart@example.org")
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("List-Unsubscribe", "One-Click")
		mw.Close()
		r := httptest.NewRequest("POST", "/unsubscribe?token="+tok(id), &buf)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
		mustStatus(t, e.store, id, subscribers.Unsubscribed)
	})
	t.Run("expired but authentic", func(t *testing.T) {
		id := mustSubscribed(t, e, "old@example.org")
		old := e.sign(t, tokens.Unsubscribe, id, t0.Add(-24*time.Hour))
		if w := e.post(t, "/unsubscribe", url.Values{"token": {old}}, "192.0.2.1"); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
		mustStatus(t, e.store, id, subscribers.Unsubscribed)
	})
	t.Run("forgotten subscriber", func(t *testing.T) {
		if w := e.post(t, "/unsubscribe", url.Values{"token": {tok(424242)}}, "192.0.2.1"); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	})
	id := mustSubscribed(t, e, "stays@example.org")
	bad := []struct{ name, target, token string }{
		{"no token", "/unsubscribe", ""},
		{"garbage", "/unsubscribe", "abc"},
		{"confirm token", "/unsubscribe", e.sign(t, tokens.Confirm, id, t0.Add(time.Hour))},
		{"preferences token", "/unsubscribe", e.sign(t, tokens.Preferences, id, t0.Add(time.Hour))},
		{"other key", "/unsubscribe", mustOtherSigner(t).Sign(tokens.Unsubscribe, id, e.key(t, id), t0.Add(time.Hour))},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			w := e.post(t, tt.target, url.Values{"token": {tt.token}, "List-Unsubscribe": {"One-Click"}}, "192.0.2.1")
			if w.Code != 400 {
				t.Errorf("POST: got %d, want 400", w.Code)
			}
			if w := e.do(t, "GET", tt.target+"?token="+url.QueryEscape(tt.token), nil); w.Code != 400 {
				t.Errorf("GET: got %d, want 400", w.Code)
			}
		})
	}
	mustStatus(t, e.store, id, subscribers.Active)
}

func mustOtherSigner(t *testing.T) *tokens.Signer {
	s, err := tokens.NewSigner(bytes.Repeat([]byte("z"), 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPreferences(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	id := mustSubscribed(t, e, "prefs@example.org")
	tok := e.sign(t, tokens.Preferences, id, t0.Add(linkTTL))
	w := e.do(t, "GET", "/preferences?token="+tok, nil)
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `value="daily" checked>`) || strings.Contains(body, `value="weekly" checked>`) {
		t.Fatalf("page: %d %s", w.Code, body)
	}
	if w.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("no Referrer-Policy on a token page")
	}
	save := func(v url.Values) *httptest.ResponseRecorder {
		v.Set("token", tok)
		return e.post(t, "/preferences", v, "192.0.2.1")
	}
	bad := []struct {
		name string
		form url.Values
		want string
	}{
		{"no digest", url.Values{"timezone": {"Europe/Paris"}}, "tick at least one digest"},
		{"unknown zone", url.Values{"digest": {"daily"}, "timezone": {"Mars/Olympus"}}, "time zone is unknown"},
		{"local zone", url.Values{"digest": {"daily"}, "timezone": {"Local"}}, "time zone is unknown"},
		{"path zone", url.Values{"digest": {"daily"}, "timezone": {"../../etc/passwd"}}, "time zone is unknown"},
		{"search zone", url.Values{"digest": {"daily"}, "timezone": {"Europe/Paris"}, "timezone_search": {"Mars/Olympus"}}, "time zone is unknown"},
		{"tag not offered", url.Values{"digest": {"daily"}, "tag": {"<b>x</b>"}}, "pick topics from the list"},
		{"unknown depth", url.Values{"digest": {"daily"}, "depth-daily": {"full"}}, "what each newsletter holds"},
		{"unknown pause", url.Values{"digest": {"daily"}, "pause": {"3"}}, "pick a pause"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			w := save(tt.form)
			if w.Code != 400 || !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("got %d, want 400 with %q", w.Code, tt.want)
			}
		})
	}
	w = save(url.Values{"digest": {"weekly", "daily"}, "timezone": {"Europe/Paris"}})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "preferences are saved") || !strings.Contains(w.Body.String(), `<option value="Europe/Paris" selected>Paris</option>`) {
		t.Fatalf("save: %d %s", w.Code, w.Body.String())
	}
	s, _ := e.store.Get(context.Background(), id)
	if fmt.Sprint(s.Digests) != "[daily weekly]" || s.Tags != nil || s.Timezone != "Europe/Paris" {
		t.Errorf("stored %v %v %q", s.Digests, s.Tags, s.Timezone)
	}
	// The leave button carries a working unsubscribe token.
	w = e.do(t, "GET", "/preferences?token="+tok, nil)
	i := strings.Index(w.Body.String(), `action="/unsubscribe">`)
	if i < 0 {
		t.Fatal("no leave form")
	}
	rest := w.Body.String()[i:]
	rest = rest[strings.Index(rest, `value="`)+len(`value="`):]
	unsub := rest[:strings.IndexByte(rest, '"')]
	if w := e.post(t, "/unsubscribe", url.Values{"token": {unsub}}, "192.0.2.1"); w.Code != 200 {
		t.Fatalf("leave: %d", w.Code)
	}
	mustStatus(t, e.store, id, subscribers.Unsubscribed)

	for _, tt := range []struct{ name, token, want string }{
		{"missing", "", "not valid"},
		{"wrong purpose", e.sign(t, tokens.Unsubscribe, id, t0.Add(time.Hour)), "not valid"},
		{"expired", e.sign(t, tokens.Preferences, id, t0.Add(-time.Second)), "expired"},
		{"unknown", e.sign(t, tokens.Preferences, 777, t0.Add(time.Hour)), "not valid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if w := e.do(t, "GET", "/preferences?token="+url.QueryEscape(tt.token), nil); w.Code != 400 || !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("GET: %d", w.Code)
			}
			if w := e.post(t, "/preferences", url.Values{"token": {tt.token}, "digest": {"weekly"}}, "192.0.2.1"); w.Code != 400 {
				t.Errorf("POST: %d", w.Code)
			}
		})
	}
}

// TestLogsHoldNoSecrets runs the whole flow and checks the request log
// has method, path and status but no address and no token.
func TestLogsHoldNoSecrets(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	e.post(t, "/subscribe", subscribeForm("secret.person@example.org"), "192.0.2.1")
	link := e.mail.link("secret.person@example.org")
	u, _ := url.Parse(link)
	e.do(t, "GET", u.RequestURI(), nil)
	e.post(t, "/confirm", url.Values{"token": {tokenOf(t, link)}}, "192.0.2.1")
	e.do(t, "GET", "/confirm?token=bogus-token-value", nil)
	logs := e.logs.String()
	for _, bad := range []string{"secret.person", tokenOf(t, link), "bogus-token-value", "token="} {
		if strings.Contains(logs, bad) {
			t.Errorf("log holds %q:\n%s", bad, logs)
		}
	}
	for _, want := range []string{"method=POST path=/subscribe status=200", "method=POST path=/confirm status=200", "path=/confirm status=400", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// withName sets the name of a sign-up form.
func withName(form url.Values, name string) url.Values {
	form.Set("name", name)
	return form
}
