package server

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"briefcast/store"
	"briefcast/store/storetest"
	"briefcast/subscribers"
	"briefcast/templates"
	"briefcast/tokens"
)

// key returns the token key stored for subscriber id, or a random one for
// an id nobody has, as the mailers would sign with.
func (e *env) key(t testing.TB, id int64) []byte {
	t.Helper()
	sub, err := e.store.Get(context.Background(), id)
	if errors.Is(err, subscribers.ErrNotFound) {
		k := make([]byte, tokens.MinKeyLen)
		rand.Read(k)
		return k
	}
	if err != nil {
		t.Fatal(err)
	}
	return sub.TokenKey
}

// sign makes the token a mail to subscriber id would carry.
func (e *env) sign(t testing.TB, p tokens.Purpose, id int64, expires time.Time) string {
	t.Helper()
	return e.signer.Sign(p, id, e.key(t, id), expires)
}

// newEnvOn is newEnv on a given store.
func newEnvOn(t *testing.T, st *store.DB) *env {
	t.Helper()
	e := &env{
		cfg:    mustConfig(t, "http://example.org/", ""),
		mail:   &recordingMailer{},
		signer: mustSigner(t),
		clock:  &clock{now: t0},
		logs:   &syncBuffer{},
		store:  st,
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(optionsOf(e.cfg), st, e.mail, e.signer, templates.Embedded(), log, WithClock(e.clock.Now))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.SetSite(testSite(1))
	e.srv = srv
	return e
}

// TestForgottenLinksRefused: after a subscriber is forgotten and a stranger
// signs up, none of the forgotten person's links (confirm, unsubscribe,
// one-click unsubscribe, preferences) does anything to the stranger, on
// both stores. SQLite used to give the stranger the forgotten id, and the
// tokens signed only the id.
func TestForgottenLinksRefused(t *testing.T) {
	stores := map[string]func(t *testing.T) *store.DB{"sqlite": func(t *testing.T) *store.DB {
		st, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "b.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}}
	if os.Getenv(storetest.PostgresEnv) != "" {
		stores["postgres"] = storetest.Postgres
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) { testForgottenLinks(t, newEnvOn(t, open(t))) })
	}
}

func testForgottenLinks(t *testing.T, e *env) {
	ctx := context.Background()
	// The first person signs up and gets their links.
	if w := e.post(t, "/subscribe", subscribeForm("first@example.org", "daily"), "192.0.2.10"); w.Code != 200 {
		t.Fatalf("first sign-up: %d", w.Code)
	}
	first, err := e.store.GetByEmail(ctx, "first@example.org")
	if err != nil {
		t.Fatal(err)
	}
	oldConfirm := e.mail.link("first@example.org")
	oldUnsub := e.sign(t, tokens.Unsubscribe, first.ID, t0.Add(linkTTL))
	oldPrefs := e.sign(t, tokens.Preferences, first.ID, t0.Add(linkTTL))
	if oldConfirm == "" {
		t.Fatal("no confirmation link")
	}
	if err := e.store.Forget(ctx, "first@example.org"); err != nil {
		t.Fatal(err)
	}

	// A stranger signs up next.
	if w := e.post(t, "/subscribe", subscribeForm("stranger@example.org", "daily", "weekly"), "192.0.2.11"); w.Code != 200 {
		t.Fatalf("stranger sign-up: %d", w.Code)
	}
	stranger, err := e.store.GetByEmail(ctx, "stranger@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if stranger.ID == first.ID {
		t.Errorf("the stranger got the forgotten subscriber's id %d", first.ID)
	}

	u, _ := url.Parse(oldConfirm)
	if w := e.do(t, "GET", u.RequestURI(), nil); w.Code != 400 || !strings.Contains(w.Body.String(), "not valid") {
		t.Errorf("old confirm link: %d, want 400 not valid", w.Code)
	}
	if w := e.post(t, "/confirm", url.Values{"token": {u.Query().Get("token")}}, "192.0.2.12"); w.Code != 400 || !strings.Contains(w.Body.String(), "not valid") {
		t.Errorf("old confirm link, POST: %d, want 400 not valid", w.Code)
	}
	mustStatus(t, e.store, stranger.ID, subscribers.Pending)
	newConfirm, _ := url.Parse(e.mail.link("stranger@example.org"))
	if w := e.post(t, "/confirm", url.Values{"token": {newConfirm.Query().Get("token")}}, "192.0.2.11"); w.Code != 200 {
		t.Fatalf("stranger's own confirm link: %d", w.Code)
	}

	for _, target := range []string{"/preferences?token=" + oldPrefs} {
		if w := e.do(t, "GET", target, nil); w.Code != 400 {
			t.Errorf("GET old preferences link: %d, want 400", w.Code)
		}
	}
	if w := e.post(t, "/preferences", url.Values{"token": {oldPrefs}, "digest": {"weekly"}}, "192.0.2.12"); w.Code != 400 {
		t.Errorf("POST old preferences link: %d, want 400", w.Code)
	}
	if w := e.post(t, "/unsubscribe?token="+oldUnsub, url.Values{"List-Unsubscribe": {"One-Click"}}, "192.0.2.12"); w.Code >= 500 {
		t.Errorf("old one-click unsubscribe: %d", w.Code)
	}
	if w := e.post(t, "/unsubscribe", url.Values{"token": {oldUnsub}}, "192.0.2.12"); w.Code >= 500 {
		t.Errorf("old unsubscribe button: %d", w.Code)
	}
	got, err := e.store.Get(ctx, stranger.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != subscribers.Active || strings.Join(got.Digests, ",") != "daily,weekly" {
		t.Errorf("the stranger is now %s with digests %v; want active with daily,weekly", got.Status, got.Digests)
	}
	// Their own links work.
	if w := e.do(t, "GET", "/preferences?token="+e.sign(t, tokens.Preferences, stranger.ID, t0.Add(linkTTL)), nil); w.Code != 200 {
		t.Errorf("stranger's own preferences link: %d", w.Code)
	}
}

// TestLinkForAnotherRow: a token bearing the right id but made with another
// row's key (what a link of a forgotten subscriber is, should an id ever be
// given out again) is refused by every link.
func TestLinkForAnotherRow(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	id := mustSubscribed(t, e, "kept@example.org")
	other := make([]byte, tokens.MinKeyLen)
	rand.Read(other)
	for _, tt := range []struct {
		p      tokens.Purpose
		target string
	}{{tokens.Confirm, "/confirm"}, {tokens.Unsubscribe, "/unsubscribe"}, {tokens.Preferences, "/preferences"}} {
		tok := e.signer.Sign(tt.p, id, other, t0.Add(time.Hour))
		if w := e.do(t, "GET", tt.target+"?token="+tok, nil); w.Code != 400 {
			t.Errorf("GET %s: %d, want 400", tt.target, w.Code)
		}
		if w := e.post(t, tt.target+"?token="+tok, url.Values{"List-Unsubscribe": {"One-Click"}, "digest": {"weekly"}}, "192.0.2.1"); tt.p != tokens.Confirm && w.Code != 400 {
			t.Errorf("POST %s: %d, want 400", tt.target, w.Code)
		}
	}
	mustStatus(t, e.store, id, subscribers.Active)
	if s, _ := e.store.Get(context.Background(), id); strings.Join(s.Digests, ",") != "daily" {
		t.Errorf("digests changed to %v", s.Digests)
	}
}
