package progress

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// Term is a stream, usually standard error, shared by a progress bar and
// everything else written there: log lines, warnings. A write through Term
// first blanks the bar's line, so a log line never runs into the bar, and
// draws the bar again below it once the line is complete. A Bar made by New
// on a Term draws through it.
type Term struct {
	mu      sync.Mutex
	w       io.Writer
	bar     *Bar // the bar being drawn, nil when none
	partial bool // the last write did not end a line: the bar waits
}

// NewTerm returns a Term writing to w.
func NewTerm(w io.Writer) *Term { return &Term{w: w} }

// Write writes p after blanking the bar's line, and draws the bar again
// when p ends a line.
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
	if b != nil && b.drawn && !t.partial {
		b.draw()
	}
	return n, err
}

// attach makes b the bar drawn on t; its lock is t's.
func (t *Term) attach(b *Bar) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bar = b
}

// detach stops redrawing b after writes. Called with t.mu held.
func (t *Term) detach(b *Bar) {
	if t.bar == b {
		t.bar = nil
	}
}
