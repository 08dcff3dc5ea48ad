package config

import (
	"strings"
	"testing"
	"time"

	"briefcast/scheduler"
)

// TestScheduleRuleIsTheSchedulers: config validation refuses exactly the
// specs the scheduler refuses, with the scheduler's own message after the
// key, and accepts the ones it accepts.
func TestScheduleRuleIsTheSchedulers(t *testing.T) {
	for _, tt := range []struct {
		name, spec string
		bad        bool
	}{
		{"minute out of range", "61 7 * * *", true},
		{"six fields", "0 0 7 * * *", true},
		{"words", "every day", true},
		{"TZ prefix", "TZ=0 7 * * *", true},
		{"empty CRON_TZ", "CRON_TZ= 0 7 * * *", true},
		{"short interval", "@every 10ms", true},
		{"30 February", "0 7 30 2 *", true},
		{"31 April", "0 7 31 4 *", true},
		{"daily", "0 7 * * *", false},
		{"descriptor", "@weekly", false},
		{"interval", "@every 6h", false},
		{"29 February", "0 7 29 2 *", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			schedErr := scheduler.CheckSpec(tt.spec, time.UTC, time.Now())
			if (schedErr != nil) != tt.bad {
				t.Fatalf("scheduler.CheckSpec(%q) = %v, want refused %v", tt.spec, schedErr, tt.bad)
			}
			body := minimal + "[[digests]]\nname = \"morning\"\nschedule = \"" + tt.spec + "\"\n" +
				"[feeds]\nrebuild = \"" + tt.spec + "\"\n"
			_, err := Load(mustWrite(t, t.TempDir(), "config.toml", body), nil)
			if !tt.bad {
				if err != nil {
					t.Fatalf("config refused %q, the scheduler accepts it: %v", tt.spec, err)
				}
				return
			}
			for _, key := range []string{"digests[0] (morning).schedule", "feeds.rebuild"} {
				if want := key + ": " + schedErr.Error(); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("config error %v, want it to contain %q", err, want)
				}
			}
		})
	}
}
