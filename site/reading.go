package site

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"briefcast/articles"
)

// wordsPerMinute is a common reading speed for news prose on a screen.
const wordsPerMinute = 230

// readingTime turns a word count into "N min read", rounding up; "" for none.
func readingTime(words int) string {
	if words == 0 {
		return ""
	}
	return strconv.Itoa((words+wordsPerMinute-1)/wordsPerMinute) + " min read"
}

// tierTimes is the reading time of each tier of a, from the words counted
// when a was read, so a listing never reads the tiers back.
func tierTimes(a *articles.Article) (take, digest, full string) {
	n := 0
	for _, b := range a.Take {
		n += articles.CountWords(b.Text)
	}
	d, f := a.TierWords()
	return readingTime(n), readingTime(d), readingTime(f)
}

// takeLine is the take as one line for the description tags, about 300 characters at most.
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
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	return strings.TrimRight(s[:cut], " ,;:") + "…"
}
