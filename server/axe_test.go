package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"briefcast/email"
	"briefcast/store/storetest"
	"briefcast/templates"
)

// axeSource finds axe-core's axe.min.js as the site's accessibility test
// does: $BRIEFCAST_AXE_JS, or node_modules at the top of the module.
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

// serveForAxe starts a real server on loopback with a built site and
// returns its base URL.
func serveForAxe(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/"
	cfg := mustConfig(t, base, "")
	signer := mustSigner(t)
	tmpl := templates.Embedded()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	composer, err := email.NewComposer(cfg, tmpl, signer)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := email.NewTransport(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(optionsOf(cfg), storetest.SQLite(t), NewMailer(composer, transport, log), signer, tmpl, log)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetSite(mustBuildSite(t, cfg))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return base
}

// TestSubscribeAccessibility runs axe-core in Chromium on the sign-up
// page the server renders, in light and dark mode, and fails on any
// serious or critical violation.
func TestSubscribeAccessibility(t *testing.T) {
	axe := axeSource(t)
	chrome := chromiumPath()
	if chrome == "" {
		t.Skip("chromium not found (apt-get install chromium): skipping the browser test")
	}
	base := serveForAxe(t)
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-dev-shm-usage", true))
	defer acancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil { // starts the browser
		t.Fatal(err)
	}
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			for _, v := range axeRun(t, ctx, axe, scheme, base+"subscribe") {
				t.Error(v)
			}
		})
	}
}

// axeRun loads u with the color scheme, runs axe-core and returns its
// serious and critical violations, each naming its rule and elements.
func axeRun(t *testing.T, ctx context.Context, axe, scheme, u string) []string {
	t.Helper()
	colors := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(ctx, colors, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("form"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](axe+";0")); err != nil {
		t.Fatalf("loading axe-core: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		ID, Impact, Help string
		Nodes            []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &vs); err != nil || out == "null" {
		t.Fatalf("axe-core results %q: %v", out, err)
	}
	var bad []string
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		var where []string
		for _, n := range v.Nodes {
			b, _ := json.Marshal(n.Target)
			where = append(where, string(b))
		}
		bad = append(bad, v.ID+" ("+v.Impact+"): "+v.Help+" at "+strings.Join(where, ", "))
	}
	return bad
}
