package articles

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The plain-text layout (.txt) is a page as copied from a browser: the
// title, the date, optional "Tags:", "Updated:", "Author:", "Image:" and
// "Image alt:" lines, then tier markers and bullets (see README, Articles).
// Section headings are known by name in any case, or else by shape (see
// headingShape): not the tail of an unfinished line above, and followed by
// a blank line or a bullet and then by more content.

// tok is one non-blank line of the body.
type tok struct {
	n           int
	text        string // space-normalised; bullet glyph removed for bullets
	bullet      bool
	marker      tier
	blankBefore bool // a blank line (or the start) comes before it
}

const (
	maxHeadingRunes = 60
	maxHeadingWords = 10
	maxTake         = 5
)

func tokenize(lines []line) []tok {
	toks := make([]tok, 0, len(lines)/2+1)
	blank := true
	for _, l := range lines {
		s := normSpace(l.text)
		if s == "" {
			blank = true
			continue
		}
		t := tok{n: l.n, text: s, blankBefore: blank}
		blank = false
		if m := tierOf(s); m != tierNone {
			t.marker = m
		} else if rest, ok := cutBullet(s); ok {
			t.text, t.bullet = rest, true
		}
		toks = append(toks, t)
	}
	return toks
}

// cutBullet removes a leading bullet glyph: "•" (and "◦", "▪", "·") with or
// without a space after it, or "-", "*", "–" followed by a space.
func cutBullet(s string) (string, bool) {
	r, size := utf8.DecodeRuneInString(s)
	switch r {
	case '•', '◦', '▪', '·':
		return strings.TrimSpace(s[size:]), true
	case '-', '*', '–':
		if len(s) > size && s[size] == ' ' {
			return strings.TrimSpace(s[size:]), true
		}
	}
	return s, false
}

// endsSentence reports whether s ends like a sentence, past closing quotes and brackets.
func endsSentence(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(strings.TrimRight(s, `"'”’)]»`))
	return strings.ContainsRune(".!?…,;", r)
}

func looksLikeHeading(toks []tok, i int) bool {
	t := toks[i]
	if i+1 >= len(toks) {
		return false
	}
	next := toks[i+1]
	if next.marker != tierNone || (!next.blankBefore && !next.bullet) {
		return false
	}
	if !t.blankBefore && i > 0 {
		prev := toks[i-1]
		if prev.marker == tierNone && !prev.bullet && !endsSentence(prev.text) {
			return false // the tail of a wrapped line
		}
	}
	if !headingShape(t.text) {
		return false
	}
	if !next.bullet {
		// A heading needs content: a short line right before a known
		// heading, or before another short line that is itself a heading,
		// is a paragraph.
		if _, known := knownSection(next.text); known || (i+2 == len(toks) || toks[i+2].blankBefore) && next.blankBefore && headingShape(next.text) {
			return false
		}
	}
	return strings.IndexFunc(t.text, unicode.IsLetter) >= 0
}

// headingShape is the shape of a heading, without the look around: short,
// not ending like a sentence or a lead-in, not starting in lower case.
func headingShape(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	return !endsSentence(s) && !strings.HasSuffix(s, ":") && utf8.RuneCountInString(s) <= maxHeadingRunes &&
		strings.Count(s, " ") < maxHeadingWords && !unicode.IsLower(first)
}

// para is one paragraph or loose bullet of a prose section.
type para struct {
	text   string // with its wrapped continuation lines
	bullet bool
}

// kept is the paragraph's text as the model keeps it: a loose bullet with its "• ".
func (p para) kept() string {
	if p.bullet {
		return "• " + p.text
	}
	return p.text
}

// openSection is the section being filled.
type openSection struct {
	title string
	line  int
	kind  sectionKind
	tier  tier
	paras []para
	open  bool
}

type textState struct {
	a       *Article
	cur     tier
	sec     openSection
	lastTok int // index of the token last appended as a paragraph, -1 if none
}

