package subscribers

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

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
