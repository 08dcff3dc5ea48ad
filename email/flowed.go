package email

import (
	"io"
	"strings"
	"unicode/utf8"
)

// flowedWidth is the longest line of a format=flowed text part, in
// characters, its trailing space and any space-stuffing included (RFC 3676
// 4.2 asks for at most 78).
const flowedWidth = 78

// flowed wraps every line of s (LF or CRLF line ends) as RFC 3676
// format=flowed text with DelSp=no: a line is broken after a space, which
// stays at the end of the line to mark the break as soft, so a reader that
// knows the format joins the lines again and one that does not shows them
// wrapped. A word longer than a line (a long URL) is kept whole, never cut
// inside a character. Lines starting with a space, ">" or "From " are
// space-stuffed. Line ends are CRLF.
func flowed(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/16)
	s = strings.TrimSuffix(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for line := range strings.SplitSeq(s, "\n") {
		wrapLine(&b, strings.TrimRight(line, " "))
	}
	return b.String()
}

// wrapLine writes one paragraph (one hard line) as flowed lines.
func wrapLine(b *strings.Builder, line string) {
	width := flowedWidth - 1 // room for space-stuffing
	cur, curLen := "", 0
	for line != "" {
		// The next chunk is a word with the spaces after it.
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			end = len(line)
		}
		for end < len(line) && line[end] == ' ' {
			end++
		}
		if end == 0 { // leading spaces are a chunk of their own
			end = len(line) - len(strings.TrimLeft(line, " "))
		}
		chunk := line[:end]
		line = line[end:]
		wordLen := utf8.RuneCountInString(strings.TrimRight(chunk, " "))
		if cur != "" && curLen+wordLen > width {
			writeFlowedLine(b, cur)
			cur, curLen = "", 0
		}
		cur += chunk
		curLen += utf8.RuneCountInString(chunk)
	}
	writeFlowedLine(b, cur)
}

func writeFlowedLine(b *strings.Builder, l string) {
	if strings.HasPrefix(l, " ") || strings.HasPrefix(l, ">") || strings.HasPrefix(l, "From ") {
		b.WriteByte(' ')
	}
	b.WriteString(l)
	b.WriteString("\r\n")
}

// flowedWriter is a go-mail body writer of segs for one recipient, as
// flowed text: the values are filled in first, so a long name still
// wraps.
func flowedWriter(segs segments, name, unsub, prefs string) func(io.Writer) (int64, error) {
	return func(w io.Writer) (int64, error) {
		var raw strings.Builder
		if _, err := segs.writeTo(&raw, name, unsub, prefs); err != nil {
			return 0, err
		}
		n, err := io.WriteString(w, flowed(raw.String()))
		return int64(n), err
	}
}