func parseText(a *Article, lines []line, opts Options) error {
	toks := tokenize(lines)
	if len(toks) == 0 {
		return errorf(1, "empty file: the first line must be the title")
	}
	head := toks[0]
	if head.marker != tierNone {
		return errorf(head.n, "missing title: the first line must be the title, not the tier marker %q", head.text)
	}
	a.Title = head.text
	if head.bullet {
		a.Title = normSpace(lines[head.n-1].text)
	}
	a.slugLine = head.n
	if len(toks) < 2 || toks[1].marker != tierNone || toks[1].bullet {
		return errorf(head.n+1, "missing date: the line after the title must be a date such as \"Feb. 23, 2025, 4:36 am ET\"")
	}
	pub, err := parseDate(toks[1].text, opts.location())
	if err != nil {
		if err == errNotDate {
			return errorf(toks[1].n, "missing date: %q is not a date such as \"Feb. 23, 2025, 4:36 am ET\" or 2025-02-23", toks[1].text)
		}
		return errorf(toks[1].n, "bad date %q: %v", toks[1].text, err)
	}
	a.Published = pub
	i := 2
	// Optional metadata lines right after the date.
meta:
	for ; i < len(toks); i++ {
		t := toks[i]
		key, val, ok := strings.Cut(t.text, ":")
		if !ok || t.bullet || t.marker != tierNone {
			break
		}
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		switch key {
		case "tags":
			if err := normTags(a, tagList(val), t.n); err != nil {
				return err
			}
		case "updated":
			u, err := parseDate(val, opts.location())
			if err != nil {
				return errorf(t.n, "bad updated date %q", val)
			}
			a.Updated = u
		case "author":
			if strings.IndexFunc(val, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
				return errorf(t.n, "author must have no control characters")
			}
			a.Author = val
		case "image", "image alt", "image-alt", "image_alt":
			if key != "image" {
				key = "image_alt"
			}
			if err := setImage(a, key, val, t.n); err != nil {
				return err
			}
		default:
			break meta
		}
	}
	s := &textState{a: a, lastTok: -1}
	for ; i < len(toks); i++ {
		if err := s.token(toks, i); err != nil {
			return err
		}
	}
	s.flush()
	if !a.Updated.IsZero() && a.Updated.Before(a.Published) {
		return errorf(toks[1].n, "the updated date is before the publication date")
	}
	return nil
}

func (s *textState) setTier(t tier, line int) {
	s.flush()
	s.cur = t
	s.a.markTier(t, line)
}

func (s *textState) token(toks []tok, i int) error {
	t := toks[i]
	if t.marker != tierNone {
		s.setTier(t.marker, t.n)
		return nil
	}
	if !t.bullet {
		if k, known := knownSection(t.text); known {
			if k.tier > s.cur {
				s.setTier(k.tier, t.n) // a missing marker is implied by the heading
			}
			s.startSection(k.title, t.n, k.kind)
			return nil
		}
	}
	switch s.cur {
	case tierNone:
		if !t.bullet {
			return errorf(t.n, "unexpected text before the 30-second take: start it with a tier marker such as \"30-Second Take\"")
		}
		s.setTier(tierTake, t.n)
		fallthrough
	case tierTake:
		// A take line that lost its bullet glyph in the paste is still a bullet.
		return s.a.addTake(t.text, html.EscapeString(t.text), t.n)
	}
	if !t.bullet && looksLikeHeading(toks, i) {
		s.startSection(t.text, t.n, kindProse)
		return nil
	}
	if t.bullet && s.sec.kind != kindProse {
		s.a.addItem(s.sec.kind, t.text, t.n)
		return nil
	}
	if !s.sec.open {
		s.startSection("", t.n, kindProse)
	}
	// Consecutive lines with no blank between, where the first does not end a
	// sentence, are one wrapped paragraph.
	joined := !t.bullet && !t.blankBefore && s.lastTok == i-1 && !toks[i-1].bullet && !endsSentence(toks[i-1].text)
	s.lastTok = i
	if joined && len(s.sec.paras) > 0 {
		last := &s.sec.paras[len(s.sec.paras)-1]
		last.text += " " + t.text
		return nil
	}
	s.sec.paras = append(s.sec.paras, para{text: t.text, bullet: t.bullet})
	return nil
}

func (s *textState) startSection(title string, line int, kind sectionKind) {
	s.flush()
	s.sec = openSection{title: strings.TrimSuffix(title, ":"), line: line, kind: kind, tier: s.cur, open: true}
}

// flush closes the open section; prose in a structured section is kept as
// a section of the same title.
func (s *textState) flush() {
	sec := s.sec
	s.sec = openSection{}
	if sec.kind == kindDataPoints {
		// Prose after the timeline is the article's closing.
		for _, p := range sec.paras {
			s.a.tiers.Full.Closing = append(s.a.tiers.Full.Closing, p.kept())
		}
		return
	}
	if !sec.open || (sec.kind != kindProse && len(sec.paras) == 0) {
		return
	}
	out := Section{Title: sec.title, Line: sec.line, Paragraphs: make([]string, 0, len(sec.paras))}
	var b strings.Builder
	for i, p := range sec.paras {
		inList := i > 0 && sec.paras[i-1].bullet
		open, end := "<p>", "</p>\n"
		switch {
		case p.bullet && inList:
			open, end = "<li>", "</li>\n"
		case p.bullet:
			open, end = "<ul>\n<li>", "</li>\n"
		case inList:
			open = "</ul>\n<p>"
		}
		out.Paragraphs = append(out.Paragraphs, p.kept())
		b.WriteString(open)
		b.WriteString(html.EscapeString(p.text))
		b.WriteString(end)
	}
	if n := len(sec.paras); n > 0 && sec.paras[n-1].bullet {
		b.WriteString("</ul>\n")
	}
	out.HTML = b.String()
	s.a.addSection(sec.tier, out)
}
