package email

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
)

// FuzzEmailHeaders feeds hostile names, titles and subjects to the
// composer: whatever they hold, the message keeps exactly its own header
// fields and its one recipient.
func FuzzEmailHeaders(f *testing.F) {
	f.Add("Eve\r\nBcc: x@evil.example", "Daily", "{{.Title}}")
	f.Add("Zoë \"Z\" <z@x>", "Title\nX-Injected: 1", "{{.Title}}\r\n\r\nbody")
	f.Add("\u2028\u0085\x00", "=?UTF-8?q?x?=", "{{.Date}}")
	cfg := mustConfig(f, "")
	c := mustComposer(f, cfg)
	f.Fuzz(func(t *testing.T, name, title, subject string) {
		e := testEdition(cfg)
		e.Digest.Title = title
		if strings.Contains(subject, "{{") {
			// Template syntax errors are config errors, found at start-up.
			subject = "{{.Title}} " + strings.ReplaceAll(subject, "{{", "")
		}
		e.Digest.Subject = strings.ReplaceAll(subject, "}}", "")
		m, ok, err := c.Digest(e, Recipient{ID: 1, Email: "r@example.com", Name: name}, nil)
		if err != nil || !ok {
			return
		}
		var b bytes.Buffer
		if _, err := m.Msg.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(&b)
		if err != nil {
			t.Fatalf("unparseable message: %v", err)
		}
		for k, v := range msg.Header {
			if !allowedHeaders[k] || len(v) != 1 {
				t.Fatalf("header %q appears %d times or is unexpected", k, len(v))
			}
		}
		to, err := msg.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != "r@example.com" {
			t.Fatalf("To = %v (%v)", to, err)
		}
	})
}
