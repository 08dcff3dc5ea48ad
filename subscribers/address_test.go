package subscribers_test

import (
	"strings"
	"testing"

	"briefcast/subscribers"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"plain", "ann@example.com", "ann@example.com", ""},
		{"trim", "  ann@example.com\t", "ann@example.com", ""},
		{"domain lowered, local kept", "Ann.Lee@Example.COM", "Ann.Lee@example.com", ""},
		{"idn", "jo@bücher.example", "jo@xn--bcher-kva.example", ""},
		{"idn upper", "jo@BÜCHER.example", "jo@xn--bcher-kva.example", ""},
		{"plus", "a+news@example.org", "a+news@example.org", ""},
		{"empty", "", "", "empty"},
		{"no at", "example.com", "", "no @"},
		{"two ats", "a@b@example.com", "", "more than one @"},
		{"no local", "@example.com", "", "nothing before"},
		{"no domain", "ann@", "", "no domain"},
		{"dotless", "ann@localhost", "", "dot"},
		{"space", "ann lee@example.com", "", "space"},
		{"crlf", "ann@example.com\r\nBcc: x@example.com", "", "line break"},
		{"control", "ann\x00@example.com", "", "control"},
		{"display name", "Ann <ann@example.com>", "", "space"},
		{"angle", "<ann@example.com>", "", "angle brackets"},
		{"comma", "a@example.com,b@example.com", "", "comma"},
		{"local too long", strings.Repeat("a", 65) + "@example.com", "", "longer than 64"},
		{"too long", "a@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 60) + ".com", "", "longer than 254"},
		{"bad domain", "a@exa_mple.com", "", "host name"},
		{"double dot", "a..b@example.com", "", "dot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := subscribers.NormalizeEmail(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NormalizeEmail(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestHashEmail(t *testing.T) {
	a := subscribers.HashEmail("Ann@Example.com")
	if a != subscribers.HashEmail("ann@EXAMPLE.COM") || a != subscribers.HashEmail(" ann@example.com ") {
		t.Error("hash depends on letter case or spaces")
	}
	if a == subscribers.HashEmail("bob@example.com") || len(a) != 64 || strings.Contains(a, "ann") {
		t.Errorf("hash %q", a)
	}
}
