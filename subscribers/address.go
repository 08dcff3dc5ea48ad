package subscribers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

// Limits of an address, from RFC 5321 section 4.5.3.1.
const (
	maxEmailLen = 254
	maxLocalLen = 64
)

// NormalizeEmail validates one bare mailbox and returns the form the store
// keeps: trimmed, the local part in NFC keeping its case (a few mail
// servers care), the domain lower-cased and in ASCII (punycode). It
// refuses whatever would let two spellings land on one stored address or
// make one look like another (invisible characters, compatibility forms,
// İ); the local part must pass PRECIS UsernameCasePreserved (RFC 8265)
// unchanged. The error says what is wrong.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("address is empty")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("address is not valid UTF-8")
	}
	for _, r := range s {
		if err := checkAddressRune(r); err != nil {
			return "", err
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", errors.New("address has no @")
	}
	local, domain := norm.NFC.String(s[:at]), s[at+1:]
	switch {
	case local == "":
		return "", errors.New("address has nothing before the @")
	case strings.Contains(local, "@"):
		return "", errors.New("address has more than one @")
	case len(local) > maxLocalLen:
		return "", fmt.Errorf("the part before the @ is longer than %d characters", maxLocalLen)
	case strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, ".."):
		return "", errors.New("the part before the @ has a misplaced dot")
	case domain == "":
		return "", errors.New("address has no domain after the @")
	}
	if p, err := precis.UsernameCasePreserved.String(local); err != nil || p != local {
		return "", errors.New("the part before the @ mixes scripts or symbols in a way no mailbox name may")
	}
	ascii, err := idna.Lookup.ToASCII(strings.ToLower(domain))
	if err != nil {
		return "", fmt.Errorf("domain is not a valid host name: %v", err)
	}
	ascii = strings.ToLower(ascii)
	if !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") {
		return "", errors.New("domain must have a dot, as in example.com")
	}
	out := local + "@" + ascii
	if len(out) > maxEmailLen {
		return "", fmt.Errorf("address is longer than %d characters", maxEmailLen)
	}
	return out, nil
}

// checkAddressRune refuses one character no address may hold.
func checkAddressRune(r rune) error {
	switch {
	case r == '\r' || r == '\n':
		return errors.New("address contains a line break")
	case unicode.IsControl(r):
		return errors.New("address contains a control character")
	case unicode.IsSpace(r):
		return errors.New("address contains a space")
	case r == '<' || r == '>':
		return errors.New("address must be a bare mailbox, without a display name or angle brackets")
	case r == ',' || r == ';':
		return errors.New("address contains a comma or semicolon: give one address")
	case r == '"' || r == '(' || r == ')' || r == '[' || r == ']' || r == '\\':
		return fmt.Errorf("address contains %q, which is not allowed", r)
	case r < utf8.RuneSelf:
		return nil
	case Invisible(r) || unicode.Is(unicode.Variation_Selector, r) || unicode.Is(unicode.Join_Control, r):
		return fmt.Errorf("address contains the invisible character %U", r)
	case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S):
		return fmt.Errorf("address contains %U, which is not a letter, digit or sign", r)
	case norm.NFKC.String(string(r)) != string(r):
		return fmt.Errorf("address contains %U, a compatibility form of %q: type the plain character", r, norm.NFKC.String(string(r)))
	}
	// The key of an address is its lower case: a capital whose lower case
	// belongs to another capital (İ and I both lower to i) would share a
	// key with a different spelling.
	if lo := unicode.ToLower(r); lo != r && unicode.ToUpper(lo) != r {
		return fmt.Errorf("address contains %U, whose lower case %q is another letter's", r, lo)
	}
	return nil
}

// Invisible reports whether r shows nothing or only steers the layout of
// the text around it (format characters such as U+200B, U+202E or the
// soft hyphen, and the other default-ignorable code points). Addresses
// refuse them; CleanName strips them from names.
func Invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// EmailKey is the unique key of an address: the normalised address in
// lower case (Unicode-aware, unlike SQLite's NOCASE); one that does not
// normalise is keyed as given, lower-cased, and so matches nothing.
func EmailKey(email string) string {
	if n, err := NormalizeEmail(email); err == nil {
		return strings.ToLower(n)
	}
	return strings.ToLower(strings.TrimSpace(email))
}

// HashEmail is the one-way form of a forgotten address in the suppression
// list: the hex SHA-256 of its EmailKey.
func HashEmail(email string) string {
	sum := sha256.Sum256([]byte(EmailKey(email)))
	return hex.EncodeToString(sum[:])
}
