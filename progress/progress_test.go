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
