package site

import (
	"context"
	"testing"

	"briefcast/browsertest"
)

// TestAccessibility runs axe-core on the pages a reader meets, in light
// and dark mode, and fails on any serious or critical violation.
func TestAccessibility(t *testing.T) {
	axe := browsertest.AxeSource(t)
	base, s := serveSite(t)
	ctx := newBrowser(t, 1280, 900)
	a := fullArticle(t, s)
	pages := map[string]string{
		"home":    base,
		"article": ArticleURL(base, a.Slug),
		"tag":     TagURL(base, a.Tags[0]),
		"topics":  base + "tags/",
	}
	for _, scheme := range []string{"light", "dark"} {
		for name, u := range pages {
			t.Run(scheme+"/"+name, func(t *testing.T) { axeCheck(t, ctx, axe, scheme, u) })
		}
	}
}

// axeCheck fails t on each serious or critical axe-core violation of u.
func axeCheck(t *testing.T, ctx context.Context, axe, scheme, u string) {
	t.Helper()
	for _, v := range browsertest.Axe(t, ctx, axe, scheme, u, "body") {
		t.Error(v)
	}
}
