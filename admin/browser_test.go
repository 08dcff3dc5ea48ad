package admin

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"briefcast/browsertest"

	"github.com/chromedp/chromedp"
)

// TestPageFitsAPhone loads the page in a real browser 390 px wide (a
// phone): nothing may stick out past the screen's right edge, and the
// jobs' "Last run" header must be on screen, not clipped by its table's
// scroll box. The editions table, too wide for a phone, scrolls inside
// its own box.
func TestPageFitsAPhone(t *testing.T) {
	st := mustStore(t)
	sendAll(t, st)
	srv := httptest.NewServer(mustHandler(t, st, token))
	defer srv.Close()

	bctx := browsertest.New(t)
	bctx, tcancel := context.WithTimeout(bctx, 60*time.Second)
	defer tcancel()

	type box struct {
		Found              bool
		Left, Right, Width float64
		BoxLeft, BoxRight  float64
	}
	err := chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(srv.URL+"/admin/?token="+token), // logs in, then redirects to /admin/
		chromedp.WaitVisible(chromedp.CSS(`table.editions`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	scrollWidth, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	lastRun, err := chromedp.Run(bctx, chromedp.Evaluate[box](`(() => {
		const th = [...document.querySelectorAll("th")].find(e => e.textContent.trim() === "Last run");
		if (!th) return {Found: false};
		const r = th.getBoundingClientRect();
		const b = (th.closest(".wide") || document.body).getBoundingClientRect();
		return {Found: true, Left: r.left, Right: r.right, Width: r.width, BoxLeft: b.left, BoxRight: b.right};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if scrollWidth > 390 {
		t.Errorf("the page is %d px wide on a 390 px screen", scrollWidth)
	}
	t.Logf("Last run header: %+v", lastRun)
	switch {
	case !lastRun.Found:
		t.Errorf("no Last run header")
	case lastRun.Width <= 0 || lastRun.Left < 0 || lastRun.Right > 390 || lastRun.Right > lastRun.BoxRight || lastRun.Left < lastRun.BoxLeft:
		t.Errorf("the Last run header (%.0f to %.0f px) is not within the screen and its box (%.0f to %.0f px)",
			lastRun.Left, lastRun.Right, lastRun.BoxLeft, lastRun.BoxRight)
	}
}
