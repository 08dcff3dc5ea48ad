package intake

import (
	"bufio"
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

func startSMTP(t *testing.T, o SMTPOptions) string {
	t.Helper()
	o.Logger = quiet()
	s, err := NewSMTP(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func send(addr, from string, to []string, body string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func code(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

const dsn = "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces+abc@b.example.org\r\nSubject: Undelivered Mail\r\n\r\nThe address was not found.\r\n"

func TestSMTPAcceptsForBounceDomain(t *testing.T) {
	sink := &recorder{}
	addr := startSMTP(t, SMTPOptions{Domain: "B.example.org", Sink: sink})
	if err := send(addr, "", []string{"bounces+abc@B.EXAMPLE.org"}, dsn); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := sink.messages()
	if len(msgs) != 1 {
		t.Fatalf("sink got %d messages, want 1", len(msgs))
	}
	got := string(msgs[0])
	want := "Return-Path: <>\r\nDelivered-To: bounces+abc@B.EXAMPLE.org\r\n" + dsn
	if got != want {
		t.Errorf("sink got\n%q\nwant\n%q", got, want)
	}
}

func TestSMTPRefusesRelay(t *testing.T) {
	sink := &recorder{}
	addr := startSMTP(t, SMTPOptions{Domain: "b.example.org", Sink: sink})
	for _, rcpt := range []string{"someone@example.com", "bounces+abc@sub.b.example.org", "bounces+abc@b.example.org.evil.net"} {
		err := send(addr, "spam@example.com", []string{rcpt}, dsn)
		if code(err) != 550 || !strings.Contains(err.Error(), "5.7.1") {
			t.Errorf("RCPT %s: got %v, want 550 5.7.1", rcpt, err)
		}
	}
	if n := len(sink.messages()); n != 0 {
		t.Errorf("sink got %d messages for other domains", n)
	}
}

func TestSMTPCapsSize(t *testing.T) {
	sink := &recorder{}
	addr := startSMTP(t, SMTPOptions{Domain: "b.example.org", Sink: sink, MaxBytes: 1000})
	big := dsn + strings.Repeat(strings.Repeat("x", 70)+"\r\n", 30)
	err := send(addr, "", []string{"bounces+abc@b.example.org"}, big)
	if code(err) != 552 || !strings.Contains(err.Error(), "5.3.4") {
		t.Fatalf("oversized message: got %v, want 552 5.3.4", err)
	}
	if err := send(addr, "", []string{"bounces+abc@b.example.org"}, dsn); err != nil {
		t.Fatalf("a small message after a big one: %v", err)
	}
	if n := len(sink.messages()); n != 1 {
		t.Errorf("sink got %d messages, want only the small one", n)
	}
}

func TestSMTPSinkErrorIsTemporary(t *testing.T) {
	sink := &recorder{fail: true}
	addr := startSMTP(t, SMTPOptions{Domain: "b.example.org", Sink: sink})
	err := send(addr, "", []string{"bounces+abc@b.example.org"}, dsn)
	if code(err) != 451 {
		t.Fatalf("sink failing: got %v, want 451 so the sender retries", err)
	}
	sink.setFail(false)
	if err := send(addr, "", []string{"bounces+abc@b.example.org"}, dsn); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(sink.messages()); n != 1 {
		t.Errorf("sink kept %d messages after the retry, want 1", n)
	}
}

func greeting(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading greeting: %v", err)
	}
	return line
}

func TestSMTPLimitsConnections(t *testing.T) {
	addr := startSMTP(t, SMTPOptions{Domain: "b.example.org", Sink: &recorder{}, MaxConns: 1})
	first, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Hello("client.example.net"); err != nil {
		t.Fatal(err)
	}
	if g := greeting(t, addr); !strings.HasPrefix(g, "421 ") {
		t.Fatalf("second connection while the first is open: greeting %q, want 421", g)
	}
	if err := first.Quit(); err != nil {
		t.Fatal(err)
	}
	// The slot comes back when the server has closed the first connection,
	// just after its 221 reply.
	for i := 0; ; i++ {
		g := greeting(t, addr)
		if strings.HasPrefix(g, "220 ") {
			break
		}
		if i == 200 {
			t.Fatalf("after the first connection quit: greeting %q, want 220", g)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSMTPIdleTimeout(t *testing.T) {
	addr := startSMTP(t, SMTPOptions{Domain: "b.example.org", Sink: &recorder{}, Timeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	// Saying nothing, the client must be cut off by the server (the read
	// deadline above is only there so a failure does not hang).
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept an idle connection open")
			}
			return
		}
		if !strings.HasPrefix(line, "421") {
			t.Fatalf("unexpected line %q", line)
		}
	}
}
