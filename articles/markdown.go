package articles

import (
	"bufio"
	"bytes"
	"sort"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// md is the one goldmark instance: CommonMark with GFM tables and
// strikethrough, and the default renderer, which omits raw HTML and drops
// dangerous link targets. It is safe for concurrent use.
var md = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))

// mdState walks the body's top-level blocks. Each Load worker reuses one
// from file to file, with its buffers.
type mdState struct {
	a       *Article
	src     []byte
	starts  []int // byte offset of each body line
	first   int   // file line number of the first body line
	cur     tier
	sec     mdSection
	buf     bytes.Buffer
	w       *bufio.Writer // over buf; one per article, as goldmark would otherwise allocate one per Render
	html    bytes.Buffer  // the open section's HTML, copied out at exact size when it closes
	scratch []byte        // reused by plain
	srcBuf  bytes.Buffer  // backs src
	pack    textPack      // where the articles' strings end up (see compact)
}

// reset readies s for article a, keeping its buffers.
func (s *mdState) reset(a *Article) {
	s.a = a
	s.src = nil
	s.starts = s.starts[:0]
	s.cur = tierNone
	s.sec = mdSection{}
	s.buf.Reset()
	s.html.Reset()
	s.srcBuf.Reset()
}

type mdSection struct {
	open  bool
	title string
	line  int
	kind  sectionKind
	tier  tier
	paras []string
}

// parseMarkdown parses Markdown with front matter. s, when not nil, is the
// working state reused from one file to the next.
func parseMarkdown(a *Article, lines []line, opts Options, s *mdState) error {
	fields, end, err := readFront(lines)
	if err != nil {
		return err
	}
	// Title and date are checked after the body, which may hold "# Title".
	body := lines[end+1:]
	if s == nil {
		// One article alone: nothing to pack it with.
		s = &mdState{pack: textPack{exact: true}}
	}
	s.reset(a)
	s.first = lines[end].n + 1
	defer func() { s.a, s.src = nil, nil }()
	src := &s.srcBuf
	size := 0
	for _, l := range body {
		size += len(l.text) + 1
	}
	src.Grow(size)
	for _, l := range body {
		s.starts = append(s.starts, src.Len())
		// A no-break space reads as a space; goldmark would keep it as text.
		src.WriteString(strings.ReplaceAll(l.text, "\u00a0", " "))
		src.WriteByte('\n')
	}
	s.src = src.Bytes()
	if err := applyFront(a, fields, 1, opts.location()); err != nil {
		return err
	}
	doc := md.Parser().Parse(text.NewReader(s.src))
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if err := s.block(n); err != nil {
			return err
		}
	}
	s.flush()
	if a.Title == "" {
		return errorf(1, "missing title: front matter has no title")
	}
	compact(a, &s.pack, opts.Spill == nil)
	return nil
}

// lineOf maps a node to its file line number.
func (s *mdState) lineOf(n ast.Node) int {
	off := -1
	for c := n; c != nil && off < 0; c = c.FirstChild() {
		if c.Type() == ast.TypeBlock && c.Lines().Len() > 0 {
			off = c.Lines().At(0).Start
		} else if t, ok := c.(*ast.Text); ok {
			off = t.Segment.Start
		}
	}
	// No offset (-1) falls in the first line.
	return s.first + max(sort.SearchInts(s.starts, off+1)-1, 0)
}

func (s *mdState) setTier(t tier, line int) {
	s.flush()
	s.cur = t
	s.a.markTier(t, line)
}

func (s *mdState) block(n ast.Node) error {
	line := s.lineOf(n)
	if h, ok := n.(*ast.Heading); ok {
		return s.heading(h.Level, normSpace(s.plain(h)), line)
	}
	list, isList := n.(*ast.List)
	// Before and in the take only a list may come (or a thematic break,
	// which is skipped); after it, a block belongs to the open section,
	// opened here if there is none.
	if s.cur <= tierTake {
		switch {
		case n.Kind() == ast.KindThematicBreak:
			return nil
		case !isList && s.cur == tierNone:
			return errorf(line, "unexpected text before the 30-second take: start with ## 30-Second Take")
		case !isList:
			return errorf(line, "the 30-second take holds only a list of bullets")
		case s.cur == tierNone:
			s.setTier(tierTake, line)
		}
		for it := list.FirstChild(); it != nil; it = it.NextSibling() {
			txt, h := s.inline(it)
			if err := s.a.addTake(txt, h, s.lineOf(it)); err != nil {
				return err
			}
		}
		return nil
	}
	if !s.sec.open {
		s.sec = mdSection{open: true, line: line, tier: s.cur}
	}
	switch {
	case isList && s.sec.kind != kindProse:
		for it := list.FirstChild(); it != nil; it = it.NextSibling() {
			// The structures keep plain text only: no need to render HTML.
			if txt := normSpace(s.blockText(it)); txt != "" {
				s.a.addItem(s.sec.kind, txt, s.lineOf(it))
			}
		}
	case s.sec.kind == kindDataPoints: // prose after the data points is the closing
		if p := s.blockText(n); p != "" {
			s.a.tiers.Full.Closing = append(s.a.tiers.Full.Closing, p)
		}
	default:
		if err := s.renderTo(&s.html, n); err != nil {
			return errorf(line, "rendering Markdown: %v", err)
		}
		if !isList {
			// compact (or the Spill) shares a paragraph's text with the HTML.
			if p := s.blockText(n); p != "" {
				s.sec.paras = append(s.sec.paras, p)
			}
			return nil
		}
		// Each bullet of a prose list is kept as a paragraph of text.
		for it := list.FirstChild(); it != nil; it = it.NextSibling() {
			if txt := normSpace(s.blockText(it)); txt != "" {
				s.sec.paras = append(s.sec.paras, "• "+txt)
			}
		}
	}
	return nil
}

// heading handles a title, a tier marker or a section title.
func (s *mdState) heading(level int, title string, line int) error {
	if level == 1 && s.cur == tierNone {
		if s.a.Title != "" && s.a.Title != title {
			return errorf(line, "second title %q: the front matter already has title %q", title, s.a.Title)
		}
		s.a.Title, s.a.slugLine = title, line
		return nil
	}
	if t := tierOf(title); t != tierNone {
		s.setTier(t, line)
		return nil
	}
	k, isKnown := knownSection(title)
	if isKnown && k.tier > s.cur {
		s.setTier(k.tier, line)
	}
	if isKnown {
		title = k.title
	}
	if s.cur < tierDigest {
		return errorf(line, "heading %q is not a tier: use ## 30-Second Take, ## 2-Minute Digest or ## Full Depth", title)
	}
	s.flush()
	s.sec = mdSection{open: true, title: title, line: line, kind: k.kind, tier: s.cur}
	return nil
}

// flush closes the open section; prose held by a structured section is
// kept as a section of the same title.
func (s *mdState) flush() {
	sec := &s.sec
	if sec.open && (sec.kind == kindProse || len(sec.paras) > 0) {
		out := Section{Title: sec.title, Paragraphs: sec.paras, HTML: s.html.String(), Line: sec.line}
		if out.Paragraphs == nil {
			out.Paragraphs = []string{}
		}
		s.a.addSection(sec.tier, out)
	}
	s.sec = mdSection{}
	s.html.Reset()
}
