package digest

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/scheduler"
)

// Wave is one send of a send_at = "subscriber" digest: the instant at
// which the schedule's wall time comes round in a set of zones. Each wave
// is an edition of its own, keyed by EditionKey of the instant.
type Wave struct {
	At    time.Time // the instant, in UTC
	Zones []string  // sorted; "" is the subscribers without a zone, who get the digest's zone
}

// ZoneLocation loads the zone a subscriber with zone name z gets: the
// digest's for "".
func ZoneLocation(d config.Digest, z string) (*time.Location, error) {
	if z == "" {
		return cmp.Or(d.Location, time.UTC), nil
	}
	return time.LoadLocation(z)
}

// zoneSchedules parses d's schedule once per zone, dropping (and
// reporting) a zone that does not load, so it never stops the others.
func zoneSchedules(d config.Digest, zones []string) (map[string]scheduler.Schedule, []error) {
	out := map[string]scheduler.Schedule{}
	var errs []error
	for _, z := range zones {
		if _, ok := out[z]; ok {
			continue
		}
		loc, err := ZoneLocation(d, z)
		if err == nil {
			out[z], err = scheduler.ParseSchedule(d.Schedule, loc)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("digest %s: zone %q: %w", d.Name, z, err))
		}
	}
	return out, errs
}

// Waves returns the waves of d in (from, to] for subscribers in zones (""
// always included: the digest's own zone), in time order, with the
// scheduler's daylight-saving rules.
func Waves(d config.Digest, zones []string, from, to time.Time) ([]Wave, []error) {
	scheds, errs := zoneSchedules(d, withDefault(zones))
	byAt := map[time.Time][]string{}
	for z, s := range scheds {
		for t := s.Next(from); !t.IsZero() && !t.After(to); t = s.Next(t) {
			at := t.UTC()
			byAt[at] = append(byAt[at], z)
		}
	}
	waves := make([]Wave, 0, len(byAt))
	for at, zs := range byAt {
		slices.Sort(zs)
		waves = append(waves, Wave{At: at, Zones: zs})
	}
	slices.SortFunc(waves, func(a, b Wave) int { return a.At.Compare(b.At) })
	return waves, errs
}

// WaveAt returns the zones of zones ("" included) whose schedule runs at
// exactly at: the zone set of the wave due then, computed when the wave is
// created so a subscriber who moved zone is counted where they are now.
func WaveAt(d config.Digest, zones []string, at time.Time) ([]string, []error) {
	scheds, errs := zoneSchedules(d, withDefault(zones))
	var out []string
	for z, s := range scheds {
		if s.Next(at.Add(-time.Nanosecond)).Equal(at) {
			out = append(out, z)
		}
	}
	slices.Sort(out)
	return out, errs
}

func withDefault(zones []string) []string {
	if slices.Contains(zones, "") {
		return zones
	}
	return append([]string{""}, zones...)
}

// lookBack is how far before a wave its articles may be published: the
// longest gap, over the wave's zones, between the zone's previous run and
// this one (23 or 25 hours for a daily schedule when clocks change). The
// shortest gap is returned too: two deliveries to one subscriber closer
// than five sixths of it would be two editions for one local day.
func lookBack(scheds map[string]scheduler.Schedule, zones []string, at time.Time) (longest, shortest time.Duration) {
	var periods []time.Duration
	for _, z := range zones {
		if s, ok := scheds[z]; ok {
			periods = append(periods, periodBefore(s, at))
		}
	}
	if len(periods) == 0 {
		return 24 * time.Hour, 24 * time.Hour
	}
	return slices.Max(periods), slices.Min(periods)
}

// lookBacks are how far back runs are looked for, step by step, so a
// minutely schedule never walks a year of minutes.
var lookBacks = []time.Duration{26 * time.Hour, 8 * 24 * time.Hour, 400 * 24 * time.Hour}

// periodBefore is the gap between the run at at and the one before it,
// looked for up to 400 days back (daily when none).
func periodBefore(s scheduler.Schedule, at time.Time) time.Duration {
	for _, back := range lookBacks {
		prev, ok := s.Latest(at.Add(-back), at.Add(-time.Nanosecond), 0)
		if ok {
			return at.Sub(prev)
		}
	}
	return 24 * time.Hour
}

// PlanWave picks the articles of the wave at at for zones: the newest
// max_items of d's tags published in the look-back before it (lookBack).
// What a recipient already got from the digest is left out per recipient
// when the wave is sent, so nobody gets an article twice.
func PlanWave(d config.Digest, arts []*articles.Article, zones []string, at time.Time) ([]*articles.Article, time.Duration, error) {
	scheds, errs := zoneSchedules(d, zones)
	if len(scheds) == 0 && len(errs) > 0 {
		return nil, 0, errs[0]
	}
	longest, shortest := lookBack(scheds, zones, at)
	after := at.Add(-longest)
	picked := newest(d, arts, func(a *articles.Article) bool { return !a.Published.After(at) && a.Published.After(after) })
	return picked, shortest * 5 / 6, nil
}
