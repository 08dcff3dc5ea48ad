// Package config loads and validates config.toml. Loading is strict: an
// unknown key, a wrong type or a bad value is an error naming the key, and
// relative paths resolve against the config file's own folder.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole of config.toml, with defaults applied and relative
// paths made absolute.
type Config struct {
	// Path is the absolute path of the file this was loaded from.
	Path string `toml:"-"`
	// DataDir holds state that is not content: the SQLite file by default,
	// the generated token secret, the outbox and the scheduler lock.
	DataDir string `toml:"data_dir"`

	Site          Site          `toml:"site"`
	Feeds         Feeds         `toml:"feeds"`
	Store         Store         `toml:"store"`
	Email         Email         `toml:"email"`
	Digests       []Digest      `toml:"digests"`
	Server        Server        `toml:"server"`
	Subscriptions Subscriptions `toml:"subscriptions"`
	Schedule      Schedule      `toml:"schedule"`
	Bounces       Bounces       `toml:"bounces"`
}

// Site describes the published site.
type Site struct {
	Title        string `toml:"title"`
	Description  string `toml:"description"`
	BaseURL      string `toml:"base_url"` // always ends in "/"
	Language     string `toml:"language"`
	Timezone     string `toml:"timezone"` // for dates written without a zone
	ContentDir   string `toml:"content_dir"`
	OutputDir    string `toml:"output_dir"`
	Author       string `toml:"author"`        // "Name <email>", optional
	TemplatesDir string `toml:"templates_dir"` // optional overrides of templates/
	Slugs        string `toml:"slugs"`         // "unicode" (default) or "ascii": see articles.SlugifyStyle
	PageSize     int    `toml:"page_size"`     // articles per home and tag page

	// MaxArticleBytes is the largest article file read; a bigger one is
	// rejected by its size, without being read.
	MaxArticleBytes int64 `toml:"max_article_bytes"`

	// Location is Timezone loaded.
	Location *time.Location `toml:"-"`
}

// Feeds configures the published feeds.
type Feeds struct {
	Items     int    `toml:"items"`
	Content   string `toml:"content"`    // "take", "digest" or "full"
	Rebuild   string `toml:"rebuild"`    // cron spec or descriptor; "" = only on file changes
	WebSubHub string `toml:"websub_hub"` // optional hub URL pinged on change

	// Depths are the depths that get their own feeds under /take/,
	// /digest/ and /full/ (default all three; [] for none).
	Depths []string `toml:"depths"`
}

// Store picks the subscriber database.
type Store struct {
	Driver string `toml:"driver"` // "sqlite" or "postgres"
	DSN    string `toml:"dsn"`    // file path for sqlite (made absolute), URL for postgres
}

// Email configures composition and delivery of every message.
type Email struct {
	From           string   `toml:"from"`
	ReplyTo        string   `toml:"reply_to"`
	PostalAddress  string   `toml:"postal_address"`
	Transport      string   `toml:"transport"` // "file" or "smtp"
	OutboxDir      string   `toml:"outbox_dir"`
	UnsubscribeTo  string   `toml:"unsubscribe_mailto"` // optional mailto address added to List-Unsubscribe
	RetryMaxAge    Duration `toml:"retry_max_age"`      // give up retrying a recipient after this long
	DeliveryLease  Duration `toml:"delivery_lease"`     // how long a sender reserves the recipients it claimed
	SMTP           SMTP     `toml:"smtp"`
	DKIM           *DKIM    `toml:"dkim"`
	SMTPPassword   string   `toml:"-"` // read from SMTP.PasswordEnv
	ListIDOverride string   `toml:"list_id"`
}

// SMTP configures the smtp transport.
type SMTP struct {
	Host        string   `toml:"host"`
	Port        int      `toml:"port"`
	Username    string   `toml:"username"`
	PasswordEnv string   `toml:"password_env"`
	TLS         string   `toml:"tls"` // "starttls", "tls" or "none"
	Connections int      `toml:"connections"`
	Rate        float64  `toml:"rate"` // messages per second overall; 0 = no limit
	Timeout     Duration `toml:"timeout"`
	HELO        HELOName `toml:"helo"` // EHLO name; "" = the From domain (see HELOName)
}

// DKIM configures message signing.
type DKIM struct {
	Domain         string `toml:"domain"`
	Selector       string `toml:"selector"`
	PrivateKeyFile string `toml:"private_key_file"`
}

