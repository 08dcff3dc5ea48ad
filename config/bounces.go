package config

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Bounces configures how bounce reports and complaints come in: a return
// path per delivery (VERP) on the bounce domain, an SMTP server for that
// domain, a mailbox to poll, and provider webhooks. Every way in is off
// until configured.
type Bounces struct {
	// Domain is the bounce domain: when set, each message is sent with
	// the envelope sender bounces+<signed token>@Domain; when empty, the
	// envelope sender is the From address.
	Domain string `toml:"domain"`
	// SoftLimit is how many soft bounces on different editions, with no
	// delivery in between, make an address bounced (default 3).
	SoftLimit int `toml:"soft_limit"`
	// Listen is where the inbound SMTP server listens; "" = no server.
	Listen         string   `toml:"listen"`
	MaxBytes       int64    `toml:"max_bytes"`       // largest inbound message (default 10 MB)
	MaxConnections int      `toml:"max_connections"` // open SMTP connections (default 20)
	Timeout        Duration `toml:"timeout"`         // SMTP read and write timeout (default 1m)

	IMAP     *BouncesIMAP   `toml:"imap"`
	Webhooks BounceWebhooks `toml:"webhooks"`
}

// BouncesIMAP is a mailbox polled for bounces.
type BouncesIMAP struct {
	Host        string   `toml:"host"`
	Port        int      `toml:"port"` // default 993 for tls, 143 otherwise
	Username    string   `toml:"username"`
	PasswordEnv string   `toml:"password_env"`
	TLS         string   `toml:"tls"`      // "tls" (default), "starttls" or "none"
	Mailbox     string   `toml:"mailbox"`  // default INBOX
	Interval    Duration `toml:"interval"` // default 1m
	MoveTo      string   `toml:"move_to"`  // folder for processed messages; "" = leave them, seen
	Delete      bool     `toml:"delete"`   // expunge processed messages (never by default)
}

// Addr is host:port.
func (i BouncesIMAP) Addr() string { return net.JoinHostPort(i.Host, fmt.Sprint(i.Port)) }

// BounceWebhooks are the provider webhooks, each off unless enabled.
type BounceWebhooks struct {
	SES      *SESWebhook      `toml:"ses"`
	Postmark *PostmarkWebhook `toml:"postmark"`
	Mailgun  *MailgunWebhook  `toml:"mailgun"`
	SendGrid *SendGridWebhook `toml:"sendgrid"`
}

// SESWebhook takes Amazon SES notifications delivered by SNS.
type SESWebhook struct {
	Enabled   bool     `toml:"enabled"`
	TopicARN  []string `toml:"topic_arn"`  // the SNS topics taken (required)
	CertHosts []string `toml:"cert_hosts"` // "" = sns.<region>.amazonaws.com(.cn)
}

// PostmarkWebhook takes Postmark's bounce and spam complaint webhooks,
// authenticated by HTTP basic auth.
type PostmarkWebhook struct {
	Enabled     bool   `toml:"enabled"`
	Username    string `toml:"username"`
	PasswordEnv string `toml:"password_env"`
}

// MailgunWebhook takes Mailgun's failed and complained events.
type MailgunWebhook struct {
	Enabled       bool   `toml:"enabled"`
	SigningKeyEnv string `toml:"signing_key_env"`
}

// SendGridWebhook takes SendGrid's signed event webhook.
type SendGridWebhook struct {
	Enabled      bool   `toml:"enabled"`
	PublicKeyEnv string `toml:"public_key_env"`
}

// BounceSecrets are the secrets the configured ways in need, read from
// the environment.
type BounceSecrets struct {
	IMAPPassword      string
	PostmarkPassword  string
	MailgunSigningKey string
	SendGridPublicKey string
}

// Secrets reads the secrets of every enabled way in from the environment;
// a missing one is an error naming its key and variable.
func (b Bounces) Secrets(getenv func(string) string) (BounceSecrets, error) {
	var s BounceSecrets
	var missing []string
	read := func(dst *string, key, env string) {
		if *dst = getenv(env); *dst == "" {
			missing = append(missing, fmt.Sprintf("%s: environment variable %s is not set", key, env))
		}
	}
	if b.IMAP != nil {
		read(&s.IMAPPassword, "bounces.imap.password_env", b.IMAP.PasswordEnv)
	}
	w := b.Webhooks
	if w.Postmark != nil && w.Postmark.Enabled {
		read(&s.PostmarkPassword, "bounces.webhooks.postmark.password_env", w.Postmark.PasswordEnv)
	}
	if w.Mailgun != nil && w.Mailgun.Enabled {
		read(&s.MailgunSigningKey, "bounces.webhooks.mailgun.signing_key_env", w.Mailgun.SigningKeyEnv)
	}
	if w.SendGrid != nil && w.SendGrid.Enabled {
		read(&s.SendGridPublicKey, "bounces.webhooks.sendgrid.public_key_env", w.SendGrid.PublicKeyEnv)
	}
	if len(missing) > 0 {
		return s, fmt.Errorf("config: %s", strings.Join(missing, "; "))
	}
	return s, nil
}

