package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RateLimit is a sign-up limit written "N/D": up to N attempts at once,
// then one more every D ("5/1m"). "off" turns the limit off.
type RateLimit struct {
	Burst int
	Every time.Duration
}

// Default sign-up limits: 5 attempts from one client IP, then one a minute;
// 3 attempts for one address, then one every 10 minutes.
var (
	DefaultRateLimitIP      = RateLimit{Burst: 5, Every: time.Minute}
	DefaultRateLimitAddress = RateLimit{Burst: 3, Every: 10 * time.Minute}
)

// Off reports whether the limit lets everything through.
func (r RateLimit) Off() bool { return r.Burst <= 0 || r.Every <= 0 }

// UnmarshalText parses "5/1m", "3/10m" or "off".
func (r *RateLimit) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "off" {
		*r = RateLimit{}
		return nil
	}
	n, d, ok := strings.Cut(s, "/")
	burst, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || burst < 1 {
		return fmt.Errorf("not a limit like \"5/1m\" (5 at once, then one a minute) or \"off\": %q", s)
	}
	every, err := time.ParseDuration(strings.TrimSpace(d))
	if err != nil || every < time.Second {
		return fmt.Errorf("not a limit like \"5/1m\" (5 at once, then one a minute), the time at least 1s: %q", s)
	}
	*r = RateLimit{Burst: burst, Every: every}
	return nil
}

// MarshalText writes the limit back in the form UnmarshalText reads.
func (r RateLimit) MarshalText() ([]byte, error) {
	if r.Off() {
		return []byte("off"), nil
	}
	return []byte(fmt.Sprintf("%d/%s", r.Burst, r.Every)), nil
}
