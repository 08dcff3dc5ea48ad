// Package progress draws a one-line progress bar on a terminal, for
// commands that work through a large file or a long send. It is the one
// place that decides whether a writer is a terminal.
package progress

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar is a progress bar redrawn in place with a carriage return. It draws
// nothing when its writer is not a terminal, so logs and pipes stay clean.
type Bar struct {
	term        *Term // drawn through, under its lock
	label, note string
	total, done int64
	on          bool
	used        bool // something was recorded: Finish has something to show
	drawnW      int  // width of the last line drawn, to blank what a shorter one leaves
	last        time.Time
	now         func() time.Time
}

// IsTerminal reports whether w is an *os.File attached to a terminal, or a
// Term over one.
func IsTerminal(w io.Writer) bool {
	if t, ok := w.(*Term); ok {
		w = t.w
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New returns a bar for total units (bytes, rows...) labelled label, drawn
// on w only when w is a terminal.
func New(w io.Writer, label string, total int64) *Bar {
	return newBar(w, label, total, IsTerminal(w))
}

// newBar is New with the terminal check decided by the caller (tests). On
// a Term the bar draws through it, which keeps the bar clear of other writes.
func newBar(w io.Writer, label string, total int64, on bool) *Bar {
	t, ok := w.(*Term)
	if !ok || !on {
		t = NewTerm(w) // the bar's own: nothing else writes through it
	}
	b := &Bar{term: t, label: label, total: total, on: on, now: time.Now}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bar = b
	return b
}

// On reports whether the bar draws anything.
func (b *Bar) On() bool { return b.on }

// Add records n more units done.
func (b *Bar) Add(n int64) { b.record(func() { b.done += n }) }

// Update records done of total units and a note drawn after the percentage,
// for work whose size grows as it goes (an edition's recipients).
func (b *Bar) Update(done, total int64, note string) {
	b.record(func() { b.done, b.total, b.note = done, total, note })
}

// record makes change, redrawing at most ten times a second.
func (b *Bar) record(change func()) {
	b.term.mu.Lock()
	defer b.term.mu.Unlock()
	change()
	b.used = true
	if !b.on {
		return
	}
	if t := b.now(); t.Sub(b.last) >= 100*time.Millisecond {
		b.last = t
		b.draw()
	}
}

// Finish draws the final state and ends the line; it draws nothing when
// no progress was ever recorded.
func (b *Bar) Finish() {
	b.term.mu.Lock()
	defer b.term.mu.Unlock()
	if b.term.bar == b {
		b.term.bar = nil
	}
	if !b.on || !b.used {
		return
	}
	b.draw()
	fmt.Fprintln(b.term.w)
}

func (b *Bar) draw() {
	const width = 30
	frac := 0.0
	if b.total > 0 {
		frac = min(float64(b.done)/float64(b.total), 1)
	}
	full := int(frac * width)
	line := fmt.Sprintf("%s [%s%s] %3.0f%%", b.label, strings.Repeat("=", full), strings.Repeat(" ", width-full), frac*100)
	if b.note != "" {
		line += "  " + b.note
	}
	fmt.Fprintf(b.term.w, "\r%s%s", line, strings.Repeat(" ", max(b.drawnW-len(line), 0)))
	b.drawnW = len(line)
}

// Reader counts the bytes read through it into a bar.
type Reader struct {
	R   io.Reader
	Bar *Bar
}

func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.R.Read(p)
	r.Bar.Add(int64(n))
	return n, err
}

// Term is a stream, usually standard error, shared by a Bar made by New on it
// and all else written there: a write first blanks the bar's line, so a log
// line never runs into the bar, and draws the bar again once the line ends.
type Term struct {
	mu      sync.Mutex
	w       io.Writer
	bar     *Bar // the bar being drawn, nil when none
	partial bool // the last write did not end a line: the bar waits
}

// NewTerm returns a Term writing to w.
func NewTerm(w io.Writer) *Term { return &Term{w: w} }

// Write writes p between blanking and redrawing the bar, as Term says.
func (t *Term) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bar
	if b != nil && b.drawnW > 0 && !t.partial {
		io.WriteString(t.w, "\r"+strings.Repeat(" ", b.drawnW)+"\r")
		b.drawnW = 0
	}
	n, err := t.w.Write(p)
	t.partial = len(p) > 0 && !bytes.HasSuffix(p, []byte("\n"))
	if b != nil && !b.last.IsZero() && !t.partial { // drawn before: draw again
		b.draw()
	}
	return n, err
}
