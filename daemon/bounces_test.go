package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"briefcast/bounces/record"
	"briefcast/email"
	"briefcast/subscribers"
)

// testDSNParser reads the per-recipient fields of a minimal RFC 3464
// report: just enough of a parser for these tests.
func testDSNParser(r io.Reader) ([]record.Finding, error) {
	var out []record.Finding
	var f record.Finding
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch textproto.CanonicalMIMEHeaderKey(k) {
		case "Final-Recipient":
			f = record.Finding{Recipient: strings.TrimPrefix(v, "rfc822;")}
		case "Status":
			f.Status = v
			f.Kind = map[byte]string{'5': "hard", '4': "soft"}[v[0]]
		case "Diagnostic-Code":
			f.Reason = v
			out = append(out, f)
		}
	}
	return out, sc.Err()
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
	o.ParseBounce = testDSNParser
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
	dsn := fmt.Sprintf("From: MAILER-DAEMON@mx.example.net\r\nTo: %s\r\nSubject: Undelivered Mail\r\nMessage-ID: <dsn-1@mx.example.net>\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822;ann@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n", m.From)
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

// TestBounceListenNeedsParser: the SMTP server is refused at start
// without a parser rather than taking mail it would drop.
func TestBounceListenNeedsParser(t *testing.T) {
	e := mustEnv(t)
	raw, _ := os.ReadFile(e.cfgPath)
	os.WriteFile(e.cfgPath, append(raw, bouncesConfig...), 0o644)
	cfg, err := e.load()
	if err != nil {
		t.Fatal(err)
	}
	o := e.options()
	o.Getenv = func(k string) string {
		if k == "BRIEFCAST_POSTMARK_PASSWORD" {
			return "p"
		}
		return e.getenv(k)
	}
	if d, err := New(context.Background(), cfg, o); err == nil || !strings.Contains(err.Error(), "bounce parser") {
		if d != nil {
			d.close()
		}
		t.Fatalf("New without a parser: %v, want an error naming the parser", err)
	}
}
