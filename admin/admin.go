// Package admin serves the operator status page at /admin/: the scheduled
// jobs, the recent editions with their delivery progress, and the subscriber
// counts with a chart of the last 30 days, server-rendered without scripts.
package admin

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"briefcast/editions"
	"briefcast/scheduler"
	"briefcast/server"
	"briefcast/store"
	"briefcast/subscribers"
)

// Stats is what the admin page reads from the store (package store).
type Stats interface {
	Counts(ctx context.Context) (map[subscribers.Status]int64, error)
	// History returns the active subscribers at the end of each of the last days, oldest first.
	History(ctx context.Context, days int, now time.Time) ([]subscribers.DayCount, error)
	// Editions returns at most limit editions of digest ("": all), newest first.
	Editions(ctx context.Context, digest string, limit int) ([]*editions.Edition, error)
	Progress(ctx context.Context, editionID int64) (editions.Progress, error)
	BounceCounts(ctx context.Context, editionID int64) (editions.BounceCounts, error)
	// Waves returns the waves of digest with a cut-off in [from, to), oldest first.
	Waves(ctx context.Context, digest string, from, to time.Time) ([]store.WaveStatus, error)
	// ZoneCounts counts digest's active subscribers by zone ("" for none).
	ZoneCounts(ctx context.Context, digest string) (map[string]int64, error)
}

// WavePlanner tells the page which digests go out in waves, and when (the daemon's config).
type WavePlanner interface {
	// LocalDigests names the digests with send_at = "subscriber".
	LocalDigests() []string
	// PlanWaves returns the waves of digest due in (from, to] for zones, oldest first.
	PlanWaves(digest string, zones []string, from, to time.Time) []PlannedWave
}

// PlannedWave is a coming wave: when, and the zones whose local time it is.
type PlannedWave struct {
	At    time.Time
	Zones []string
}

// EntriesSource is what the page needs from the scheduler.
type EntriesSource interface {
	Entries() []scheduler.EntryInfo
}

const (
	// Path is where the page is mounted.
	Path = "/admin/"

	cookieName     = "briefcast_admin" // the session id issued by a login with ?token=
	logoutPath     = Path + "logout"   // ends the session of the cookie it is posted with
	historyDays    = 30                // how far back the subscriber chart goes
	recentEditions = 20                // how many editions the page lists
	timeLayout     = "2006-01-02 15:04 MST"
)

// Handler serves the status page. Make one with New.
type Handler struct {
	Now      func() time.Time // the clock of the chart's days and the sessions' expiry
	store    Stats
	sched    EntriesSource
	waves    WavePlanner
	tmpl     *template.Template
	token    string
	log      *slog.Logger
	secure   bool
	clientIP func(r *http.Request) netip.Addr
	sessions sessions
	fails    server.Bounded[failures]
}

// Option changes a Handler made by New.
type Option func(*Handler)

// WithSecureCookie marks the session cookie Secure, as it must be when the
// site is reached over https (base_url), even if TLS ends at a proxy.
func WithSecureCookie(on bool) Option { return func(h *Handler) { h.secure = on } }

// WithClientIP sets how the throttle on wrong tokens finds a request's
// client: behind a proxy, the address it forwarded for; the peer by default.
func WithClientIP(f func(r *http.Request) netip.Addr) Option {
	return func(h *Handler) { h.clientIP = f }
}

// New returns the page's handler; sched may be nil, tmpl must hold
// admin.html. Without a token of MinTokenLength the page answers 404 as if
// it did not exist. Otherwise a request needs "Authorization: Bearer
// <token>" or the session cookie set by one visit of /admin/?token=<token>
// (which redirects so the token leaves the address bar); POST /admin/logout
// ends it. A client sending five wrong tokens within 15 minutes gets 429 for
// 15 minutes, even with the right one.
func New(store Stats, sched EntriesSource, tmpl fs.FS, token string, log *slog.Logger, opts ...Option) (*Handler, error) {
	t, err := template.New("admin.html").ParseFS(tmpl, "admin.html")
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	if token != "" && len(token) < MinTokenLength {
		log.Error("admin_disabled", "reason", "BRIEFCAST_ADMIN_TOKEN is too short",
			"length", len(token), "min_length", MinTokenLength)
		token = ""
	}
	h := &Handler{Now: time.Now, store: store, sched: sched, tmpl: t, token: token, log: log, clientIP: peerIP,
		fails: newThrottle()}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// peerIP is the address of the connection's peer.
func peerIP(r *http.Request) netip.Addr {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr) // the zero address when unparsable
	return ap.Addr().Unmap()
}

