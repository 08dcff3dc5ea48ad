package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"briefcast/articles"
	"briefcast/browsertest"
	"briefcast/config"
	"briefcast/email"
	"briefcast/site"
	"briefcast/store/storetest"
	"briefcast/subscribers"
	"briefcast/templates"
	"briefcast/tokens"
)

// TestBrowserFlow walks the whole subscription flow in a real browser:
// the home page's footer form, the confirmation email from the file
// transport and its page's button, preferences, and the unsubscribe
// button. Every form is a same-origin POST, which the cross-site check
// lets through.
func TestBrowserFlow(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/"
	cfg := mustConfig(t, base, "")
	st := storetest.SQLite(t)
	signer := mustSigner(t)
	tmpl := templates.Embedded()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	composer, err := email.NewComposer(email.OptionsOf(cfg), tmpl, signer)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := email.NewTransport(email.TransportOptionsOf(cfg), log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(optionsOf(cfg), st, NewMailer(composer, transport, log), signer, tmpl, log)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetSite(mustBuildSite(t, cfg))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	bctx := browsertest.New(t)
	bctx, tcancel := context.WithTimeout(bctx, 90*time.Second)
	defer tcancel()

	const addr = "browser.reader@example.org"
	heading := func(text string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.Search(fmt.Sprintf(`//h1[contains(., %q)]`, text)))
	}
	// 1. The home page, and the sign-up form in its footer.
	if err := chromedp.Do(bctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.ID(`#sub-email`)),
		chromedp.SendKeys(chromedp.ID(`#sub-email`), addr),
		// The first digest is ticked already.
		chromedp.WaitVisible(chromedp.CSS(`footer input[name="digest"][value="daily"]:checked`)),
		chromedp.Click(chromedp.CSS(`footer form.subscribe button[type="submit"]`)),
		heading("Check your inbox"),
	); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	// 2. The confirmation email (the sign-up runs in the queue after the
	// answer, so its message is what to wait for), its link, whose page
	// confirms nothing until its button is pressed.
	link := mustConfirmLink(t, filepath.Join(cfg.Email.OutboxDir, "confirm"), base)
	sub := mustSubscriber(t, st, addr)
	if sub.Status != subscribers.Pending || fmt.Sprint(sub.Digests) != "[daily]" || sub.ConsentIP != "127.0.0.1" {
		t.Fatalf("after the form: %+v", sub)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(link), heading("Confirm your subscription")); err != nil {
		t.Fatalf("confirm page: %v", err)
	}
	mustStatus(t, st, sub.ID, subscribers.Pending)
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID(`#confirm`)), heading("You are subscribed")); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	mustStatus(t, st, sub.ID, subscribers.Active)

	// 3. Preferences, from the link a digest would carry.
	prefs := base + "preferences?token=" + signer.Sign(tokens.Preferences, sub.ID, sub.TokenKey, time.Now().Add(linkTTL))
	if err := chromedp.Do(bctx,
		chromedp.Navigate(prefs),
		heading("Your preferences"),
		chromedp.Click(chromedp.CSS(`input[name="digest"][value="daily"]`)),  // untick
		chromedp.Click(chromedp.CSS(`input[name="digest"][value="weekly"]`)), // tick
		chromedp.Click(chromedp.CSS(`input[name="tag"][value="city"]`)),
		chromedp.SetValue(chromedp.ID(`#pref-tz`), "Europe/Paris"),
		chromedp.SetValue(chromedp.ID(`#depth-weekly`), "digest"),
		chromedp.SetValue(chromedp.ID(`#pref-pause`), "2"),
		chromedp.Click(chromedp.ID(`#save`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "preferences are saved")]`)),
	); err != nil {
		t.Fatalf("preferences: %v", err)
	}
	got, err := st.Get(context.Background(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Digests) != "[weekly]" || fmt.Sprint(got.Tags) != "[city]" || got.Timezone != "Europe/Paris" ||
		got.Depths["weekly"] != "digest" || !got.Paused(time.Now().Add(13*24*time.Hour)) || got.Paused(time.Now().Add(15*24*time.Hour)) {
		t.Errorf("preferences stored: digests %v tags %v zone %q depths %v paused until %v", got.Digests, got.Tags, got.Timezone, got.Depths, got.PausedUntil)
	}

	// 4. Leave with the button of the preferences page.
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.ID(`#leave`)),
		heading("You are unsubscribed"),
	); err != nil {
		t.Fatalf("unsubscribe: %v", err)
	}

	// 5. The final state in the store.
	got, err = st.Get(context.Background(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != subscribers.Unsubscribed || got.UnsubscribedAt.IsZero() || got.ConfirmedAt.IsZero() {
		t.Errorf("final: status %s, confirmed %v, unsubscribed %v", got.Status, got.ConfirmedAt, got.UnsubscribedAt)
	}
	if fmt.Sprint(got.Digests) != "[weekly]" || got.Timezone != "Europe/Paris" {
		t.Errorf("final preferences: %v %q", got.Digests, got.Timezone)
	}
	evs, err := st.Events(context.Background(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, e := range evs {
		trail = append(trail, string(e.To))
	}
	if want := "pending active unsubscribed"; strings.Join(trail, " ") != want {
		t.Errorf("events: got %v, want %s", trail, want)
	}
}

// mustBuildSite builds the real site from two small articles.
func mustBuildSite(t *testing.T, cfg *config.Config) *site.Site {
	t.Helper()
	var arts []*articles.Article
	for i, title := range []string{"Harbour cranes get a quieter motor", "A library opens on Sundays"} {
		src := fmt.Sprintf(`+++
title = %q
date = 2026-03-0%dT08:00:00Z
tags = ["city"]
+++

## 30-Second Take
- The first point of the take.
- The second point of the take.
`, title, i+1)
		a, err := articles.Parse(fmt.Sprintf("a%d.md", i), []byte(src), articles.Options{})
		if err != nil {
			t.Fatal(err)
		}
		arts = append(arts, a)
	}
	s, err := site.Build(siteOptionsOf(cfg), arts, templates.Embedded())
	if err != nil {
		t.Fatalf("site.Build: %v", err)
	}
	return s
}

// mustConfirmLink reads the one confirmation message in dir and returns
// its link, decoded from quoted-printable. Confirmations are sent from a
// queue after the sign-up has answered, so it waits for the message.
func mustConfirmLink(t *testing.T, dir, base string) string {
	t.Helper()
	var files []string
	for deadline := time.Now().Add(10 * time.Second); len(files) == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		files, _ = filepath.Glob(filepath.Join(dir, "[^.]*.eml")) // not the transport's temporary file
	}
	if len(files) != 1 {
		t.Fatalf("confirmation messages in %s: %v", dir, files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	text := mustTextPart(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	re := regexp.MustCompile(regexp.QuoteMeta(base) + `confirm\?token=[A-Za-z0-9_%\-]+`)
	link := re.FindString(text)
	if link == "" {
		t.Fatalf("no confirmation link in:\n%s", text)
	}
	return link
}

// mustTextPart returns the decoded text/plain part of a message body.
func mustTextPart(t *testing.T, ctype, cte string, body io.Reader) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				t.Fatalf("no text/plain part: %v", err)
			}
			if s := mustTextPart(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); s != "" {
				return s
			}
		}
	}
	if mt != "text/plain" {
		return ""
	}
	if strings.EqualFold(cte, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
