// Package server is briefcast's public web: the published site and feeds,
// and the pages to subscribe, confirm, change preferences and unsubscribe.
// The site is an immutable snapshot swapped atomically on every rebuild;
// feeds and small files are kept in memory with header values computed
// once per build, the long tail of pages is read from disk (serveStored).
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
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"briefcast/links"
	"briefcast/tokens"
)

const (
	maxBodyBytes    = 64 << 10
	shutdownTimeout = 10 * time.Second
	linkTTL         = 400 * 24 * time.Hour // how long unsubscribe and preferences links work
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

// RateLimit is a token bucket: Burst attempts at once, then one more every Every.
type RateLimit struct {
	Burst int
	Every time.Duration
}

// Timeouts bounds each phase of a connection's life.
type Timeouts struct {
	Header time.Duration // from a request's start to the end of its header
	Active time.Duration // from the end of a request's header to the end of its response
	Idle   time.Duration // between requests on a keep-alive connection
}

// DefaultTimeouts are the connection timeouts of Serve and of a handler's context.
var DefaultTimeouts = Timeouts{Header: 5 * time.Second, Active: 30 * time.Second, Idle: 120 * time.Second}

// WithRateLimits sets the sign-up limits per client IP and per address.
func WithRateLimits(perIP, perAddress RateLimit) Option {
	return func(s *Server) { s.ipRate, s.addrRate = newLimiter(perIP), newLimiter(perAddress) }
}

// Server serves the published site and the subscription flow.
type Server struct {
	options  Options
	store    Store
	mailer   Mailer
	signer   *tokens.Signer
	log      *slog.Logger
	now      func() time.Time
	observer Observer
	client   *http.Client
	base     string // path of base_url, always ending in "/"
	baseURL  string // base_url, always ending in "/"
	pages    map[string]*template.Template
	trusted  []netip.Prefix
	consent  string // the consent text shown on the form and recorded
	ipRate   *limiter
	addrRate *limiter
	snap     atomic.Pointer[snapshot]
	health   healthCheck                 // the cached write probe of /healthz
	origins  *http.CrossOriginProtection // refuses cross-site form posts (see crossSite)
	mux      *http.ServeMux
	allow    map[string]string // path of a route → its Allow, for other methods
	miss     http.Handler      // a GET of no file: the folder redirect or the 404 page
	script   []byte            // the sign-up form's script (tz.js)
}

// New returns a Server built from o, with the page templates of tmpl (templates.Load).
func New(o Options, store Store, mailer Mailer, signer *tokens.Signer, tmpl fs.FS, log *slog.Logger, opts ...Option) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("server: base_url %q is not an absolute URL", o.BaseURL)
	}
	if strings.ContainsAny(u.Path, "{} ") {
		// The routes are ServeMux patterns under this path.
		return nil, fmt.Errorf("server: base_url %q: its path may not hold braces or spaces", o.BaseURL)
	}
	if o.DoubleOptIn && o.ConfirmTTL <= 0 {
		// Every confirmation link would be expired when sent.
		return nil, fmt.Errorf("server: confirm_ttl %s: a confirmation link must last a while", o.ConfirmTTL)
	}
	o.Digests, o.TrustedProxies = slices.Clone(o.Digests), slices.Clone(o.TrustedProxies) // the caller's may change after New
	s := &Server{
		options:  o,
		store:    store,
		mailer:   mailer,
		signer:   signer,
		log:      log,
		now:      time.Now,
		client:   &http.Client{Timeout: 10 * time.Second},
		base:     strings.TrimSuffix(u.Path, "/") + "/",
		baseURL:  strings.TrimSuffix(o.BaseURL, "/") + "/",
		mux:      http.NewServeMux(),
		ipRate:   newLimiter(RateLimit{Burst: 5, Every: time.Minute}),
		addrRate: newLimiter(RateLimit{Burst: 3, Every: 10 * time.Minute}),
		origins:  http.NewCrossOriginProtection(),
		consent:  consentText(o.SiteTitle),
		health:   healthCheck{now: time.Now},
	}
	for _, opt := range opts {
		opt(s)
	}
	// Trusted besides the request's own Host, for a proxy that rewrites it.
	if err := s.origins.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
		return nil, fmt.Errorf("server: base_url origin: %w", err)
	}
	for _, c := range o.TrustedProxies {
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
	if s.script, err = fs.ReadFile(tmpl, "tz.js"); err != nil {
		return nil, fmt.Errorf("server: template tz.js: %w", err)
	}
	s.pages = map[string]*template.Template{}
	for _, name := range []string{"subscribe.html", "subscribed.html", "confirm.html", "unsubscribe.html", "preferences.html", "message.html"} {
		t, err := template.New(name).Funcs(template.FuncMap{"has": slices.Contains[[]string]}).ParseFS(tmpl, "web_layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("server: template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	s.routes()
	return s, nil
}

// routes registers every route on s.mux, under the base URL's path. GET
// patterns also match HEAD. A method a route does not take reaches the
// catch-all "/", which answers 405 with the route's Allow.
func (s *Server) routes() {
	s.allow = map[string]string{}
	s.miss = s.logged(s.serveMiss)
	s.route(s.base+links.SubscribePath, s.subscribeForm, s.form(s.subscribePost))
	s.route(s.base+links.ConfirmPath, s.confirm, s.form(s.confirm))
	s.route(s.base+links.UnsubscribePath, s.unsubscribe, s.unsubscribe)
	s.route(s.base+links.PreferencesPath, s.preferences, s.form(s.preferences))
	s.route(s.base+"subscribe.js", s.serveScript, nil)
	s.route("/healthz", s.healthz, nil)
	if s.base != "/" {
		s.route(s.base+"healthz", s.healthz, nil)
		s.mux.HandleFunc("GET /favicon.ico", s.serveRootFavicon)
	}
	s.mux.HandleFunc("GET /", s.serveSite)
	s.mux.Handle("/", s.logged(s.otherMethod))
}

// route registers get, and post unless nil, at path, and their Allow.
func (s *Server) route(path string, get, post http.HandlerFunc) {
	s.mux.Handle("GET "+path, s.logged(get))
	s.allow[path] = "GET, HEAD"
	if post != nil {
		s.mux.Handle("POST "+path, s.logged(post))
		s.allow[path] = "GET, HEAD, POST"
	}
}

// form is h behind the cross-site check and the reading of the body.
func (s *Server) form(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.crossSite(w, r) && s.parseBody(w, r) {
			h(w, r)
		}
	}
}

// otherMethod answers 405 for a route or file of another method, else 404.
func (s *Server) otherMethod(w http.ResponseWriter, r *http.Request) {
	snap := s.snap.Load()
	allow, ok := s.allow[r.URL.Path]
	if !ok && snap != nil && snap.has(r.URL.Path) {
		allow, ok = "GET, HEAD", true
	}
	if !ok {
		s.notFound(w, r, snap)
		return
	}
	w.Header().Set("Allow", allow)
	s.message(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page does not accept that kind of request.", false)
}

// Handle mounts h on pattern, which names its method ("GET /admin/") lest
// it conflict with the site's "GET /". Call it before Serve. h takes
// precedence over the site's files; other methods at its paths get 404.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.logged(h.ServeHTTP))
}

// ServeHTTP turns away hostile paths before the mux would clean and redirect them.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !hostilePath(r) {
		s.mux.ServeHTTP(w, r)
		return
	}
	s.logged(func(w http.ResponseWriter, r *http.Request) {
		s.message(w, r, http.StatusBadRequest, "Bad request", "That address cannot be served.", false)
	}).ServeHTTP(w, r)
}

