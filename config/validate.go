package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"briefcast/scheduler"
	"briefcast/subscribers"
)

// Validate checks every value and every cross-field rule, and loads the
// time zones. The first problem is returned, naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	// [site]
	required(bad, "site.title", strings.TrimSpace(c.Site.Title))
	if u, err := url.Parse(c.Site.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		bad("site.base_url", "must be an absolute http or https URL with no query, got %q", c.Site.BaseURL)
	} else if !strings.HasSuffix(c.Site.BaseURL, "/") {
		c.Site.BaseURL += "/"
	}
	if c.Site.Language == "" || strings.ContainsAny(c.Site.Language, " <>&\"'") {
		bad("site.language", "must be a language tag such as \"en\" or \"en-GB\", got %q", c.Site.Language)
	}
	loadZone(bad, "site.timezone", c.Site.Timezone, &c.Site.Location)
	required(bad, "site.content_dir", c.Site.ContentDir)
	if required(bad, "site.output_dir", c.Site.OutputDir) {
		for _, problem := range c.outputDirProblems() {
			bad("site.output_dir", "%s", problem)
		}
	}
	if c.Site.MaxArticleBytes < 1 {
		bad("site.max_article_bytes", "must be at least 1, got %d", c.Site.MaxArticleBytes)
	}
	between(bad, "site.page_size", c.Site.PageSize, 1, 1000)
	if c.Site.Author != "" && strings.Contains(c.Site.Author, "@") {
		if _, err := mail.ParseAddress(c.Site.Author); err != nil {
			bad("site.author", "must be \"Name <email>\" or a plain name: %v", err)
		}
	}

	// [feeds]
	between(bad, "feeds.items", c.Feeds.Items, 1, 10000)
	oneOf(bad, "feeds.content", c.Feeds.Content, "take", "digest", "full")
	for k, d := range c.Feeds.Depths {
		oneOf(bad, fmt.Sprintf("feeds.depths[%d]", k), d, "take", "digest", "full")
	}
	if c.Site.Slugs != "" {
		oneOf(bad, "site.slugs", c.Site.Slugs, "unicode", "ascii")
	}
	if c.Feeds.WebSubHub != "" {
		if u, err := url.Parse(c.Feeds.WebSubHub); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("feeds.websub_hub", "must be an absolute http or https URL, got %q", c.Feeds.WebSubHub)
		}
	}

	// [store]
	oneOf(bad, "store.driver", c.Store.Driver, "sqlite", "postgres")
	required(bad, "store.dsn", c.Store.DSN)

	// [email]
	if _, err := mail.ParseAddress(c.Email.From); err != nil {
		bad("email.from", "must be an address like \"The Brief <brief@example.org>\": %v", err)
	}
	for _, f := range []struct{ key, addr string }{
		{"email.reply_to", c.Email.ReplyTo}, {"email.unsubscribe_mailto", c.Email.UnsubscribeTo},
	} {
		if _, err := mail.ParseAddress(f.addr); f.addr != "" && err != nil {
			bad(f.key, "%v", err)
		}
	}
	if strings.ContainsAny(c.Email.PostalAddress, "\x00") {
		bad("email.postal_address", "must not contain NUL")
	}
	switch c.Email.Transport {
	case "file":
		if c.Email.OutboxDir == "" {
			bad("email.outbox_dir", "must be set for the file transport")
		}
	case "smtp":
		if c.Email.SMTP.Host == "" {
			bad("email.smtp.host", "must be set for the smtp transport")
		}
	default:
		bad("email.transport", "must be \"file\" or \"smtp\", got %q", c.Email.Transport)
	}
	if c.Email.SMTP.Port < 1 || c.Email.SMTP.Port > 65535 {
		bad("email.smtp.port", "must be a port number, got %d", c.Email.SMTP.Port)
	}
	oneOf(bad, "email.smtp.tls", c.Email.SMTP.TLS, "starttls", "tls", "none")
	between(bad, "email.smtp.connections", c.Email.SMTP.Connections, 1, 256)
	if c.Email.SMTP.Rate < 0 {
		bad("email.smtp.rate", "must not be negative")
	}
	if d := c.Email.DKIM; d != nil {
		for _, f := range []struct{ key, v string }{
			{"domain", d.Domain}, {"selector", d.Selector}, {"private_key_file", d.PrivateKeyFile},
		} {
			if f.v == "" {
				bad("email.dkim."+f.key, "must be set when [email.dkim] is present")
			}
		}
	}

	// [schedule]
	c.Schedule.Location = time.UTC
	if c.Schedule.Timezone != "" {
		loadZone(bad, "schedule.timezone", c.Schedule.Timezone, &c.Schedule.Location)
	}
	// Every schedule is checked from the same instant, by the scheduler's
	// own rule, so config and scheduler can never disagree on a spec.
	now := time.Now()
	if c.Feeds.Rebuild != "" {
		if err := scheduler.CheckSpec(c.Feeds.Rebuild, c.Schedule.Location, now); err != nil {
			bad("feeds.rebuild", "%v", err)
		}
	}

	// [[digests]]
	seen := map[string]bool{}
	for i := range c.Digests {
		d := &c.Digests[i]
		key := fmt.Sprintf("digests[%d]", i)
		if d.Name != "" {
			key = fmt.Sprintf("digests[%d] (%s)", i, d.Name)
		}
		if err := subscribers.CheckDigestName(d.Name); err != nil {
			bad(key+".name", "%v", err)
		} else if seen[d.Name] {
			bad(key+".name", "is used by two digests")
		}
		seen[d.Name] = true
		if strings.TrimSpace(d.Title) == "" {
			d.Title = d.Name
		}
		d.Location = c.Schedule.Location
		if d.Timezone != "" {
			loadZone(bad, key+".timezone", d.Timezone, &d.Location)
		}
		if err := scheduler.CheckSpec(d.Schedule, d.Location, now); err != nil {
			bad(key+".schedule", "%v", err)
		}
		orDefault(&d.SendAt, SendAtSchedule)
		oneOf(bad, key+".send_at", d.SendAt, SendAtSchedule, SendAtSubscriber)
		orDefault(&d.Depth, subscribers.DepthTake)
		if err := subscribers.CheckDepth(d.Depth); err != nil {
			bad(key+".depth", "%v", err)
		}
		orDefault(&d.Subject, "{{.Title}} — {{.Date}}")
		if _, err := template.New("subject").Funcs(SubjectFuncs).Parse(d.Subject); err != nil {
			bad(key+".subject", "not a valid template: %v", err)
		}
		orDefault(&d.MaxItems, 10)
		between(bad, key+".max_items", d.MaxItems, 1, 1000)
		for j, t := range d.Tags {
			d.Tags[j] = strings.ToLower(strings.TrimSpace(t))
			if d.Tags[j] == "" {
				bad(fmt.Sprintf("%s.tags[%d]", key, j), "must not be empty")
			}
		}
	}

	// [server]
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		bad("server.listen", "must be host:port, got %q", c.Server.Listen)
	}
	if addr := c.Server.MetricsAddr(); addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("server.metrics_listen", "must be host:port, or \"off\", got %q", c.Server.MetricsListen)
		}
	}
	for i, p := range c.Server.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			bad(fmt.Sprintf("server.trusted_proxies[%d]", i), "must be a CIDR such as 10.0.0.0/8, got %q", p)
		}
	}

	// [subscriptions]
	atLeast(bad, "subscriptions.confirm_ttl", c.Subscriptions.ConfirmTTL.Duration, "1m")
	if c.Subscriptions.SecretEnv == "" {
		bad("subscriptions.secret_env", "must name an environment variable")
	}
	atLeast(bad, "email.retry_max_age", c.Email.RetryMaxAge.Duration, "1m")
	atLeast(bad, "email.delivery_lease", c.Email.DeliveryLease.Duration, "5s")
	c.Bounces.check(bad)
	return errors.Join(errs...)
}

