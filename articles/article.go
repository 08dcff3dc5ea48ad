// Package articles owns the tiered article model (a 30-second take, a
// 2-minute digest and full depth) and its parsers of plain-text pages (.txt)
// and Markdown with front matter (.md), which both give the same Article.
package articles

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode"
)

// Article is one tiered article. Every part records the line of its source
// file it came from, so errors and warnings can point at it.
type Article struct {
	// Path is the file the article was read from, relative to the content
	// folder, with forward slashes.
	Path string
	// ID is the permanent identifier: the `id` from front matter, or else
	// one derived from the slug and the publication date (see DeriveID).
	ID        string
	Title     string
	Slug      string
	Published time.Time // always set
	Updated   time.Time // equal to Published when the source gives none
	Tags      []string  // keys: lower-case, Latin accents folded, unique, in source order (see normTags)
	TagNames  []string  // each tag of Tags as the source spells it ("Économie", "C++ & Rust")
	Language  string    // the `language` of the front matter (a BCP 47 tag such as "ru"); "" when not given
	Author    string    // "Name <email>", "Name" or empty (the site default applies)

	// Image is the article's lead image: an absolute http(s) URL, or a
	// path relative to the article's file inside the content folder
	// (forward slashes, no ".."). ImageAlt is its text alternative.
	Image    string `json:",omitempty"`
	ImageAlt string `json:",omitempty"`

	Take []Bullet // tier 1: 1 to 5 one-sentence bullets; never empty

	// tiers are nil once moved to a Spill, where spilled finds them; read
	// them with Tiers.
	tiers   *Tiers
	spilled spillRef
	shape   tierShape

	// Missing lists the optional parts the source did not have ("2-minute
	// digest", "data points", ...): reported, never invented.
	Missing []string

	// Draft is front matter's `draft = true`; Load leaves drafts out.
	Draft bool `json:",omitempty"`

	takeLine int // line of the take's marker (0 if none), for errors
	slugLine int // line the slug comes from (title or `slug`), for errors
}

// Bullet is one sentence of the 30-second take.
type Bullet struct {
	Text string // plain text, no markup
	HTML string // safe inline HTML (escaped text for .txt; rendered inline Markdown for .md)
	Line int
}

// Section is a titled block of prose, such as "Essential Context" or
// "The Catalyst".
type Section struct {
	Title      string
	Paragraphs []string // plain text, one entry per paragraph
	HTML       string   // safe HTML of the body (goldmark for .md, escaped <p> for .txt)
	Line       int
}

// Player is one entry of Core Players: a name and the role it plays.
type Player struct {
	Name string
	Role string
	Line int
}

// Number is one entry of Key Numbers: a figure and what it means.
type Number struct {
	Figure  string
	Meaning string
	Line    int
}

// DataPoint is one entry of the Data Points timeline.
type DataPoint struct {
	Date  string
	Event string
	Line  int
}

// Digest is the 2-minute tier.
type Digest struct {
	Sections []Section // prose sections, Essential Context first when present
	Players  []Player
	Numbers  []Number
	Line     int // line of the tier marker, 0 when the tier is missing
}

// Empty reports whether the tier has no content at all.
func (d Digest) Empty() bool {
	return len(d.Sections) == 0 && len(d.Players) == 0 && len(d.Numbers) == 0
}

// Full is the full-depth tier.
type Full struct {
	Sections   []Section // titled analysis sections, in source order
	DataPoints []DataPoint
	Closing    []string // the closing paragraph(s), plain text, in order
	Line       int      // line of the tier marker, 0 when the tier is missing
}

// Empty reports whether the tier has no content at all.
func (f Full) Empty() bool {
	return len(f.Sections) == 0 && len(f.DataPoints) == 0 && len(f.Closing) == 0
}

// Tiers are an article's body below the take, most of its size: only its
// page, the fuller feeds and digest mails read them (see Spill).
type Tiers struct {
	Digest Digest // tier 2: may be empty
	Full   Full   // tier 3: may be empty
}

