package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"briefcast/email"
	"briefcast/email/smtptest"
	"briefcast/subscribers"
	"briefcast/templates"
)

// smtpEnv is a server whose confirmations go through a QueuedMailer to a
// real SMTP server on loopback.
func smtpEnv(t *testing.T, opts smtptest.Options) (*env, *QueuedMailer, *smtptest.Server) {
	t.Helper()
	relay := smtptest.Start(t, opts)
	e := newEnv(t, "https://example.org/", fmt.Sprintf(`
[email.smtp]
host = "127.0.0.1"
port = %d
tls = "none"
timeout = "5s"
`, relay.Port()))
	e.cfg.Email.Transport = "smtp"
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	m := e.realMailer(t, log)
	m.backoff = 20 * time.Millisecond
	srv, err := New(optionsOf(e.cfg), e.store, m, e.signer, templates.Embedded(), log, WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	srv.SetSite(testSite(1))
	e.srv = srv
	return e, m, relay
}

// realMailer is a QueuedMailer with the real composer and the transport
// of e's config, closed at the end of the test.
func (e *env) realMailer(t *testing.T, log *slog.Logger) *QueuedMailer {
	t.Helper()
	composer, err := email.NewComposer(email.OptionsOf(e.cfg), templates.Embedded(), e.signer, email.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	transport, err := email.NewTransport(email.TransportOptionsOf(e.cfg), log)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMailer(composer, transport, log)
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

// closeMailer sends what is queued and fails the test if that takes long.
func closeMailer(t *testing.T, m *QueuedMailer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// A sign-up answers while the mail server is still busy with its
// confirmation: the page never waits for (or reveals) a message being sent.
func TestSignupDoesNotWaitForMailServer(t *testing.T) {
	release := make(chan struct{})
	e, m, relay := smtpEnv(t, smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
		if f.Stage == "data" {
			<-release // the server sits on the message until released
		}
		return nil
	}})
	answered := make(chan int, 1)
	go func() {
		answered <- e.post(t, "/subscribe", subscribeForm("slow.server@example.org"), "192.0.2.1").Code
	}()
	select {
	case code := <-answered:
		if code != 200 {
			t.Fatalf("subscribe: %d", code)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the sign-up waited for the mail server")
	}
	if n := relay.Count(); n != 0 {
		t.Fatalf("%d messages accepted before the server was released", n)
	}
	close(release)
	closeMailer(t, m)
	msgs := relay.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "slow.server@example.org" {
		t.Fatalf("messages after release: %+v", msgs)
	}
	if !strings.Contains(string(msgs[0].Data), "confirm?token=") {
		t.Errorf("the confirmation has no link:\n%s", msgs[0].Data)
	}
}

// A mail server that is down when someone signs up still gets the
// confirmation once it is back.
func TestConfirmationRetriedWhileServerDown(t *testing.T) {
	e, m, relay := smtpEnv(t, smtptest.Options{})
	relay.Refuse(true)
	if w := e.post(t, "/subscribe", subscribeForm("patient@example.org"), "192.0.2.1"); w.Code != 200 {
		t.Fatalf("subscribe: %d", w.Code)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(e.logs.String(), "confirmation_send_retry"); {
		if time.Now().After(deadline) {
			t.Fatalf("no retry logged:\n%s", e.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	relay.Refuse(false)
	for deadline := time.Now().Add(10 * time.Second); relay.Count() == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the confirmation never arrived:\n%s", e.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	closeMailer(t, m)
	if msgs := relay.Messages(); len(msgs) != 1 || msgs[0].To[0] != "patient@example.org" {
		t.Errorf("messages: %+v", msgs)
	}
	if strings.Contains(e.logs.String(), "patient@example.org") {
		t.Errorf("the logs name the address:\n%s", e.logs.String())
	}
}

// A message refused for good (5xx) is given up at once and logged;
// it does not block the confirmations queued behind it.
func TestConfirmationGivenUp(t *testing.T) {
	e, m, relay := smtpEnv(t, smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
		if f.Stage == "rcpt" && f.Rcpt == "refused@example.org" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}})
	for i, addr := range []string{"refused@example.org", "fine@example.org"} {
		if w := e.post(t, "/subscribe", subscribeForm(addr), fmt.Sprintf("192.0.2.%d", i+1)); w.Code != 200 {
			t.Fatalf("subscribe %s: %d", addr, w.Code)
		}
	}
	closeMailer(t, m)
	if msgs := relay.Messages(); len(msgs) != 1 || msgs[0].To[0] != "fine@example.org" {
		t.Errorf("messages: %+v", msgs)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "confirmation_send_failed") || strings.Contains(logs, "confirmation_send_retry") {
		t.Errorf("a 550 must be logged as failed, without retries:\n%s", logs)
	}
	sub, err := e.store.GetByEmail(context.Background(), "refused@example.org")
	if err != nil || sub.Status != subscribers.Pending {
		t.Errorf("refused address: %+v, %v; want it pending", sub, err)
	}
}

// After Close the mailer refuses new work instead of losing it silently.
func TestMailerClosed(t *testing.T) {
	_, m, _ := smtpEnv(t, smtptest.Options{})
	closeMailer(t, m)
	ran := false
	err := m.Enqueue(context.Background(), func(context.Context) (*Confirmation, error) { ran = true; return nil, nil })
	if err == nil || ran {
		t.Errorf("Enqueue after Close: err %v, job ran %v", err, ran)
	}
}
