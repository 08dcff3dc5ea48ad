package server

import (
	"bytes"
	"compress/gzip"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"briefcast/site"
)

// The Content-Security-Policy of every HTML page: no scripts, images from anywhere.
const csp = "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'none'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"

// cspScript is csp for the sign-up form, which runs its own script.
const cspScript = "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"

// snapshot is one immutable build of the site as served, precomputed for the hot path.
type snapshot struct {
	site     *site.Site
	files    map[string]*entry // full URL path (base path included) → file kept in memory
	notFound *entry            // the site's /404.html, or nil
	tags     []tagOption       // the topics of the site's articles, for the preference page
	base     string            // the base path, "/" or "/news/"
}

// stored returns the file at the full URL path p to read from the site's
// folder (site.Site.Dir), or nil: a swap costs nothing per file on disk.
func (snap *snapshot) stored(p string) *site.File {
	if snap.site.Dir == "" || !strings.HasPrefix(p, snap.base) {
		return nil
	}
	sp := p[len(snap.base)-1:] // the site path: the base's last slash on
	if strings.HasSuffix(sp, "/") {
		sp += "index.html"
	}
	if f := snap.site.Files[sp]; f != nil && f.Body == nil && f.Stored != nil {
		return f
	}
	return nil
}

// entry is one served file. Header values are []string of capacity one,
// assigned straight into the header map without allocating; an append by
// anyone copies instead of writing into our array.
type entry struct {
	path     string // site path, e.g. "/feed.xml"
	body     []byte
	feed     bool
	link     []string  // Link header of a feed: self, and the hub
	modified time.Time // File.Modified truncated to the second

	plain header // identity encoding
	gz    *gzipped
}

// header holds the precomputed header values of one representation.
type header struct {
	contentType, contentLength, etag, lastModified []string
	contentEncoding                                []string // nil for identity
	etagValue                                      string   // for If-None-Match
}

// Shared header values of every file.
var (
	hVary      = []string{"Accept-Encoding"}
	hNosniff   = []string{"nosniff"}
	hCSP       = []string{csp}
	hCSPScript = []string{cspScript}
	hGzip      = []string{"gzip"}
	hNoStore   = []string{"no-store"}
	hFeedCache = []string{"public, max-age=300"}
	hPageCache = []string{"public, max-age=60"}
	hFileCache = []string{"public, max-age=3600"}
)

// gzipped is the gzip variant of a file, made on first request, kept while the bytes are.
type gzipped struct {
	once sync.Once
	body []byte // nil when compressing saved no bytes
	h    header
}

// SetSite swaps the served site for st atomically. Files whose bytes did not
// change keep their ETag and compressed copy: a comparison, not a hash.
func (s *Server) SetSite(st *site.Site) {
	if st == nil {
		s.snap.Store(nil) // nothing to serve: /healthz answers 503
		return
	}
	old := s.snap.Load()
	if old == nil {
		old = &snapshot{} // no file to keep
	}
	snap := &snapshot{site: st, files: make(map[string]*entry), tags: siteTags(st), base: s.base}
	feeds := make(map[string]bool, len(st.Feeds))
	for _, f := range st.Feeds {
		feeds[f] = true
	}
	for p, f := range st.Files {
		if f == nil || !strings.HasPrefix(p, "/") {
			continue
		}
		full := p
		if s.base != "/" {
			full = s.base + p[1:]
		}
		if f.Body == nil && f.Stored != nil && st.Dir != "" {
			continue // read from the folder: see snapshot.stored
		}
		dir, isDir := strings.CutSuffix(full, "/index.html")
		e := s.newEntry(p, f, feeds[p], old.files[full])
		snap.files[full] = e
		if isDir {
			snap.files[dir+"/"] = e
		}
		if p == "/404.html" {
			snap.notFound = e
		}
	}
	s.snap.Store(snap)
}

// Site returns the site being served, nil before the first SetSite.
func (s *Server) Site() *site.Site {
	if snap := s.snap.Load(); snap != nil {
		return snap.site
	}
	return nil
}

