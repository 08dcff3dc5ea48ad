package verp

import (
	"math"
	"strings"
	"testing"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestRoundTrip(t *testing.T) {
	cases := [][2]int64{{0, 1}, {1, 1}, {42, 123456}, {math.MaxInt64, math.MaxInt64}, {math.MinInt64, -1}}
	for _, c := range cases {
		addr := Encode(secret, c[0], c[1], "Bounce.Example.org")
		local, domain, _ := strings.Cut(addr, "@")
		if len(local) > 64 {
			t.Errorf("%v: local part %q is %d characters, over 64", c, local, len(local))
		}
		if domain != "bounce.example.org" {
			t.Errorf("%v: domain %q, want it in lower case", c, domain)
		}
		if strings.Trim(local[len(Prefix):], "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Errorf("%v: token %q uses characters outside lower-case base32", c, local)
		}
		e, s, ok := Decode(secret, addr)
		if !ok || e != c[0] || s != c[1] {
			t.Errorf("Decode(%q) = %d, %d, %v; want %d, %d, true", addr, e, s, ok, c[0], c[1])
		}
	}
}

func TestCaseFoldedAndBracketed(t *testing.T) {
	addr := Encode(secret, 7, 9, "b.example.org")
	for _, a := range []string{strings.ToUpper(addr), "<" + addr + ">", " " + addr + " "} {
		if e, s, ok := Decode(secret, a); !ok || e != 7 || s != 9 {
			t.Errorf("Decode(%q) = %d, %d, %v; want 7, 9, true", a, e, s, ok)
		}
	}
}

func TestRefused(t *testing.T) {
	addr := Encode(secret, 7, 9, "b.example.org")
	local, _, _ := strings.Cut(addr, "@")
	token := local[len(Prefix):]
	flip := func(s string, i int) string {
		c := byte('a')
		if s[i] == 'a' {
			c = 'b'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	other := Encode(secret, 8, 9, "b.example.org")
	cases := map[string]string{
		"other secret":       "",
		"other domain":       local + "@evil.example.org",
		"truncated":          Prefix + token[:len(token)-1] + "@b.example.org",
		"truncated hard":     Prefix + token[:8] + "@b.example.org",
		"first char changed": Prefix + flip(token, 0) + "@b.example.org",
		"last char changed":  Prefix + flip(token, len(token)-1) + "@b.example.org",
		"extra char":         Prefix + token + "a@b.example.org",
		"ids swapped in":     Prefix + strings.Split(other, "@")[0][len(Prefix):len(Prefix)+2] + token[2:] + "@b.example.org",
		"no prefix":          token + "@b.example.org",
		"other prefix":       "bounce+" + token + "@b.example.org",
		"no domain":          local,
		"empty":              "",
		"not base32":         Prefix + "!!!!@b.example.org",
		"only a tag":         Prefix + strings.ToLower(encoding.EncodeToString(make([]byte, tagLen))) + "@b.example.org",
	}
	for name, a := range cases {
		key := secret
		if name == "other secret" {
			a, key = addr, []byte("another secret entirely")
		}
		if e, s, ok := Decode(key, a); ok {
			t.Errorf("%s: Decode(%q) = %d, %d, true; want refused", name, a, e, s)
		}
	}
}

// TestKey checks that the derived key is stable, depends on the secret,
// and differs from the secret itself.
func TestKey(t *testing.T) {
	a, b := Key([]byte("secret one")), Key([]byte("secret two"))
	if string(a) == string(Key([]byte("secret one"))) && string(a) != string(b) && string(a) != "secret one" {
		addr := Encode(a, 3, 4, "bounce.example.org")
		if _, _, ok := Decode(b, addr); ok {
			t.Fatal("an address made with one derived key decodes with another")
		}
		return
	}
	t.Fatal("Key is not a stable function of the secret")
}
