package daemon

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"os"
	"strings"
	"testing"

	"briefcast/email"
	"briefcast/subscribers"
)

// reportDSN is a delivery status notification (RFC 3464) as a mail
// server sends it back to the return path to: recipient rcpt is unknown.
func reportDSN(to, rcpt string) string {
	return "From: MAILER-DAEMON@mx.example.net\r\nTo: " + to + "\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Message-ID: <dsn-1@mx.example.net>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
		"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n" +
		"Final-Recipient: rfc822; " + rcpt + "\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n" +
		"--b1--\r\n"
}

const bouncesConfig = `
[bounces]
domain = "bounce.example.org"
listen = "127.0.0.1:0"

[bounces.webhooks.postmark]
enabled = true
username = "hook"
`

// bounceEnv is a daemon with the bounce SMTP server and the Postmark
// webhook, serving and accepting mail.
func bounceEnv(t *testing.T) (*testEnv, *Daemon) {
	e := mustEnv(t)
	raw, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfgPath, append(raw, bouncesConfig...), 0o644); err != nil {
		t.Fatal(err)
	}
	o := e.options()
	base := e.getenv
	o.Getenv = func(k string) string {
		if k == "BRIEFCAST_POSTMARK_PASSWORD" {
			return "hook-password"
		}
		return base(k)
	}
	d := e.mustDaemon(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d.bounces.start(ctx, d)
	return e, d
}

func mustActiveSubscriber(t *testing.T, d *Daemon, addr string) *subscribers.Subscriber {
	t.Helper()
	sub, _, err := d.store.(interface {
		Subscribe(context.Context, subscribers.SubscribeRequest) (*subscribers.Subscriber, subscribers.Outcome, error)
	}).Subscribe(context.Background(), subscribers.SubscribeRequest{Email: addr, Digests: []string{"daily"}, Active: true, Source: subscribers.SourceCLI})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func statusOf(t *testing.T, d *Daemon, id int64) subscribers.Status {
	t.Helper()
	sub, err := d.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sub.Status
}

// TestBounceOverSMTP: a confirmation goes out with a VERP return path; the
// bounce DSN sent back to that address over SMTP marks the subscriber
// bounced, and the same DSN again changes nothing.
func TestBounceOverSMTP(t *testing.T) {
	_, d := bounceEnv(t)
	sub := mustActiveSubscriber(t, d, "ann@example.org")
	m, err := d.cur.Load().composer.Confirmation(email.Recipient{ID: sub.ID, Email: sub.Email, TokenKey: sub.TokenKey}, "http://127.0.0.1/confirm?token=t")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.From, "bounces+") || !strings.HasSuffix(m.From, "@bounce.example.org") {
		t.Fatalf("envelope sender %q, want a VERP address on the bounce domain", m.From)
	}
	dsn := reportDSN(m.From, "ann@example.org")
	for i := range 2 {
		if err := smtp.SendMail(d.BouncesAddr(), nil, "", []string{m.From}, []byte(dsn)); err != nil {
			t.Fatalf("delivering the DSN (%d): %v", i, err)
		}
		if s := statusOf(t, d, sub.ID); s != subscribers.Bounced {
			t.Fatalf("after DSN %d: status %s, want bounced", i, s)
		}
	}
	evs, err := d.store.(interface {
		Events(context.Context, int64) ([]subscribers.Event, error)
	}).Events(context.Background(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(evs); n != 2 || !strings.Contains(evs[1].Reason, "5.1.1") || !strings.Contains(evs[1].Reason, "user unknown") {
		t.Fatalf("events %+v, want creation then one bounce naming 5.1.1 and the diagnostic", evs)
	}
}

// TestBounceWebhook: a Postmark spam complaint marks the subscriber
// complained; the webhook needs its credentials.
func TestBounceWebhook(t *testing.T) {
	_, d := bounceEnv(t)
	sub := mustActiveSubscriber(t, d, "bob@example.org")
	body := `{"RecordType":"SpamComplaint","ID":42,"Type":"SpamComplaint","Email":"bob@example.org","Description":"spam report"}`
	post := func(user, pass string) int {
		req := httptest.NewRequest("POST", "/webhooks/bounces/postmark", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(user, pass)
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post("hook", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", code)
	}
	if s := statusOf(t, d, sub.ID); s != subscribers.Active {
		t.Fatalf("after a refused call: %s, want active", s)
	}
	if code := post("hook", "hook-password"); code/100 != 2 {
		t.Fatalf("complaint: %d, want 2xx", code)
	}
	if s := statusOf(t, d, sub.ID); s != subscribers.Complained {
		t.Fatalf("after the complaint: %s, want complained", s)
	}
}

// BouncesAddr is the inbound bounce SMTP server's address, "" without one.
func (d *Daemon) BouncesAddr() string {
	if d.bounces.ln == nil {
		return ""
	}
	return d.bounces.ln.Addr().String()
}
