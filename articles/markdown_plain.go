package articles

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// Most article bodies are nothing but ATX headings, plain paragraphs and
// one-line "- " bullets, with at most a few **strong** words (such as the
// name that starts a Core Players bullet) in a one-line block. For such a
// body, goldmark's general parser is most of the cost of reading an
// article, yet the result is easy to tell: readPlain reads the body
// directly and gives the article exactly what the goldmark path gives. It
// accepts a body only when every line is in that small subset, checked
// conservatively (anything that could be markup, an escape, an entity, a
// continuation or an interruption sends the whole body to goldmark), and
// before it changes anything. The TestPlainMarkdown tests and
// FuzzPlainMarkdown check, on the test articles, the sample content, the
// generated corpus and many tricky inputs, that both paths give identical
// articles and errors.

// plainKind is the kind of a block of a plain body.
type plainKind uint8

const (
	plainHeading plainKind = iota
	plainPara
	plainList
)

// plainBlock is one block of a plain body: lines first to last (body line
// indexes, inclusive) hold it. The inline text of a heading or bullet
// starts at off in its line; a paragraph line starts at 0.
type plainBlock struct {
	kind        plainKind
	level       int // heading level
	off         int
	first, last int
}

// line returns body line i without its line end.
func (s *mdState) line(i int) []byte {
	end := len(s.src)
	if i+1 < len(s.starts) {
		end = s.starts[i+1]
	}
	return s.src[s.starts[i] : end-1]
}

// readPlain reads the body when it is plain, and reports whether it was.
// When it reports false, it has changed nothing but its own scratch space,
// and the body must be read by goldmark.
func (s *mdState) readPlain() (bool, error) {
	if s.goldmarkOnly || !s.scanPlain() {
		return false, nil
	}
	s.plainBodies++
	for _, b := range s.blocks {
		if err := s.plainBlock(b); err != nil {
			return true, err
		}
	}
	return true, nil
}

// scanPlain splits the body into s.blocks, and reports false as soon as a
// line is not plain.
func (s *mdState) scanPlain() bool {
	s.blocks = s.blocks[:0]
	n := len(s.starts)
	for i := 0; i < n; {
		ln := s.line(i)
		switch {
		case blankLine(ln):
			i++
		case ln[0] == '#':
			level := 0
			for level < len(ln) && ln[level] == '#' {
				level++
			}
			// "## Title": one space, then text that does not end in a
			// closing sequence of #.
			if level > 6 || len(ln) < level+2 || ln[level] != ' ' || ln[len(ln)-1] == '#' || !plainInline(ln[level+1:]) {
				return false
			}
			s.blocks = append(s.blocks, plainBlock{kind: plainHeading, level: level, off: level + 1, first: i, last: i})
			i++
		case ln[0] == '-':
			// A tight list of one-line bullets, ended by a blank line (and
			// not followed by another bullet, which would make it loose)
			// or by the end of the body.
			j := i
			for j < n {
				ln := s.line(j)
				if len(ln) == 0 || ln[0] != '-' {
					break
				}
				if len(ln) < 3 || ln[1] != ' ' || !plainStart(ln[2:]) || !plainInline(ln[2:]) {
					return false
				}
				j++
			}
			if j < n {
				if !blankLine(s.line(j)) {
					return false
				}
				k := j
				for k < n && blankLine(s.line(k)) {
					k++
				}
				if k < n && s.line(k)[0] == '-' {
					return false
				}
			}
			s.blocks = append(s.blocks, plainBlock{kind: plainList, off: 2, first: i, last: j - 1})
			i = j
		default:
			// A paragraph: lines that each start as text, up to a blank
			// line. Strong text only in a one-line paragraph.
			j := i
			for j < n && !blankLine(s.line(j)) {
				ln := s.line(j)
				if !plainStart(ln) || !plainInline(ln) {
					return false
				}
				j++
			}
			if j-i > 1 {
				for k := i; k < j; k++ {
					if bytes.IndexByte(s.line(k), '*') >= 0 {
						return false
					}
				}
			}
			s.blocks = append(s.blocks, plainBlock{kind: plainPara, first: i, last: j - 1})
			i = j
		}
	}
	return true
}

// blankLine reports whether ln is empty or only spaces.
func blankLine(ln []byte) bool {
	for _, c := range ln {
		if c != ' ' {
			return false
		}
	}
	return true
}

// plainStart reports whether text at the start of a line is sure to begin
// a paragraph (or continue one): a letter, a non-ASCII character other
// than a space, a number that is not a list marker, or "**" before a
// letter or digit.
func plainStart(ln []byte) bool {
	c := ln[0]
	switch {
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		return true
	case c >= '0' && c <= '9':
		k := 0
		for k < len(ln) && ln[k] >= '0' && ln[k] <= '9' {
			k++
		}
		return k == len(ln) || ln[k] != '.' && ln[k] != ')'
	case c == '*':
		return len(ln) > 2 && ln[1] == '*' && isAlnum(ln[2])
	case c >= utf8.RuneSelf:
		r, _ := utf8.DecodeRune(ln)
		return !unicode.IsSpace(r)
	}
	return false
}

