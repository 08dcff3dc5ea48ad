package articles

import (
	"bytes"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Options controls parsing and loading.
type Options struct {
	Location *time.Location // zone for dates written without one; nil = UTC

	// MaxBytes is the largest article file Load reads (0: DefaultMaxBytes).
	MaxBytes int64

	// Log receives Load's warnings about files it skips; nil discards them.
	Log *slog.Logger

	// Slugs is the style of slugs derived from titles: SlugsUnicode ("") or SlugsASCII.
	Slugs string

	// Spill, when set, keeps the tiers of the articles read there.
	Spill *Spill
}

// DefaultMaxBytes is the size limit of an article file when Options.MaxBytes
// is 0: far above any real article, low enough that reading one stays cheap.
const DefaultMaxBytes = 1 << 20

func (o Options) maxBytes() int64 {
	if o.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

func (o Options) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

func (o Options) location() *time.Location {
	if o.Location == nil {
		return time.UTC
	}
	return o.Location
}

// Parse parses one article. path (relative, forward slashes) is its Path,
// and its extension chooses the layout: ".txt", or ".md" or ".markdown".
// Every error is an *Error with a line number.
func Parse(path string, data []byte, opts Options) (a *Article, err error) {
	return parse(path, data, opts, nil)
}

// parse is Parse reusing md's working buffers when md is not nil; the
// article keeps nothing of them (nor of data).
func parse(path string, data []byte, opts Options, md *mdState) (a *Article, err error) {
	// A parser bug must cost one article, never the whole build.
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, &Error{Path: path, Line: 0, Msg: fmt.Sprintf("internal parser error: %v", r)}
		}
	}()
	lay := layoutOf(path)
	if lay == "" {
		return nil, &Error{Path: path, Msg: "unknown layout: the name must end in .txt, .md or .markdown"}
	}
	lines, err := splitLines(data)
	if err == nil {
		a = &Article{Path: path, tiers: &Tiers{}}
		if lay == ".txt" {
			err = parseText(a, lines, opts)
		} else {
			err = parseMarkdown(a, lines, opts, md)
		}
	}
	if err == nil {
		err = finish(a, opts.Slugs)
	}
	if err != nil {
		e := err.(*Error) // every parser error is made by errorf
		e.Path = path
		return nil, e
	}
	return a, nil
}

// layoutOf is the layout a file name chooses: ".txt", ".md" (for
// ".markdown" too), or "" when it is no article's.
func layoutOf(name string) string {
	switch ext := strings.ToLower(path.Ext(name)); ext {
	case ".txt", ".md":
		return ext
	case ".markdown":
		return ".md"
	}
	return ""
}

func errorf(line int, format string, args ...any) *Error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// line is one line of the source, cleaned (see splitLines).
type line struct {
	n    int    // 1-based line number
	text string // cleaned, not trimmed
}

// splitLines accepts LF, CRLF and lone CR line ends, drops a leading UTF-8
// BOM, rejects invalid UTF-8 naming the line, and removes zero-width spaces
// (U+200B, U+2060, U+FEFF) that pasted pages carry invisibly. Zero-width
// joiners are kept: emoji sequences and several scripts need them.
func splitLines(data []byte) ([]line, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	// One string for the whole file: every line is a slice of it.
	src := string(data)
	if hasInvisible(data) {
		src = invisibleChars.Replace(src)
	}
	lines := make([]line, 0, strings.Count(src, "\n")+1)
	// Most files are valid UTF-8 with LF line ends: then one check of the
	// whole file and a fast scan for '\n' are enough.
	valid := utf8.ValidString(src)
	if valid {
		// Controls pasted into the text (a NUL in a bullet) must never
		// reach a page; an invalid file is cleaned line by line below, once
		// each line is known to be UTF-8, so the error still names it.
		src = CleanText(src)
	}
	hasCR := strings.IndexByte(src, '\r') >= 0
	n := 1
	for {
		var i int
		if hasCR {
			i = strings.IndexAny(src, "\r\n")
		} else {
			i = strings.IndexByte(src, '\n')
		}
		raw := src
		if i >= 0 {
			raw = src[:i]
		}
		if !valid {
			if !utf8.ValidString(raw) {
				return nil, errorf(n, "invalid UTF-8: save the file as UTF-8")
			}
			raw = CleanText(raw)
		}
		lines = append(lines, line{n: n, text: raw})
		if i < 0 {
			return lines, nil
		}
		if src[i] == '\r' && i+1 < len(src) && src[i+1] == '\n' {
			i++
		}
		src = src[i+1:]
		n++
		if len(src) == 0 {
			return lines, nil
		}
	}
}

