package subscribers

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// maxTagLen bounds one topic tag.
const maxTagLen = 100

// CleanDigests trims, de-duplicates and checks digest names, keeping their
// order; nil when none remain.
func CleanDigests(names []string) ([]string, error) {
	return cleanList(names, CheckDigestName)
}

// CleanTags trims, de-duplicates and checks topic tags, keeping their order;
// nil when none remain.
func CleanTags(tags []string) ([]string, error) {
	return cleanList(tags, func(s string) error {
		if len(s) > maxTagLen {
			return fmt.Errorf("tag is longer than %d characters", maxTagLen)
		}
		if strings.ContainsAny(s, ",;") || strings.IndexFunc(s, unicode.IsControl) >= 0 {
			return fmt.Errorf("tag %q may not contain a comma, semicolon or control character", s)
		}
		return nil
	})
}

func cleanList(xs []string, check func(string) error) ([]string, error) {
	var out []string
	for _, x := range xs {
		x = strings.TrimSpace(x)
		if x == "" || slices.Contains(out, x) {
			continue
		}
		if err := check(x); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// zoneCache remembers which time zone names load (LoadLocation reads the
// zone database on every call), for one import.
type zoneCache map[string]error

// check reports whether name is "" or an IANA time zone.
func (z zoneCache) check(name string) error {
	if name == "" {
		return nil
	}
	if err, ok := z[name]; ok {
		return err
	}
	var err error
	if name == "Local" {
		err = errors.New(`time zone "Local" depends on the machine; name an IANA zone`)
	} else if _, lerr := time.LoadLocation(name); lerr != nil {
		err = fmt.Errorf("unknown time zone %q", name)
	}
	z[name] = err
	return err
}

// JoinList and SplitList are the stored form of digests and tags: one
// comma-joined text column (the items never contain commas).
func JoinList(xs []string) string { return strings.Join(xs, ",") }

func SplitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// MaxNameLen bounds a display name, in bytes, everywhere.
const MaxNameLen = 200

// checkLine refuses a one-line field that is too long or holds a control
// character: a line break in a name could end up in a mail header.
func checkLine(field, v string) error {
	if len(v) > MaxNameLen {
		return fmt.Errorf("%s is longer than %d bytes", field, MaxNameLen)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return fmt.Errorf("%s contains a line break or control character", field)
	}
	return nil
}

// CleanName is the one check of a display name: invisible characters
// (U+202E could reverse how a header shows) are dropped, except the
// zero-width joiner and non-joiner, which spell Persian and Indic names and
// emoji; space is trimmed; a name too long or holding a control character
// is refused.
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if Invisible(r) && !unicode.Is(unicode.Join_Control, r) {
			return -1
		}
		return r
	}, name))
	if err := checkLine("name", name); err != nil {
		return "", err
	}
	return name, nil
}

// checkPerson normalises the address and cleans the name, and checks the
// consent IP and the source: what a sign-up and a stored subscriber share.
func checkPerson(email, name *string, consentIP string, src Source) error {
	e, err := NormalizeEmail(*email)
	if err != nil {
		return fmt.Errorf("subscribers: email: %w", err)
	}
	*email = e
	if *name, err = CleanName(*name); err != nil {
		return fmt.Errorf("subscribers: %w", err)
	}
	if err := checkLine("consent IP", consentIP); err != nil {
		return fmt.Errorf("subscribers: %w", err)
	}
	if src != "" && src != SourceForm && src != SourceImport && src != SourceCLI {
		return fmt.Errorf("subscribers: unknown source %q", src)
	}
	return nil
}

