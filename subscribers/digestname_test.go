package subscribers

import (
	"strings"
	"testing"
)

// TestCheckDigestName is where the digest-name rule is tested; every
// other place that takes a digest name calls CheckDigestName.
func TestCheckDigestName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"daily", true},
		{"weekly-roundup", true},
		{"a_b", true},
		{"7am", true},
		{"x", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"Daily", false},
		{"daily news", false},
		{"-daily", false},
		{"_daily", false},
		{"daily,weekly", false},
		{"daily/../x", false},
		{"daily\n", false},
		{"café", false},
	} {
		err := CheckDigestName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("CheckDigestName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
