package intake

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestLibLogger: a library's log line reaches slog at the adaptor's
// level behind its prefix, without the trailing newline of Println, and a
// debug line stays out of a log kept at info.
func TestLibLogger(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	libLogger(l, slog.LevelWarn, "bounces: smtp: ").Printf("accept %s: %d", "tcp", 3)
	libLogger(l, slog.LevelWarn, "bounces: smtp: ").Println("read", "eof")
	libLogger(l, slog.LevelDebug, "bounces: imap: ").Println("dropped")
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{`level=WARN msg="bounces: smtp: accept tcp: 3"`, `level=WARN msg="bounces: smtp: read eof"`}
	if len(got) != len(want) {
		t.Fatalf("log lines = %q, want %d lines", got, len(want))
	}
	for i, w := range want {
		if !strings.HasSuffix(got[i], w) {
			t.Errorf("line %d = %q, want it to end %q", i, got[i], w)
		}
	}
}
