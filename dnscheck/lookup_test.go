package dnscheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolverFrom(t *testing.T) {
	tests := []struct {
		name    string
		conf    string
		want    string
		wantErr string
	}{
		{"first nameserver", "search lan\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n", "192.0.2.53:53", ""},
		{"IPv6", "nameserver 2001:db8::53\n", "[2001:db8::53]:53", ""},
		{"none", "search lan\n", "", "lists no nameserver (use --resolver HOST:PORT)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "resolv.conf")
			if err := os.WriteFile(path, []byte(tt.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := resolverFrom(path)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %q, %v; want %q, error with %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestOrgDomain(t *testing.T) {
	for in, want := range map[string]string{
		"example.org":             "example.org",
		"news.example.org":        "example.org",
		"mail.news.example.co.uk": "example.co.uk",
		"org":                     "org",
	} {
		if got := OrgDomain(in); got != want {
			t.Errorf("OrgDomain(%q) = %q, want %q", in, got, want)
		}
	}
}
