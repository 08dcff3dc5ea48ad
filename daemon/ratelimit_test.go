package daemon

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
)

// TestRateLimitsFromConfig: [server] rate_limit_ip reaches the sign-up
// form: with "2/30s" the third attempt from one IP is refused with
// Retry-After 30.
func TestRateLimitsFromConfig(t *testing.T) {
	e := mustEnv(t)
	b, err := readFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(b, "[server]\n", "[server]\nrate_limit_ip = \"2/30s\"\nrate_limit_address = \"off\"\n", 1)
	if err := writeFile(e.cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	d := e.mustDaemon(t, e.options())
	var codes []int
	var retry string
	for _, addr := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		form := url.Values{"email": {addr}, "digest": {"daily"}}
		r := httptest.NewRequest(http.MethodPost, "/subscribe", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = "192.0.2.9:40000"
		w := httptest.NewRecorder()
		d.ServeHTTP(w, r)
		codes = append(codes, w.Code)
		retry = w.Header().Get("Retry-After")
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests || retry != "30" {
		t.Errorf("codes %v, last Retry-After %q; want 200 200 429 with Retry-After 30", codes, retry)
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
