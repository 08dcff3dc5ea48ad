package intake

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/backend"
	"github.com/emersion/go-imap/backend/memory"
	"github.com/emersion/go-imap/client"
	"github.com/emersion/go-imap/server"
)

// imapServer is go-imap's own server over its memory backend (user
// "username", password "password"; INBOX holds one message, already seen),
// on loopback. restart stops it and serves the same mailboxes again on the
// same address.
type imapServer struct {
	t    *testing.T
	be   backend.Backend
	addr string
	srv  *server.Server
	done chan struct{}
}

func startIMAP(t *testing.T) *imapServer {
	s := &imapServer{t: t, be: memory.New(), addr: "127.0.0.1:0"}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *imapServer) start() {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.srv = server.New(s.be)
	s.srv.AllowInsecureAuth = true
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
}

func (s *imapServer) stop() {
	if s.srv != nil {
		s.srv.Close()
		<-s.done
		s.srv = nil
	}
}

func (s *imapServer) restart() {
	s.stop()
	s.start()
}

// admin runs f on a fresh client logged in with INBOX selected.
func (s *imapServer) admin(f func(c *client.Client)) {
	s.t.Helper()
	c, err := client.Dial(s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	defer c.Logout()
	if err := c.Login("username", "password"); err != nil {
		s.t.Fatal(err)
	}
	if _, err := c.Select("INBOX", false); err != nil {
		s.t.Fatal(err)
	}
	f(c)
}

func (s *imapServer) deliver(bodies ...string) {
	s.t.Helper()
	s.admin(func(c *client.Client) {
		for _, b := range bodies {
			if err := c.Append("INBOX", nil, time.Now(), bytes.NewBufferString(b)); err != nil {
				s.t.Fatal(err)
			}
		}
	})
}

// contents lists "subject flags" of each message in mailbox.
func (s *imapServer) contents(mailbox string) []string {
	s.t.Helper()
	var out []string
	s.admin(func(c *client.Client) {
		st, err := c.Select(mailbox, true)
		if err != nil {
			s.t.Fatal(err)
		}
		if st.Messages == 0 {
			return
		}
		set := new(imap.SeqSet)
		set.AddRange(1, st.Messages)
		ch := make(chan *imap.Message, 10)
		done := make(chan error, 1)
		go func() { done <- c.Fetch(set, []imap.FetchItem{imap.FetchFlags, imap.FetchEnvelope}, ch) }()
		for m := range ch {
			flags := append([]string(nil), m.Flags...)
			sort.Strings(flags)
			out = append(out, m.Envelope.Subject+" "+strings.Join(flags, ","))
		}
		if err := <-done; err != nil {
			s.t.Fatal(err)
		}
	})
	sort.Strings(out)
	return out
}

func bounce(subject string) string {
	return "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces+abc@b.example.org\r\nSubject: " + subject + "\r\n\r\nUser unknown.\r\n"
}

func newPoller(t *testing.T, s *imapServer, sink Sink, o IMAPOptions) *Poller {
	t.Helper()
	o.Addr, o.Username, o.Password, o.TLS, o.Sink, o.Logger = s.addr, "username", "password", "none", sink, quiet()
	p, err := NewPoller(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func subjects(msgs [][]byte) []string {
	var out []string
	for _, m := range msgs {
		_, after, _ := strings.Cut(string(m), "Subject: ")
		subj, _, _ := strings.Cut(after, "\r\n")
		out = append(out, subj)
	}
	sort.Strings(out)
	return out
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func TestIMAPProcessesUnseenAndMarksThemSeen(t *testing.T) {
	s := startIMAP(t)
	s.deliver(bounce("one"), bounce("two"))
	sink := &recorder{}
	p := newPoller(t, s, sink, IMAPOptions{})
	n, err := p.Poll(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("Poll = %d, %v; want 2, nil", n, err)
	}
	equal(t, "sink got", subjects(sink.messages()), []string{"one", "two"})
	if got := string(sink.messages()[0]); !strings.Contains(got, "User unknown.") {
		t.Errorf("sink got %q, want the whole message", got)
	}
	equal(t, "INBOX", s.contents("INBOX"), []string{"A little message, just for you \\Seen", "one \\Seen", "two \\Seen"})

	// Nothing new: nothing is processed twice.
	if n, err := p.Poll(context.Background()); err != nil || n != 0 {
		t.Fatalf("second Poll = %d, %v; want 0, nil", n, err)
	}
	if len(sink.messages()) != 2 {
		t.Errorf("sink got %d messages after a poll with nothing new, want 2", len(sink.messages()))
	}
}

func TestIMAPFailingSinkLeavesMessageUnseen(t *testing.T) {
	s := startIMAP(t)
	s.deliver(bounce("one"))
	sink := &recorder{fail: true}
	p := newPoller(t, s, sink, IMAPOptions{})
	if n, err := p.Poll(context.Background()); err == nil || n != 0 {
		t.Fatalf("Poll with a failing sink = %d, %v; want 0 and an error", n, err)
	}
	equal(t, "INBOX after the failure", s.contents("INBOX"), []string{"A little message, just for you \\Seen", "one "})

	sink.setFail(false)
	if n, err := p.Poll(context.Background()); err != nil || n != 1 {
		t.Fatalf("retry Poll = %d, %v; want 1, nil", n, err)
	}
	equal(t, "sink got", subjects(sink.messages()), []string{"one"})
	equal(t, "INBOX after the retry", s.contents("INBOX"), []string{"A little message, just for you \\Seen", "one \\Seen"})
}

func TestIMAPMoveTo(t *testing.T) {
	s := startIMAP(t)
	s.admin(func(c *client.Client) {
		if err := c.Create("Processed"); err != nil {
			t.Fatal(err)
		}
	})
	s.deliver(bounce("one"))
	p := newPoller(t, s, &recorder{}, IMAPOptions{MoveTo: "Processed"})
	if n, err := p.Poll(context.Background()); err != nil || n != 1 {
		t.Fatalf("Poll = %d, %v; want 1, nil", n, err)
	}
	equal(t, "INBOX", s.contents("INBOX"), []string{"A little message, just for you \\Seen"})
	equal(t, "Processed", s.contents("Processed"), []string{"one \\Seen"})
}

func TestIMAPDeleteOnlyWhenAsked(t *testing.T) {
	s := startIMAP(t)
	s.deliver(bounce("one"))
	p := newPoller(t, s, &recorder{}, IMAPOptions{Delete: true})
	if n, err := p.Poll(context.Background()); err != nil || n != 1 {
		t.Fatalf("Poll = %d, %v; want 1, nil", n, err)
	}
	equal(t, "INBOX", s.contents("INBOX"), []string{"A little message, just for you \\Seen"})
}

func TestIMAPRecoversFromRestart(t *testing.T) {
	s := startIMAP(t)
	s.deliver(bounce("one"))
	sink := &recorder{}
	p := newPoller(t, s, sink, IMAPOptions{})
	if n, err := p.Poll(context.Background()); err != nil || n != 1 {
		t.Fatalf("Poll = %d, %v; want 1, nil", n, err)
	}
	s.restart()
	s.deliver(bounce("two"))
	// The first poll after the restart may find its connection dead; the
	// poller must then reconnect on the next.
	var n int
	var err error
	for i := 0; i < 2 && n == 0; i++ {
		n, err = p.Poll(context.Background())
	}
	if n != 1 {
		t.Fatalf("after the restart: Poll = %d, %v; want 1", n, err)
	}
	equal(t, "sink got", subjects(sink.messages()), []string{"one", "two"})
}

func TestIMAPRunKeepsPollingAcrossRestart(t *testing.T) {
	s := startIMAP(t)
	s.deliver(bounce("one"))
	sink := &recorder{got: make(chan struct{}, 10)}
	p := newPoller(t, s, sink, IMAPOptions{Interval: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()
	<-sink.got
	s.restart()
	s.deliver(bounce("two"))
	// "one" may come again: the restart can cut the connection between the
	// sink's success and \Seen, and then the message is processed again.
	for !strings.Contains(strings.Join(subjects(sink.messages()), " "), "two") {
		<-sink.got
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := subjects(sink.messages())
	if got[0] != "one" || got[len(got)-1] != "two" {
		t.Errorf("sink got %q, want one and two", got)
	}
}

func TestIMAPOptionsChecked(t *testing.T) {
	for name, o := range map[string]IMAPOptions{
		"no port": {Addr: "mail.example.org", TLS: "tls", Sink: &recorder{}},
		"bad tls": {Addr: "mail.example.org:993", TLS: "ssl", Sink: &recorder{}},
		"no sink": {Addr: "mail.example.org:993", TLS: "tls"},
	} {
		if _, err := NewPoller(o); err == nil {
			t.Errorf("%s: NewPoller accepted %+v", name, o)
		}
	}
}