// logged wraps every handler but the file hot path: it logs the request,
// and bounds its context by the active timeout, after which its response
// could no longer be written anyway.
func (s *Server) logged(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		ctx, cancel := context.WithTimeout(r.Context(), DefaultTimeouts.Active)
		defer cancel()
		r = r.WithContext(ctx)
		h(rec, r)
		s.log.LogAttrs(ctx, slog.LevelInfo, "http_request", slog.String("method", r.Method),
			slog.String("path", clip(r.URL.Path, 200)), slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
	})
}

// clip bounds what a hostile client can put in the log.
func clip(v string, n int) string {
	if len(v) > n {
		return v[:n] + "…"
	}
	return v
}

// hostilePath reports a path that tries to step outside the site. None
// could reach a file anyway; a 400 makes the attempt visible in the logs.
func hostilePath(r *http.Request) bool {
	p := r.URL.Path
	if strings.ContainsAny(p, "\\\x00") || !strings.HasPrefix(p, "/") || strings.Contains(p, "//") {
		return true
	}
	if strings.Contains(p, "/.") {
		for seg := range strings.SplitSeq(p, "/") {
			if seg == ".." || seg == "." {
				return true
			}
		}
	}
	raw := r.URL.RawPath
	return raw != "" && (strings.Contains(strings.ToLower(raw), "%2f") || strings.Contains(strings.ToLower(raw), "%5c"))
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

// httpServer is the http.Server serving h. ReadHeaderTimeout counts from a
// request's first bytes (from accept on a new connection), WriteTimeout from
// the end of the header, and ReadTimeout covers both header and body.
func httpServer(h http.Handler, t Timeouts, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.Header,
		ReadTimeout:       t.Header + t.Active,
		WriteTimeout:      t.Active,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Serve serves h on ln until ctx is cancelled, then gives requests in
// flight ten seconds to finish; it returns nil after such a shutdown.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := httpServer(h, DefaultTimeouts, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", serr)
	}
	if err != nil {
		log.Warn("http_shutdown_forced", "err", err)
		srv.Close()
	}
	return nil
}
