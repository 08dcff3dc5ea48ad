package server

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"briefcast/email/smtptest"
	"briefcast/subscribers"
	"briefcast/tokens"
)

// TestLongNameSameAnswer: a name over the store's limit (60 emoji: 60
// characters, 240 bytes) is refused the same way for an active address and
// a new one, before anything looks at the address.
func TestLongNameSameAnswer(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	mustSubscribed(t, e, "active@example.org")
	name := strings.Repeat("\U0001F600", 60)
	var codes []int
	var pages []string
	for i, addr := range []string{"active@example.org", "new@example.org"} {
		w := e.post(t, "/subscribe", withName(subscribeForm(addr), name), fmt.Sprintf("192.0.2.%d", i+1))
		codes = append(codes, w.Code)
		pages = append(pages, strings.ReplaceAll(w.Body.String(), addr, "ADDRESS"))
	}
	if codes[0] != codes[1] || pages[0] != pages[1] {
		t.Fatalf("active and new addresses answered differently: %v\n%s\n----\n%s", codes, pages[0], pages[1])
	}
	if codes[0] != http.StatusBadRequest || !strings.Contains(pages[0], "name is too long") {
		t.Errorf("got %d, want 400 saying the name is too long:\n%s", codes[0], pages[0])
	}
	if _, err := e.store.GetByEmail(context.Background(), "new@example.org"); err != subscribers.ErrNotFound {
		t.Errorf("the new address was stored: %v", err)
	}
	if e.mail.count() != 0 {
		t.Errorf("%d confirmations for refused sign-ups", e.mail.count())
	}
	// The limit itself is accepted: 50 emoji are 200 bytes.
	if w := e.post(t, "/subscribe", withName(subscribeForm("fits@example.org"), strings.Repeat("\U0001F600", 50)), "192.0.2.9"); w.Code != 200 {
		t.Fatalf("a name at the limit: %d", w.Code)
	}
	if s := mustSubscriber(t, e.store, "fits@example.org"); len(s.Name) != subscribers.MaxNameLen {
		t.Errorf("stored name of %d bytes", len(s.Name))
	}
}

