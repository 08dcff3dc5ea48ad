package articles

import "strings"

// textChunk is the size of the blocks a Load worker packs strings into.
const textChunk = 64 << 10

// compact moves every string of a parsed Markdown article into the blocks of
// c, next to those of the articles parsed before it. Parsing interleaves
// them with many times their size of short-lived data (goldmark's tree,
// buffers); left there, ten thousand articles' strings would pin many
// mostly-empty heap pages. Text that a paragraph and its HTML, or a bullet's
// text and HTML, have in common is kept once. Without withTiers the tiers
// are left alone: they are about to move to a Spill, and packed they would
// keep blocks shared with what stays alive.
func compact(a *Article, c *textPack, withTiers bool) {
	a.Tags = take(c, &c.strs, a.Tags)
	a.Take = take(c, &c.bullets, a.Take)
	c.str(&a.Title)
	c.str(&a.Slug)
	c.str(&a.ID)
	c.str(&a.Author)
	for i := range a.Tags {
		c.str(&a.Tags[i])
	}
	for i := range a.Take {
		b := &a.Take[i]
		same := b.Text == b.HTML
		c.str(&b.HTML)
		if same {
			b.Text = b.HTML
		} else {
			c.str(&b.Text)
		}
	}
	if !withTiers {
		return
	}
	t := a.tiers
	t.Digest.Sections = take(c, &c.sects, t.Digest.Sections)
	t.Digest.Players = take(c, &c.players, t.Digest.Players)
	t.Digest.Numbers = take(c, &c.numbers, t.Digest.Numbers)
	t.Full.Sections = take(c, &c.sects, t.Full.Sections)
	t.Full.DataPoints = take(c, &c.points, t.Full.DataPoints)
	t.Full.Closing = take(c, &c.strs, t.Full.Closing)
	c.sections(t.Digest.Sections)
	c.sections(t.Full.Sections)
	t.Digest.eachEntry(c.str)
	t.Full.eachEntry(c.str)
}

// textPack packs strings and the model's slices into large blocks, only
// ever appended to, so what was taken from one stays as it was.
type textPack struct {
	exact   bool // blocks only as large as asked: for one article alone
	b       strings.Builder
	strs    []string // the current block of each type of slice
	bullets []Bullet
	sects   []Section
	players []Player
	numbers []Number
	points  []DataPoint
}

// blockSize is the size of a new block that must hold n: at least least,
// unless the pack is exact.
func (c *textPack) blockSize(n, least int) int {
	if c.exact {
		return n
	}
	return max(n, least)
}

// take returns a copy of src in block, starting a new one when full, its capacity
// ending with it, so that appending to it never reaches what follows.
func take[T any](c *textPack, block *[]T, src []T) []T {
	if len(src) == 0 {
		return src
	}
	if cap(*block)-len(*block) < len(src) {
		*block = make([]T, 0, c.blockSize(len(src), 256))
	}
	n := len(*block)
	*block = append(*block, src...)
	return (*block)[n : n+len(src) : n+len(src)]
}

// str replaces *s by an equal string in the current block (or a new one).
func (c *textPack) str(s *string) {
	n := len(*s)
	if n == 0 {
		return
	}
	if c.b.Len()+n > c.b.Cap() {
		c.b = strings.Builder{}
		c.b.Grow(c.blockSize(n, textChunk))
	}
	off := c.b.Len()
	c.b.WriteString(*s)
	*s = c.b.String()[off : off+n]
}

// sections packs each section's title and HTML, and each paragraph as a
// slice of the packed HTML when the HTML holds its text.
func (c *textPack) sections(secs []Section) {
	for i := range secs {
		sec := &secs[i]
		sec.Paragraphs = take(c, &c.strs, sec.Paragraphs)
		c.str(&sec.Title)
		c.str(&sec.HTML)
		for k := range sec.Paragraphs {
			p := &sec.Paragraphs[k]
			if at := strings.Index(sec.HTML, *p); at >= 0 && *p != "" {
				*p = sec.HTML[at : at+len(*p)]
				continue
			}
			c.str(p)
		}
	}
}
