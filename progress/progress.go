// Package progress draws a one-line progress bar on a terminal, for
// commands that work through a large file.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Bar is a progress bar redrawn in place with a carriage return. It draws
// nothing when its writer is not a terminal, so logs and pipes stay clean.
type Bar struct {
	w       io.Writer
	label   string
	total   int64
	done    int64
	on      bool
	every   time.Duration
	last    time.Time
	now     func() time.Time
	started time.Time
}

// IsTerminal reports whether w is an *os.File attached to a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New returns a bar for total units (bytes, rows...) labelled label, drawn
// on w only when w is a terminal.
func New(w io.Writer, label string, total int64) *Bar {
	return newBar(w, label, total, IsTerminal(w))
}

// newBar is New with the terminal check decided by the caller (tests).
func newBar(w io.Writer, label string, total int64, on bool) *Bar {
	return &Bar{w: w, label: label, total: total, on: on, every: 100 * time.Millisecond, now: time.Now, started: time.Now()}
}

// Set records that n units are done, redrawing at most ten times a second.
func (b *Bar) Set(n int64) {
	b.done = n
	if !b.on {
		return
	}
	if t := b.now(); t.Sub(b.last) >= b.every {
		b.last = t
		b.draw()
	}
}

// Add records n more units done.
func (b *Bar) Add(n int64) { b.Set(b.done + n) }

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	if !b.on {
		return
	}
	b.draw()
	fmt.Fprintln(b.w)
}

const width = 30

func (b *Bar) draw() {
	frac := 0.0
	if b.total > 0 {
		frac = min(float64(b.done)/float64(b.total), 1)
	}
	full := int(frac * width)
	fmt.Fprintf(b.w, "\r%s [%s%s] %3.0f%%", b.label, strings.Repeat("=", full), strings.Repeat(" ", width-full), frac*100)
}

// Reader counts the bytes read through it into a bar.
type Reader struct {
	R   io.Reader
	Bar *Bar
	n   int64
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.R.Read(p)
	r.n += int64(n)
	r.Bar.Set(r.n)
	return n, err
}
