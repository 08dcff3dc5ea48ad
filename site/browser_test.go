package site

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"briefcast/articles"
	"briefcast/browsertest"
	"briefcast/config"
	"briefcast/templates"
)

// The page's policy as the server sends it: no script may run.
const browserCSP = "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'none'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"

// serveSite builds the sample articles of content/ and serves them with
// the server's CSP; it returns the base URL.
func serveSite(t *testing.T) (string, *Site) {
	t.Helper()
	arts, errs := articles.Load(filepath.Join("..", "content"), articles.Options{})
	if len(errs) > 0 || len(arts) == 0 {
		t.Fatalf("sample content: %d articles, errors %v", len(arts), errs)
	}
	var s *Site
	base := serveBuilt(t, func(cfg *config.Config) *Site {
		cfg.Site.ContentDir = filepath.Join("..", "content")
		var err error
		if s, err = Build(optionsOf(cfg), arts, templates.Embedded()); err != nil {
			t.Fatal(err)
		}
		return s
	})
	return base, s
}

func newBrowser(t *testing.T, width, height int64) context.Context {
	t.Helper()
	ctx := browsertest.New(t, chromedp.Flag("hide-scrollbars", true))
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// fullArticle is a sample article with all three tiers.
func fullArticle(t *testing.T, s *Site) *articles.Article {
	for _, a := range s.Articles {
		if a.HasDigest() && a.HasFull() {
			return a
		}
	}
	t.Fatal("no sample article has every tier")
	return nil
}

// tierState reports whether the section id is shown, whether its fold is
// open, and whether its top is in the viewport (to within a pixel: an
// anchor's scroll can leave its top a fraction of a pixel above).
const tierState = `(() => { const s = document.getElementById(%q); const r = s.getBoundingClientRect();
  return [s.checkVisibility(), s.closest("details").open, r.top > -1 && r.top < innerHeight, scrollY > 0]; })()`

func state(t *testing.T, ctx context.Context, id string) [4]bool {
	t.Helper()
	st, err := chromedp.Run(ctx, chromedp.Evaluate[[4]bool](strings.Replace(tierState, "%q", `"`+id+`"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestTiersOpenInBrowser: the take shows at once; the digest and the full
// depth open with a click on their summary, with no script allowed; a link
// to #digest or #full-depth lands with that tier open and in view; print
// shows every tier.
func TestTiersOpenInBrowser(t *testing.T) {
	base, s := serveSite(t)
	a := fullArticle(t, s)
	page := ArticleURL(base, a.Slug)
	ctx := newBrowser(t, 1280, 800)

	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("#take"))); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"digest", "full-depth"} {
		if st := state(t, ctx, id); st[0] || st[1] {
			t.Errorf("#%s is shown before any click: %v", id, st)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(`//summary[contains(., "Dive Deeper")]`), chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	if st := state(t, ctx, "digest"); !st[0] || !st[1] {
		t.Errorf("a click on Dive Deeper did not open the digest: %v", st)
	}
	if st := state(t, ctx, "full-depth"); st[0] {
		t.Errorf("a click on Dive Deeper opened the full depth too")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(`//summary[contains(., "Full Analysis")]`), chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	if st := state(t, ctx, "full-depth"); !st[0] || !st[1] {
		t.Errorf("a click on Full Analysis did not open the full depth: %v", st)
	}

	for _, id := range []string{"digest", "full-depth"} {
		// A new page each time, as a reader following a feed or mail link.
		tab, cancel := chromedp.NewContext(ctx)
		if err := chromedp.Do(tab, chromedp.Navigate(page+"#"+id), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
			t.Fatal(err)
		}
		if st := state(t, tab, id); !st[0] || !st[1] || !st[2] || !st[3] {
			t.Errorf("link to #%s: shown %v, open %v, top in view %v, scrolled %v", id, st[0], st[1], st[2], st[3])
		}
		cancel()
	}

	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	printMedia := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(tab, chromedp.Navigate(page), printMedia, chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"take", "digest", "full-depth"} {
		shown, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.getElementById("`+id+`").checkVisibility()`))
		if err != nil {
			t.Fatal(err)
		}
		if !shown {
			t.Errorf("print hides #%s", id)
		}
	}
}

// TestScreenshots writes the README's pictures of an article page, at a
// desktop and a phone width, with its digest open, when
// BRIEFCAST_SCREENSHOTS names the folder for them (docs/).
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("BRIEFCAST_SCREENSHOTS")
	if dir == "" {
		t.Skip("set BRIEFCAST_SCREENSHOTS=docs to write the README's screenshots")
	}
	base, s := serveSite(t)
	page := ArticleURL(base, fullArticle(t, s).Slug)
	for _, shot := range []struct {
		name          string
		width, height int64
	}{{"article-desktop.png", 1280, 1000}, {"article-phone.png", 390, 1100}} {
		ctx := newBrowser(t, shot.width, shot.height)
		if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("#take")),
			chromedp.Click(chromedp.Search(`//summary[contains(., "Dive Deeper")]`), chromedp.NodeVisible)); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if len(png) > 300<<10 {
			t.Errorf("%s: %d bytes, over 300 KB", shot.name, len(png))
		}
		if err := os.WriteFile(filepath.Join(dir, shot.name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
