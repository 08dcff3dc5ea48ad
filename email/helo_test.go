package email

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"briefcast/config"
	"briefcast/email/smtptest"
)

// TestSMTPEHLOName checks the name a real SMTP server hears in EHLO: the
// configured [email.smtp] helo, else the From domain, never the host name
// of the machine running the test.
func TestSMTPEHLOName(t *testing.T) {
	host, _ := os.Hostname()
	for _, tt := range []struct{ helo, want string }{
		{"", "example.org"}, // From is brief@example.org
		{"mail.example.net", "mail.example.net"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{})
			cfg := smtpConfig(t, srv, "none", "", "")
			cfg.Email.SMTP.HELO = config.HELOName(tt.helo)
			m, _, err := mustComposer(t, cfg).Digest(testEdition(cfg), Recipient{ID: 1, Email: "a@example.com"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := mustOpen(t, cfg).Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			got := srv.Messages()
			if len(got) != 1 {
				t.Fatalf("%d messages", len(got))
			}
			if got[0].Helo != tt.want {
				t.Errorf("EHLO %q, want %q (host name %q)", got[0].Helo, tt.want, host)
			}
		})
	}
}

// TestConfigHELO reads [email.smtp] helo from a file: a host name or an
// address literal is taken, anything else is refused naming the key.
func TestConfigHELO(t *testing.T) {
	for _, tt := range []struct {
		value string
		ok    bool
	}{
		{"mail.example.org", true},
		{"[192.0.2.7]", true},
		{"bad name", false},
		{"-x.example.org", false},
		{"a..b", false},
		{"x.example.org\\r\\nMAIL FROM:<a@b>", false},
	} {
		path := filepath.Join(t.TempDir(), "config.toml")
		data := baseConfig + fmt.Sprintf("[email.smtp]\nhelo = \"%s\"\n", tt.value)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, func(string) string { return "" })
		if tt.ok {
			if err != nil || string(cfg.Email.SMTP.HELO) != tt.value {
				t.Errorf("helo %q: %v", tt.value, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "helo") {
			t.Errorf("helo %q: error %v, want one naming helo", tt.value, err)
		}
	}
}