// ServeHTTP serves /admin/ and /admin/logout.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cache-Control", "no-store")
	switch {
	case h.token == "" || (r.URL.Path != Path && r.URL.Path != logoutPath):
		http.NotFound(w, r)
	case r.URL.Path == logoutPath && r.Method != http.MethodPost:
		hdr.Set("Allow", "POST") // a link or a prefetch must not log anyone out
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case r.URL.Path == logoutPath: // ends the session of the request's cookie
		if c, err := r.Cookie(cookieName); err == nil {
			h.sessions.end(c.Value)
		}
		h.setCookie(w, r, "", -1)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case h.hasSession(r):
		h.page(w, r)
	default:
		h.login(w, r)
	}
}

// login checks the token of ?token= (starting a session) or of a Bearer header.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	given, fromQuery := r.URL.Query().Get("token"), true
	if given == "" {
		given, fromQuery = bearer(r), false
	}
	if given == "" {
		h.unauthorized(w)
		return
	}
	now, key := h.Now(), server.ClientKey(h.clientIP(r))
	if until := h.fails.Get(key).until; now.Before(until) {
		w.Header().Set("Retry-After", strconv.Itoa(int(until.Sub(now).Seconds()+0.999)))
		http.Error(w, "too many wrong tokens; try again later", http.StatusTooManyRequests)
		return
	}
	if !h.valid(given) {
		if h.fails.Update(key, now, func(f *failures) bool { return f.fail(now) }) {
			h.log.Warn("admin_login_blocked", "client", key, "failures", maxFailures, "for", blockFor)
		}
		h.unauthorized(w)
		return
	}
	if !fromQuery {
		h.page(w, r)
		return
	}
	h.setCookie(w, r, h.sessions.create(now), int(sessionTTL/time.Second))
}

// setCookie sets (or with maxAge -1 clears) the session cookie and redirects to the page.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: Path, MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure || r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, Path, http.StatusSeeOther)
}

