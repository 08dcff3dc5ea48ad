package email

import (
	"io"
	"strings"
	"unicode/utf8"
)

// flowedWidth is the longest line of a format=flowed text part in
// characters, trailing space and space-stuffing included (RFC 3676 4.2).
const flowedWidth = 78

// flowed wraps every line of s (LF or CRLF line ends) as RFC 3676
// format=flowed text with DelSp=no and CRLF line ends: a line is broken
// after a space, which stays to mark the break as soft. A word longer than
// a line (a long URL) is kept whole. Lines starting with a space, ">" or
// "From " are space-stuffed.
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

// appendWrapped appends one paragraph (one hard line) as flowed lines;
// the line being filled is line[start:pos].
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

// flowedText is a rendered plain-text body ready to be flowed per
// recipient: every run of lines without a placeholder is flowed once, when
// the edition is rendered; only the few lines holding a recipient's values
// are flowed per message.
type flowedText []flowedPiece

// flowedPiece is either done, lines already flowed, or line, one source
// line (its line end included) that holds placeholders.
type flowedPiece struct {
	done []byte
	line segments
}

// flowedText cuts s after every line end, flows the lines without a
// placeholder and keeps the others for flowing once filled in. The pieces
// flowed one after the other are the whole text flowed (see appendFlowed).
func (p placeholders) flowedText(s string) flowedText {
	if s == "" {
		return flowedText{{done: appendFlowed(nil, s)}}
	}
	var ft flowedText
	static := 0 // start of the run of lines without a placeholder
	flush := func(end int) {
		if end > static {
			ft = append(ft, flowedPiece{done: appendFlowed(nil, s[static:end])})
		}
	}
	for pos := 0; pos < len(s); {
		end := len(s)
		if i := strings.IndexByte(s[pos:], '\n'); i >= 0 {
			end = pos + i + 1
		}
		if line := s[pos:end]; strings.Contains(line, p.prefix) {
			flush(pos)
			ft = append(ft, flowedPiece{line: p.split(line)})
			static = end
		}
		pos = end
	}
	flush(len(s))
	return ft
}

// writer returns a go-mail body writer of the text for one recipient: the
// values are filled in before their lines are flowed, so a long name still
// wraps. It can run any number of times.
func (ft flowedText) writer(name, unsub, prefs string) func(io.Writer) (int64, error) {
	f := newFill(name, unsub, prefs)
	return func(w io.Writer) (int64, error) {
		var raw strings.Builder
		size := 0
		for _, p := range ft {
			size += p.line.size(&f)
		}
		raw.Grow(size)
		for _, p := range ft {
			p.line.writeTo(&raw, &f)
		}
		lines := raw.String()
		flowedLines := make([]byte, 0, size+size/16+8)
		var total int64
		for i, p := range ft {
			b := p.done
			if p.line != nil {
				line := lines[:p.line.size(&f)]
				lines = lines[len(line):]
				if line == "" && i > 0 {
					// Only the last piece can lack a line end; empty, it
					// adds nothing to the text before it.
					continue
				}
				start := len(flowedLines)
				flowedLines = appendFlowed(flowedLines, line)
				b = flowedLines[start:]
			}
			n, err := w.Write(b)
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
		return total, nil
	}
}
