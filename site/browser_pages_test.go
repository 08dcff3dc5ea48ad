package site

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"briefcast/browsertest"
	"briefcast/config"
	"briefcast/templates"
)

// serveBuilt serves the site build makes for the base URL it is given,
// with the server's CSP; it returns that base URL.
func serveBuilt(t *testing.T, build func(cfg *config.Config) *Site) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/"
	cfg := testConfig()
	cfg.Site.BaseURL = base
	s := build(cfg)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasSuffix(p, "/") {
			p += "index.html"
		}
		f := s.Files[p]
		if f == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.ContentType)
		w.Header().Set("Content-Security-Policy", browserCSP)
		w.Write(f.Body)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return base
}

// TestArchiveAccessibility runs axe-core on a digest's archive list and
// on one edition's page, in light and dark mode.
func TestArchiveAccessibility(t *testing.T) {
	axe := browsertest.AxeSource(t)
	ctx := newBrowser(t, 1280, 900)
	base := serveBuilt(t, func(cfg *config.Config) *Site {
		s, err := BuildWithArchive(optionsOf(cfg), testArticles(), templates.Embedded(), testEditions(3))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	pages := map[string]string{
		"archive": base + "digests/daily/",
		"edition": base + "digests/daily/20250224T0700Z/",
	}
	for _, scheme := range []string{"light", "dark"} {
		for name, u := range pages {
			t.Run(scheme+"/"+name, func(t *testing.T) { axeCheck(t, ctx, axe, scheme, u) })
		}
	}
}

// TestLeadImageInBrowser checks that an article's local lead image is
// published where its page looks for it: the browser loads it (a real
// PNG, so its natural width is its own) and it has the article's alt.
func TestLeadImageInBrowser(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "img"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "img", "high tide.png"), pngOf(t, 48, 20), 0o644); err != nil {
		t.Fatal(err)
	}
	base := serveBuilt(t, func(cfg *config.Config) *Site {
		cfg.Site.ContentDir = dir
		arts := testArticles()
		arts[0].Image, arts[0].ImageAlt = "img/high tide.png", "A quay at high tide"
		return mustBuild(t, cfg, arts)
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(ArticleURL(base, "harbor-towns-plan-for-higher-tides")),
		chromedp.WaitReady(chromedp.CSS(".lead-image img"))); err != nil {
		t.Fatal(err)
	}
	const loaded = `new Promise(done => { const i = document.querySelector(".lead-image img");
  const report = () => done([i.naturalWidth, i.naturalHeight, i.getAttribute("alt")]);
  if (i.complete) { report() } else { i.onload = report; i.onerror = report } })`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[3]any](loaded, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != float64(48) || got[1] != float64(20) || got[2] != "A quay at high tide" {
		t.Errorf("lead image: natural size %vx%v, alt %q; want a loaded 48x20 image with its alt", got[0], got[1], got[2])
	}
}

// TestPaginationInBrowser follows "Older →" from the home page as a
// reader does, and checks that it reaches /page/2/ and that the page's
// rel=prev and rel=next links (in its head and its pager) point at the
// home page and /page/3/.
func TestPaginationInBrowser(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	base := serveBuilt(t, func(cfg *config.Config) *Site {
		cfg.Site.PageSize = 4
		return mustBuild(t, cfg, manyArticles(10))
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(base), chromedp.WaitReady(chromedp.CSS("body")),
		chromedp.Click(chromedp.Search(`//a[@rel="next" and contains(., "Older")]`), chromedp.NodeVisible),
		chromedp.WaitReady(chromedp.CSS(`link[rel="prev"]`))); err != nil {
		t.Fatal(err)
	}
	const rels = `[location.href,
  document.querySelector('link[rel="prev"]')?.href, document.querySelector('link[rel="next"]')?.href,
  document.querySelector('a[rel="prev"]')?.href, document.querySelector('a[rel="next"]')?.href,
  document.querySelectorAll(".card").length]`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[6]any](rels))
	if err != nil {
		t.Fatal(err)
	}
	want := [6]any{base + "page/2/", base, base + "page/3/", base, base + "page/3/", float64(4)}
	if got != want {
		t.Errorf("after a click on Older:\n got %v\nwant %v", got, want)
	}
}