// TestSignupAnswersWhileStoreLocked: another connection holds SQLite's
// write lock, so no sign-up can be written; the form still answers at
// once, the same page for a new and an active address, and the sign-up
// happens once the lock is released.
func TestSignupAnswersWhileStoreLocked(t *testing.T) {
	e, m, relay := smtpEnv(t, smtptest.Options{})
	mustSubscribed(t, e, "active@example.org")
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	locked := true
	unlock := func() {
		if locked {
			locked = false
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer unlock()

	// While this goroutine holds the lock, a handler that waited on a
	// write would wait out the busy timeout and fail.
	fresh := e.post(t, "/subscribe", subscribeForm("locked.out@example.org"), "192.0.2.1")
	active := e.post(t, "/subscribe", subscribeForm("active@example.org"), "192.0.2.2")
	if fresh.Code != 200 || !strings.Contains(fresh.Body.String(), "Check your inbox") {
		t.Fatalf("sign-up while the store is locked: %d\n%s", fresh.Code, fresh.Body.String())
	}
	if active.Code != fresh.Code || !bytes.Equal(active.Body.Bytes(), fresh.Body.Bytes()) {
		t.Errorf("an active address answered differently: %d", active.Code)
	}
	// The write is still blocked: nothing is stored, nothing is mailed.
	if _, err := e.store.GetByEmail(ctx, "locked.out@example.org"); err != subscribers.ErrNotFound {
		t.Fatalf("stored while the write lock was held elsewhere: %v", err)
	}
	if n := relay.Count(); n != 0 {
		t.Fatalf("%d messages sent while the store was locked", n)
	}

	unlock()
	closeMailer(t, m) // runs the queue to its end
	if s := mustSubscriber(t, e.store, "locked.out@example.org"); s.Status != subscribers.Pending {
		t.Errorf("after the lock: %s, want pending", s.Status)
	}
	if msgs := relay.Messages(); len(msgs) != 1 || msgs[0].To[0] != "locked.out@example.org" {
		t.Errorf("messages: %+v", msgs)
	}
	if strings.Contains(e.logs.String(), "locked.out@") {
		t.Errorf("the logs name the address:\n%s", e.logs.String())
	}
}

// TestConfirmationMailNotAVehicle: the confirmation carries none of the
// form's text but the address, and its List-Unsubscribe says "this was not
// me" for good: the address is suppressed and later sign-ups of it send
// nothing.
func TestConfirmationMailNotAVehicle(t *testing.T) {
	e, m, relay := smtpEnv(t, smtptest.Options{})
	const addr = "target@example.org"
	const spam = "Claim your prize at evil dot example"
	form := withName(subscribeForm(addr), spam)
	if w := e.post(t, "/subscribe", form, "192.0.2.1"); w.Code != 200 {
		t.Fatalf("subscribe: %d", w.Code)
	}
	smtptest.WaitFor(t, "the confirmation", func() bool { return relay.Count() == 1 })
	raw := relay.Messages()[0].Data
	// Undo quoted-printable's soft line breaks so no word hides across one.
	flat := strings.ReplaceAll(string(raw), "=\r\n", "")
	for _, word := range []string{"prize", "evil", "Claim"} {
		if strings.Contains(flat, word) {
			t.Errorf("the confirmation carries the name's %q:\n%s", word, raw)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	text := mustTextPart(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if to := msg.Header.Get("To"); to != "<"+addr+">" {
		t.Errorf("To = %q", to)
	}
	lu := msg.Header.Get("List-Unsubscribe")
	if !strings.HasPrefix(lu, "<https://example.org/unsubscribe?token=") || !strings.HasSuffix(lu, ">") {
		t.Fatalf("List-Unsubscribe = %q", lu)
	}
	if got := msg.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", got)
	}

	// The mail client's one-click POST, as RFC 8058 has it.
	u, err := url.Parse(strings.Trim(lu, "<>"))
	if err != nil {
		t.Fatal(err)
	}
	w := e.post(t, u.RequestURI(), url.Values{"List-Unsubscribe": {"One-Click"}}, "198.51.100.1")
	if w.Code != 200 {
		t.Fatalf("one-click: %d", w.Code)
	}
	sub := mustSubscriber(t, e.store, addr)
	if sub.Status != subscribers.Complained {
		t.Fatalf("after 'not me': %s, want complained", sub.Status)
	}
	if sup, err := e.store.Suppressed(context.Background(), addr); err != nil || !sup {
		t.Errorf("Suppressed: %v, %v", sup, err)
	}
	// A stranger signs the address up again: same answer, nothing sent.
	if w := e.post(t, "/subscribe", form, "192.0.2.2"); w.Code != 200 || !strings.Contains(w.Body.String(), "Check your inbox") {
		t.Errorf("sign-up after 'not me': %d", w.Code)
	}
	closeMailer(t, m)
	if n := relay.Count(); n != 1 {
		t.Errorf("%d messages, want only the first confirmation", n)
	}
	mustStatus(t, e.store, sub.ID, subscribers.Complained)
	// The old confirmation link no longer confirms.
	link := regexp.MustCompile(`https://example\.org/confirm\?token=[A-Za-z0-9_%\-]+`).FindString(text)
	if link == "" {
		t.Fatalf("no confirmation link in:\n%s", text)
	}
	if w := e.post(t, "/confirm", url.Values{"token": {tokenOf(t, link)}}, "192.0.2.3"); w.Code != 400 || !strings.Contains(w.Body.String(), "no longer valid") {
		t.Errorf("confirm after 'not me': %d", w.Code)
	}
	mustStatus(t, e.store, sub.ID, subscribers.Complained)
}

// TestCrossSiteRefused: every form that changes something refuses a POST
// from another site's page with a 403 and changes nothing; the same POST
// from the site's own page works, and so does a mail client's one-click
// unsubscribe.
func TestCrossSiteRefused(t *testing.T) {
	e := newEnv(t, "https://example.org/", "")
	ctx := context.Background()
	pending, _, err := e.store.Subscribe(ctx, subscribers.SubscribeRequest{Email: "pending@example.org", Digests: []string{"daily"}, Source: subscribers.SourceForm})
	if err != nil {
		t.Fatal(err)
	}
	active := mustSubscribed(t, e, "active@example.org")
	leaving := mustSubscribed(t, e, "leaving@example.org")
	exp := t0.Add(linkTTL)
	type post struct {
		name    string
		target  string
		form    url.Values
		changed func() bool
	}
	posts := []post{
		{"subscribe", "/subscribe", subscribeForm("new@example.org"), func() bool {
			_, err := e.store.GetByEmail(ctx, "new@example.org")
			return err == nil
		}},
		{"confirm", "/confirm", url.Values{"token": {e.sign(t, tokens.Confirm, pending.ID, exp)}}, func() bool {
			s, _ := e.store.Get(ctx, pending.ID)
			return s.Status == subscribers.Active
		}},
		{"preferences", "/preferences", url.Values{"token": {e.sign(t, tokens.Preferences, active, exp)}, "digest": {"weekly"}}, func() bool {
			s, _ := e.store.Get(ctx, active)
			return fmt.Sprint(s.Digests) == "[weekly]"
		}},
		{"unsubscribe button", "/unsubscribe", url.Values{"token": {e.sign(t, tokens.Unsubscribe, leaving, exp)}}, func() bool {
			s, _ := e.store.Get(ctx, leaving)
			return s.Status == subscribers.Unsubscribed
		}},
	}
	hostile := [][]string{
		{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "same-site", "Origin", "https://evil.example.org"},
		{"Origin", "https://evil.example"}, // a browser without Sec-Fetch-Site
		{"Origin", "null"},
	}
	for i, p := range posts {
		for j, hdr := range hostile {
			w := e.post(t, p.target, p.form, fmt.Sprintf("192.0.2.%d", 10*i+j+1), hdr...)
			if w.Code != http.StatusForbidden {
				t.Errorf("%s with %v: got %d, want 403", p.name, hdr, w.Code)
			}
			if p.changed() {
				t.Errorf("%s with %v changed the store", p.name, hdr)
			}
		}
	}
	own := [][]string{
		{"Sec-Fetch-Site", "same-origin", "Origin", "https://example.org"},
		{"Origin", "https://example.org"}, // base_url's origin, behind a proxy that rewrites Host
		{},                                // no browser at all (curl)
	}
	for i, p := range posts {
		for j, hdr := range own {
			w := e.post(t, p.target, p.form, fmt.Sprintf("198.51.100.%d", 10*i+j+1), hdr...)
			if w.Code != http.StatusOK {
				t.Errorf("%s with %v: got %d, want 200", p.name, hdr, w.Code)
			}
		}
		if !p.changed() {
			t.Errorf("%s from the site itself changed nothing", p.name)
		}
	}
	// Same origin by Host, as a browser on the site's own host sends it.
	r := httptest.NewRequest("POST", "http://example.org/subscribe", strings.NewReader(subscribeForm("host@example.org").Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://example.org")
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("Origin matching Host: %d", w.Code)
	}

	// A one-click unsubscribe from a webmail page is cross-site, and fine.
	oneClick := mustSubscribed(t, e, "oneclick@example.org")
	target := "/unsubscribe?token=" + e.sign(t, tokens.Unsubscribe, oneClick, exp)
	w = e.post(t, target, url.Values{"List-Unsubscribe": {"One-Click"}}, "203.0.113.1", "Sec-Fetch-Site", "cross-site", "Origin", "https://mail.example.net")
	if w.Code != 200 {
		t.Fatalf("one-click from a webmail page: %d", w.Code)
	}
	mustStatus(t, e.store, oneClick, subscribers.Unsubscribed)
}

// TestConfirmNeedsPost: opening a confirmation link, as a mail provider's
// link scanner does, confirms nothing; the page's button (a POST) does.
func TestConfirmNeedsPost(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	sub, _, err := e.store.Subscribe(context.Background(), subscribers.SubscribeRequest{Email: "scanned@example.org", Digests: []string{"daily"}, Source: subscribers.SourceForm})
	if err != nil {
		t.Fatal(err)
	}
	tok := e.signer.Sign(tokens.Confirm, sub.ID, sub.TokenKey, t0.Add(time.Hour))
	for _, method := range []string{"GET", "HEAD", "GET"} {
		if w := e.do(t, method, "/confirm?token="+tok, nil); w.Code != 200 {
			t.Fatalf("%s: %d", method, w.Code)
		}
		mustStatus(t, e.store, sub.ID, subscribers.Pending)
	}
	if w := e.post(t, "/confirm", url.Values{"token": {tok}}, "192.0.2.1"); w.Code != 200 || !strings.Contains(w.Body.String(), "You are subscribed") {
		t.Fatalf("POST: %d", w.Code)
	}
	mustStatus(t, e.store, sub.ID, subscribers.Active)
}