// Validate checks and cleans every field of a sign-up in place, as
// Subscribe does first, and makes an empty Source SourceForm. The sign-up
// form runs it before it queues a sign-up, to answer a bad field the same
// way whatever the state of the address. The error names the field.
func (req *SubscribeRequest) Validate() error {
	p := Preferences{Digests: req.Digests, Tags: req.Tags, Timezone: req.Timezone}
	if err := CheckPreferences(&p); err != nil {
		return err
	}
	req.Digests, req.Tags = p.Digests, p.Tags
	if err := checkPerson(&req.Email, &req.Name, req.ConsentIP, req.Source); err != nil {
		return err
	}
	if req.Source == "" {
		req.Source = SourceForm
	}
	return nil
}

// CheckPreferences validates and cleans p.
func CheckPreferences(p *Preferences) error {
	var err error
	if p.Digests, err = CleanDigests(p.Digests); err != nil {
		return fmt.Errorf("subscribers: %w", err)
	}
	if p.Tags, err = CleanTags(p.Tags); err != nil {
		return fmt.Errorf("subscribers: %w", err)
	}
	if err := (zoneCache{}).check(p.Timezone); err != nil {
		return fmt.Errorf("subscribers: %w", err)
	}
	if p.Depths, err = cleanDepths(p.Depths); err != nil {
		return fmt.Errorf("subscribers: %w", err)
	}
	return nil
}

// MaxDigestNameLen bounds a digest name: it appears in URLs, edition keys,
// job names and the comma-joined digests column of the store.
const MaxDigestNameLen = 64

var digestNameShape = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// CheckDigestName is the one rule for the shape of a digest name: 1 to 64
// lower-case ASCII letters, digits, - or _, starting with a letter or
// digit, which keeps it safe unescaped in a URL path, a log line, a CSV
// cell and a comma-joined list.
func CheckDigestName(name string) error {
	if len(name) > MaxDigestNameLen || !digestNameShape.MatchString(name) {
		return fmt.Errorf("digest name %q must be 1 to %d lower-case letters, digits, - or _, starting with a letter or digit", name, MaxDigestNameLen)
	}
	return nil
}

// The depths a digest's mail can hold, per subscriber and digest.
const (
	// DepthTake is each article's take and a link.
	DepthTake = "take"
	// DepthDigest adds each article's 2-minute digest: its context
	// sections, key numbers and core players.
	DepthDigest = "digest"
)

// Depths are the choices of depth offered, in the order pages show them.
var Depths = []string{DepthTake, DepthDigest}

// CheckDepth accepts "" (the digest's default) or one of Depths.
func CheckDepth(d string) error {
	if d == "" || slices.Contains(Depths, d) {
		return nil
	}
	return fmt.Errorf("depth %q must be %q or %q", d, DepthTake, DepthDigest)
}

// JoinDepths is the stored form of a subscriber's depths: sorted,
// comma-joined "name=depth" pairs, without the defaults.
func JoinDepths(m map[string]string) string {
	var out []string
	for name, d := range m {
		if d != "" {
			out = append(out, name+"="+d)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// SplitDepths reads JoinDepths back; nil when empty. A pair it cannot read
// is left out (its digest takes the default).
func SplitDepths(s string) map[string]string {
	if s == "" {
		return nil
	}
	m := map[string]string{}
	for pair := range strings.SplitSeq(s, ",") {
		name, d, ok := strings.Cut(pair, "=")
		if ok && name != "" && d != "" {
			m[name] = d
		}
	}
	return m
}

// cleanDepths checks m and drops the defaults; nil when none remain.
func cleanDepths(m map[string]string) (map[string]string, error) {
	var out map[string]string
	for name, d := range m {
		if err := CheckDigestName(name); err != nil {
			return nil, fmt.Errorf("depth: %w", err)
		}
		if err := CheckDepth(d); err != nil {
			return nil, fmt.Errorf("depth of %s: %w", name, err)
		}
		if d == "" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = d
	}
	return out, nil
}

// Paused reports whether a subscriber is paused until after t.
func (s *Subscriber) Paused(t time.Time) bool {
	return !s.PausedUntil.IsZero() && s.PausedUntil.After(t)
}