// Digest is one newsletter.
type Digest struct {
	Name      string    `toml:"name"`
	Title     string    `toml:"title"`
	Schedule  string    `toml:"schedule"`
	Timezone  string    `toml:"timezone"` // "" = [schedule] timezone, else UTC
	Subject   string    `toml:"subject"`
	MaxItems  int       `toml:"max_items"`
	Tags      []string  `toml:"tags"`
	SkipEmpty *bool     `toml:"skip_empty"`
	CatchUp   *Duration `toml:"catch_up"`
	Archive   *bool     `toml:"archive"` // publish editions under /digests/<name>/ (default true)
	// SendAt is "schedule" (the default: one edition at the schedule's
	// times in the digest's zone) or "subscriber" (the schedule's wall
	// times in each subscriber's own zone, sent in waves).
	SendAt string `toml:"send_at"`
	// Depth is what a subscriber's mail holds unless they chose otherwise:
	// "take" (the default: each article's take and a link) or "digest"
	// (the take and the 2-minute digest).
	Depth string `toml:"depth"`

	// Location is Timezone loaded (with the default applied).
	Location *time.Location `toml:"-"`
}

// Zone is the name of the digest's time zone (its Location), "UTC" when
// none is loaded.
func (d Digest) Zone() string {
	if d.Location == nil {
		return "UTC"
	}
	return d.Location.String()
}

// SkipsEmpty reports whether an edition with nothing new is skipped
// (the default).
func (d Digest) SkipsEmpty() bool { return d.SkipEmpty == nil || *d.SkipEmpty }

// Archived reports whether the digest's editions are published on the site
// (the default); archive = false keeps the digest private.
func (d Digest) Archived() bool { return d.Archive == nil || *d.Archive }

// Archived reports whether some digest publishes its editions on the site.
func (c *Config) Archived() bool { return slices.ContainsFunc(c.Digests, Digest.Archived) }

// Values of Digest.SendAt.
const (
	SendAtSchedule   = "schedule"
	SendAtSubscriber = "subscriber"
)

// PerSubscriber reports whether the digest is sent at the schedule's wall
// times in each subscriber's own zone.
func (d Digest) PerSubscriber() bool { return d.SendAt == SendAtSubscriber }

// CatchUpWindow is how long after a missed run it is still sent (default 6h).
func (d Digest) CatchUpWindow() time.Duration {
	if d.CatchUp == nil {
		return 6 * time.Hour
	}
	return d.CatchUp.Duration
}

// Server configures `briefcast serve`.
type Server struct {
	Listen         string   `toml:"listen"`
	TrustedProxies []string `toml:"trusted_proxies"`
	// MetricsListen is where /metrics is served, on a listener of its own
	// (never the public one); "off" or "" turns the metrics listener off.
	MetricsListen string `toml:"metrics_listen"`
	// RateLimitIP and RateLimitAddress limit sign-up attempts per client
	// IP and per address; a refused attempt gets 429 with Retry-After.
	RateLimitIP      RateLimit `toml:"rate_limit_ip"`
	RateLimitAddress RateLimit `toml:"rate_limit_address"`
}

// DefaultMetricsListen is the default of server.metrics_listen: loopback
// only, next to the default public port.
const DefaultMetricsListen = "127.0.0.1:8081"

// MetricsAddr is the address of the metrics listener, "" when it is off.
func (s Server) MetricsAddr() string {
	if s.MetricsListen == "off" {
		return ""
	}
	return s.MetricsListen
}

// Subscriptions configures the public sign-up flow.
type Subscriptions struct {
	DoubleOptIn *bool    `toml:"double_opt_in"`
	SecretEnv   string   `toml:"secret_env"`
	ConfirmTTL  Duration `toml:"confirm_ttl"`

	// Secret is the value of SecretEnv, "" when unset.
	Secret string `toml:"-"`
}

// DoubleOptInEnabled reports whether sign-ups must confirm (the default).
func (s Subscriptions) DoubleOptInEnabled() bool { return s.DoubleOptIn == nil || *s.DoubleOptIn }

// Schedule holds defaults for every job.
type Schedule struct {
	Timezone string `toml:"timezone"`

	// Location is Timezone loaded (UTC when unset): the rebuild job's zone
	// and the digests' default.
	Location *time.Location `toml:"-"`
}

// Duration is a time.Duration written as a Go duration string ("72h").
type Duration struct{ time.Duration }

// UnmarshalText parses "72h", "90m", "0".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration like \"72h\" or \"90m\": %q", b)
	}
	if v < 0 {
		return fmt.Errorf("duration must not be negative: %q", b)
	}
	d.Duration = v
	return nil
}

