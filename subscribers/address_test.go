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
		{"non-ASCII local part", "Jörg.Ünal@example.com", "Jörg.Ünal@example.com", ""},
		{"decomposed local part composed", "jo\u0308rg@example.com", "jörg@example.com", ""},
		{"kelvin sign", "\u212Aevin@example.com", "", "U+212A"},
		{"kelvin sign in domain", "kevin@\u212Aexample.com", "", "U+212A"},
		{"zero-width space", "ke\u200Bvin@example.com", "", "invisible character U+200B"},
		{"right-to-left override", "nivek\u202E@example.com", "", "invisible character U+202E"},
		{"zero-width joiner", "a\u200Db@example.com", "", "invisible"},
		{"byte order mark", "\uFEFFann@example.com", "", "invisible"},
		{"soft hyphen in domain", "ann@exam\u00ADple.com", "", "invisible"},
		{"hangul filler", "\u3164ann@example.com", "", "invisible"},
		{"variation selector", "ann\uFE0F@example.com", "", "invisible"},
		{"full-width letter", "\uFF41nn@example.com", "", "compatibility form"},
		{"ligature", "\uFB01sh@example.com", "", "compatibility form"},
		{"dotted capital I", "\u0130nfo@example.com", "", "another letter's"},
		{"private use", "ann\uE000@example.com", "", "not a letter"},
		{"symbol in local part", "ann\u263A@example.com", "", "before the @"},
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

// TestLookAlikesRefused: no spelling that imitates a stored address is
// accepted, so none can land on that address's row.
func TestLookAlikesRefused(t *testing.T) {
	for _, s := range []string{"\u212Aevin@example.com", "\u212Bngstr\u00F6m@example.com", "\u2126mega@example.com", "\u0130nfo@example.com"} {
		if got, err := subscribers.NormalizeEmail(s); err == nil {
			t.Errorf("NormalizeEmail(%+q) = %q, want an error", s, got)
		}
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{"  Ann Lee ", "Ann Lee", ""},
		{"\u202EeeL nnA", "eeL nnA", ""},
		{"Ann\u200B\u2066 Lee\u2069\uFEFF\u00AD", "Ann Lee", ""},
		{"\u0645\u0647\u200C\u0633\u0627", "\u0645\u0647\u200C\u0633\u0627", ""}, // ZWNJ spells Persian names
		{"Ann\nBcc: x@example.com", "", "line break"},
		{strings.Repeat("a", 201), "", "longer"},
	}
	for _, tt := range tests {
		got, err := subscribers.CleanName(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CleanName(%+q) = %+q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CleanName(%+q) = %+q, %v; want %+q", tt.in, got, err, tt.want)
		}
	}
}

// TestValidateRequest: Validate is the check Subscribe runs, so a caller
// can run it first; it cleans fields in place and names a bad one.
func TestValidateRequest(t *testing.T) {
	req := subscribers.SubscribeRequest{Email: " Ann@Example.COM ", Name: "Ann\u200B", Digests: []string{"daily", " daily"}}
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	if req.Email != "Ann@example.com" || req.Name != "Ann" || len(req.Digests) != 1 || req.Source != subscribers.SourceForm {
		t.Errorf("cleaned request: %+v", req)
	}
	for _, bad := range []subscribers.SubscribeRequest{
		{Email: "\u212Aevin@example.com"},
		{Email: "a@example.com", Name: "x\ny"},
		{Email: "a@example.com", Digests: []string{"Bad Name"}},
		{Email: "a@example.com", Timezone: "Mars/Base"},
		{Email: "a@example.com", Source: "fax"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted", bad)
		}
	}
}