// reporter is how a check reports a bad value: the key, then what is wrong.
type reporter = func(key, format string, args ...any)

// oneOf reports v unless it is one of allowed.
func oneOf(bad reporter, key, v string, allowed ...string) {
	if slices.Contains(allowed, v) {
		return
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(a)
	}
	last := len(quoted) - 1
	bad(key, "must be %s or %s, got %q", strings.Join(quoted[:last], ", "), quoted[last], v)
}

// between reports v unless lo <= v <= hi.
func between[T int | int64](bad reporter, key string, v, lo, hi T) {
	if v < lo || v > hi {
		bad(key, "must be between %d and %d, got %d", lo, hi, v)
	}
}

// atLeast reports a duration shorter than min (written as text, "1m").
func atLeast(bad reporter, key string, d time.Duration, min string) {
	if m, _ := time.ParseDuration(min); d < m {
		bad(key, "must be at least %s, got %s", min, d)
	}
}

// required reports an empty v; it returns whether v is set.
func required(bad reporter, key, v string) bool {
	if v == "" {
		bad(key, "must not be empty")
	}
	return v != ""
}

// orDefault sets *p to def when it is unset (the zero value).
func orDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// loadZone loads the IANA time zone name into *loc, or reports why not.
func loadZone(bad reporter, key, name string, loc **time.Location) {
	l, err := time.LoadLocation(name)
	switch {
	case name == "":
		bad(key, "must name an IANA time zone such as \"Europe/London\"")
	case name == "Local":
		bad(key, "\"Local\" depends on the machine; name an IANA time zone")
	case err != nil:
		bad(key, "unknown time zone %q", name)
	default:
		*loc = l
	}
}