// invisibleChars is read-only after start-up.
var invisibleChars = strings.NewReplacer("\u200b", "", "\u2060", "", "\ufeff", "")

func hasInvisible(data []byte) bool {
	return bytes.Contains(data, []byte("\u200b")) || bytes.Contains(data, []byte("\u2060")) || bytes.Contains(data, []byte("\ufeff"))
}

// normSpace turns tabs and the no-break spaces (U+00A0, U+2007, U+202F) into
// plain spaces, collapses runs of spaces and trims the ends. Most lines only
// need trimming, which costs no allocation.
func normSpace(s string) string {
	s = strings.Trim(s, " \t")
	if !needsSpaceWork(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); {
		if w := spaceWidth(s, i); w > 0 {
			space = true
			i += w
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		b = append(b, s[i])
		i++
	}
	return string(b)
}

// spaceWidth is the byte length of the space-like character at s[i], or 0.
func spaceWidth(s string, i int) int {
	switch s[i] {
	case ' ', '\t', '\v', '\f':
		return 1
	case 0xc2:
		if i+1 < len(s) && s[i+1] == 0xa0 {
			return 2
		}
	case 0xe2:
		if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0x87 || s[i+2] == 0xaf) {
			return 3
		}
	}
	return 0
}

// needsSpaceWork reports whether s, already trimmed of ASCII spaces, holds
// a run of spaces, a tab or a no-break space. It runs on every line and
// paragraph, so it scans with strings.Contains rather than byte by byte.
func needsSpaceWork(s string) bool {
	for _, sp := range [...]string{"  ", "\t", "\v", "\f", "\u00a0", "\u2007", "\u202f"} {
		if strings.Contains(s, sp) {
			return true
		}
	}
	return false
}

// finish checks what both layouts require and derives slug, id, updated
// time and the missing parts.
func finish(a *Article, slugs string) error {
	a.clean()
	if len(a.Take) == 0 {
		return errorf(max(a.takeLine, 1), "the 30-second take has no bullets: it needs 1 to 5")
	}
	if a.Slug == "" {
		a.Slug = SlugifyStyle(a.Title, slugs)
	}
	if a.Updated.IsZero() {
		a.Updated = a.Published
	}
	if a.ID == "" {
		a.ID = DeriveID(a.Slug, a.Published)
	}
	d, f := &a.tiers.Digest, &a.tiers.Full
	missing := func(gone bool, part string) {
		if gone {
			a.Missing = append(a.Missing, part)
		}
	}
	missing(len(a.Tags) == 0, "tags")
	if d.Empty() {
		d.Line = 0 // a marker with nothing under it is still a missing tier
		missing(true, "2-minute digest")
	} else {
		missing(!slices.ContainsFunc(d.Sections, func(s Section) bool { return strings.EqualFold(s.Title, "Essential Context") }), "essential context")
		missing(len(d.Players) == 0, "core players")
		missing(len(d.Numbers) == 0, "key numbers")
	}
	if f.Empty() {
		f.Line = 0
		missing(true, "full depth")
	} else {
		missing(len(f.Sections) == 0, "full-depth sections")
		missing(len(f.DataPoints) == 0, "data points")
		missing(len(f.Closing) == 0, "closing")
	}
	a.shape = shapeOf(a.tiers)
	return nil
}

// DeriveID returns the permanent id of an article without an `id`: a
// version 5 UUID of the slug and the publication date (YYYY-MM-DD in the
// article's own zone), which edits, rebuilds and moves do not change.
func DeriveID(slug string, published time.Time) string {
	name := "briefcast:" + slug + ":" + published.Format("2006-01-02")
	return "urn:uuid:" + uuid.NewSHA1(uuid.NameSpaceURL, []byte(name)).String()
}
