package email

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// cleanLine makes s safe for one header line or one line of plain text:
// every control or invalid character becomes a space, runs of spaces
// collapse and the ends are trimmed, so nothing can start a header field.
func cleanLine(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f || b >= 0x80 || (b == ' ' && (i == 0 || i == len(s)-1 || s[i-1] == ' ')) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' ||
			unicode.Is(unicode.Cf, r) && r != '\u200d' {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// parseAddress parses one address and rejects anything a header could be
// smuggled through; the display name is cleaned.
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n\x00") {
		return nil, errors.New("address holds a line break or NUL")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	if err := checkAddr(a.Address); err != nil {
		return nil, err
	}
	a.Name = cleanLine(a.Name)
	return a, nil
}

// checkAddr rejects a bare address with control characters, spaces or
// angle brackets, or without exactly one usable "@".
func checkAddr(addr string) error {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || len(addr) > 320 || strings.ContainsFunc(addr, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == ','
	}) {
		return errors.New("not an e-mail address")
	}
	return nil
}

// recipientAddress checks r's address and pairs it with its cleaned name.
func recipientAddress(r Recipient) (*mail.Address, error) {
	addr := strings.TrimSpace(r.Email)
	if strings.ContainsAny(addr, "<>") {
		a, err := parseAddress(addr)
		if err != nil {
			return nil, fmt.Errorf("email: recipient %d: %w", r.ID, err)
		}
		addr = a.Address
	}
	if err := checkAddr(addr); err != nil {
		return nil, fmt.Errorf("email: recipient %d: %w", r.ID, err)
	}
	return &mail.Address{Name: cleanName(r.Name), Address: addr}, nil
}

// cleanName is cleanLine capped at a sane length for a display name.
func cleanName(s string) string {
	s = cleanLine(s)
	// net/mail leaves a backslash raw in a Q encoded word, which no parser
	// reads back: the To header would lose its address.
	if strings.Contains(s, `\`) && !isASCII(s) {
		s = strings.ReplaceAll(s, `\`, "/")
	}
	if len(s) > 100 {
		// cleanLine left no invalid UTF-8 but a character the cut splits.
		s = strings.TrimSpace(strings.ToValidUTF8(s[:100], ""))
	}
	return s
}

// phrase writes s as an RFC 5322 display phrase in pure ASCII, which
// go-mail passes through: a quoted string, or RFC 2047 Q encoded words
// holding only what RFC 2047 section 5 allows in a phrase (Go's
// mime.QEncoding leaves "<", "@" and the like raw, which List-Id parsers
// take for the id).
func phrase(s string) string {
	s = cleanLine(s)
	if isASCII(s) {
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		return `"` + r.Replace(s) + `"`
	}
	const prefix, suffix = "=?UTF-8?Q?", "?="
	const maxWord = 75 - len(prefix) - len(suffix) // RFC 2047 section 2
	var words []string
	var word strings.Builder
	for _, r := range s {
		var enc []byte
		for _, b := range []byte(string(r)) {
			switch {
			case b == ' ':
				enc = append(enc, '_')
			case phraseSafe(b):
				enc = append(enc, b)
			default:
				enc = fmt.Appendf(enc, "=%02X", b)
			}
		}
		// A character is never split across two words (RFC 2047 5).
		if word.Len()+len(enc) > maxWord {
			words = append(words, prefix+word.String()+suffix)
			word.Reset()
		}
		word.Write(enc)
	}
	return strings.Join(append(words, prefix+word.String()+suffix), " ")
}

// phraseSafe reports whether b may stand for itself in a Q encoded word
// within a phrase: letters, digits, "!", "*", "+", "-" and "/".
func phraseSafe(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		b == '!' || b == '*' || b == '+' || b == '-' || b == '/'
}

// headerToken keeps only the characters allowed in a dot-atom (letters,
// digits, "-", "." and "_"), for ids built from config and edition keys.
func headerToken(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), ".")
}

func isASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf })
}