func (h *Handler) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="briefcast admin"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// valid compares in constant time, of the length too since hashes are compared.
func (h *Handler) valid(given string) bool {
	a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(h.token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// bearer is the token of an "Authorization: Bearer" header, "" if none.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

func (h *Handler) hasSession(r *http.Request) bool {
	c, err := r.Cookie(cookieName)
	return err == nil && h.sessions.valid(c.Value, h.Now())
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	data := h.collect(ctx)
	var buf bytes.Buffer
	if err := h.tmpl.Execute(&buf, data); err != nil {
		h.log.Error("admin_render_failed", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// pageData is what admin.html renders.
type pageData struct {
	Now                             time.Time
	Jobs                            []jobRow
	Editions                        []editionRow
	Waves                           []waveDigest
	Counts                          []countCell
	Chart                           *chart
	EditionsError, SubscribersError string
}

type jobRow struct {
	Name, Spec, Zone                string
	Next                            []runTime
	Running                         bool
	LastRun, LastOutcome, LastError string
}

type runTime struct{ Local, UTC string }

type editionRow struct {
	Digest, Key, Cutoff, Finished string
	Articles                      int
	Progress                      editions.Progress
	Pending, Percent              int64
	Bounces                       *bounceCells // nil when the edition's reports could not be read
}

// bounceCells are an edition's bounce reports with their rates of the
// messages sent; Warnings says which rate passes its limit.
type bounceCells struct {
	Hard, Soft, Complaints bounceCell
	Warnings               []string
}

type bounceCell struct {
	N    int64
	Rate string
	Over bool // past the rate's limit: shown as a warning
}

type countCell struct {
	Status string
	N      int64
}

func (h *Handler) collect(ctx context.Context) pageData {
	now := h.Now()
	data := pageData{Now: now.UTC()}
	if h.sched != nil {
		for _, e := range h.sched.Entries() {
			row := jobRow{Name: e.Name, Spec: e.Spec, Zone: e.Location.String(), Running: e.Running,
				LastOutcome: e.LastOutcome, LastError: e.LastError}
			if !e.LastRun.IsZero() {
				row.LastRun = e.LastRun.In(e.Location).Format(timeLayout)
			}
			for _, t := range e.Next {
				row.Next = append(row.Next, runTime{Local: t.In(e.Location).Format(timeLayout), UTC: t.UTC().Format(timeLayout)})
			}
			data.Jobs = append(data.Jobs, row)
		}
	}

	editions, err := h.store.Editions(ctx, "", recentEditions)
	if err != nil {
		h.log.Error("admin_editions_failed", "err", err)
		data.EditionsError = "The editions could not be read from the store."
	}
	for _, e := range editions {
		p, err := h.store.Progress(ctx, e.ID)
		if err != nil {
			h.log.Error("admin_progress_failed", "edition", e.ID, "err", err)
			data.EditionsError = "The delivery progress of some editions could not be read."
			continue
		}
		row := editionRow{Digest: e.Digest, Key: e.Key, Cutoff: e.Cutoff.UTC().Format(timeLayout),
			Articles: len(e.Articles), Progress: p, Pending: p.Queued + p.InFlight, Percent: percentDone(p)}
		if !e.FinishedAt.IsZero() {
			row.Finished = e.FinishedAt.UTC().Format(timeLayout)
		}
		if bc, err := h.store.BounceCounts(ctx, e.ID); err != nil {
			h.log.Error("admin_bounce_counts_failed", "edition", e.ID, "err", err)
			data.EditionsError = "The bounce counts of some editions could not be read."
		} else {
			row.Bounces = newBounceCells(bc, p)
		}
		data.Editions = append(data.Editions, row)
	}

	data.Waves = h.collectWaves(ctx, now)

	counts, err := h.store.Counts(ctx)
	if err != nil {
		h.log.Error("admin_counts_failed", "err", err)
		data.SubscribersError = "The subscriber counts could not be read from the store."
	}
	for _, st := range []subscribers.Status{subscribers.Active, subscribers.Pending, subscribers.Unsubscribed, subscribers.Bounced, subscribers.Complained} {
		if counts != nil {
			data.Counts = append(data.Counts, countCell{Status: string(st), N: counts[st]})
		}
	}
	history, err := h.store.History(ctx, historyDays, now)
	if err != nil {
		h.log.Error("admin_history_failed", "err", err)
		data.SubscribersError = cmp.Or(data.SubscribersError, "The subscriber history could not be read from the store.")
	} else {
		data.Chart = newChart(history)
	}
	return data
}

// percentDone is the share of p's deliveries finished, 100 when there are none.
func percentDone(p editions.Progress) int64 {
	if total := p.Total(); total > 0 {
		return (total - p.Queued - p.InFlight - p.Retrying) * 100 / total
	}
	return 100
}

func newBounceCells(c editions.BounceCounts, p editions.Progress) *bounceCells {
	cell := func(n int64, limit float64) bounceCell {
		r := p.Rate(n)
		return bounceCell{N: n, Rate: fmt.Sprintf("%.2f%%", 100*r), Over: limit > 0 && r > limit}
	}
	return &bounceCells{
		Hard:       cell(c.Hard, editions.HardBounceRateLimit),
		Soft:       cell(c.Soft, 0), // soft bounces pass; no limit
		Complaints: cell(c.Complaints, editions.ComplaintRateLimit),
		Warnings:   c.Warnings(p),
	}
}

// chart is a line chart of active subscribers per day, laid out for the template.
type chart struct {
	Width, Height, Left, Right, Top, Bottom, LabelY, TopLabelY, Days int
	First, Last, Max                                                 int64
	Points, From, To                                                 string
}

func newChart(days []subscribers.DayCount) *chart {
	if len(days) == 0 {
		return nil
	}
	c := &chart{Width: 640, Height: 160, Left: 40, Right: 630, Top: 10, Bottom: 135, Days: len(days)}
	c.LabelY, c.TopLabelY = c.Bottom+18, c.Top+10
	for _, d := range days {
		c.Max = max(c.Max, d.Active)
	}
	c.First, c.Last = days[0].Active, days[len(days)-1].Active
	c.From, c.To = days[0].Day.UTC().Format("Jan 2"), days[len(days)-1].Day.UTC().Format("Jan 2")
	if len(days) == 1 { // one day: draw a flat segment so it shows
		days = []subscribers.DayCount{days[0], days[0]}
	}
	scale := max(c.Max, 1)
	var pts []string
	for i, d := range days {
		x := c.Left + i*(c.Right-c.Left)/(len(days)-1)
		y := c.Bottom - int(d.Active*int64(c.Bottom-c.Top)/scale)
		pts = append(pts, fmt.Sprintf("%d,%d", x, y))
	}
	c.Points = strings.Join(pts, " ")
	return c
}
