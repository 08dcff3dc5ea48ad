package server

import (
	"fmt"
	"net/http"
	"net/url"
)

// sameOrigin returns the cross-site request check of the forms that change
// something (/subscribe, /confirm, /unsubscribe, /preferences). It is
// net/http's CrossOriginProtection: a POST whose Sec-Fetch-Site says
// cross-site or same-site is refused, and so is one from an older browser
// whose Origin names another host than the request's Host. The origin of
// base_url is trusted besides, for a reverse proxy that rewrites Host.
//
// A request with neither header is accepted: every browser since 2020
// sends at least one of them on a cross-site POST, so a request without
// them comes from a program (curl, a mail client's one-click unsubscribe,
// a monitoring probe), which CSRF is not about.
func sameOrigin(base *url.URL) (*http.CrossOriginProtection, error) {
	c := http.NewCrossOriginProtection()
	if err := c.AddTrustedOrigin(base.Scheme + "://" + base.Host); err != nil {
		return nil, fmt.Errorf("server: base_url origin: %w", err)
	}
	return c, nil
}

// crossSite answers 403 and reports true when r is a state-changing request
// sent by another site's page.
func (s *Server) crossSite(w http.ResponseWriter, r *http.Request) bool {
	if err := s.origins.Check(r); err != nil {
		s.log.Warn("cross_site_refused", "path", logPath(r.URL.Path), "sec_fetch_site", headerValue(r, "Sec-Fetch-Site"), "origin", headerValue(r, "Origin"))
		s.message(w, r, http.StatusForbidden, "Request refused",
			"This form can only be sent from this site's own pages. Open the page again from this site and retry.", false)
		return true
	}
	return false
}

// headerValue is a request header bounded for the log.
func headerValue(r *http.Request, name string) string {
	v := r.Header.Get(name)
	if len(v) > 100 {
		v = v[:100] + "…"
	}
	return v
}
