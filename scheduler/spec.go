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

// NeverHorizon is how far ahead CheckSpec looks for a run. It matches how
// far cron itself searches, and a spec that matches no date in it (such
// as "0 7 30 2 *") would never fire.
const NeverHorizon = 5 * 365 * 24 * time.Hour

// ErrNeverRuns is returned by CheckSpec for a spec that matches no time
// within NeverHorizon.
var ErrNeverRuns = errors.New("never runs: no date in the next 5 years matches it")

// ParseSpec is the one syntax rule for a schedule, used by config
// validation, the scheduler and the digest's period alike. Time zones are
// never taken from the spec (they come from the timezone keys), and cron
// v3.0.1 panics on "TZ=0" or an empty "CRON_TZ=", so those are refused
// before cron sees them.
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

// CheckSpec is the whole rule a configured schedule must pass: it parses
// (ParseSchedule) and it has a run within NeverHorizon after now. A
// schedule that parses but never fires would leave a digest silent with
// no error anywhere, so it is refused up front.
func CheckSpec(spec string, loc *time.Location, now time.Time) error {
	s, err := ParseSchedule(spec, loc)
	if err != nil {
		return err
	}
	return s.checkFires(now)
}

// checkFires returns ErrNeverRuns when s has no run within NeverHorizon
// after now.
func (s Schedule) checkFires(now time.Time) error {
	if next := s.Next(now); next.IsZero() || next.Sub(now) > NeverHorizon {
		return ErrNeverRuns
	}
	return nil
}
