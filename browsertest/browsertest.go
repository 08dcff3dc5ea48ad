// Package browsertest starts headless Chromium for the tests of pages
// people click, and runs axe-core in it. Like smtptest, it is imported by
// tests only. A test that needs a browser or axe-core that the machine
// lacks is skipped, with a message saying what to install.
package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Chromium returns the path of Debian's chromium (scripts/test.sh installs
// it), or "" when there is none.
func Chromium() string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// New starts a headless Chromium for t, stopped when t ends, and returns
// its context with the browser already running (so no test timeout is
// spent starting it). extra adds allocator options, such as a flag that
// turns scripts off. It skips t when Chromium is not installed.
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	chrome := Chromium()
	if chrome == "" {
		t.Skip("chromium not found (apt-get install chromium): skipping the browser test")
	}
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
	}, extra...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(acancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// AxeSource returns axe-core's axe.min.js from $BRIEFCAST_AXE_JS or a
// node_modules folder at the top of the module; it skips t when neither
// has it.
func AxeSource(t testing.TB) string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	top := filepath.Dir(filepath.Dir(self))
	for _, p := range []string{os.Getenv("BRIEFCAST_AXE_JS"), filepath.Join(top, "node_modules", "axe-core", "axe.min.js")} {
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

// Axe loads u in ctx with the color scheme ("light" or "dark"), waits for
// the element ready names, opens every <details> (so folded text is
// checked too), runs axe-core and returns its serious and critical
// violations, each naming its rule and the elements.
func Axe(t testing.TB, ctx context.Context, axe, scheme, u, ready string) []string {
	t.Helper()
	colors := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(ctx, colors, chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS(ready))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](axe+";0")); err != nil {
		t.Fatalf("loading axe-core: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`document.querySelectorAll("details").forEach(d => d.open = true);
	 axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &vs); err != nil || out == "null" || out == "" {
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
