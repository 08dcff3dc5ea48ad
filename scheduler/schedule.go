package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser reads five fields or a descriptor such as @daily or @every 6h;
// never seconds, so a spec means the same here as in crontab(5).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// NeverHorizon is how far ahead CheckSpec looks for a run, as far as cron.
const NeverHorizon = 5 * 365 * 24 * time.Hour

// ErrNeverRuns is returned by CheckSpec for a spec that matches no time
// within NeverHorizon (such as "0 7 30 2 *").
var ErrNeverRuns = errors.New("never runs: no date in the next 5 years matches it")

// ParseSpec is the one syntax rule for a schedule, used by config
// validation, the scheduler and the digest's period alike. Time zones come
// from the timezone keys, never from the spec (and cron v3.0.1 panics on
// "TZ=0" or an empty "CRON_TZ=").
func ParseSpec(spec string) (cron.Schedule, error) {
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, errors.New("empty schedule")
	}
	if strings.Contains(s, "TZ=") {
		return nil, errors.New("time zones go in the timezone key, not in the schedule")
	}
	if rest, ok := strings.CutPrefix(s, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("@every needs a duration of at least 1s, got %q", rest)
		}
	}
	return cronParser.Parse(s)
}

// CheckSpec is the whole rule a configured schedule must pass: it parses,
// and it runs within NeverHorizon after now, since a schedule that never
// fires would leave a digest silent with no error anywhere.
func CheckSpec(spec string, loc *time.Location, now time.Time) error {
	s, err := ParseSchedule(spec, loc)
	if err != nil {
		return err
	}
	return s.checkFires(now)
}

func (s Schedule) checkFires(now time.Time) error {
	if next := s.Next(now); next.IsZero() || next.Sub(now) > NeverHorizon {
		return ErrNeverRuns
	}
	return nil
}

// Schedule is a cron spec or descriptor bound to a time zone, with
// daylight-saving rules that cron alone does not give. A five-field spec
// (and @daily...) is evaluated on the zone's wall clock as if it had no
// daylight saving, and each wall time maps to the first real instant at
// which the clock shows it or later: in spring, 02:30 inside New York's
// skipped hour runs once at 03:00 (cron alone would skip the day); in
// autumn, 01:30 inside the repeated hour runs once, at its first
// occurrence (cron alone would run twice). Runs mapping to the same instant
// merge, so no run is made twice and none is lost but the skipped hour,
// folded into the next. "@every D" is plain elapsed time, unaffected.
type Schedule struct {
	spec  string
	loc   *time.Location
	wall  *cron.SpecSchedule // evaluated in UTC as a floating wall clock
	every time.Duration      // for @every
}

// ParseSchedule parses spec for the zone loc (nil: UTC). A spec that never
// fires is accepted here, for operators to inspect; CheckSpec refuses it.
func ParseSchedule(spec string, loc *time.Location) (Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	parsed, err := ParseSpec(spec)
	if err != nil {
		return Schedule{}, err
	}
	s := Schedule{spec: spec, loc: loc}
	if p, ok := parsed.(*cron.SpecSchedule); ok {
		floating := *p
		floating.Location = time.UTC
		s.wall = &floating
	} else {
		s.every = parsed.(cron.ConstantDelaySchedule).Delay // at least 1s: ParseSpec checked it
	}
	return s, nil
}

// Interval returns an "@every" schedule's interval, 0 for a wall-clock one.
func (s Schedule) Interval() time.Duration { return s.every }

// Next returns the first run strictly after t, or the zero time when the
// spec never matches again (such as "0 0 30 2 *").
func (s Schedule) Next(t time.Time) time.Time {
	if s.wall == nil {
		// Aligned to multiples of the interval (from Go's zero time), so
		// every instance computes the same runs and so the same edition keys.
		return t.Truncate(s.every).Add(s.every).In(s.loc)
	}
	w := floating(t, s.loc)
	// Each wall time maps to an instant at or after itself, so a few steps
	// (the runs inside one skipped or repeated hour) always reach past t.
	for range 10000 {
		if w = s.wall.Next(w); w.IsZero() {
			return time.Time{}
		}
		if r := instant(w, s.loc); r.After(t) {
			return r
		}
	}
	return time.Time{}
}

// Latest returns the newest run in (after, now], if any, for collapsing
// missed runs into one ("@every" counts from after), no older than limit
// before now when limit > 0.
func (s Schedule) Latest(after, now time.Time, limit time.Duration) (time.Time, bool) {
	if !after.Before(now) {
		return time.Time{}, false
	}
	if s.wall == nil {
		k := now.Sub(after) / s.every
		t := after.Add(k * s.every)
		if k < 1 || (limit > 0 && t.Before(now.Add(-limit))) {
			return time.Time{}, false
		}
		return t, true
	}
	from := after
	if limit > 0 && now.Add(-limit).After(from) {
		from = now.Add(-limit).Add(-time.Nanosecond)
	}
	var last time.Time
	for t := s.Next(from); !t.IsZero() && !t.After(now); t = s.Next(t) {
		last = t
	}
	return last, !last.IsZero()
}

// NextN returns the next n runs strictly after from (fewer if they stop).
func (s Schedule) NextN(from time.Time, n int) []time.Time {
	var out []time.Time
	for t := s.Next(from); len(out) < n && !t.IsZero(); t = s.Next(t) {
		out = append(out, t)
	}
	return out
}

// floating returns t's wall clock in loc as a UTC time, which never jumps.
func floating(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// instant maps the floating wall time w to the earliest real instant at
// which loc's clock shows w or later: w itself when it exists (its first
// occurrence when it exists twice), or the end of the gap when it does not.
func instant(w time.Time, loc *time.Location) time.Time {
	// A real instant showing w is w minus the zone's offset at that instant;
	// the offsets in force within a day either side cover any transition.
	guess := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	var best time.Time
	for _, d := range []time.Duration{-26 * time.Hour, 0, 26 * time.Hour} {
		_, off := guess.Add(d).Zone()
		c := w.Add(-time.Duration(off) * time.Second)
		if floating(c, loc).Before(w) {
			continue
		}
		// When c shows a later time, w may fall in a gap: the first instant
		// after it is then the transition, the start of c's zone period.
		if start, _ := c.In(loc).ZoneBounds(); !start.IsZero() && !floating(start, loc).Before(w) {
			c = start
		}
		if best.IsZero() || c.Before(best) {
			best = c
		}
	}
	if best.IsZero() {
		return guess
	}
	return best.In(loc)
}
