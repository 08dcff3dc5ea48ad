package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"briefcast/config"
	"briefcast/site"
	"briefcast/store"
	"briefcast/subscribers"
	"briefcast/templates"
	"briefcast/tokens"
)

// t0 is the fixed start of every test clock.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// recordingMailer runs each queued sign-up at once, inside the request,
// and keeps the confirmation links it produces: the tests of the flow then
// see the store as the queue would leave it. The queue itself is tested
// with QueuedMailer (mailer_test.go).
type recordingMailer struct {
	mu     sync.Mutex
	links  map[string]string // address → last link
	n      int
	err    error // Enqueue's answer, as from a full queue
	jobErr error // the last error of a sign-up job
}

func (m *recordingMailer) Enqueue(ctx context.Context, job SignupJob) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	c, err := job(ctx)
	if err != nil {
		m.jobErr = err
		return nil
	}
	if c == nil {
		return nil
	}
	if m.links == nil {
		m.links = map[string]string{}
	}
	m.links[c.Subscriber.Email] = c.Link
	m.n++
	return nil
}

func (m *recordingMailer) link(addr string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.links[addr]
}

func (m *recordingMailer) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// env is one server under test with everything it talks to.
type env struct {
	cfg    *config.Config
	srv    *Server
	store  *store.DB
	dbPath string // the store's SQLite file
	mail   *recordingMailer
	signer *tokens.Signer
	clock  *clock
	logs   *syncBuffer
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testConfig is the config of every test, with base_url and extra TOML.
func mustConfig(t testing.TB, baseURL, extra string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	text := fmt.Sprintf(`data_dir = "data"
[site]
title = "The Test Brief"
base_url = %q
[email]
from = "The Test Brief <brief@example.org>"
transport = "file"
outbox_dir = "outbox"
postal_address = "1 Test Street"
[[digests]]
name = "daily"
title = "Daily Brief"
schedule = "0 7 * * *"
[[digests]]
name = "weekly"
title = "Weekly Review"
schedule = "0 9 * * 1"
%s
`, baseURL, extra)
	cfg, err := config.Parse(filepath.Join(dir, "config.toml"), []byte(text), nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// optionsOf is what the daemon makes of cfg (daemon.ServerOptions, which
// this package's tests cannot import).
func optionsOf(cfg *config.Config) Options {
	o := Options{
		BaseURL:        cfg.Site.BaseURL,
		SiteTitle:      cfg.Site.Title,
		DoubleOptIn:    cfg.Subscriptions.DoubleOptInEnabled(),
		ConfirmTTL:     cfg.Subscriptions.ConfirmTTL.Duration,
		TrustedProxies: cfg.Server.TrustedProxies,
		WebSubHub:      cfg.Feeds.WebSubHub,
	}
	for _, d := range cfg.Digests {
		o.Digests = append(o.Digests, Digest{Name: d.Name, Title: d.Title, Timezone: d.Zone(), Depth: d.Depth})
	}
	return o
}

// siteOptionsOf is what the daemon makes of cfg for the site
// (daemon.SiteOptions, which this package's tests cannot import).
func siteOptionsOf(cfg *config.Config) site.Options {
	o := site.Options{
		BaseURL: cfg.Site.BaseURL, Title: cfg.Site.Title, Description: cfg.Site.Description,
		Language: cfg.Site.Language, Author: cfg.Site.Author, ContentDir: cfg.Site.ContentDir,
		Slugs: cfg.Site.Slugs, PageSize: cfg.Site.PageSize,
		FeedItems: cfg.Feeds.Items, FeedContent: cfg.Feeds.Content, FeedDepths: cfg.Feeds.Depths,
	}
	for _, d := range cfg.Digests {
		o.Digests = append(o.Digests, site.Digest{Name: d.Name, Title: d.Title, Archived: d.Archived(), Location: d.Location})
	}
	return o
}

func mustSigner(t testing.TB) *tokens.Signer {
	t.Helper()
	s, err := tokens.NewSigner(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newEnv starts a server on a fresh SQLite store with the sample site.
func newEnv(t testing.TB, baseURL, extra string, opts ...Option) *env {
	t.Helper()
	e := &env{
		cfg:    mustConfig(t, baseURL, extra),
		mail:   &recordingMailer{},
		signer: mustSigner(t),
		clock:  &clock{now: t0},
		logs:   &syncBuffer{},
	}
	e.dbPath = filepath.Join(t.TempDir(), "briefcast.db")
	st, err := store.Open(context.Background(), "sqlite", e.dbPath)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append([]Option{WithClock(e.clock.Now)}, opts...)
	srv, err := New(optionsOf(e.cfg), e.store, e.mail, e.signer, templates.Embedded(), log, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.SetSite(testSite(1))
	e.srv = srv
	return e
}

// Sample bodies of the hand-built test site.
const (
	rssBody = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>The Test Brief</title><link>http://example.org/</link><description>Build %d</description>
<item><title>First</title><link>http://example.org/articles/first/</link><guid>first</guid><description>A take that is long enough to be worth compressing, repeated: a take, a take, a take, a take, a take, a take.</description></item>
<item><title>Second</title><link>http://example.org/articles/second/</link><guid>second</guid><description>Another take that is long enough to be worth compressing, repeated: a take, a take, a take, a take.</description></item>
</channel></rss>
`
	pageBody = "<!doctype html><html><head><title>Build %d</title></head><body><h1>%s</h1><p>Build %d of the site, with enough words in it to be worth compressing by gzip: words, words, words, words, words, words, words, words.</p></body></html>\n"
)

// listen serves e on a loopback listener. stop shuts it down and returns
// what Serve returned; call it once.
func (e *env) listen(t testing.TB) (addr string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	return ln.Addr().String(), func() error { cancel(); return <-done }
}

// testSite is a hand-built site whose every body names build n.
func testSite(n int) *site.Site {
	mod := t0.Add(-time.Hour).Add(time.Duration(n) * time.Minute)
	files := map[string]*site.File{}
	add := func(p, ct, body string) {
		files[p] = &site.File{Path: p, Body: []byte(body), ContentType: ct, Modified: mod}
	}
	add("/index.html", "text/html; charset=utf-8", fmt.Sprintf(pageBody, n, "Front page", n))
	add("/articles/first/index.html", "text/html; charset=utf-8", fmt.Sprintf(pageBody, n, "First", n))
	add("/404.html", "text/html; charset=utf-8", fmt.Sprintf(pageBody, n, "Page not found", n))
	add("/assets/style.css", "text/css; charset=utf-8", "body { margin: 0 }\n")
	add("/feed.xml", "application/rss+xml; charset=utf-8", fmt.Sprintf(rssBody, n))
	add("/atom.xml", "application/atom+xml; charset=utf-8", fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Build %d</title></feed>`, n))
	add("/feed.json", "application/feed+json; charset=utf-8", fmt.Sprintf(`{"version":"https://jsonfeed.org/version/1.1","title":"Build %d"}`, n))
	add("/tags/space/feed.xml", "application/rss+xml; charset=utf-8", fmt.Sprintf(rssBody, n))
	return &site.Site{Files: files, Feeds: []string{"/feed.xml", "/atom.xml", "/feed.json", "/tags/space/feed.xml"}}
}

// do runs one request through the handler.
func (e *env) do(t testing.TB, method, target string, body io.Reader, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

// post sends a form from the peer ip, with the headers hdr (name, value
// pairs).
func (e *env) post(t testing.TB, target string, form url.Values, ip string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	r.RemoteAddr = ip + ":40000"
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

// subscribeForm is a valid sign-up for addr.
func subscribeForm(addr string, digests ...string) url.Values {
	if len(digests) == 0 {
		digests = []string{"daily"}
	}
	return url.Values{"email": {addr}, "name": {"Ada"}, "digest": digests}
}

func mustSubscriber(t testing.TB, st *store.DB, addr string) *subscribers.Subscriber {
	t.Helper()
	s, err := st.GetByEmail(context.Background(), addr)
	if err != nil {
		t.Fatalf("GetByEmail(%s): %v", addr, err)
	}
	return s
}

func mustStatus(t testing.TB, st *store.DB, id int64, want subscribers.Status) {
	t.Helper()
	s, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%d): %v", id, err)
	}
	if s.Status != want {
		t.Fatalf("status of %d: got %s, want %s", id, s.Status, want)
	}
}

// tokenOf extracts the token query parameter of a link.
func tokenOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	return u.Query().Get("token")
}

// Serve serves s on ln until ctx is cancelled.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return Serve(ctx, ln, s, s.log)
}
