// Package articles owns the tiered article model: one article written at
// three depths (a 30-second take, a 2-minute digest and full depth), and the
// parsers that read it from plain-text pages (.txt) and Markdown with front
// matter (.md). Both layouts parse into the same Article, so nothing
// downstream knows which one it came from.
package articles

import (
	"fmt"
	"time"
)

// Article is one tiered article. Every part records the line of its source
// file it came from, so errors and warnings can point at it.
type Article struct {
	// Path is the file the article was read from, relative to the content
	// folder, with forward slashes.
	Path string
	// ID is the article's permanent identifier: the `id` from front matter,
	// or else one derived from the slug and the publication date. It never
	// changes across rebuilds, edits of the body or moves of the file.
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

	Take   []Bullet // tier 1: 1 to 5 one-sentence bullets; never empty
	Digest Digest   // tier 2: may be empty
	Full   Full     // tier 3: may be empty

	// Missing lists the optional parts the source did not have ("2-minute
	// digest", "full depth", "data points", ...). They are reported, never
	// invented.
	Missing []string

	// Draft is true when Markdown front matter says `draft = true`; Load
	// leaves drafts out silently.
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