func (s *Server) newEntry(p string, f *site.File, feed bool, prev *entry) *entry {
	var tag string
	same := false
	switch {
	case f.Stored != nil:
		tag = f.Stored.ETag
		same = prev != nil && prev.plain.etagValue == tag
	case prev != nil && bytes.Equal(prev.body, f.Body):
		tag, same = prev.plain.etagValue, true
	default:
		tag = site.ETag(f.Body)
	}
	mod := f.Modified.UTC().Truncate(time.Second)
	ct := contentType(f.ContentType, p)
	e := &entry{path: p, body: f.Body, feed: feed, modified: mod}
	if feed {
		l := "<" + s.baseURL + p[1:] + `>; rel="self"`
		if hub := s.options.WebSubHub; hub != "" {
			l += ", <" + hub + `>; rel="hub"`
		}
		e.link = []string{l}
	}
	lm := []string(nil)
	if !mod.IsZero() {
		lm = []string{mod.Format(http.TimeFormat)}
	}
	e.plain = header{contentType: []string{ct}, contentLength: []string{strconv.Itoa(len(f.Body))},
		etag: []string{`"` + tag + `"`}, etagValue: tag, lastModified: lm}
	switch {
	case same && prev.gz != nil && prev.feed == feed:
		e.gz = prev.gz
	case compressible(ct) && len(f.Body) >= 256:
		// Compressed on first request: compressing the dozen feeds an
		// edit changes before the swap would hold the edit back.
		e.gz = &gzipped{}
	}
	return e
}

func (e *entry) html() bool { return strings.HasPrefix(e.plain.contentType[0], "text/html") }

// cacheControl is the Cache-Control of e answered with status.
func (e *entry) cacheControl(status int) []string {
	switch {
	case status != http.StatusOK:
		return hNoStore
	case e.feed:
		return hFeedCache
	case e.html():
		return hPageCache
	}
	return hFileCache
}

// gzip returns the gzip variant, nil when compression does not pay.
func (e *entry) gzip() *gzipped {
	g := e.gz
	if g == nil {
		return nil
	}
	g.once.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(e.body)
		zw.Close()
		if buf.Len() >= len(e.body) {
			return
		}
		g.body = buf.Bytes()
		tag := e.plain.etagValue + "-gz"
		g.h = header{contentType: e.plain.contentType, contentLength: []string{strconv.Itoa(len(g.body))},
			etag: []string{`"` + tag + `"`}, etagValue: tag, lastModified: e.plain.lastModified, contentEncoding: hGzip}
	})
	if g.body == nil {
		return nil
	}
	return g
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "xml") ||
		strings.Contains(ct, "json") || strings.Contains(ct, "javascript")
}

// contentType is ct, or a guess from the name when the site left it empty.
func contentType(ct, p string) string {
	if ct != "" {
		return ct
	}
	if ct, ok := contentTypes[path.Ext(p)]; ok {
		return ct
	}
	return "application/octet-stream"
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".htm":  "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".json": "application/json; charset=utf-8",
	".xml":  "application/xml; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".webp": "image/webp",
	".ico":  "image/x-icon",
}

// serveSite is the "GET /" route: a file of the site is one map lookup (the
// hot path), anything else goes to s.miss. The site's paths need no
// escaping, so an escaped path is never a file.
func (s *Server) serveSite(w http.ResponseWriter, r *http.Request) {
	if snap := s.snap.Load(); snap != nil && r.URL.RawPath == "" {
		if e := snap.files[r.URL.Path]; e != nil {
			s.serveFile(w, r, e, http.StatusOK)
			return
		}
		if f := snap.stored(r.URL.Path); f != nil {
			s.serveStored(w, r, snap, f)
			return
		}
	}
	s.miss.ServeHTTP(w, r)
}

