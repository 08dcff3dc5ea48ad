package articles

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxSlug caps slug length; longer titles are cut at a word boundary.
const maxSlug = 80

// foldSpecial covers letters that Unicode decomposition does not reduce to ASCII.
var foldSpecial = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'ø': "o", 'Ø': "o", 'æ': "ae", 'Æ': "ae",
	'œ': "oe", 'Œ': "oe", 'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d",
	'þ': "th", 'Þ': "th", 'ł': "l", 'Ł': "l", 'ı': "i", 'ħ': "h", 'Ħ': "h",
	'ŋ': "ng", 'Ŋ': "ng", 'ĸ': "k", 'ſ': "s", 'ŧ': "t", 'Ŧ': "t",
}

// The slug styles of site.slugs.
const (
	// SlugsUnicode, the default, keeps the letters and digits of every
	// script; Latin accents are folded as in ASCII style.
	SlugsUnicode = "unicode"
	// SlugsASCII transliterates Cyrillic and Greek and folds Latin
	// accents; a title left with nothing gets a slug made from its hash.
	SlugsASCII = "ascii"
)

// fold lower-cases s, folds accented Latin letters to ASCII (é->e, ß->ss)
// and turns every run of anything else into one hyphen, none at either end;
// apostrophes vanish. Letters and digits of other scripts are kept (with
// their combining marks) unless ascii, then transliterated or dropped.
func fold(s string, ascii bool) string {
	var b strings.Builder
	b.Grow(len(s))
	hyphen := false
	kept := false // the last rune written was kept as is (its marks follow it)
	emit := func(r rune) {
		if hyphen && b.Len() > 0 {
			b.WriteByte('-')
		}
		hyphen = false
		b.WriteRune(r)
	}
	for _, r := range norm.NFC.String(s) {
		was := kept
		kept = false
		switch {
		case r == '\'' || r == '’' || r == 'ʼ': // "it's" -> "its"
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			emit(r)
		case r >= 'A' && r <= 'Z':
			emit(r + 'a' - 'A')
		case r < 0x80:
			hyphen = true
		default:
			if rep, ok := foldSpecial[r]; ok {
				emitAll(emit, rep)
			} else if latin := foldLatin(r); latin != "" {
				emitAll(emit, latin)
			} else if ascii {
				if tr, ok := translit[unicode.ToLower(r)]; ok {
					emitAll(emit, tr)
				} else if !unicode.In(r, unicode.Mn, unicode.Mc) {
					hyphen = true
				}
			} else if unicode.IsLetter(r) || unicode.IsDigit(r) {
				emit(unicode.ToLower(r))
				kept = true
			} else if unicode.In(r, unicode.Mn, unicode.Mc) {
				if was { // a vowel sign or accent of a kept letter
					b.WriteRune(r)
					kept = true
				}
			} else {
				hyphen = true
			}
		}
	}
	return b.String()
}

func emitAll(emit func(rune), s string) {
	for _, c := range s {
		emit(c)
	}
}

// foldLatin is the ASCII letters and digits of r's decomposition, lower-case,
// when r is a Latin letter (é -> "e"); "" for anything else.
func foldLatin(r rune) string {
	if !unicode.Is(unicode.Latin, r) {
		return ""
	}
	var out []rune
	for _, d := range norm.NFD.String(string(r)) {
		if d < 0x80 && (unicode.IsLetter(d) || unicode.IsDigit(d)) {
			out = append(out, unicode.ToLower(d))
		}
	}
	return string(out)
}

// Slugify is SlugifyStyle in the default (unicode) style.
func Slugify(title string) string { return SlugifyStyle(title, "") }

// SlugifyStyle derives a slug from a title (see fold), capped at 80 bytes
// at a word boundary. It is never empty: a title with nothing to keep gives
// "article", or in ascii style, when it has letters of a script with no
// transliteration, "article-" and 8 hex digits of its hash.
func SlugifyStyle(title, style string) string {
	ascii := style == SlugsASCII
	s := capSlug(fold(title, ascii))
	if s != "" {
		return s
	}
	if ascii && strings.IndexFunc(title, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
		return "article-" + shortHash(title)
	}
	return "article"
}

