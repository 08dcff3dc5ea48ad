package config

import (
	"strings"
	"testing"
	"time"
)

func TestBouncesOffByDefault(t *testing.T) {
	c, err := Parse("config.toml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Bounces
	if b.Domain != "" || b.Listen != "" || b.IMAP != nil || b.Webhooks.SES != nil || b.Webhooks.Postmark != nil || b.Webhooks.Mailgun != nil || b.Webhooks.SendGrid != nil {
		t.Errorf("bounces configured with no [bounces] table: %+v", b)
	}
	if b.MaxBytes != 10<<20 || b.MaxConnections != 20 || b.Timeout.Duration != time.Minute || b.SoftLimit != 3 {
		t.Errorf("defaults: max_bytes %d, max_connections %d, timeout %s, soft_limit %d", b.MaxBytes, b.MaxConnections, b.Timeout.Duration, b.SoftLimit)
	}
}

const bouncesFull = `
[bounces]
domain = "Bounces.Example.org"
listen = "0.0.0.0:2525"
max_bytes = 2048

[bounces.imap]
host = "imap.example.org"
username = "bounces@example.org"
move_to = "Processed"

[bounces.webhooks.ses]
enabled = true
topic_arn = ["arn:aws:sns:eu-west-1:123456789012:bounces"]

[bounces.webhooks.postmark]
enabled = true
username = "hook"

[bounces.webhooks.mailgun]
enabled = true

[bounces.webhooks.sendgrid]
enabled = true
public_key_env = "SG_KEY"
`

func TestBouncesParsed(t *testing.T) {
	c, err := Parse("config.toml", []byte(minimal+bouncesFull), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Bounces
	if b.Domain != "bounces.example.org" || b.Listen != "0.0.0.0:2525" || b.MaxBytes != 2048 {
		t.Errorf("got domain %q, listen %q, max_bytes %d", b.Domain, b.Listen, b.MaxBytes)
	}
	i := b.IMAP
	if i.Addr() != "imap.example.org:993" || i.TLS != "tls" || i.Mailbox != "INBOX" || i.Interval.Duration != time.Minute || i.Delete || i.PasswordEnv != "BRIEFCAST_BOUNCES_IMAP_PASSWORD" {
		t.Errorf("imap defaults: %+v", *i)
	}
	w := b.Webhooks
	if w.Postmark.PasswordEnv != "BRIEFCAST_POSTMARK_PASSWORD" || w.Mailgun.SigningKeyEnv != "BRIEFCAST_MAILGUN_SIGNING_KEY" || w.SendGrid.PublicKeyEnv != "SG_KEY" {
		t.Errorf("webhook env names: %+v %+v %+v", *w.Postmark, *w.Mailgun, *w.SendGrid)
	}

	env := map[string]string{"BRIEFCAST_BOUNCES_IMAP_PASSWORD": "p1", "BRIEFCAST_POSTMARK_PASSWORD": "p2", "BRIEFCAST_MAILGUN_SIGNING_KEY": "k"}
	_, err = b.Secrets(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "bounces.webhooks.sendgrid.public_key_env: environment variable SG_KEY is not set") {
		t.Errorf("Secrets without SG_KEY: %v", err)
	}
	env["SG_KEY"] = "pub"
	s, err := b.Secrets(func(k string) string { return env[k] })
	if err != nil || s != (BounceSecrets{IMAPPassword: "p1", PostmarkPassword: "p2", MailgunSigningKey: "k", SendGridPublicKey: "pub"}) {
		t.Errorf("Secrets = %+v, %v", s, err)
	}
}

func TestBouncesErrorsNameTheKey(t *testing.T) {
	cases := map[string]string{
		"[bounces]\nlisten = \":2525\"\n":                                                  "bounces.listen: needs bounces.domain",
		"[bounces]\ndomain = \"a@b.org\"\n":                                                "bounces.domain: must be a domain",
		"[bounces]\nmax_bytes = 10\n":                                                      "bounces.max_bytes: must be between",
		"[bounces]\nsoft_limit = -1\n":                                                     "bounces.soft_limit: must be between 1 and 100",
		"[bounces]\ntimeout = \"10ms\"\n":                                                  "bounces.timeout: must be at least 1s",
		"[bounces.imap]\nusername = \"u\"\n":                                               "bounces.imap.host: must not be empty",
		"[bounces.imap]\nhost = \"h\"\nusername = \"u\"\ntls = \"ssl\"\n":                  "bounces.imap.tls: must be",
		"[bounces.imap]\nhost = \"h\"\nusername = \"u\"\ninterval = \"1s\"\n":              "bounces.imap.interval: must be at least 5s",
		"[bounces.imap]\nhost = \"h\"\nusername = \"u\"\nmove_to = \"X\"\ndelete = true\n": "bounces.imap.delete: cannot be set together",
		"[bounces.webhooks.ses]\nenabled = true\n":                                         "bounces.webhooks.ses.topic_arn: must list",
		"[bounces.webhooks.ses]\nenabled = true\ntopic_arn = [\"bounces\"]\n":              "bounces.webhooks.ses.topic_arn[0]: must be an SNS topic ARN",
		"[bounces.webhooks.postmark]\nenabled = true\n":                                    "bounces.webhooks.postmark.username: must not be empty",
		"[bounces.webhooks.mailgun]\nenabled = true\nsigning_key = \"x\"\n":                "unknown key bounces.webhooks.mailgun.signing_key",
	}
	for extra, want := range cases {
		_, err := Parse("config.toml", []byte(minimal+extra), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", extra, err, want)
		}
	}
}
