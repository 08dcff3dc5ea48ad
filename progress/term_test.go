package progress

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestTermClearsBarForLogLines: a log line written while the bar is drawn
// blanks the bar's line first, starts at the left margin, and the bar is
// drawn again below it; a line written in two pieces is not cut by it.
func TestTermClearsBarForLogLines(t *testing.T) {
	var buf bytes.Buffer
	term := NewTerm(&buf)
	log := slog.New(slog.NewTextHandler(term, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	b := newBar(term, "sending", 4, true)
	clock := time.Unix(0, 0)
	b.now = func() time.Time { clock = clock.Add(time.Second); return clock }

	b.Update(1, 4, "1/4")
	log.Warn("smtp_retry", "to", "a@example.org")
	fmt.Fprint(term, "part one, ")
	fmt.Fprint(term, "part two\n")
	b.Update(4, 4, "4/4")
	b.Finish()
	log.Info("after")

	bar1 := "sending [=======                       ]  25%  1/4"
	bar4 := "sending [==============================] 100%  4/4"
	blank := "\r" + strings.Repeat(" ", len(bar1)) + "\r"
	want := "\r" + bar1 +
		blank + "level=WARN msg=smtp_retry to=a@example.org\n" +
		"\r" + bar1 +
		blank + "part one, part two\n" +
		"\r" + bar1 +
		"\r" + bar4 +
		"\r" + bar4 + "\n" +
		"level=INFO msg=after\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestTermWithoutBar passes writes through untouched.
func TestTermWithoutBar(t *testing.T) {
	var buf bytes.Buffer
	term := NewTerm(&buf)
	newBar(term, "off", 3, false).Set(2) // not a terminal: never drawn
	fmt.Fprintln(term, "plain line")
	if got := buf.String(); got != "plain line\n" {
		t.Errorf("got %q", got)
	}
}