// eachEntry calls f with each string of the players and numbers.
func (d *Digest) eachEntry(f func(*string)) {
	for i := range d.Players {
		f(&d.Players[i].Name)
		f(&d.Players[i].Role)
	}
	for i := range d.Numbers {
		f(&d.Numbers[i].Figure)
		f(&d.Numbers[i].Meaning)
	}
}

// eachEntry calls f with each string of the data points and closing.
func (t *Full) eachEntry(f func(*string)) {
	for i := range t.DataPoints {
		f(&t.DataPoints[i].Date)
		f(&t.DataPoints[i].Event)
	}
	for i := range t.Closing {
		f(&t.Closing[i])
	}
}

// tierShape is what listings and links need to know of the tiers without
// reading them.
type tierShape struct {
	hasDigest, hasFull     bool
	digestWords, fullWords int
}

// Tiers returns the article's digest and full depth, read back from its
// Spill when they were moved there: a failed read is an error, never empty
// tiers. The result is shared: do not change it.
func (a *Article) Tiers() (*Tiers, error) {
	if a.tiers != nil {
		return a.tiers, nil
	}
	if a.spilled.s == nil {
		return &Tiers{}, nil // an Article made in code without tiers
	}
	t, err := a.spilled.read()
	if err != nil {
		return nil, fmt.Errorf("articles: %s: read the digest and full depth back: %w", a.Path, err)
	}
	return t, nil
}

// MarshalJSON writes the article with its tiers, in the order of the struct.
func (a *Article) MarshalJSON() ([]byte, error) {
	t, err := a.Tiers()
	if err != nil {
		return nil, err
	}
	type plain Article // without this method
	// The fields below come after plain's, and Missing and Draft hide its own.
	return json.Marshal(struct {
		*plain
		Digest  Digest
		Full    Full
		Missing []string
		Draft   bool `json:",omitempty"`
	}{(*plain)(a), t.Digest, t.Full, a.Missing, a.Draft})
}

// WithTiers gives a, made in code rather than parsed, the tiers t.
func WithTiers(a *Article, t Tiers) *Article {
	a.tiers = &t
	a.shape = shapeOf(&t)
	return a
}

// HasDigest reports whether the article has a 2-minute digest.
func (a *Article) HasDigest() bool { return a.shape.hasDigest }

// HasFull reports whether the article has a full depth.
func (a *Article) HasFull() bool { return a.shape.hasFull }

// TierWords counts the words of the digest and of the full depth (see CountWords).
func (a *Article) TierWords() (digest, full int) { return a.shape.digestWords, a.shape.fullWords }

func shapeOf(t *Tiers) tierShape {
	sh := tierShape{hasDigest: !t.Digest.Empty(), hasFull: !t.Full.Empty()}
	for _, s := range t.Digest.Sections {
		sh.digestWords += sectionWords(s)
	}
	t.Digest.eachEntry(func(s *string) { sh.digestWords += CountWords(*s) })
	for _, s := range t.Full.Sections {
		sh.fullWords += sectionWords(s)
	}
	t.Full.eachEntry(func(s *string) { sh.fullWords += CountWords(*s) })
	return sh
}

func sectionWords(s Section) int {
	n := CountWords(s.Title)
	if len(s.Paragraphs) == 0 {
		return n + CountWords(s.HTML)
	}
	for _, p := range s.Paragraphs {
		n += CountWords(p)
	}
	return n
}

// CountWords counts runs of letters and digits, skipping HTML tags, since
// a Markdown section's paragraphs may carry inline markup.
func CountWords(s string) int {
	n, in, tag := 0, false, false
	for _, r := range s {
		switch {
		case r == '<':
			tag, in = true, false
		case r == '>' && tag:
			tag = false
		case tag:
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if !in {
				n++
			}
			in = true
		case r == '\'' || r == '’' || r == '-':
			// inside a word: "don't", "well-known"
		default:
			in = false
		}
	}
	return n
}

// Error is a problem with one article, located at a file and line.
type Error struct {
	Path string
	Line int // 0 when the problem is with the whole file
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}
