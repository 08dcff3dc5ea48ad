package articles

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // US zone words must work on hosts without a zoneinfo database.
)

// usZones maps the US zone words to their DST-aware locations.
var usZones = sync.OnceValue(func() map[string]*time.Location {
	m := map[string]*time.Location{}
	for word, name := range map[string]string{
		"ET": "America/New_York",
		"CT": "America/Chicago",
		"MT": "America/Denver",
		"PT": "America/Los_Angeles",
	} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			panic(err) // cannot happen: time/tzdata is linked in
		}
		m[word] = loc
	}
	return m
})

// fixedZones name one offset whatever the season: "EST" is UTC-5 even in July.
var fixedZones = map[string]int{
	"UTC": 0, "GMT": 0, "Z": 0, "UT": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
	"MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

var months = map[string]time.Month{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
	"apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
	"aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
	"oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}

var errNotDate = errors.New("not a date")

// parseDate reads the date forms pasted pages and authors use:
//
//	Feb. 23, 2025, 4:36 am ET      month name, 12-hour time, US zone word (DST-aware)
//	23 Feb 2025 16:36 GMT          day first; 24-hour time; UTC, EST, +02:00 or an IANA name
//	2025-06-01T09:30:00-04:00      RFC 3339, also without seconds or zone
//
// Without a time it is midnight; without a zone it is read in loc.
func parseDate(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errNotDate
	}
	if s[0] >= '0' && s[0] <= '9' && len(s) >= 10 && s[4] == '-' {
		return parseISO(s, loc)
	}
	return parseWords(s, loc)
}

func parseISO(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	// "2025-06-01 09:30 UTC" and the like.
	if i := strings.LastIndexByte(s, ' '); i > 0 {
		if zl, ok := zoneWord(s[i+1:]); ok {
			if t, err := parseISO(s[:i], time.UTC); err == nil && !strings.ContainsAny(s[10:i], "Z+") {
				return inZone(t, zl), nil
			}
		}
	}
	return time.Time{}, errNotDate
}

// inZone reinterprets t's wall clock in loc.
func inZone(t time.Time, loc *time.Location) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
}

func zoneWord(w string) (*time.Location, bool) {
	u := strings.ToUpper(strings.Trim(w, "()"))
	if loc, ok := usZones()[u]; ok {
		return loc, true
	}
	if h, ok := fixedZones[u]; ok {
		if h == 0 {
			return time.UTC, true
		}
		return time.FixedZone(u, h*3600), true
	}
	if len(u) == 6 && (u[0] == '+' || u[0] == '-') && u[3] == ':' {
		h, err1 := strconv.Atoi(u[1:3])
		m, err2 := strconv.Atoi(u[4:6])
		if err1 == nil && err2 == nil && h <= 14 && m < 60 {
			off := h*3600 + m*60
			if u[0] == '-' {
				off = -off
			}
			return time.FixedZone(u, off), true
		}
	}
	if strings.Contains(w, "/") {
		if loc, err := time.LoadLocation(w); err == nil {
			return loc, true
		}
	}
	return nil, false
}

func parseWords(s string, loc *time.Location) (time.Time, error) {
	f := strings.Fields(strings.ReplaceAll(s, ",", " "))
	if len(f) < 3 || len(f) > 8 {
		return time.Time{}, errNotDate
	}
	mon, ok := monthWord(f[0])
	dayTok, rest := f[1], f[2:]
	if !ok { // day first: "23 Feb 2025"
		if mon, ok = monthWord(f[1]); !ok {
			return time.Time{}, errNotDate
		}
		dayTok = f[0]
	}
	day, err := strconv.Atoi(strings.TrimRight(strings.ToLower(dayTok), "stndrh"))
	if err != nil || day < 1 || day > 31 {
		return time.Time{}, errNotDate
	}
	year, err := strconv.Atoi(rest[0])
	if err != nil || len(rest[0]) != 4 {
		return time.Time{}, errNotDate
	}
	rest = rest[1:]
	if d := time.Date(year, mon, day, 0, 0, 0, 0, time.UTC); d.Day() != day {
		return time.Time{}, fmt.Errorf("%s %d has no day %d", mon, year, day)
	}
	hour, min, sec := 0, 0, 0
	if len(rest) > 0 && rest[0] != "" && rest[0][0] >= '0' && rest[0][0] <= '9' {
		clock := strings.ToLower(rest[0])
		rest = rest[1:]
		ampm := ""
		for _, suf := range []string{"a.m.", "p.m.", "am", "pm"} {
			if strings.HasSuffix(clock, suf) {
				ampm, clock = suf[:1], clock[:len(clock)-len(suf)]
				break
			}
		}
		if ampm == "" && len(rest) > 0 {
			switch strings.ToLower(rest[0]) {
			case "am", "a.m.":
				ampm, rest = "a", rest[1:]
			case "pm", "p.m.":
				ampm, rest = "p", rest[1:]
			}
		}
		if hour, min, sec, err = parseClock(clock, ampm); err != nil {
			return time.Time{}, err
		}
	}
	zone := loc
	if len(rest) > 0 {
		z, ok := zoneWord(rest[0])
		if !ok || len(rest) > 1 {
			return time.Time{}, fmt.Errorf("unknown time zone %q (use ET, CT, MT, PT, UTC, GMT, an offset such as +02:00 or a name such as Europe/Paris)", strings.Join(rest, " "))
		}
		zone = z
	}
	return time.Date(year, mon, day, hour, min, sec, 0, zone), nil
}

func monthWord(w string) (time.Month, bool) {
	m, ok := months[strings.ToLower(strings.TrimSuffix(w, "."))]
	return m, ok
}

func parseClock(clock, ampm string) (h, m, s int, err error) {
	parts := strings.Split(clock, ":")
	ok := len(parts) <= 3 && (len(parts) > 1 || ampm != "")
	var v [3]int
	for i := 0; ok && i < len(parts); i++ {
		p := parts[i]
		v[i], err = strconv.Atoi(p)
		ok = err == nil && v[i] >= 0 && len(p) <= 2 && (i == 0 || len(p) == 2)
	}
	h, m, s = v[0], v[1], v[2]
	if !ok || m > 59 || s > 59 || ampm == "" && h > 23 {
		return 0, 0, 0, fmt.Errorf("bad time %q", clock)
	}
	if ampm != "" {
		if h < 1 || h > 12 {
			return 0, 0, 0, fmt.Errorf("bad 12-hour time %q", clock)
		}
		h %= 12
		if ampm == "p" {
			h += 12
		}
	}
	return h, m, s, nil
}
