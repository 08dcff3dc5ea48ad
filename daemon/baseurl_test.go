package daemon

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// TestBaseURLPortWarning: serve on another port than a local base_url
// names warns with both; a matching port or a public base_url does not.
func TestBaseURLPortWarning(t *testing.T) {
	e := mustEnv(t)
	s := defaults
	s.base = "http://localhost:8080/"
	e.write(t, s)
	d := e.mustDaemon(t, e.options())
	logs := e.logs.String()
	if !strings.Contains(logs, "base_url_port_mismatch") ||
		!strings.Contains(logs, "base_url=http://localhost:8080/") ||
		!strings.Contains(logs, "listen="+d.Addr()) {
		t.Errorf("no warning naming base_url and %s:\n%s", d.Addr(), logs)
	}

	tests := []struct {
		base string
		port int
		warn bool
	}{
		{"http://localhost:8080/", 31000, true},
		{"http://127.0.0.1:8080/news/", 31000, true},
		{"http://[::1]:8080/", 31000, true},
		{"http://localhost/", 8080, true},
		{"http://localhost:31000/", 31000, false},
		{"http://127.0.0.1/", 80, false},
		{"https://localhost/", 443, false},
		{"https://news.example.org/", 8080, false},
		{"http://192.0.2.7:8080/", 31000, false},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		warnBaseURL(slog.New(slog.NewTextHandler(&b, nil)), tt.base, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: tt.port})
		if got := strings.Contains(b.String(), "base_url_port_mismatch"); got != tt.warn {
			t.Errorf("base_url %s on port %d: warned %v, want %v: %s", tt.base, tt.port, got, tt.warn, b.String())
		}
	}
}