// check applies the defaults of [bounces] and reports every bad value.
func (b *Bounces) check(bad reporter) {
	b.Domain = strings.ToLower(strings.TrimSpace(b.Domain))
	if b.Domain != "" && (len(b.Domain) > 253 || !strings.Contains(b.Domain, ".") || checkLabels(b.Domain) != nil) {
		bad("bounces.domain", "must be a domain such as \"bounces.example.org\", got %q", b.Domain)
	}
	if b.Listen != "" {
		if _, _, err := net.SplitHostPort(b.Listen); err != nil {
			bad("bounces.listen", "must be host:port, got %q", b.Listen)
		}
		if b.Domain == "" {
			bad("bounces.listen", "needs bounces.domain: the server takes mail for that domain only")
		}
	}
	orDefault(&b.SoftLimit, 3)
	between(bad, "bounces.soft_limit", b.SoftLimit, 1, 100)
	orDefault(&b.MaxBytes, 10<<20)
	between(bad, "bounces.max_bytes", b.MaxBytes, 1<<10, 1<<30)
	orDefault(&b.MaxConnections, 20)
	between(bad, "bounces.max_connections", b.MaxConnections, 1, 10000)
	orDefault(&b.Timeout.Duration, time.Minute)
	atLeast(bad, "bounces.timeout", b.Timeout.Duration, "1s")
	if b.IMAP != nil {
		b.IMAP.check(bad)
	}
	b.Webhooks.check(bad)
}

func (i *BouncesIMAP) check(bad reporter) {
	required(bad, "bounces.imap.host", strings.TrimSpace(i.Host))
	required(bad, "bounces.imap.username", i.Username)
	orDefault(&i.PasswordEnv, "BRIEFCAST_BOUNCES_IMAP_PASSWORD")
	orDefault(&i.TLS, "tls")
	oneOf(bad, "bounces.imap.tls", i.TLS, "tls", "starttls", "none")
	if i.Port == 0 {
		i.Port = 143
		if i.TLS == "tls" {
			i.Port = 993
		}
	}
	between(bad, "bounces.imap.port", i.Port, 1, 65535)
	orDefault(&i.Mailbox, "INBOX")
	orDefault(&i.Interval.Duration, time.Minute)
	atLeast(bad, "bounces.imap.interval", i.Interval.Duration, "5s")
	if i.Delete && i.MoveTo != "" {
		bad("bounces.imap.delete", "cannot be set together with bounces.imap.move_to: pick one")
	}
	if i.MoveTo == i.Mailbox {
		bad("bounces.imap.move_to", "must differ from bounces.imap.mailbox (%q)", i.Mailbox)
	}
}

func (w *BounceWebhooks) check(bad reporter) {
	if s := w.SES; s != nil && s.Enabled {
		if len(s.TopicARN) == 0 {
			bad("bounces.webhooks.ses.topic_arn", "must list the SNS topics to take, such as \"arn:aws:sns:eu-west-1:123456789012:bounces\"")
		}
		for n, arn := range s.TopicARN {
			if !strings.HasPrefix(arn, "arn:") || strings.Count(arn, ":") != 5 {
				bad(fmt.Sprintf("bounces.webhooks.ses.topic_arn[%d]", n), "must be an SNS topic ARN such as \"arn:aws:sns:eu-west-1:123456789012:bounces\", got %q", arn)
			}
		}
		for n, h := range s.CertHosts {
			if h == "" || strings.ContainsAny(h, "/@ ") {
				bad(fmt.Sprintf("bounces.webhooks.ses.cert_hosts[%d]", n), "must be a host name, \"*\" standing for one label, got %q", h)
			}
		}
	}
	if p := w.Postmark; p != nil && p.Enabled {
		required(bad, "bounces.webhooks.postmark.username", p.Username)
		orDefault(&p.PasswordEnv, "BRIEFCAST_POSTMARK_PASSWORD")
	}
	if m := w.Mailgun; m != nil && m.Enabled && m.SigningKeyEnv == "" {
		m.SigningKeyEnv = "BRIEFCAST_MAILGUN_SIGNING_KEY"
	}
	if s := w.SendGrid; s != nil && s.Enabled && s.PublicKeyEnv == "" {
		s.PublicKeyEnv = "BRIEFCAST_SENDGRID_PUBLIC_KEY"
	}
}
