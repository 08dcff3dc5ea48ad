package server

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"briefcast/subscribers"
	"briefcast/tokens"
)

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
