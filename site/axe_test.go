package site

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// axeSource finds axe-core's axe.min.js: $BRIEFCAST_AXE_JS, or a
// node_modules folder at the top of the module (scripts/test.sh installs
// it when npm is there).
func axeSource(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("BRIEFCAST_AXE_JS"), filepath.Join("..", "node_modules", "axe-core", "axe.min.js")} {
		if p == "" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
	}
	t.Skip("axe-core not found: set BRIEFCAST_AXE_JS to axe.min.js (npm install axe-core@4) to run the accessibility test")
	return ""
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// TestAccessibility runs axe-core on the pages a reader meets, in light
// and dark mode, and fails on any serious or critical violation.
func TestAccessibility(t *testing.T) {
	axe := axeSource(t)
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

// axeCheck loads u in ctx with the color scheme, every fold open, runs
// axe-core on it and fails on each serious or critical violation.
func axeCheck(t *testing.T, ctx context.Context, axe, scheme, u string) {
	t.Helper()
	colors := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(ctx, colors, chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](axe+";0")); err != nil {
		t.Fatalf("loading axe-core: %v", err)
	}
	// Open every fold, so the tiers below the take are checked too.
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`document.querySelectorAll("details").forEach(d => d.open = true);
	 axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if out == "" || out == "null" {
		t.Fatalf("axe-core returned nothing")
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				b, _ := json.Marshal(n.Target)
				where = append(where, string(b))
			}
			t.Errorf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(where, ", "))
		}
	}
}
