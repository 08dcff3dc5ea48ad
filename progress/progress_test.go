package progress

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

func TestBar(t *testing.T) {
	tests := []struct {
		name  string
		on    bool
		steps []int64
		want  string
	}{
		{"off", false, []int64{5, 10}, ""},
		{"on", true, []int64{5, 10}, "\rimport [===============               ]  50%\rimport [==============================] 100%\rimport [==============================] 100%\n"},
		{"overshoot", true, []int64{20}, "\rimport [==============================] 100%\rimport [==============================] 100%\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			b := newBar(&buf, "import", 10, tt.on)
			clock := time.Unix(0, 0)
			b.now = func() time.Time { clock = clock.Add(time.Second); return clock }
			for _, s := range tt.steps {
				b.Set(s)
			}
			b.Finish()
			if got := buf.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNotTerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "x", 3)
	r := &Reader{R: strings.NewReader("abc"), Bar: b}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatal(err)
	}
	b.Finish()
	if buf.Len() != 0 || b.done != 3 {
		t.Errorf("drew %q on a buffer; done %d", buf.String(), b.done)
	}
}

// TestUpdate: work whose size grows as it goes (an edition's recipients)
// draws its note after the percentage, and a shorter line blanks what the
// longer one before it left on the terminal.
func TestUpdate(t *testing.T) {
	var buf bytes.Buffer
	b := newBar(&buf, "sending", 0, true)
	clock := time.Unix(0, 0)
	b.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	b.Update(1, 4, "1/4  failed 10")
	b.Update(4, 4, "4/4")
	b.Finish()
	want := "\rsending [=======                       ]  25%  1/4  failed 10" +
		"\rsending [==============================] 100%  4/4" + strings.Repeat(" ", 11) +
		"\rsending [==============================] 100%  4/4\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestFinishWithoutProgress: a bar that never got a count (an edition with
// no recipients) leaves no empty bar behind.
func TestFinishWithoutProgress(t *testing.T) {
	var buf bytes.Buffer
	newBar(&buf, "sending", 0, true).Finish()
	if buf.Len() != 0 {
		t.Errorf("drew %q", buf.String())
	}
}

// Set records that n units are done.
func (b *Bar) Set(n int64) { b.record(func() { b.done = n }) }
