package email

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/templates"
	"briefcast/tokens"
)

var update = flag.Bool("update", false, "rewrite golden files")

var fixedNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// countingReader is a deterministic stand-in for crypto/rand.
type countingReader struct {
	mu sync.Mutex
	n  byte
}

func (r *countingReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		r.n++
		p[i] = r.n
	}
	return len(p), nil
}

const baseConfig = `
[site]
title = "The Test Brief"
base_url = "https://example.org/news/"
[email]
from = "The Test Brief <brief@example.org>"
reply_to = "Desk <desk@example.org>"
postal_address = "1 Sample Road, Testville"
unsubscribe_mailto = "leave@example.org"
outbox_dir = "outbox"
[[digests]]
name = "daily"
title = "The Daily Test"
schedule = "0 7 * * *"
timezone = "America/New_York"
subject = "{{.Title}} — {{.Date}} ({{.Count}})"
[[digests]]
name = "plain"
title = "Plain"
schedule = "0 7 * * *"
`

// mustConfig parses baseConfig plus extra in a temporary folder.
func mustConfig(t testing.TB, extra string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	data := baseConfig + extra
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func mustSigner(t testing.TB) *tokens.Signer {
	t.Helper()
	s, err := tokens.NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustComposer(t testing.TB, cfg *config.Config, opts ...Option) *Composer {
	t.Helper()
	opts = append([]Option{WithClock(func() time.Time { return fixedNow }), WithRand(&countingReader{})}, opts...)
	c, err := NewComposer(OptionsOf(cfg), templates.Embedded(), mustSigner(t), opts...)
	if err != nil {
		t.Fatalf("NewComposer: %v", err)
	}
	return c
}

func testEdition(cfg *config.Config) *Edition {
	d, _ := cfg.Digest("daily")
	pub := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	return &Edition{
		ID:     7,
		Digest: *d,
		Key:    "20261125T1200Z",
		Date:   fixedNow,
		Articles: []*articles.Article{
			articles.WithTiers(&articles.Article{
				ID: "tide-tables-2026", Slug: "tide-tables", Title: "Harbour publishes new tide tables",
				Published: pub, Updated: pub, Tags: []string{"science", "coast"},
				Take: []articles.Bullet{
					{Text: "The harbour office released tide tables for the coming year."},
					{Text: "Spring tides peak in March & September, slightly higher than last year."},
					{Text: "Boat owners are asked to check mooring lines before \"king tides\"."},
				},
			}, articles.Tiers{
				// Only this one has full depth, so only its links carry #full-depth.
				Full: articles.Full{Closing: []string{"The tables are free at the harbour office."}},
			}),
			{
				ID: "library-hours", Slug: "library hours/ext", Title: "Library <extends> evening hours & weekends",
				Published: pub, Updated: pub, Tags: []string{"city"},
				Take: []articles.Bullet{
					{Text: "The central library stays open until 21:00 on weekdays."},
					{Text: "Sunday opening starts next month as a <b>trial</b>."},
					{Text: "The café on the ground floor — closed since June — reopens too."},
				},
			},
			{
				ID: "bridge-works", Slug: "bridge-works", Title: "Bridge repairs\r\nBcc: victim@example.net",
				Published: pub, Updated: pub, Tags: []string{"city", "transport"},
				Take: []articles.Bullet{
					{Text: "Repairs on the old bridge close one lane for six weeks.\nBcc: x@evil.example"},
				},
			},
		},
	}
}

func newTestMsg() *gomail.Msg { return gomail.NewMsg() }

// WithRand sets the source of Message-ID and MIME boundary randomness, so
// that messages are byte-for-byte reproducible.
func WithRand(r io.Reader) Option { return func(c *Composer) { c.rand = r } }

// WithCacheSize bounds how many rendered variants are kept.
func WithCacheSize(n int) Option { return func(c *Composer) { c.cacheMax = n } }