// plainByte marks the ASCII bytes that inline text may hold as they are:
// not control characters, and none of \ ` * _ [ ] < & ~, which could start
// markup, an escape or an entity. '*' is allowed only as a "**" pair,
// checked by plainInline.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	for _, c := range []byte("\\`*_[]<&~") {
		t[c] = false
	}
	return t
}()

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// plainInline reports whether text is plain inline text: no markup but
// **strong** pairs that can only be read one way (an opener at the start
// or after a space, before a letter or digit; a closer after a letter or
// digit, or after a closing punctuation mark, and before the end, a space
// or, after a letter or digit, a punctuation mark that ends a phrase), and
// no space at either end.
func plainInline(text []byte) bool {
	if len(text) == 0 || text[0] == ' ' || text[len(text)-1] == ' ' {
		return false
	}
	open := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if plainByte[c] {
			continue
		}
		if c != '*' || i+1 >= len(text) || text[i+1] != '*' || i+2 < len(text) && text[i+2] == '*' {
			return false
		}
		if !open {
			if i > 0 && text[i-1] != ' ' || i+2 >= len(text) || !isAlnum(text[i+2]) {
				return false
			}
		} else {
			prev := text[i-1]
			end := i+2 == len(text) || text[i+2] == ' '
			switch {
			case isAlnum(prev):
				if !end && bytes.IndexByte([]byte(".,:;!?)"), text[i+2]) < 0 {
					return false
				}
			case bytes.IndexByte([]byte(".:%)!?"), prev) >= 0:
				if !end {
					return false
				}
			default:
				return false
			}
		}
		open = !open
		i++
	}
	return !open
}

// plainText appends the text of inline text to b: the text without its
// "**" marks.
func plainText(b, text []byte) []byte {
	for {
		i := bytes.Index(text, []byte("**"))
		if i < 0 {
			return append(b, text...)
		}
		b = append(b, text[:i]...)
		text = text[i+2:]
	}
}

// plainHTML appends the HTML of inline text to b, as goldmark renders it:
// " and > escaped, "**" pairs as <strong>.
func plainHTML(b, text []byte) []byte {
	open := false
	last := 0
	for i := 0; i < len(text); i++ {
		var rep string
		switch text[i] {
		case '"':
			rep = "&quot;"
		case '>':
			rep = "&gt;"
		case '*':
			rep = "<strong>"
			if open {
				rep = "</strong>"
			}
			open = !open
		default:
			continue
		}
		b = append(b, text[last:i]...)
		b = append(b, rep...)
		if text[i] == '*' {
			i++
		}
		last = i + 1
	}
	return append(b, text[last:]...)
}

// plainBlock handles one block of a plain body as block does the same
// block read by goldmark.
func (s *mdState) plainBlock(b plainBlock) error {
	line := s.numbers[b.first]
	if b.kind == plainHeading {
		s.scratch = plainText(s.scratch[:0], s.line(b.first)[b.off:])
		return s.heading(b.level, normSpace(string(s.scratch)), line)
	}
	isList := b.kind == plainList
	place, err := s.place(isList, false, line)
	if err != nil {
		return err
	}
	switch place {
	case placeTake:
		for i := b.first; i <= b.last; i++ {
			text := s.line(i)[b.off:]
			s.scratch = plainText(s.scratch[:0], text)
			txt := normSpace(string(s.scratch))
			s.scratch = plainHTML(s.scratch[:0], text)
			h := bytes.TrimSpace(s.scratch)
			html := txt
			if string(h) != txt {
				html = string(h)
			}
			if err := s.addTake(txt, html, s.numbers[i]); err != nil {
				return err
			}
		}
	case placeItems:
		for i := b.first; i <= b.last; i++ {
			s.scratch = plainText(s.scratch[:0], s.line(i)[b.off:])
			if txt := normSpace(string(s.scratch)); txt != "" {
				s.addItem(txt, s.numbers[i])
			}
		}
	case placeClosing:
		s.addClosing(normSpace(string(s.paraText(b))))
	case placeProse:
		start := s.html.Len()
		if isList {
			s.html.WriteString("<ul>\n")
			for i := b.first; i <= b.last; i++ {
				s.html.WriteString("<li>")
				s.scratch = plainHTML(s.scratch[:0], s.line(i)[b.off:])
				s.html.Write(s.scratch)
				s.html.WriteString("</li>\n")
			}
			s.html.WriteString("</ul>\n")
			for i := b.first; i <= b.last; i++ {
				s.scratch = plainText(s.scratch[:0], s.line(i)[b.off:])
				s.addListPara(normSpace(string(s.scratch)))
			}
			return nil
		}
		s.html.WriteString("<p>")
		for i := b.first; i <= b.last; i++ {
			if i > b.first {
				s.html.WriteByte('\n')
			}
			s.scratch = plainHTML(s.scratch[:0], s.line(i))
			s.html.Write(s.scratch)
		}
		s.html.WriteString("</p>\n")
		if p := s.paraText(b); !s.share(start, p) {
			s.addPara(start, normSpace(string(p)))
		}
	}
	return nil
}

// paraText is the text of a plain paragraph, its lines joined by spaces,
// in s.scratch.
func (s *mdState) paraText(b plainBlock) []byte {
	s.scratch = s.scratch[:0]
	for i := b.first; i <= b.last; i++ {
		if i > b.first {
			s.scratch = append(s.scratch, ' ')
		}
		s.scratch = plainText(s.scratch, s.line(i))
	}
	return s.scratch
}
