package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"briefcast/browsertest"
	"briefcast/store/storetest"
	"briefcast/templates"
)

// browserCtx starts headless chromium for one test, or skips it.
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(browsertest.New(t), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestBrowserSignupZone: in a browser whose zone is Asia/Tokyo, the
// sign-up form's list shows Tokyo and the sign-up stores it; with scripts
// off, the list keeps the digest's zone. The footer form of a site page
// has its first digest ticked, and its error is shown as an alert.
func TestBrowserSignupZone(t *testing.T) {
	ctx := browserCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/"
	cfg := mustConfig(t, base, "[schedule]\ntimezone = \"Europe/Lisbon\"\n")
	st := storetest.SQLite(t)
	srv, err := New(optionsOf(cfg), st, &recordingMailer{}, mustSigner(t), templates.Embedded(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.SetSite(mustBuildSite(t, cfg))
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() { stop(); <-done })

	value := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("value of %s: %v", sel, err)
		}
		return v
	}
	if err := chromedp.Do(ctx,
		emulate(emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"}),
		chromedp.Navigate(base+"subscribe"),
		chromedp.WaitVisible(chromedp.ID(`#sub-email`)),
	); err != nil {
		t.Fatalf("sign-up form in Tokyo: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("sub-tz").value === "Asia/Tokyo"`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the list never showed Asia/Tokyo (it holds %q): %v", value(`#sub-tz`), err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID(`#sub-email`), "tokyo.reader@example.org"),
		chromedp.Click(chromedp.CSS(`main form.subscribe button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "Check your inbox")]`)),
	); err != nil {
		t.Fatalf("sign-up in Tokyo: %v", err)
	}
	if got := mustSubscriber(t, st, "tokyo.reader@example.org").Timezone; got != "Asia/Tokyo" {
		t.Errorf("stored zone %q, want Asia/Tokyo", got)
	}

	// The footer form of the home page: the first digest ticked; with it
	// unticked, the error is an alert styled as one.
	if err := chromedp.Do(ctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS(`footer form.subscribe`))); err != nil {
		t.Fatal(err)
	}
	ticked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('footer input[name="digest"][value="daily"]').checked &&
		!document.querySelector('footer input[name="digest"][value="weekly"]').checked`))
	if err != nil || !ticked {
		t.Errorf("the footer form does not tick the first digest alone (%v)", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`footer #sub-email`), "footer.reader@example.org"),
		chromedp.Click(chromedp.CSS(`footer input[name="digest"][value="daily"]`)),
		chromedp.Click(chromedp.CSS(`footer form.subscribe button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)),
	); err != nil {
		t.Fatalf("footer form: %v", err)
	}
	look, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const e = document.querySelector('[role="alert"]');
		return [e.className, getComputedStyle(e).color, getComputedStyle(document.body).color];
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if look[0] != "error" || look[1] == look[2] {
		t.Errorf("error: class %q colour %s, body text %s: want class error in a colour of its own", look[0], look[1], look[2])
	}

	// Scripts off: the list keeps the digest's zone.
	if err := chromedp.Do(ctx,
		emulate(emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}),
		chromedp.Navigate(base+"subscribe"),
		chromedp.WaitVisible(chromedp.ID(`#sub-email`)),
	); err != nil {
		t.Fatal(err)
	}
	if zone := value(`#sub-tz`); zone != "Europe/Lisbon" {
		t.Errorf("without scripts the list holds %q, want Europe/Lisbon", zone)
	}
}

// emulate is a chromedp step sending one Emulation command.
func emulate[P any](c cdp.Command[P, cdp.Empty], p P) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, c, p)
		return chromedp.Void{}, err
	}
}
