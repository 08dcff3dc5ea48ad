package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"briefcast/subscribers"
	"briefcast/templates"
)

// TestServeGraceful cancels Serve while a request is in flight: the
// request finishes, new connections are refused, and Serve returns nil.
func TestServeGraceful(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	entered, release := make(chan struct{}), make(chan struct{})
	e.srv.Handle("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	}))
	e.srv.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "metrics here")
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "metrics here" {
		t.Errorf("mounted handler: %q", b)
	}
	if resp, err := http.Get(base + "/feed.xml"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("site next to mounted handlers: %v", err)
	} else {
		resp.Body.Close()
	}

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-entered
	cancel()
	// Shutdown closes the listener first; wait until it has.
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
	}
	close(release)
	if s := <-got; s != "finished" {
		t.Errorf("in-flight request: got %q, want finished", s)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestConfirmationEmail signs up through the real composer and file
// transport, then follows the link in the .eml file.
func TestConfirmationEmail(t *testing.T) {
	e := newEnv(t, "https://example.org/news/", "")
	log := slog.New(slog.DiscardHandler)
	srv, err := New(optionsOf(e.cfg), e.store, e.realMailer(t, log), e.signer, templates.Embedded(), log, WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	srv.SetSite(testSite(1))
	e.srv = srv
	if w := e.post(t, "/news/subscribe", subscribeForm("mail.reader@example.org"), "192.0.2.1"); w.Code != 200 {
		t.Fatalf("subscribe: %d", w.Code)
	}
	link := mustConfirmLink(t, e.cfg.Email.OutboxDir+"/confirm", "https://example.org/news/")
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if w := e.do(t, "GET", u.RequestURI(), nil); w.Code != 200 || !strings.Contains(w.Body.String(), `id="confirm"`) {
		t.Fatalf("confirm page: %d", w.Code)
	}
	if w := e.post(t, "/news/confirm", url.Values{"token": {u.Query().Get("token")}}, "192.0.2.1"); w.Code != 200 || !strings.Contains(w.Body.String(), "You are subscribed") {
		t.Fatalf("confirm: %d", w.Code)
	}
	mustStatus(t, e.store, mustSubscriber(t, e.store, "mail.reader@example.org").ID, subscribers.Active)
}

// TestRoutes: each route answers the methods it takes, under the base
// path; other methods get 405 with the route's Allow, mounted pages take
// their paths, and paths the mux would clean are refused, not redirected.
func TestRoutes(t *testing.T) {
	e := newEnv(t, "https://example.org/news/", "")
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "admin "+r.Method) })
	e.srv.Handle("GET /admin/", admin)
	e.srv.Handle("POST /admin/", admin)
	tests := []struct {
		method, path string
		status       int
		allow, body  string
	}{
		{"GET", "/news/subscribe", 200, "", "<form"},
		{"PUT", "/news/confirm", 405, "GET, HEAD, POST", ""},
		{"PUT", "/news/subscribe", 405, "GET, HEAD, POST", ""},
		{"DELETE", "/news/preferences", 405, "GET, HEAD, POST", ""},
		{"POST", "/news/healthz", 405, "GET, HEAD", ""},
		{"POST", "/healthz", 405, "GET, HEAD", ""},
		{"GET", "/news/healthz", 200, "", "ok"},
		{"POST", "/subscribe", 404, "", ""},
		{"GET", "/admin/", 200, "", "admin GET"},
		{"POST", "/admin/", 200, "", "admin POST"},
		{"PUT", "/admin/", 404, "", ""},
		{"PUT", "/news/feed.xml", 405, "GET, HEAD", ""},
		{"GET", "/news//feed.xml", 400, "", ""},
		{"GET", "//news/feed.xml", 400, "", ""},
		{"GET", "/news/articles/./first/", 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			w := e.do(t, tt.method, tt.path, strings.NewReader(""))
			if w.Code != tt.status {
				t.Fatalf("status: got %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow: got %q, want %q", got, tt.allow)
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body %q does not hold %q", w.Body.String(), tt.body)
			}
		})
	}
	if !strings.Contains(e.logs.String(), "path=/admin/ status=200") || !strings.Contains(e.logs.String(), "path=/news//feed.xml status=400") {
		t.Errorf("mounted pages and refused paths are not in the request log:\n%s", e.logs)
	}
}
