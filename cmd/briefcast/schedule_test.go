package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"briefcast/editions"
	"briefcast/store"
	"briefcast/subscribers"
)

const scheduleTestConfig = `[site]
title = "Schedule Test"
base_url = "http://127.0.0.1/"
[feeds]
rebuild = "@every 5m"
[email]
from = "Schedule Test <brief@example.org>"
transport = "file"
[schedule]
timezone = "Europe/London"
[[digests]]
name = "daily"
title = "Daily <Brief>"
schedule = "0 7 * * *"
timezone = "America/New_York"
[[digests]]
name = "weekly"
title = "Weekly"
schedule = "30 1 * * 0"
catch_up = "0"
[subscriptions]
secret_env = "SCHEDULE_TEST_SECRET"
`

func mustScheduleConfig(t *testing.T) (dir, cfgPath string) {
	t.Helper()
	dir = t.TempDir()
	cfgPath = filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(scheduleTestConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, cfgPath
}

// openScheduleStore opens (creating) the config's SQLite database.
func openScheduleStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(dir, "data", "briefcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// mustWaveStore is the schedule config with daily sent at each
// subscriber's own time, and a store with four active subscribers of it:
// two in neighbouring Asian zones, one in London, one with no zone.
func mustWaveStore(t *testing.T) (dir, cfgPath string, st *store.DB) {
	t.Helper()
	dir, cfgPath = mustScheduleConfig(t)
	text := strings.Replace(scheduleTestConfig, `timezone = "America/New_York"`, `timezone = "America/New_York"
send_at = "subscriber"`, 1)
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	st = openScheduleStore(t, dir)
	for email, zone := range map[string]string{"ada@example.org": "Asia/Tokyo", "kim@example.org": "Asia/Seoul",
		"bob@example.org": "", "eve@example.org": "Europe/London"} {
		if _, _, err := st.Subscribe(context.Background(), subscribers.SubscribeRequest{Email: email, Digests: []string{"daily"}, Timezone: zone,
			Active: true, Source: subscribers.SourceImport, ConsentAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return dir, cfgPath, st
}

// runAt runs a command on the config at cfgPath with the clock at now and
// returns its standard output; an error fails the test.
func runAt(t *testing.T, cfgPath string, now time.Time, f func(context.Context, *App, []string) error, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &App{
		Stdout: &out, Stderr: &errOut,
		Getenv:     func(string) string { return "" },
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:        func() time.Time { return now },
		ConfigPath: cfgPath,
	}
	if err := f(context.Background(), a, args); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

// mustScheduleStore creates the config's SQLite database with two active
// subscribers of daily and one edition of it, still queued.
func mustScheduleStore(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st := openScheduleStore(t, dir)
	defer st.Close()
	for _, email := range []string{"ada@example.org", "bob@example.org"} {
		if _, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: email, Digests: []string{"daily"}, Active: true,
			Source: subscribers.SourceImport, ConsentAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	e := &editions.Edition{Digest: "daily", Key: "20261124T1200Z", Cutoff: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), Articles: []string{"a1"}}
	if err := st.CreateEdition(ctx, e); err != nil {
		t.Fatal(err)
	}
}

func TestScheduleCommand(t *testing.T) {
	tests := []struct {
		name    string
		store   bool
		want    string
		wantSub []string
	}{
		{"with a store", true, `digest:daily (Daily <Brief>)
  schedule   0 7 * * *  (America/New_York)
  next       Wed 2026-11-25 07:00 EST   2026-11-25 12:00 UTC
             Thu 2026-11-26 07:00 EST   2026-11-26 12:00 UTC
             Fri 2026-11-27 07:00 EST   2026-11-27 12:00 UTC
  catch-up   missed runs are sent once if the newest is under 6h0m0s old
  last       20261124T1200Z, cut-off Tue 2026-11-24 07:00 EST, 1 article
  outcome    sending: 0 sent, 0 failed, 0 retrying, 2 queued of 2

digest:weekly (Weekly)
  schedule   30 1 * * 0  (Europe/London)
  next       Sun 2026-11-29 01:30 GMT   2026-11-29 01:30 UTC
             Sun 2026-12-06 01:30 GMT   2026-12-06 01:30 UTC
             Sun 2026-12-13 01:30 GMT   2026-12-13 01:30 UTC
  catch-up   never (catch_up = "0")
  last       no edition yet

rebuild (the site and feeds)
  schedule   @every 5m  (Europe/London)
  note       an interval counted from the daemon's start, shown here from now
  next       Wed 2026-11-25 10:05 GMT   2026-11-25 10:05 UTC
             Wed 2026-11-25 10:10 GMT   2026-11-25 10:10 UTC
             Wed 2026-11-25 10:15 GMT   2026-11-25 10:15 UTC
  also       within about 2s of any change in DIR/content
`, nil},
		{"without a database", false, "", []string{"last       unknown: no database yet at ", "digest:weekly", "rebuild (the site and feeds)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, cfgPath := mustScheduleConfig(t)
			if tt.store {
				mustScheduleStore(t, dir)
			}
			out := runAt(t, cfgPath, time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), runSchedule)
			got := strings.ReplaceAll(out, dir, "DIR")
			if tt.want != "" {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("output mismatch (-want +got):\n%s", diff)
				}
			}
			for _, s := range tt.wantSub {
				if !strings.Contains(got, s) {
					t.Errorf("output lacks %q:\n%s", s, got)
				}
			}
			if !tt.store {
				if _, err := os.Stat(filepath.Join(dir, "data", "briefcast.db")); err == nil {
					t.Errorf("schedule created the database")
				}
			}
		})
	}
}

func TestScheduleCommandFlags(t *testing.T) {
	_, cfgPath := mustScheduleConfig(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"help", []string{"schedule", "--help"}, 0, "Usage: briefcast schedule"},
		{"bad count", []string{"--config", cfgPath, "schedule", "-n", "0"}, 2, ""},
		{"extra argument", []string{"--config", cfgPath, "schedule", "daily"}, 2, ""},
		{"runs", []string{"--config", cfgPath, "schedule", "-n", "1"}, 0, "digest:daily (Daily <Brief>)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tt.args, &out, &errOut, func(string) string { return "" })
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, out.String())
			}
		})
	}
}
