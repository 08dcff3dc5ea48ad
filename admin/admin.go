// Package admin serves the operator status page at /admin/: the scheduled
// jobs with their next runs, the recent editions with their delivery
// progress, and the subscriber counts with a small chart of the last 30
// days. The page is server-rendered, with inline SVG and no scripts, and
// exists only when an admin token is configured.
package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"briefcast/scheduler"
	"briefcast/subscribers"
)

// EntriesSource is what the page needs from the scheduler.
type EntriesSource interface {
	Entries() []scheduler.EntryInfo
}

// Path is where the page is mounted.
const Path = "/admin/"

// cookieName holds a hash of the token once it was given in the URL.
const cookieName = "briefcast_admin"

// historyDays is how far back the subscriber chart goes.
const historyDays = 30

// recentEditions is how many editions the page lists.
const recentEditions = 20

// Handler serves the status page. Make one with New.
type Handler struct {
	// Now is the clock, for the chart's days; time.Now by default.
	Now func() time.Time

	store subscribers.Store
	sched EntriesSource
	tmpl  *template.Template
	token string
	log   *slog.Logger
}

// New returns the page's handler. With token "" (BRIEFCAST_ADMIN_TOKEN
// unset) the page is disabled: every request gets 404, as if it did not
// exist. Otherwise a request must carry "Authorization: Bearer <token>",
// or the cookie set by visiting /admin/?token=<token> once (which then
// redirects to /admin/ so the token leaves the address bar). sched may be
// nil when no scheduler runs. tmpl must hold admin.html.
func New(store subscribers.Store, sched EntriesSource, tmpl fs.FS, token string, log *slog.Logger) (*Handler, error) {
	t, err := template.New("admin.html").ParseFS(tmpl, "admin.html")
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	return &Handler{Now: time.Now, store: store, sched: sched, tmpl: t, token: token, log: log}, nil
}

// ServeHTTP serves /admin/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cache-Control", "no-store")
	if h.token == "" || r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if q := r.URL.Query().Get("token"); q != "" {
		if !h.valid(q) {
			h.unauthorized(w)
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name:     cookieName,
			Value:    h.cookieValue(),
			Path:     Path,
			MaxAge:   12 * 60 * 60,
			HttpOnly: true,
			Secure:   r.TLS != nil,
			SameSite: http.SameSiteStrictMode,
		})
		http.Redirect(w, r, Path, http.StatusSeeOther)
		return
	}
	if !h.authorized(r) {
		h.unauthorized(w)
		return
	}
	h.page(w, r)
}

func (h *Handler) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="briefcast admin"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// valid compares in constant time; hashing first makes the time
// independent of the length too.
func (h *Handler) valid(given string) bool {
	a := sha256.Sum256([]byte(given))
	b := sha256.Sum256([]byte(h.token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// cookieValue is derived from the token, so the cookie never holds the
// token itself and changing the token logs every browser out.
func (h *Handler) cookieValue() string {
	sum := sha256.Sum256([]byte("briefcast admin cookie\x00" + h.token))
	return hex.EncodeToString(sum[:])
}

func (h *Handler) authorized(r *http.Request) bool {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, tok, ok := strings.Cut(auth, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && h.valid(strings.TrimSpace(tok))
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		return false
	}
	want := h.cookieValue()
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(want)) == 1
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
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(buf.Bytes())
}

// pageData is what admin.html renders.
type pageData struct {
	Now              time.Time
	Jobs             []jobRow
	Editions         []editionRow
	EditionsError    string
	Counts           []countCell
	SubscribersError string
	Chart            *chart
}

type jobRow struct {
	Name, Spec, Zone string
	Next             []runTime
	Running          bool
	LastRun          string
	LastOutcome      string
	LastError        string
}

type runTime struct{ Local, UTC string }

type editionRow struct {
	Digest, Key, Cutoff string
	Articles            int
	Progress            subscribers.Progress
	Pending             int64
	Percent             int64
	Finished            string
}

type countCell struct {
	Status string
	N      int64
}

const timeLayout = "2006-01-02 15:04 MST"

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
			Articles: len(e.Articles), Progress: p, Pending: p.Queued + p.InFlight}
		if total := p.Total(); total > 0 {
			row.Percent = (total - p.Queued - p.InFlight - p.Retrying) * 100 / total
		} else {
			row.Percent = 100
		}
		if !e.FinishedAt.IsZero() {
			row.Finished = e.FinishedAt.UTC().Format(timeLayout)
		}
		data.Editions = append(data.Editions, row)
	}

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
		if data.SubscribersError == "" {
			data.SubscribersError = "The subscriber history could not be read from the store."
		}
	} else {
		data.Chart = newChart(history)
	}
	return data
}

// chart is a line chart of active subscribers per day, laid out here so
// the template only fills in numbers.
type chart struct {
	Width, Height            int
	Left, Right, Top, Bottom int
	LabelY, TopLabelY        int
	Points                   string
	Days                     int
	First, Last, Max         int64
	From, To                 string
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
	scale := max(c.Max, 1)
	var pts []string
	for i, d := range days {
		x := c.Left
		if len(days) > 1 {
			x += i * (c.Right - c.Left) / (len(days) - 1)
		}
		y := c.Bottom - int(d.Active*int64(c.Bottom-c.Top)/scale)
		pts = append(pts, fmt.Sprintf("%d,%d", x, y))
	}
	if len(pts) == 1 { // one day: draw a flat segment so it shows
		pts = append(pts, fmt.Sprintf("%d,%s", c.Right, strings.SplitN(pts[0], ",", 2)[1]))
	}
	c.Points = strings.Join(pts, " ")
	return c
}

// Enabled reports whether the page is served.
func (h *Handler) Enabled() bool { return h.token != "" }
