package server

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"briefcast/templates"
)

// TestNewFromOptions builds a server from Options alone, with no config:
// the sign-up form lists the digests it was given (a digest without a
// title by its name), names the site in the consent text, and lives under
// the base URL's path. Changing the caller's Options afterwards changes
// nothing.
func TestNewFromOptions(t *testing.T) {
	opts := Options{
		BaseURL:     "https://example.org/news",
		SiteTitle:   "Field Notes",
		Digests:     []Digest{{Name: "am", Title: "Morning"}, {Name: "pm"}},
		DoubleOptIn: true,
		ConfirmTTL:  time.Hour,
	}
	srv, err := New(opts, nil, nil, mustSigner(t), templates.Embedded(), nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.Digests[0].Title = "Changed"
	opts.SiteTitle = "Changed"

	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "https://example.org/news/subscribe", nil))
	if w.Code != 200 {
		t.Fatalf("GET /news/subscribe: status %d", w.Code)
	}
	body := w.Body.String()
	for _, want := range []string{
		`action="/news/subscribe"`,
		`name="digest" value="am" checked> Morning`,
		`name="digest" value="pm" checked> pm`,
		"digests you ticked from Field Notes.",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("form lacks %q", want)
		}
	}
	if strings.Contains(body, "Changed") {
		t.Errorf("the caller's later change to its Options reached the server")
	}
}

// TestNewRefusesBadOptions names the setting at fault.
func TestNewRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"relative base", Options{BaseURL: "/news/"}, `base_url "/news/" is not an absolute URL`},
		{"braces in path", Options{BaseURL: "https://example.org/{x}/"}, "may not hold braces or spaces"},
		{"bad proxy", Options{BaseURL: "https://example.org/", TrustedProxies: []string{"10.0.0.0/8", "proxy.local"}}, `trusted_proxies: "proxy.local" is not a CIDR`},
		{"no confirm TTL", Options{BaseURL: "https://example.org/", DoubleOptIn: true}, "confirm_ttl 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts, nil, nil, mustSigner(t), templates.Embedded(), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