// capSlug cuts s to maxSlug bytes, at its last hyphen if any, never inside a character.
func capSlug(s string) string {
	if len(s) <= maxSlug {
		return s
	}
	cut := strings.LastIndexByte(s[:maxSlug+1], '-')
	if cut <= 0 {
		cut = maxSlug
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	return strings.Trim(s[:cut], "-")
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// TagSlug is the folder name of a tag under /tags/ in style, never empty:
// a tag with nothing to keep gets "tag-" and a short hash of its spelling.
func TagSlug(tag, style string) string {
	if s := capSlug(fold(tag, style == SlugsASCII)); s != "" {
		return s
	}
	return "tag-" + shortHash(tag)
}

// validSlug reports whether s is lower-case letters (of any script, with
// their marks) and digits in runs joined by single hyphens.
func validSlug(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, r := range s {
		switch {
		case r == '-', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r < 0x80, unicode.IsUpper(r), unicode.IsTitle(r):
			return false
		case unicode.IsLetter(r), unicode.IsDigit(r), unicode.In(r, unicode.Mn, unicode.Mc):
		default:
			return false
		}
	}
	return true
}

// MaxTags is how many tags one article may have: every tag is a page and
// three feeds, so the cap bounds what one file can make.
const MaxTags = 20

// normTags records tags in source order, each trimmed, in its spelling in
// TagNames and as a key (see fold) in Tags; the first spelling of a key is
// kept. A tag with no letter or digit, or over MaxTags tags, is an error.
func normTags(a *Article, raw []string, line int) error {
	for k, t := range raw {
		t = CleanText(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		f := fold(t, false)
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
		a.TagNames = append(a.TagNames, t)
	}
	return nil
}

// TagName is the spelling of the tag with key t in a, or t when a has none.
func (a *Article) TagName(t string) string {
	if k := slices.Index(a.Tags, t); k >= 0 && k < len(a.TagNames) {
		return a.TagNames[k]
	}
	return t
}

// countTags counts the distinct tags of have and raw for the error about
// too many, without the quadratic scan of normTags.
func countTags(have, raw []string) int {
	seen := make(map[string]bool, len(have)+len(raw))
	for _, t := range have {
		seen[t] = true
	}
	for _, t := range raw {
		if f := fold(strings.TrimSpace(t), false); f != "" {
			seen[f] = true
		}
	}
	return len(seen)
}

// tagList splits "a, b; c" into tags.
func tagList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' })
}

// validLanguage reports whether s looks like a BCP 47 language tag (runs of
// 1 to 8 ASCII letters or digits joined by hyphens, starting with a letter):
// it goes into a lang attribute.
func validLanguage(s string) bool {
	if s == "" || len(s) > 35 {
		return false
	}
	for k, part := range strings.Split(s, "-") {
		if part == "" || len(part) > 8 {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i] | 0x20
			if !(c >= 'a' && c <= 'z') && !(k > 0 && part[i] >= '0' && part[i] <= '9') {
				return false
			}
		}
	}
	return true
}

// translit spells lower-case Cyrillic and Greek letters in ASCII for
// site.slugs = "ascii": a short, common romanisation (Russian and
// Ukrainian letters, modern Greek), enough for readable URLs, not a
// scholarly transliteration. Letters of other scripts have none; a title
// made only of them gets a hash-based slug.
var translit = map[rune]string{
	// Cyrillic
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'ґ': "g", 'д': "d", 'е': "e", 'ё': "yo",
	'є': "ye", 'ж': "zh", 'з': "z", 'и': "i", 'і': "i", 'ї': "yi", 'й': "y", 'к': "k",
	'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t",
	'у': "u", 'ў': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "shch",
	'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu", 'я': "ya", 'ђ': "dj", 'ј': "j",
	'љ': "lj", 'њ': "nj", 'ћ': "c", 'џ': "dz", 'ѓ': "g", 'ќ': "k", 'ѕ': "dz",
	// Greek, with the accented vowels of the monotonic spelling
	'α': "a", 'ά': "a", 'β': "v", 'γ': "g", 'δ': "d", 'ε': "e", 'έ': "e", 'ζ': "z",
	'η': "i", 'ή': "i", 'θ': "th", 'ι': "i", 'ί': "i", 'ϊ': "i", 'ΐ': "i", 'κ': "k",
	'λ': "l", 'μ': "m", 'ν': "n", 'ξ': "x", 'ο': "o", 'ό': "o", 'π': "p", 'ρ': "r",
	'σ': "s", 'ς': "s", 'τ': "t", 'υ': "y", 'ύ': "y", 'ϋ': "y", 'ΰ': "y", 'φ': "f",
	'χ': "ch", 'ψ': "ps", 'ω': "o", 'ώ': "o",
}
