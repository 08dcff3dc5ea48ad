package articles

import (
	"bufio"
	"bytes"
	"html"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/util"
)

// The model keeps the body both as HTML, for pages and feeds, and as plain
// text, for e-mail text parts and feed summaries.

// renderTo appends the HTML of one node to dst.
func (s *mdState) renderTo(dst *bytes.Buffer, n ast.Node) error {
	if s.w == nil {
		s.w = bufio.NewWriterSize(dst, 1024)
	} else {
		s.w.Reset(dst)
	}
	if err := md.Renderer().Render(s.w, s.src, n); err != nil {
		return err
	}
	return s.w.Flush()
}

// inline renders a list item as inline HTML (its paragraphs without the
// <p> wrapper, joined by a space) and as plain text.
func (s *mdState) inline(item ast.Node) (string, string) {
	var h strings.Builder
	var t []string
	for c := item.FirstChild(); c != nil; c = c.NextSibling() {
		switch c.Kind() {
		case ast.KindParagraph, ast.KindTextBlock:
			s.buf.Reset()
			var out []byte
			if s.renderTo(&s.buf, c) == nil {
				out = bytes.TrimSpace(s.buf.Bytes())
			}
			out = bytes.TrimSuffix(bytes.TrimPrefix(out, []byte("<p>")), []byte("</p>"))
			if h.Len() > 0 {
				h.WriteByte(' ')
			}
			h.Write(bytes.TrimSpace(out))
			t = append(t, s.plain(c))
		default:
			p := s.blockText(c)
			if p == "" {
				continue
			}
			if h.Len() > 0 {
				h.WriteByte(' ')
			}
			h.WriteString(html.EscapeString(p))
			t = append(t, p)
		}
	}
	// compact keeps one copy of a bullet with no markup and nothing escaped.
	return normSpace(strings.Join(t, " ")), h.String()
}

// blockText is the plain text of a block: paragraphs joined by spaces, list
// items prefixed with "• ", code as written, raw HTML left out.
func (s *mdState) blockText(n ast.Node) string {
	switch n.Kind() {
	case ast.KindParagraph, ast.KindTextBlock, ast.KindHeading:
		return normSpace(s.plain(n))
	case ast.KindCodeBlock, ast.KindFencedCodeBlock:
		return strings.TrimRight(string(n.Lines().Value(s.src)), "\n")
	case ast.KindHTMLBlock, ast.KindThematicBreak:
		return ""
	}
	var parts []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		p := s.blockText(c)
		if p == "" {
			continue
		}
		if c.Kind() == ast.KindListItem {
			p = "• " + p
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

// plain is the text of inline content, escapes and entities resolved.
func (s *mdState) plain(n ast.Node) string {
	b := bytes.NewBuffer(s.scratch[:0])
	s.plainInto(b, n)
	s.scratch = b.Bytes()
	return string(s.scratch)
}

func (s *mdState) plainInto(b *bytes.Buffer, n ast.Node) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			v := c.Segment.Value(s.src)
			if bytes.IndexByte(v, '\\') >= 0 {
				v = util.UnescapePunctuations(v)
			}
			if bytes.IndexByte(v, '&') >= 0 {
				v = util.ResolveEntityNames(util.ResolveNumericReferences(v))
			}
			b.Write(v)
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.CodeSpan:
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				if tx, ok := t.(*ast.Text); ok {
					b.Write(tx.Segment.Value(s.src))
				}
			}
		case *ast.AutoLink:
			b.Write(c.Label(s.src))
		case *ast.RawHTML:
		default:
			if c.Type() == ast.TypeBlock && b.Len() > 0 {
				b.WriteByte(' ')
			}
			s.plainInto(b, c)
		}
	}
}