// serveMiss answers a GET of no file: "/articles/x" for the folder
// "/articles/x/" is sent there, anything else gets the 404 page.
func (s *Server) serveMiss(w http.ResponseWriter, r *http.Request) {
	snap := s.snap.Load()
	if snap != nil && r.URL.RawPath == "" && snap.has(r.URL.Path+"/") {
		w.Header().Set("Location", r.URL.Path+"/")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	s.notFound(w, r, snap)
}

// serveFile answers a GET or HEAD for e: the hot path, assigning precomputed headers.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, e *entry, status int) {
	h := w.Header()
	hd, body := &e.plain, e.body
	if e.gz != nil {
		h["Vary"] = hVary
		if acceptsGzip(r.Header["Accept-Encoding"]) {
			if g := e.gzip(); g != nil {
				hd, body = &g.h, g.body
			}
		}
	}
	h["Cache-Control"] = e.cacheControl(status)
	if status == http.StatusOK && s.unchanged(w, r, e, hd) {
		return
	}
	writeHeader(w, e, hd, status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	s.logFile(r, e, status)
}

// unchanged answers 304 and reports true when r's validators match hd.
func (s *Server) unchanged(w http.ResponseWriter, r *http.Request, e *entry, hd *header) bool {
	if !notModified(r, hd.etagValue, e.modified) {
		return false
	}
	// RFC 9110 15.4.5: the validators and caching fields only; with an
	// ETag, Last-Modified adds nothing.
	w.Header()["Etag"] = hd.etag
	w.WriteHeader(http.StatusNotModified)
	s.logFile(r, e, http.StatusNotModified)
	return true
}

// writeHeader sends the header of e's representation hd with status.
func writeHeader(w http.ResponseWriter, e *entry, hd *header, status int) {
	h := w.Header()
	if e.feed {
		h["Link"] = e.link
	}
	h["Content-Type"] = hd.contentType
	h["Content-Length"] = hd.contentLength
	if hd.contentEncoding != nil {
		h["Content-Encoding"] = hd.contentEncoding
	}
	if status == http.StatusOK {
		h["Etag"] = hd.etag
		if hd.lastModified != nil {
			h["Last-Modified"] = hd.lastModified
		}
	}
	h["X-Content-Type-Options"] = hNosniff
	if e.html() {
		h["Content-Security-Policy"] = hCSP
	}
	w.WriteHeader(status)
}

// logFile logs a served file at Debug, so the hot path costs one Enabled
// check, and tells the observer about feeds.
func (s *Server) logFile(r *http.Request, e *entry, status int) {
	if e.feed && s.observer != nil {
		s.observer.FeedRequest(e.path, status)
	}
	if status == http.StatusNotFound {
		return // logged by the logged wrapper of serveMiss
	}
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "http_request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status))
	}
}

// acceptsGzip reads Accept-Encoding without allocating: gzip is accepted
// when listed (or "*") with a q-value other than 0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for v != "" {
			var part string
			part, v, _ = strings.Cut(v, ",")
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			if !strings.EqualFold(name, "gzip") && name != "*" {
				continue
			}
			q := strings.TrimSpace(params)
			if qv, ok := strings.CutPrefix(q, "q="); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(qv), 64); err == nil && f == 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}

// notModified evaluates If-None-Match (weak comparison, lists and "*"),
// and If-Modified-Since only when If-None-Match is absent (RFC 9110 13.2.2).
func notModified(r *http.Request, etag string, modified time.Time) bool {
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		for _, v := range inm {
			if etagListMatch(v, etag) {
				return true
			}
		}
		return false
	}
	ims := r.Header["If-Modified-Since"]
	if len(ims) == 0 || modified.IsZero() {
		return false
	}
	t, err := http.ParseTime(ims[0])
	return err == nil && !modified.After(t)
}

// etagListMatch reports whether the If-None-Match value list holds "*" or
// an entity tag whose opaque part (W/ ignored) is etag.
func etagListMatch(list, etag string) bool {
	for list != "" {
		var t string
		t, list, _ = strings.Cut(list, ",")
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		if len(t) == len(etag)+2 && t[0] == '"' && t[len(t)-1] == '"' && t[1:len(t)-1] == etag {
			return true
		}
	}
	return false
}

// notFound answers 404 with the site's 404 page, or the plain one.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, snap *snapshot) {
	if snap != nil && snap.notFound != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.serveFile(w, r, snap.notFound, http.StatusNotFound)
		return
	}
	s.message(w, r, http.StatusNotFound, "Page not found", "There is nothing at this address.", false)
}

// serveScript answers GET <base>subscribe.js: templates/tz.js.
func (s *Server) serveScript(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"text/javascript; charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(len(s.script))}
	h["Cache-Control"] = hFileCache
	h["X-Content-Type-Options"] = hNosniff
	if r.Method != http.MethodHead {
		w.Write(s.script)
	}
}

// serveRootFavicon answers GET /favicon.ico for a site under a path
// (/news/): browsers ask the root whatever the pages say.
func (s *Server) serveRootFavicon(w http.ResponseWriter, r *http.Request) {
	if snap := s.snap.Load(); snap != nil {
		if e := snap.files[s.base+"favicon.ico"]; e != nil {
			s.serveFile(w, r, e, http.StatusOK)
			return
		}
	}
	s.miss.ServeHTTP(w, r)
}
