package daemon

import (
	"slices"
	"testing"

	"briefcast/config"
)

// TestNeedsRestartBounceIntake: the bounce SMTP listener and mailbox are
// set up once, at start, so a reload that changes them says a restart is
// needed; the soft limit, read per report, does not.
func TestNeedsRestartBounceIntake(t *testing.T) {
	old := &config.Config{}
	for _, tt := range []struct {
		name string
		edit func(*config.Config)
		want []string
	}{
		{"listen", func(c *config.Config) { c.Bounces.Listen = "127.0.0.1:2525" }, []string{"bounces.listen"}},
		{"imap", func(c *config.Config) { c.Bounces.IMAP = &config.BouncesIMAP{Host: "imap.example.org"} }, []string{"bounces.imap"}},
		{"soft limit", func(c *config.Config) { c.Bounces.SoftLimit = 5 }, nil},
	} {
		cfg := &config.Config{}
		tt.edit(cfg)
		if got := NeedsRestart(old, cfg); !slices.Equal(got, tt.want) {
			t.Errorf("%s: NeedsRestart = %v, want %v", tt.name, got, tt.want)
		}
	}
}
