package articles

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// maxSlug caps slug length; longer titles are cut at a word boundary.
const maxSlug = 80

// foldSpecial covers letters that Unicode decomposition does not reduce to
// ASCII.
var foldSpecial = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'ø': "o", 'Ø': "o", 'æ': "ae", 'Æ': "ae",
	'œ': "oe", 'Œ': "oe", 'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d",
	'þ': "th", 'Þ': "th", 'ł': "l", 'Ł': "l", 'ı': "i", 'ħ': "h", 'Ħ': "h",
	'ŋ': "ng", 'Ŋ': "ng", 'ĸ': "k", 'ſ': "s", 'ŧ': "t", 'Ŧ': "t",
}

// fold lower-cases s, folds accented Latin letters to ASCII (é->e, ß->ss,
// ø->o, æ->ae) and turns every run of anything else into one hyphen, with no
// hyphen at either end.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	hyphen := false
	emit := func(r rune) {
		if hyphen && b.Len() > 0 {
			b.WriteByte('-')
		}
		hyphen = false
		b.WriteRune(r)
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			emit(r)
		case r >= 'A' && r <= 'Z':
			emit(r + 'a' - 'A')
		case r < 0x80:
			hyphen = true
		case r == '\'' || r == '’': // "it's" -> "its"
		default:
			if rep, ok := foldSpecial[r]; ok {
				for _, c := range rep {
					emit(c)
				}
				continue
			}
			folded := false
			for _, d := range norm.NFD.String(string(r)) {
				if d < 0x80 && (unicode.IsLetter(d) || unicode.IsDigit(d)) {
					emit(unicode.ToLower(d))
					folded = true
				}
			}
			if !folded && !unicode.Is(unicode.Mn, r) {
				hyphen = true
			}
		}
	}
	return b.String()
}

// Slugify derives a slug from a title: lower-case ASCII, accents folded
// (é->e, ß->ss, ø->o, æ->ae ...), runs of anything else become one hyphen,
// trimmed of hyphens, capped at 80 characters at a word boundary. It is
// never empty: a title with nothing foldable gives "article".
func Slugify(title string) string {
	s := fold(title)
	if len(s) > maxSlug {
		cut := strings.LastIndexByte(s[:maxSlug+1], '-')
		if cut <= 0 {
			cut = maxSlug
		}
		s = strings.Trim(s[:cut], "-")
	}
	if s == "" {
		return "article"
	}
	return s
}

// validSlug reports whether s matches ^[a-z0-9]+(-[a-z0-9]+)*$.
func validSlug(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// MaxTags is how many tags one article may have. Every tag is a page and
// three feeds that each show the article, so the cap keeps what one file
// can make bounded.
const MaxTags = 20

// normTags normalises tags: trimmed, lower-cased, accents folded, spaces
// and other punctuation turned into hyphens, leaving only [a-z0-9-];
// duplicates are dropped, source order kept. A tag that folds to nothing,
// or more than MaxTags distinct tags, is an error at line.
func normTags(a *Article, raw []string, line int) error {
	for k, t := range raw {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		f := fold(t)
		if f == "" {
			return errorf(line, "tag %q has no letters or digits", t)
		}
		if slices.Contains(a.Tags, f) {
			continue
		}
		if len(a.Tags) == MaxTags {
			return errorf(line, "%d tags: an article may have at most %d", countTags(a.Tags, raw[k:]), MaxTags)
		}
		a.Tags = append(a.Tags, f)
	}
	return nil
}

// countTags counts the distinct tags of have and raw, for the error about
// too many: the linear check above stops at MaxTags, and ten thousand tags
// must not cost it a quadratic scan.
func countTags(have, raw []string) int {
	seen := make(map[string]bool, len(have)+len(raw))
	for _, t := range have {
		seen[t] = true
	}
	for _, t := range raw {
		if f := fold(strings.TrimSpace(t)); f != "" {
			seen[f] = true
		}
	}
	return len(seen)
}

// tagList splits "a, b; c" into tags.
func tagList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' })
}
