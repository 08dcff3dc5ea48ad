// Package server is briefcast's public web: it serves the published site and
// feeds from memory, and runs the pages through which a person subscribes,
// confirms, changes their preferences and unsubscribes.
//
// The site is an immutable snapshot swapped atomically on every rebuild, so
// a request sees either the old site or the new one, never a mix. The feed
// hot path is one map lookup and a few assignments of precomputed header
// values; everything that can be computed once per build is. A conditional
// GET that still matches is answered before net/http parses it (hot.go).
package server

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"briefcast/config"
	"briefcast/tokens"
)

// Limits and timeouts of the HTTP server.
const (
	maxBodyBytes    = 64 << 10
	shutdownTimeout = 10 * time.Second

	// linkTTL is how long unsubscribe and preferences links keep working.
	linkTTL = 400 * 24 * time.Hour
)

// Observer is told about every feed request, for metrics.
type Observer interface {
	// FeedRequest reports a request for the feed at path (a site path such
	// as "/feed.xml") answered with status (200 or 304).
	FeedRequest(path string, status int)
}

// Option changes a Server built by New.
type Option func(*Server)

// WithClock sets the clock used for tokens and consent times.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithObserver sets the observer of feed requests.
func WithObserver(o Observer) Option { return func(s *Server) { s.observer = o } }

// WithHTTPClient sets the client used to ping the WebSub hub.
func WithHTTPClient(c *http.Client) Option { return func(s *Server) { s.client = c } }

// RateLimit is a token bucket: Burst attempts at once, then one more every
// Every.
type RateLimit struct {
	Burst int
	Every time.Duration
}

// DefaultTimeouts are the connection timeouts of Serve.
var DefaultTimeouts = Timeouts{Header: 5 * time.Second, Active: 30 * time.Second, Idle: 120 * time.Second}

// WithTimeouts sets the connection timeouts of Serve.
func WithTimeouts(t Timeouts) Option { return func(s *Server) { s.timeouts = t } }

// WithRateLimits sets the sign-up limits per client IP and per address.
func WithRateLimits(perIP, perAddress RateLimit) Option {
	return func(s *Server) { s.ipLimit, s.addrLimit = perIP, perAddress }
}

// Server serves the published site and the subscription flow.
type Server struct {
	cfg      *config.Config
	store    Store
	mailer   Mailer
	signer   *tokens.Signer
	log      *slog.Logger
	now      func() time.Time
	observer Observer
	client   *http.Client
	timeouts Timeouts

	base      string // path of base_url, always ending in "/"
	baseURL   string // base_url, always ending in "/"
	pages     map[string]*template.Template
	trusted   []netip.Prefix
	hubLink   string // `<hub>; rel="hub"`, "" when no hub
	consent   string // the consent text shown on the form and recorded
	ipLimit   RateLimit
	addrLimit RateLimit
	ipRate    *limiter
	addrRate  *limiter

	snap     atomic.Pointer[snapshot]
	draining atomic.Bool // shutting down: the front door sends everything to net/http

	health  healthCheck                 // the cached write probe of /healthz
	origins *http.CrossOriginProtection // refuses cross-site form posts (origin.go)
	mu      sync.Mutex                  // guards mux and mounted while mounting
	mux     *http.ServeMux
	mounted bool
}

// pageNames are the templates of the subscription pages, each parsed with
// web_layout.html.
var pageNames = []string{"subscribe.html", "subscribed.html", "confirm.html", "unsubscribe.html", "preferences.html", "message.html"}

// New returns a Server. tmpl holds the page templates (templates.Load); a
// missing or broken one is an error.
func New(cfg *config.Config, store Store, mailer Mailer, signer *tokens.Signer, tmpl fs.FS, log *slog.Logger, opts ...Option) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.Site.BaseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("server: base_url %q is not an absolute URL", cfg.Site.BaseURL)
	}
	s := &Server{
		cfg:       cfg,
		store:     store,
		mailer:    mailer,
		signer:    signer,
		log:       log,
		now:       time.Now,
		client:    &http.Client{Timeout: 10 * time.Second},
		timeouts:  DefaultTimeouts,
		base:      withSlash(u.Path),
		baseURL:   withSlash(cfg.Site.BaseURL),
		mux:       http.NewServeMux(),
		ipLimit:   RateLimit{Burst: 5, Every: time.Minute},
		addrLimit: RateLimit{Burst: 3, Every: 10 * time.Minute},
	}
	for _, o := range opts {
		o(s)
	}
	if s.origins, err = sameOrigin(u); err != nil {
		return nil, err
	}
	s.ipRate = newLimiter(s.ipLimit, 10000)
	s.addrRate = newLimiter(s.addrLimit, 10000)
	for _, c := range cfg.Server.TrustedProxies {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, fmt.Errorf("server: trusted_proxies: %q is not a CIDR", c)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		s.trusted = append(s.trusted, p.Masked())
	}
	if cfg.Feeds.WebSubHub != "" {
		s.hubLink = "<" + cfg.Feeds.WebSubHub + `>; rel="hub"`
	}
	s.consent = consentText(cfg)
	s.pages = make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(template.FuncMap{"has": has}).ParseFS(tmpl, "web_layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("server: template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return s, nil
}

