package subscribers

import (
	"errors"
	"fmt"
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
// nil when none remain. A tag may not contain a comma, a semicolon or a
// control character.
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

// zoneCache remembers which time zone names load, because LoadLocation reads
// the zone database on every call. One lives for one import.
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

// MaxNameLen bounds a display name, in bytes: the one limit of the store
// and of the sign-up form (which checks it through
// SubscribeRequest.Validate).
const MaxNameLen = 200

// checkLine refuses a one-line field (a name, an IP address) that is too
// long or holds a control character: a line break in a name could end up
// in a mail header.
func checkLine(field, v string) error {
	if len(v) > MaxNameLen {
		return fmt.Errorf("%s is longer than %d bytes", field, MaxNameLen)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return fmt.Errorf("%s contains a line break or control character", field)
	}
	return nil
}

// CleanName is the one check of a display name, for the form, the CLI and
// an import alike: invisible and formatting characters (see Invisible;
// U+202E could reverse how a header shows) are dropped, except the
// zero-width joiner and non-joiner, which spell Persian and Indic names
// and emoji; surrounding space is trimmed, and a name that is too long or
// holds a line break or other control character is refused.
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

// checkSubscriber validates and cleans the fields a caller sets.
func checkSubscriber(s *Subscriber) error {
	if err := checkPerson(&s.Email, &s.Name, s.ConsentIP, s.Source); err != nil {
		return err
	}
	if s.Status == "" {
		s.Status = Pending
	}
	if !s.Status.Valid() {
		return fmt.Errorf("subscribers: unknown status %q", s.Status)
	}
	p := Preferences{Digests: s.Digests, Tags: s.Tags, Timezone: s.Timezone, Depths: s.Depths}
	if err := CheckPreferences(&p); err != nil {
		return err
	}
	s.Digests, s.Tags, s.Depths = p.Digests, p.Tags, p.Depths
	return nil
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

// Validate checks and cleans every field of a sign-up in place, exactly as
// Subscribe does before it looks at what is stored: the address is
// normalised (NormalizeEmail), the name cleaned (CleanName), digests and
// tags trimmed and de-duplicated, the time zone and consent IP checked, and
// an empty Source made SourceForm. A caller can run it first to answer a
// bad field the same way whatever the state of the address (the sign-up
// form does, before it queues the sign-up). The error names the field.
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
