package site

import (
	"strconv"
	"strings"
	"unicode"

	"briefcast/articles"
)

// wordsPerMinute is the reading speed behind each tier's reading time: a
// common figure for adults reading news prose on a screen.
const wordsPerMinute = 230

// readingTime turns a word count into "N min read", rounding up, so that
// even a three-bullet take reads "1 min read"; "" for no words.
func readingTime(words int) string {
	if words == 0 {
		return ""
	}
	return strconv.Itoa((words+wordsPerMinute-1)/wordsPerMinute) + " min read"
}

// tierTimes is the reading time of each tier of a.
func tierTimes(a *articles.Article) (take, digest, full string) {
	n := 0
	for _, b := range a.Take {
		n += countWords(b.Text)
	}
	take = readingTime(n)
	n = 0
	for _, s := range a.Digest.Sections {
		n += sectionWords(s)
	}
	for _, p := range a.Digest.Players {
		n += countWords(p.Name) + countWords(p.Role)
	}
	for _, x := range a.Digest.Numbers {
		n += countWords(x.Figure) + countWords(x.Meaning)
	}
	digest = readingTime(n)
	n = 0
	for _, s := range a.Full.Sections {
		n += sectionWords(s)
	}
	for _, d := range a.Full.DataPoints {
		n += countWords(d.Date) + countWords(d.Event)
	}
	for _, c := range a.Full.Closing {
		n += countWords(c)
	}
	return take, digest, readingTime(n)
}

func sectionWords(s articles.Section) int {
	n := countWords(s.Title)
	if len(s.Paragraphs) == 0 {
		return n + countWords(s.HTML)
	}
	for _, p := range s.Paragraphs {
		n += countWords(p)
	}
	return n
}

// countWords counts runs of letters and digits, skipping HTML tags, since
// a Markdown section's paragraphs may carry inline markup.
func countWords(s string) int {
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

// takeLine is the take as one line of plain text, for the description
// meta tags, cut at about 300 characters on a word boundary.
func takeLine(a *articles.Article) string {
	var sb strings.Builder
	for _, b := range a.Take {
		t := strings.TrimSpace(b.Text)
		if t == "" {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(t)
	}
	s := articles.CleanText(sb.String())
	const max = 300
	if len(s) <= max {
		return s
	}
	cut := strings.LastIndexByte(s[:max], ' ')
	if cut < max/2 {
		cut = max
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
	}
	return strings.TrimRight(s[:cut], " ,;:") + "…"
}

func utf8Start(c byte) bool { return c&0xC0 != 0x80 }
