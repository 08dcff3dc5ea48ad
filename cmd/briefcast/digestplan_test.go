package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDigestPlanAndScheduleWaves: `digest plan` lists each wave of a
// send_at = "subscriber" digest with its UTC time, zones, recipients and
// articles, and `schedule` shows the next waves.
func TestDigestPlanAndScheduleWaves(t *testing.T) {
	dir, cfgPath, st := mustWaveStore(t)
	if err := os.MkdirAll(filepath.Join(dir, "content"), 0o755); err != nil {
		t.Fatal(err)
	}
	article := "+++\ntitle = \"Harbour Lights\"\ndate = 2026-11-24T10:00:00Z\n+++\n\n## Instant Insight\n\n- The harbour lights are LED now.\n"
	if err := os.WriteFile(filepath.Join(dir, "content", "harbour.md"), []byte(article), 0o644); err != nil {
		t.Fatal(err)
	}
	st.Close()
	now := time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)
	run := func(f func(context.Context, *App, []string) error, args ...string) string {
		return runAt(t, cfgPath, now, f, args...)
	}
	got := run(commands["digest"].Run, "plan", "daily")
	want := `digest daily: 0 7 * * *  (America/New_York (digest zone); each subscriber at the schedule's times in their own zone)
from 2026-11-24 20:00 UTC to 2026-11-25 20:00 UTC
WAVE (UTC)            RECIPIENTS  ARTICLES  ZONES (LOCAL TIME)
2026-11-24 22:00 UTC           2         1  Asia/Seoul 07:00 KST, Asia/Tokyo 07:00 JST
2026-11-25 07:00 UTC           1         1  Europe/London 07:00 GMT
2026-11-25 12:00 UTC           1         0  America/New_York (digest zone) 07:00 EST
3 waves, 4 recipients
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("digest plan (-want +got):\n%s", diff)
	}
	sched := run(runSchedule, "-n", "2")
	for _, s := range []string{"  waves      2026-11-24 22:00 UTC   Asia/Seoul 07:00 KST, Asia/Tokyo 07:00 JST\n",
		"             2026-11-25 07:00 UTC   Europe/London 07:00 GMT\n"} {
		if !strings.Contains(sched, s) {
			t.Errorf("schedule lacks %q:\n%s", s, sched)
		}
	}
}