func withSlash(p string) string {
	if !strings.HasSuffix(p, "/") {
		return p + "/"
	}
	return p
}

func has(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Handle mounts h on pattern (an http.ServeMux pattern such as "/admin/"), for the daemon's extra pages. Call it before Serve.
// Files of the site take precedence over mounted handlers for GET and HEAD.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mux.Handle(pattern, h)
	s.mounted = true
}

// ClientIP is the address of the client that sent r, as the sign-up limits
// see it: the peer, or the address a trusted proxy (server.trusted_proxies)
// says it forwarded for. Mounted pages limit by it too.
func (s *Server) ClientIP(r *http.Request) netip.Addr { return s.clientIP(r) }

// Handler returns the handler of every route.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP routes a request: a file of the site when there is one (the hot
// path), else a subscription page, a mounted handler, or the 404 page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap := s.snap.Load()
	if snap != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if e := snap.files[r.URL.Path]; e != nil && r.URL.RawPath == "" {
			s.serveFile(w, r, e, http.StatusOK)
			return
		}
	}
	s.dynamic(w, r, snap)
}

// dynamic serves everything that is not a file of the site.
func (s *Server) dynamic(w http.ResponseWriter, r *http.Request, snap *snapshot) {
	start := time.Now()
	rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http_request",
			slog.String("method", r.Method),
			slog.String("path", logPath(r.URL.Path)),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)))
	}()
	if hostilePath(r) {
		s.message(rec, r, http.StatusBadRequest, "Bad request", "That address cannot be served.", false)
		return
	}
	if r.URL.Path == "/healthz" {
		s.healthz(rec, r, snap)
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, s.base); ok {
		switch rest {
		case "subscribe":
			s.subscribe(rec, r)
			return
		case "confirm":
			s.confirm(rec, r)
			return
		case "unsubscribe":
			s.unsubscribe(rec, r)
			return
		case "preferences":
			s.preferences(rec, r)
			return
		case "healthz":
			s.healthz(rec, r, snap)
			return
		}
	}
	s.mu.Lock()
	mounted := s.mounted
	s.mu.Unlock()
	if mounted {
		if h, pattern := s.mux.Handler(r); pattern != "" {
			h.ServeHTTP(rec, r)
			return
		}
	}
	if snap != nil && snap.files[r.URL.Path] != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.methodNotAllowed(rec, r, "GET, HEAD")
		return
	}
	if snap != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// "/articles/x" for the folder "/articles/x/": send them there.
		if e := snap.files[r.URL.Path+"/"]; e != nil && r.URL.RawPath == "" {
			rec.Header().Set("Location", r.URL.Path+"/")
			rec.WriteHeader(http.StatusMovedPermanently)
			return
		}
	}
	s.notFound(rec, r, snap)
}

// logPath bounds what a hostile path can put in the log.
func logPath(p string) string {
	if len(p) > 200 {
		return p[:200] + "…"
	}
	return p
}

// hostilePath reports a path that tries to step outside the site: dot
// segments, backslashes, NUL bytes or encoded slashes. The site is a map
// lookup, so none of these could reach a file anyway; they get a 400 so the
// attempt is visible in the logs.
func hostilePath(r *http.Request) bool {
	p := r.URL.Path
	if strings.ContainsAny(p, "\\\x00") || !strings.HasPrefix(p, "/") {
		return true
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." || seg == "." {
			return true
		}
	}
	raw := strings.ToLower(r.URL.RawPath)
	return strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c")
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Serve serves on ln until ctx is cancelled, then shuts down gracefully:
// requests in flight get up to ten seconds to finish. It returns nil after
// a shutdown caused by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, true)
}

// serve is Serve, with the front door of hot.go (front) or without: then
// net/http answers every request.
func (s *Server) serve(ctx context.Context, ln net.Listener, front bool) error {
	wd := newWatchdog(s.timeouts)
	srv := &http.Server{
		Handler:        s,
		ConnState:      wd.connState,
		MaxHeaderBytes: 32 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	stop := make(chan struct{})
	defer close(stop)
	go wd.run(stop)
	errc := make(chan error, 1)
	var fd *Server
	if front {
		fd = s
	}
	go func() { errc <- srv.Serve(wd.listen(ln, fd)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	wd.closeQuiet()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", serr)
	}
	if err != nil {
		s.log.Warn("http_shutdown_forced", "err", err)
		srv.Close()
	}
	return nil
}
