package articles

import (
	"strings"
	"unicode/utf8"
)

// CleanText returns s without the characters XML 1.0 forbids, which no
// output may carry: C0 controls other than tab, newline and carriage
// return, U+FFFE, U+FFFF, and bytes that are not UTF-8 (how a lone surrogate
// reaches a Go string). A clean s is returned as it is, without allocating.
func CleanText(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return stripFrom(s, i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !keptRune(r, size) {
			return stripFrom(s, i)
		}
		i += size
	}
	return s
}

func stripFrom(s string, from int) string {
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:from])
	for i := from; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if keptRune(r, size) {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func keptRune(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return false
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20:
		return false
	case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
		return false
	}
	return true
}

// crLines turns the carriage returns a front-matter escape ("\r") can put
// in a value into newlines, since the source's line ends are gone by then.
var crLines = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// cleanField is CleanText for a field of a parsed article.
func cleanField(s string) string {
	s = CleanText(s)
	if strings.IndexByte(s, '\r') >= 0 {
		s = crLines.Replace(s)
	}
	return s
}

// clean applies cleanField to every text of a, so that whatever reaches it
// (a control pasted into a .txt bullet, a "\u0001" escape in TOML, "&#1;"
// in Markdown) never reaches an output.
func (a *Article) clean() {
	clean := func(s *string) { *s = cleanField(*s) }
	for _, p := range []*string{&a.Title, &a.Author, &a.ID, &a.Slug} {
		clean(p)
	}
	cleanAll(a.Tags)
	cleanAll(a.TagNames)
	for i := range a.Take {
		b := &a.Take[i]
		b.Text, b.HTML = cleanField(b.Text), cleanField(b.HTML)
	}
	for _, secs := range [][]Section{a.tiers.Digest.Sections, a.tiers.Full.Sections} {
		for i := range secs {
			s := &secs[i]
			s.Title, s.HTML = cleanField(s.Title), cleanField(s.HTML)
			cleanAll(s.Paragraphs)
		}
	}
	a.tiers.Digest.eachEntry(clean)
	a.tiers.Full.eachEntry(clean)
}

func cleanAll(ss []string) {
	for i, s := range ss {
		ss[i] = cleanField(s)
	}
}
