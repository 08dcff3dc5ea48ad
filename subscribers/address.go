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
)

// Limits of an address, from RFC 5321 section 4.5.3.1.
const (
	maxEmailLen = 254
	maxLocalLen = 64
)

// NormalizeEmail validates an address and returns it in the one form the
// store keeps: trimmed, the domain lower-cased and, when internationalised,
// converted to its ASCII (punycode) form. The local part keeps its case
// (a few mail servers care), but the store treats addresses as equal
// regardless of case. Display-name forms ("Ann <ann@example.com>") are
// rejected: an address is exactly one mailbox. The error says what is wrong.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("address is empty")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("address is not valid UTF-8")
	}
	for _, r := range s {
		switch {
		case r == '\r' || r == '\n':
			return "", errors.New("address contains a line break")
		case unicode.IsControl(r):
			return "", errors.New("address contains a control character")
		case unicode.IsSpace(r):
			return "", errors.New("address contains a space")
		case r == '<' || r == '>':
			return "", errors.New("address must be a bare mailbox, without a display name or angle brackets")
		case r == ',' || r == ';':
			return "", errors.New("address contains a comma or semicolon: give one address")
		case r == '"' || r == '(' || r == ')' || r == '[' || r == ']' || r == '\\':
			return "", fmt.Errorf("address contains %q, which is not allowed", r)
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", errors.New("address has no @")
	}
	local, domain := s[:at], s[at+1:]
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

// emailKey is the unique key of an address: the normalised address in
// lower case (Unicode-aware, unlike SQLite's NOCASE). An address that does
// not normalise is keyed as given, lower-cased, so it simply matches
// nothing.
func emailKey(email string) string {
	if n, err := NormalizeEmail(email); err == nil {
		return strings.ToLower(n)
	}
	return strings.ToLower(strings.TrimSpace(email))
}

// HashEmail is the one-way form of an address kept in the suppression list
// once the person has been forgotten: the SHA-256, in hex, of the
// normalised, lower-cased address.
func HashEmail(email string) string {
	sum := sha256.Sum256([]byte(emailKey(email)))
	return hex.EncodeToString(sum[:])
}
