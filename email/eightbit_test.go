package email

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"briefcast/config"
	"briefcast/email/smtptest"
)

// TestSMTP8BitMIME sends a digest with UTF-8 text to a server that offers
// 8BITMIME and to one that does not: the first is told BODY=8BITMIME, the
// second gets 7-bit data (quoted-printable), and both read the same text.
// A DKIM signature made while sending verifies against what arrived.
func TestSMTP8BitMIME(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		no8bit   bool
		dkim     bool
		wantBody string
	}{
		{name: "8BITMIME offered", wantBody: "8BITMIME"},
		{name: "8BITMIME not offered", no8bit: true},
		{name: "8BITMIME not offered, DKIM", no8bit: true, dkim: true},
		{name: "8BITMIME offered, DKIM", dkim: true, wantBody: "8BITMIME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{No8BitMIME: tt.no8bit})
			var cfg *config.Config
			if tt.dkim {
				cfg = mustDKIMConfig(t, key)
			} else {
				cfg = mustConfig(t, "")
			}
			smtp := smtpConfig(t, srv, "none", "", "")
			cfg.Email.Transport, cfg.Email.SMTP = smtp.Email.Transport, smtp.Email.SMTP
			c := mustComposer(t, cfg)
			m, _, err := c.Digest(testEdition(cfg), Recipient{ID: 3, Email: "zoe@example.com", Name: "Zoë"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := mustOpen(t, cfg).Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Messages()
			if len(got) != 1 {
				t.Fatalf("server got %d messages, want 1", len(got))
			}
			if got[0].Body != tt.wantBody {
				t.Errorf("MAIL FROM BODY=%q, want %q", got[0].Body, tt.wantBody)
			}
			data := got[0].Data
			if tt.no8bit {
				for i, b := range data {
					if b >= 0x80 {
						t.Fatalf("byte %d of the message is %#x: not 7-bit data", i, b)
					}
				}
			}
			p := mustParse(t, data)
			want := "The café on the ground floor — closed since June — reopens too."
			if !strings.Contains(p.text, want) {
				t.Errorf("text part lacks %q:\n%s", want, p.text)
			}
			if name := decodeHeader(t, p.header.Get("To")); !strings.Contains(name, "Zoë") {
				t.Errorf("To = %q, want the name Zoë", name)
			}
			if tt.dkim {
				if err := verifyDKIM(data, key.Public()); err != nil {
					t.Errorf("DKIM signature of the received message: %v", err)
				}
			}
		})
	}
}
