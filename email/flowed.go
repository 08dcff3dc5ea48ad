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
	return string(appendFlowed(make([]byte, 0, len(s)+len(s)/16), s))
}

// appendFlowed appends flowed(s) to b. It works line by line, so the
// flowed form of text cut after any line end is the flowed forms of the
// pieces one after the other.
func appendFlowed(b []byte, s string) []byte {
	// One final line end ends the text rather than starting an empty line.
	if strings.HasSuffix(s, "\n") {
		s = strings.TrimSuffix(s[:len(s)-1], "\r")
	}
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return appendWrapped(b, strings.TrimRight(s, " "))
		}
		// A CR before the LF is part of the line end, any other CR text.
		line := strings.TrimSuffix(s[:i], "\r")
		b = appendWrapped(b, strings.TrimRight(line, " "))
		s = s[i+1:]
	}
}

// appendWrapped appends one paragraph (one hard line) as flowed lines.
// The line being filled is always line[start:pos], so it is never copied
// before it is written.
func appendWrapped(b []byte, line string) []byte {
	width := flowedWidth - 1 // room for space-stuffing
	start, pos, curLen := 0, 0, 0
	for pos < len(line) {
		// The next chunk is a word with the spaces after it (or, at the
		// start, the leading spaces alone).
		rest := line[pos:]
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		for end < len(rest) && rest[end] == ' ' {
			end++
		}
		chunk := rest[:end]
		wordLen := utf8.RuneCountInString(strings.TrimRight(chunk, " "))
		if pos > start && curLen+wordLen > width {
			b = appendFlowedLine(b, line[start:pos])
			start, curLen = pos, 0
		}
		pos += end
		curLen += utf8.RuneCountInString(chunk)
	}
	return appendFlowedLine(b, line[start:pos])
}

func appendFlowedLine(b []byte, l string) []byte {
	if strings.HasPrefix(l, " ") || strings.HasPrefix(l, ">") || strings.HasPrefix(l, "From ") {
		b = append(b, ' ')
	}
	b = append(b, l...)
	return append(b, '\r', '\n')
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
		buf := appendFlowed(make([]byte, 0, raw.Len()+raw.Len()/16), raw.String())
		n, err := w.Write(buf)
		return int64(n), err
	}
}
