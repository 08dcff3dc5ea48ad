package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"briefcast/templates"
)

// FuzzServePath sends arbitrary request paths: the server never panics,
// and whatever it answers with 200 is exactly one file of the site.
func FuzzServePath(f *testing.F) {
	for _, s := range []string{"/", "/feed.xml", "/%2e%2e/etc/passwd", "/articles%2ffirst/", "/a/../feed.xml", "/\\x", "/%00", "//feed.xml", "/articles/first"} {
		f.Add(s)
	}
	srv, err := New(optionsOf(mustConfig(f, "http://example.org/", "")), nil, nil, mustSigner(f), templates.Embedded(), slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	st := testSite(1)
	srv.SetSite(st)
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Path == "/healthz" || u.Path == "/subscribe" || u.Path == "/confirm" || u.Path == "/unsubscribe" || u.Path == "/preferences" {
			return // not a request line net/http would accept, or a page with a store
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = u
		r.RequestURI = target
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			for _, file := range st.Files {
				if bytes.Equal(file.Body, w.Body.Bytes()) {
					return
				}
			}
			t.Fatalf("%q: 200 with a body that is no file of the site", target)
		case http.StatusMovedPermanently, http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("%q: status %d", target, w.Code)
		}
	})
}
