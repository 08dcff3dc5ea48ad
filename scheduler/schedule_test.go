package scheduler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNextRuns(t *testing.T) {
	// 2026: New York springs forward on 8 March at 02:00 EST (07:00Z) and
	// falls back on 1 November at 02:00 EDT (06:00Z); London springs forward
	// on 29 March at 01:00 GMT (01:00Z) and falls back on 25 October at
	// 02:00 BST (01:00Z).
	tests := []struct {
		name string
		spec string
		zone string
		from string
		n    int
		want []string
	}{
		{"new york spring gap runs once at 03:00", "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 3,
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}},
		{"new york autumn overlap runs first 01:30 only", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2,
			[]string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"new york from inside the repeated hour", "30 1 * * *", "America/New_York", "2026-11-01T06:10:00Z", 1,
			[]string{"2026-11-02T06:30:00Z"}},
		{"new york hourly across the gap", "0 * * * *", "America/New_York", "2026-03-08T05:30:00Z", 4,
			[]string{"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z", "2026-03-08T09:00:00Z"}},
		{"new york hourly across the overlap", "0 * * * *", "America/New_York", "2026-11-01T03:30:00Z", 4,
			[]string{"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"}},
		{"new york half-hourly across the overlap", "*/30 * * * *", "America/New_York", "2026-11-01T04:45:00Z", 4,
			[]string{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z"}},
		{"new york daily descriptor across the gap", "@daily", "America/New_York", "2026-03-07T12:00:00Z", 2,
			[]string{"2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"}},
		{"london spring gap runs once at 02:00", "30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z", 2,
			[]string{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		{"london autumn overlap runs first 01:30 only", "30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z", 2,
			[]string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"london hourly across the gap", "0 * * * *", "Europe/London", "2026-03-29T00:30:00Z", 3,
			[]string{"2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z", "2026-03-29T03:00:00Z"}},
		{"london hourly across the overlap", "0 * * * *", "Europe/London", "2026-10-24T23:30:00Z", 3,
			[]string{"2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}},
		{"weekly monday 09:00 london", "0 9 * * 1", "Europe/London", "2026-03-28T12:00:00Z", 2,
			[]string{"2026-03-30T08:00:00Z", "2026-04-06T08:00:00Z"}},
		{"every is an aligned plain interval across the gap", "@every 6h", "America/New_York", "2026-03-08T04:00:00Z", 3,
			[]string{"2026-03-08T06:00:00Z", "2026-03-08T12:00:00Z", "2026-03-08T18:00:00Z"}},
		{"every is a plain interval across the overlap", "@every 1h", "Europe/London", "2026-10-25T00:00:00Z", 3,
			[]string{"2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}},
		{"utc", "0 7 * * *", "UTC", "2026-11-25T07:00:00Z", 2,
			[]string{"2026-11-26T07:00:00Z", "2026-11-27T07:00:00Z"}},
		{"never matches", "0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NextRuns(tt.spec, mustZone(t, tt.zone), utc(tt.from), tt.n)
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, g := range got {
				if g.Location().String() != tt.zone {
					t.Errorf("run %v is in zone %s, want %s", g, g.Location(), tt.zone)
				}
				gotS = append(gotS, g.UTC().Format(time.RFC3339))
			}
			if diff := cmp.Diff(tt.want, gotS); diff != "" {
				t.Errorf("NextRuns(%q, %s, %s) mismatch (-want +got):\n%s", tt.spec, tt.zone, tt.from, diff)
			}
		})
	}
}

func TestNextRunsRejects(t *testing.T) {
	tests := []struct{ name, spec string }{
		{"empty", ""},
		{"tz prefix", "TZ=0 0 7 * * *"},
		{"empty cron tz", "CRON_TZ= 0 7 * * *"},
		{"six fields", "0 0 7 * * *"},
		{"garbage", "every day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NextRuns(tt.spec, time.UTC, time.Now(), 1); err == nil {
				t.Errorf("NextRuns(%q) accepted it", tt.spec)
			}
		})
	}
}

// TestNextRunsYear walks a whole year of every spec in every zone: runs
// strictly increase, no wall-clock minute runs twice, and every wall time
// cron names either runs at that wall time or, when it does not exist,
// at the first valid instant after it.
func TestNextRunsYear(t *testing.T) {
	specs := []string{"0 * * * *", "30 1 * * *", "30 2 * * *", "15 0-3 * * *", "0 7 * * 1"}
	zones := []string{"America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"}
	for _, zone := range zones {
		for _, spec := range specs {
			t.Run(zone+" "+spec, func(t *testing.T) {
				loc := mustZone(t, zone)
				s, err := ParseSchedule(spec, loc)
				if err != nil {
					t.Fatal(err)
				}
				from := utc("2026-01-01T00:00:00Z")
				end := utc("2027-01-01T00:00:00Z")
				seenWall := map[time.Time]bool{}
				prev := from
				for run := s.Next(from); run.Before(end); run = s.Next(run) {
					if !run.After(prev) {
						t.Fatalf("run %v not after %v", run, prev)
					}
					wall := floating(run, loc)
					if seenWall[wall] {
						t.Fatalf("wall time %v runs twice (at %v)", wall, run)
					}
					seenWall[wall] = true
					prev = run
				}
				// Every wall time cron names must be accounted for.
				w := floating(from, loc)
				for w = s.wall.Next(w); w.Before(floating(end, loc).Add(-48 * time.Hour)); w = s.wall.Next(w) {
					r := instant(w, loc)
					if fw := floating(r, loc); fw.Before(w) || fw.Sub(w) > 2*time.Hour {
						t.Fatalf("wall %v maps to %v (wall %v)", w, r, fw)
					}
					if !seenWall[floating(r, loc)] {
						t.Fatalf("wall %v (instant %v) never runs", w, r)
					}
				}
			})
		}
	}
}

func TestLatest(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	tests := []struct {
		name   string
		spec   string
		last   string
		now    string
		window time.Duration
		want   string // "" = none
	}{
		{"three missed collapse into the newest", "0 7 * * *", "2026-11-20T12:00:00Z", "2026-11-23T14:00:00Z", 6 * time.Hour, "2026-11-23T12:00:00Z"},
		{"newest missed is older than the window", "0 7 * * *", "2026-11-20T12:00:00Z", "2026-11-23T19:00:00Z", 6 * time.Hour, ""},
		{"nothing missed", "0 7 * * *", "2026-11-23T12:00:00Z", "2026-11-23T19:00:00Z", 6 * time.Hour, ""},
		{"missed exactly now", "0 7 * * *", "2026-11-22T12:00:00Z", "2026-11-23T12:00:00Z", 6 * time.Hour, "2026-11-23T12:00:00Z"},
		{"no window", "0 7 * * *", "2026-11-20T12:00:00Z", "2026-11-23T14:00:00Z", 0, "2026-11-23T12:00:00Z"},
		{"every counts from the last run", "@every 2h", "2026-11-23T10:00:00Z", "2026-11-23T15:30:00Z", 6 * time.Hour, "2026-11-23T14:00:00Z"},
		{"every not yet due", "@every 2h", "2026-11-23T10:00:00Z", "2026-11-23T11:59:00Z", 6 * time.Hour, ""},
		{"every beyond the window", "@every 2h", "2026-11-13T10:00:00Z", "2026-11-23T11:59:00Z", time.Hour, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec, ny)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := s.Latest(utc(tt.last), utc(tt.now), tt.window)
			gotS := ""
			if ok {
				gotS = got.UTC().Format(time.RFC3339)
			}
			if gotS != tt.want {
				t.Errorf("Latest = %q, want %q", gotS, tt.want)
			}
		})
	}
}

func FuzzScheduleNext(f *testing.F) {
	f.Add("0 * * * *", "America/New_York", int64(1772928000))
	f.Add("30 1 * * *", "Europe/London", int64(1792800000))
	f.Add("@every 90m", "UTC", int64(0))
	f.Fuzz(func(t *testing.T, spec, zone string, unix int64) {
		loc, err := time.LoadLocation(zone)
		if err != nil || zone == "" || zone == "Local" {
			return
		}
		s, err := ParseSchedule(spec, loc)
		if err != nil {
			return
		}
		from := time.Unix(unix%(1<<33), 0)
		prev := from
		for range 5 {
			next := s.Next(prev)
			if next.IsZero() {
				return
			}
			if !next.After(prev) {
				t.Fatalf("Next(%v) = %v, not after", prev, next)
			}
			prev = next
		}
	})
}

func BenchmarkNext(b *testing.B) {
	ny := mustZone(b, "America/New_York")
	for _, spec := range []string{"0 7 * * *", "*/5 * * * *", "@every 5m"} {
		b.Run(spec, func(b *testing.B) {
			s, err := ParseSchedule(spec, ny)
			if err != nil {
				b.Fatal(err)
			}
			t := utc("2026-01-01T00:00:00Z")
			b.ReportAllocs()
			for b.Loop() {
				t = s.Next(t)
			}
		})
	}
}

// NextRuns returns the next n runs of spec in loc strictly after from.
func NextRuns(spec string, loc *time.Location, from time.Time, n int) ([]time.Time, error) {
	s, err := ParseSchedule(spec, loc)
	if err != nil {
		return nil, err
	}
	return s.NextN(from, n), nil
}
