package server

import (
	"bytes"
	"cmp"
	"net/http"
	"slices"

	"briefcast/subscribers"
)

// page is the data of every subscription page.
type page struct {
	SiteTitle string
	Base      string // path of base_url, for links and form actions
	Title     string // of this page

	// The sign-up form.
	Email, Name string
	NameMax     int // subscribers.MaxNameLen
	Digests     []digestOption
	Consent     string
	Error       string
	DoubleOptIn bool

	// Token pages.
	Token       string // the token of this page, carried by its forms
	UnsubToken  string // the preferences page's leave button
	Timezone    string
	Address     string      // preferences: the address the page is for
	Zones       *zoneField  // the time zone list
	TagOptions  []tagOption // preferences: the site's topics
	DepthRows   []depthRow  // preferences: what each digest's mail holds
	Pauses      []pauseOption
	PausedUntil string // when a paused subscriber's mail resumes, "" when not paused
	Saved       bool
	Done        bool // unsubscribe, confirm: it is done
	Pending     bool // unsubscribe: the subscriber has not confirmed yet
	Declined    bool // unsubscribe: a pending subscriber declined; no more confirmations
	Inactive    bool // preferences: the subscriber no longer gets mail

	Text, Link, LinkText string // message.html
}

// digestOption is one checkbox of a digest.
type digestOption struct {
	Name, Title string
	Checked     bool
}

func (s *Server) newPage(title string) *page {
	return &page{SiteTitle: s.options.SiteTitle, Base: s.base, Title: title, Consent: s.consent, NameMax: subscribers.MaxNameLen,
		DoubleOptIn: s.options.DoubleOptIn}
}

// digestOptions lists the digests, ticking those in chosen (all when nil).
func (s *Server) digestOptions(chosen []string) []digestOption {
	out := make([]digestOption, 0, len(s.options.Digests))
	for _, d := range s.options.Digests {
		out = append(out, digestOption{Name: d.Name, Title: digestTitle(d), Checked: chosen == nil || slices.Contains(chosen, d.Name)})
	}
	return out
}

// consentText is the statement shown above the subscribe button and recorded with each sign-up.
func consentText(siteTitle string) string {
	return "By subscribing you agree to receive the e-mail digests you ticked from " + cmp.Or(siteTitle, "this site") +
		". Every message has a link to change your preferences or unsubscribe at once. " +
		"We keep your address, the time of this request and its IP address as a record of your consent, " +
		"and use them for nothing else."
}

// render executes the page template name into a buffer, so a template
// error still becomes a clean 500. The pages are never cached and never
// send a Referer, since their URLs carry tokens.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, p); err != nil {
		s.log.Error("page_render_failed", "template", name, "err", err)
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"text/html; charset=utf-8"}
	h["Cache-Control"] = hNoStore
	h["X-Content-Type-Options"] = hNosniff
	h["Content-Security-Policy"] = hCSP
	if name == "subscribe.html" { // the one page with a script: its own, which fills in the zone
		h["Content-Security-Policy"] = hCSPScript
	}
	h["Referrer-Policy"] = []string{"no-referrer"}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// message renders one short message, with a link to the form if asked.
func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, heading, text string, subscribeLink bool) {
	p := s.newPage(heading)
	p.Text = text
	if subscribeLink {
		p.Link, p.LinkText = s.base+"subscribe", "Subscribe again"
	}
	s.render(w, r, status, "message.html", p)
}

// unavailable logs a failure of the store (or queue) as event and answers 503.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, event string, args ...any) {
	s.log.Error(event, args...)
	w.Header().Set("Retry-After", "60")
	s.message(w, r, http.StatusServiceUnavailable, "Please try again later", "Something went wrong on our side. Nothing was changed; please try again in a minute.", false)
}

// crossSite answers 403 and reports true when r was sent by another site's
// page, as http.CrossOriginProtection judges by Sec-Fetch-Site or Origin. A
// request with neither comes from a program (every browser since 2020 sends
// one), which CSRF is not about.
func (s *Server) crossSite(w http.ResponseWriter, r *http.Request) bool {
	if err := s.origins.Check(r); err != nil {
		s.log.Warn("cross_site_refused", "path", clip(r.URL.Path, 200), "sec_fetch_site", clip(r.Header.Get("Sec-Fetch-Site"), 100), "origin", clip(r.Header.Get("Origin"), 100))
		s.message(w, r, http.StatusForbidden, "Request refused",
			"This form can only be sent from this site's own pages. Open the page again from this site and retry.", false)
		return true
	}
	return false
}
