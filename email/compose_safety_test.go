package email

import (
	"regexp"
	"strings"
	"testing"
)

func TestHTTPBaseHasNoOneClick(t *testing.T) {
	cfg := mustConfig(t, "")
	cfg.Site.BaseURL = "http://localhost:8080/"
	cfg.Email.UnsubscribeTo = ""
	c := mustComposer(t, cfg)
	m, _, err := c.Digest(testEdition(cfg), Recipient{ID: 9, Email: "a@example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := mustParse(t, msgBytes(t, m))
	if got := p.header.Get("List-Unsubscribe"); !regexp.MustCompile(`^<http://localhost:8080/unsubscribe\?token=[A-Za-z0-9_-]+>$`).MatchString(got) {
		t.Errorf("List-Unsubscribe = %q", got)
	}
	if got, ok := p.header["List-Unsubscribe-Post"]; ok {
		t.Errorf("List-Unsubscribe-Post = %q on an http base URL", got)
	}
}

// allowedHeaders is every header field a composed message may carry.
var allowedHeaders = map[string]bool{
	"From": true, "To": true, "Reply-To": true, "Subject": true, "Date": true, "Message-Id": true,
	"Mime-Version": true, "Content-Type": true, "List-Id": true, "List-Unsubscribe": true,
	"List-Unsubscribe-Post": true, "Precedence": true, "X-Auto-Response-Suppress": true,
	"Auto-Submitted": true, "Dkim-Signature": true,
}

func TestHeaderInjection(t *testing.T) {
	tests := []struct {
		name      string
		r         Recipient
		title     string
		subject   string
		siteTitle string
	}{
		{name: "name", r: Recipient{ID: 1, Email: "eve@example.com", Name: "Eve\r\nBcc: x@evil.example"}},
		{name: "name LF", r: Recipient{ID: 1, Email: "eve@example.com", Name: "Eve\nBcc: x@evil.example\n\nbody"}},
		{name: "name unicode line separator", r: Recipient{ID: 1, Email: "eve@example.com", Name: "Eve\u2028Bcc: x@evil.example\x00"}},
		{name: "digest title", r: Recipient{ID: 1, Email: "eve@example.com"}, title: "Daily\r\nBcc: x@evil.example"},
		{name: "subject", r: Recipient{ID: 1, Email: "eve@example.com"}, subject: "{{.Title}}\r\nBcc: x@evil.example\r\n"},
		{name: "subject from title", r: Recipient{ID: 1, Email: "eve@example.com"}, title: "Daily\rBcc: x@evil.example", subject: "{{.Title}}"},
		{name: "site title", r: Recipient{ID: 1, Email: "eve@example.com"}, siteTitle: "Site\r\nBcc: x@evil.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustConfig(t, "")
			if tt.siteTitle != "" {
				cfg.Site.Title = tt.siteTitle
			}
			c := mustComposer(t, cfg)
			e := testEdition(cfg)
			if tt.title != "" {
				e.Digest.Title = tt.title
			}
			if tt.subject != "" {
				e.Digest.Subject = tt.subject
			}
			dm, ok, err := c.Digest(e, tt.r, nil)
			if err != nil || !ok {
				t.Fatalf("Digest: %v", err)
			}
			cm, err := c.Confirmation(tt.r, "https://example.org/news/confirm?token=abc")
			if err != nil {
				t.Fatalf("Confirmation: %v", err)
			}
			for _, m := range []*Message{dm, cm} {
				p := mustParse(t, msgBytes(t, m))
				for k := range p.header {
					if !allowedHeaders[k] {
						t.Errorf("unexpected header %q", k)
					}
				}
				if strings.Contains(p.rawHeader, "\nBcc") || strings.Contains(p.rawHeader, "\rBcc") {
					t.Errorf("a Bcc line reached the header:\n%s", p.rawHeader)
				}
				// Every line of the header is a field or a folded continuation.
				for _, line := range strings.Split(strings.TrimSuffix(p.rawHeader, "\r\n"), "\r\n") {
					if !regexp.MustCompile(`^([A-Za-z-]+:( |$)|[ \t])`).MatchString(line) {
						t.Errorf("stray header line %q", line)
					}
					if strings.ContainsAny(line, "\r\n\x00") {
						t.Errorf("control character in header line %q", line)
					}
				}
				to, err := p.header.AddressList("To")
				if err != nil || len(to) != 1 || to[0].Address != "eve@example.com" {
					t.Errorf("To = %v (%v)", to, err)
				}
				if m.To != "eve@example.com" {
					t.Errorf("envelope To = %q", m.To)
				}
			}
		})
	}
}

func TestBadRecipients(t *testing.T) {
	cfg := mustConfig(t, "")
	c := mustComposer(t, cfg)
	for _, addr := range []string{"", "no-at-sign", "a@b\r\nBcc: x@y", "a b@example.com", "<a@example.com>, b@example.com", "a@"} {
		if _, _, err := c.Digest(testEdition(cfg), Recipient{ID: 1, Email: addr}, nil); err == nil {
			t.Errorf("Digest accepted address %q", addr)
		}
		if _, err := c.Confirmation(Recipient{ID: 1, Email: addr}, "https://example.org/c"); err == nil {
			t.Errorf("Confirmation accepted address %q", addr)
		}
	}
	if _, err := c.Confirmation(Recipient{ID: 1, Email: "a@example.com"}, "javascript:alert(1)"); err == nil {
		t.Error("Confirmation accepted a javascript: link")
	}
}
