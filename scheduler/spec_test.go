package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestParseSpecNeverPanics(t *testing.T) {
	for _, spec := range []string{"TZ=0", "CRON_TZ=", "CRON_TZ= * * * * *", "TZ=", "@every", "@every -1s", "@every 500ms", "", "* * * * * * * *"} {
		if _, err := ParseSpec(spec); err == nil {
			t.Errorf("%q: got no error", spec)
		}
	}
	for _, spec := range []string{"0 7 * * *", "@daily", "@weekly", "@every 6h", "*/5 * * * 1-5", "0 7 30 2 *"} {
		if _, err := ParseSpec(spec); err != nil {
			t.Errorf("%q: %v", spec, err)
		}
	}
}

// TestCheckSpecNeverRuns: a spec that parses but matches no date within
// the horizon is refused by CheckSpec and by Add, while one that matches
// only in leap years is not.
func TestCheckSpecNeverRuns(t *testing.T) {
	now := utc("2026-03-01T00:00:00Z")
	for _, tt := range []struct {
		spec  string
		never bool
	}{
		{"0 7 30 2 *", true},
		{"0 0 31 4 *", true},
		{"0 0 31 2,4,6,9,11 *", true},
		{"0 7 29 2 *", false}, // 2028
		{"0 7 * * *", false},
		{"@every 1h", false},
	} {
		err := CheckSpec(tt.spec, time.UTC, now)
		if got := errors.Is(err, ErrNeverRuns); got != tt.never || (!tt.never && err != nil) {
			t.Errorf("CheckSpec(%q) = %v, want never-runs %v", tt.spec, err, tt.never)
		}
		s := New(slog.New(slog.NewTextHandler(io.Discard, nil)), NewFakeClock(now), nil)
		err = s.Add(Job{Name: "d", Spec: tt.spec, Run: func(context.Context, time.Time) error { return nil }})
		if got := errors.Is(err, ErrNeverRuns); got != tt.never {
			t.Errorf("Add(%q) = %v, want never-runs %v", tt.spec, err, tt.never)
		}
	}
}