// Defaults returns the configuration used for every key the file leaves out.
func Defaults() *Config {
	return &Config{
		DataDir: "data",
		Site: Site{Title: "briefcast", BaseURL: "http://localhost:8080/", Language: "en", Timezone: "UTC",
			ContentDir: "content", OutputDir: "public", PageSize: 10, MaxArticleBytes: 1 << 20},
		Feeds: Feeds{Items: 50, Content: "take", Depths: []string{"take", "digest", "full"}},
		Store: Store{Driver: "sqlite", DSN: "data/briefcast.db"},
		Email: Email{From: "briefcast <brief@localhost>", Transport: "file", OutboxDir: "data/outbox",
			RetryMaxAge: Duration{48 * time.Hour}, DeliveryLease: Duration{2 * time.Minute},
			SMTP: SMTP{Host: "127.0.0.1", Port: 587, PasswordEnv: "BRIEFCAST_SMTP_PASSWORD", TLS: "starttls",
				Connections: 4, Timeout: Duration{30 * time.Second}}},
		Server: Server{Listen: "127.0.0.1:8080", MetricsListen: DefaultMetricsListen,
			RateLimitIP:      RateLimit{Burst: 5, Every: time.Minute},
			RateLimitAddress: RateLimit{Burst: 3, Every: 10 * time.Minute}},
		Subscriptions: Subscriptions{SecretEnv: "BRIEFCAST_SECRET", ConfirmTTL: Duration{72 * time.Hour}},
	}
}

// Load reads the file at path over the defaults, applies the environment
// (getenv may be os.Getenv), resolves relative paths against the file's
// folder and validates the result.
func Load(path string, getenv func(string) string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(abs, data, getenv)
}

// Parse is Load on bytes already read from path.
func Parse(path string, data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := Defaults()
	md, err := toml.Decode(string(data), c)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, describeDecodeError(err))
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("config: %s: %s", path, unknownKeys(data, und))
	}
	c.Path = path
	c.applyEnv(getenv)
	c.resolvePaths(filepath.Dir(path))
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

func describeDecodeError(err error) error {
	if pe, ok := errors.AsType[toml.ParseError](err); ok {
		if pe.LastKey != "" {
			return fmt.Errorf("line %d: %s: %s", pe.Position.Line, pe.LastKey, pe.Message)
		}
		return fmt.Errorf("line %d, column %d: %s", pe.Position.Line, pe.Position.Col, pe.Message)
	}
	return err
}

func (c *Config) applyEnv(getenv func(string) string) {
	if v := getenv("BRIEFCAST_STORE_DSN"); v != "" {
		c.Store.DSN = v
	}
	if c.Email.SMTP.PasswordEnv != "" {
		c.Email.SMTPPassword = getenv(c.Email.SMTP.PasswordEnv)
	}
	if c.Subscriptions.SecretEnv != "" {
		c.Subscriptions.Secret = getenv(c.Subscriptions.SecretEnv)
	}
}

func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for _, p := range []*string{&c.DataDir, &c.Site.ContentDir, &c.Site.OutputDir, &c.Site.TemplatesDir, &c.Email.OutboxDir} {
		abs(p)
	}
	if c.Email.DKIM != nil {
		abs(&c.Email.DKIM.PrivateKeyFile)
	}
	if c.Store.Driver == "sqlite" && !strings.HasPrefix(c.Store.DSN, "file:") && c.Store.DSN != ":memory:" {
		abs(&c.Store.DSN)
	}
}

// Digest returns the digest named name.
func (c *Config) Digest(name string) (*Digest, bool) {
	i := slices.IndexFunc(c.Digests, func(d Digest) bool { return d.Name == name })
	if i < 0 {
		return nil, false
	}
	return &c.Digests[i], true
}

// HELOName is the name the smtp transport gives in EHLO ([email.smtp]
// helo): a host name, or an address literal such as "[192.0.2.1]". Empty
// means the domain of the From address, never the machine's own host
// name, which receivers check against its DNS and which often says
// "localhost" or an internal name.
type HELOName string

// UnmarshalText accepts a host name of letters, digits, "-" and "." (at
// most 253 characters, no empty label) or a bracketed address literal.
func (h *HELOName) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch {
	case s == "" || strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") && !strings.ContainsAny(s[1:len(s)-1], "[] \t\r\n"):
		// the From domain, or an address literal
	case len(s) > 253:
		return fmt.Errorf("helo: %q is longer than 253 characters", s)
	default:
		if err := checkLabels(strings.TrimSuffix(s, ".")); err != nil {
			return fmt.Errorf("helo: %q %w", s, err)
		}
	}
	*h = HELOName(s)
	return nil
}

// checkLabels says why host name s is not dot-separated labels of ASCII
// letters, digits and inner hyphens, each at most 63 long.
func checkLabels(s string) error {
	notHost := func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("is not a host name")
		}
		if i := strings.IndexFunc(label, notHost); i >= 0 {
			return fmt.Errorf("is not a host name (character %q)", label[i])
		}
	}
	return nil
}

// RateLimit is a sign-up limit written "N/D": up to N attempts at once,
// then one more every D ("5/1m"). "off" turns the limit off.
type RateLimit struct {
	Burst int
	Every time.Duration
}

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

// SubjectFuncs are the functions a digest's subject template may call,
// both when config validates it and when email renders it:
//
//	{{.Count}} new {{plural .Count "brief" "briefs"}}
var SubjectFuncs = template.FuncMap{"plural": Plural}

// Plural returns one when n is 1 and many otherwise: "1 new brief",
// "2 new briefs", "0 new briefs".
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
