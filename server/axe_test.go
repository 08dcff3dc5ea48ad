package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/chromedp/chromedp"

	"briefcast/browsertest"
	"briefcast/email"
	"briefcast/store/storetest"
	"briefcast/templates"
)

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
	composer, err := email.NewComposer(email.OptionsOf(cfg), tmpl, signer)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := email.NewTransport(email.TransportOptionsOf(cfg), log)
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
	axe := browsertest.AxeSource(t)
	base := serveForAxe(t)
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil { // starts the browser
		t.Fatal(err)
	}
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			for _, v := range browsertest.Axe(t, ctx, axe, scheme, base+"subscribe", "form") {
				t.Error(v)
			}
		})
	}
}
