package server

import (
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
)

// signupScript is the path, under the base path, of the sign-up form's
// script (templates/tz.js).
const signupScript = "subscribe.js"

// loadScript reads the sign-up form's script from the templates.
func (s *Server) loadScript(tmpl fs.FS) error {
	b, err := fs.ReadFile(tmpl, "tz.js")
	if err != nil {
		return fmt.Errorf("server: template tz.js: %w", err)
	}
	s.script = b
	return nil
}

// serveScript answers GET <base>subscribe.js.
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

// serveRootFavicon answers GET /favicon.ico when the site lives under a
// path (/news/): browsers ask the root for it whatever the pages say, and
// the site publishes it at /news/favicon.ico.
func (s *Server) serveRootFavicon(w http.ResponseWriter, r *http.Request) {
	if snap := s.snap.Load(); snap != nil {
		if e := snap.files[s.base+"favicon.ico"]; e != nil {
			s.serveFile(w, r, e, http.StatusOK)
			return
		}
	}
	s.miss.ServeHTTP(w, r)
}
