package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/backend/memory"
	"github.com/emersion/go-imap/client"
	"github.com/emersion/go-imap/server"

	"briefcast/email"
	"briefcast/subscribers"
)

// startIMAP serves go-imap's memory backend on loopback (user "username",
// password "password"; its INBOX starts with one message, already seen)
// and returns the address.
func startIMAP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(memory.New())
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// withMailbox runs f on a client logged in to addr with INBOX selected.
func withMailbox(t *testing.T, addr string, f func(c *client.Client)) {
	t.Helper()
	c, err := client.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout()
	if err := c.Login("username", "password"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", false); err != nil {
		t.Fatal(err)
	}
	f(c)
}

// flagsOf returns the flags of the INBOX message with the Message-ID id.
func flagsOf(t *testing.T, addr, id string) []string {
	t.Helper()
	var flags []string
	found := false
	withMailbox(t, addr, func(c *client.Client) {
		set := new(imap.SeqSet)
		set.AddRange(1, 0) // 1:*
		ch := make(chan *imap.Message, 10)
		done := make(chan error, 1)
		go func() { done <- c.Fetch(set, []imap.FetchItem{imap.FetchFlags, imap.FetchEnvelope}, ch) }()
		for m := range ch {
			if m.Envelope != nil && m.Envelope.MessageId == id {
				flags, found = m.Flags, true
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	if !found {
		t.Fatalf("no message %s in INBOX", id)
	}
	return flags
}

// TestBounceOverIMAP: a confirmation goes out with a VERP return path; the
// DSN for it waits in the bounce mailbox named by [bounces.imap]. One poll
// of the daemon's poller marks the subscriber bounced and the message
// \Seen, so the next poll does not take it again.
func TestBounceOverIMAP(t *testing.T) {
	imapAddr := startIMAP(t)
	host, port, err := net.SplitHostPort(imapAddr)
	if err != nil {
		t.Fatal(err)
	}
	e := mustEnv(t)
	raw, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`
[bounces]
domain = "bounce.example.org"

[bounces.imap]
host = %q
port = %s
username = "username"
password_env = "TEST_IMAP_PASSWORD"
tls = "none"
interval = "1h"
`, host, port)
	if err := os.WriteFile(e.cfgPath, append(raw, conf...), 0o644); err != nil {
		t.Fatal(err)
	}
	o := e.options()
	base := e.getenv
	o.Getenv = func(k string) string {
		if k == "TEST_IMAP_PASSWORD" {
			return "password"
		}
		return base(k)
	}
	d := e.mustDaemon(t, o)
	if d.bounces == nil || d.bounces.poller == nil {
		t.Fatal("[bounces.imap] built no poller")
	}
	t.Cleanup(func() { d.bounces.poller.Close() }) // polled here, never Run

	sub := mustActiveSubscriber(t, d, "cay@example.org")
	m, err := d.cur.Load().composer.Confirmation(email.Recipient{ID: sub.ID, Email: sub.Email, TokenKey: sub.TokenKey}, "http://127.0.0.1/confirm?token=t")
	if err != nil {
		t.Fatal(err)
	}
	withMailbox(t, imapAddr, func(c *client.Client) {
		if err := c.Append("INBOX", nil, time.Now(), bytes.NewBufferString(reportDSN(m.From, "cay@example.org"))); err != nil {
			t.Fatal(err)
		}
	})
	if f := flagsOf(t, imapAddr, "<dsn-1@mx.example.net>"); slices.Contains(f, imap.SeenFlag) {
		t.Fatalf("the DSN is seen before any poll: %v", f)
	}

	ctx := context.Background()
	n, err := d.bounces.poller.Poll(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Poll = %d, %v; want the one unseen DSN", n, err)
	}
	if s := statusOf(t, d, sub.ID); s != subscribers.Bounced {
		t.Fatalf("after the poll: status %s, want bounced", s)
	}
	if f := flagsOf(t, imapAddr, "<dsn-1@mx.example.net>"); !slices.Contains(f, imap.SeenFlag) {
		t.Errorf("the DSN's flags after the poll are %v, want \\Seen", f)
	}
	if n, err := d.bounces.poller.Poll(ctx); err != nil || n != 0 {
		t.Errorf("second Poll = %d, %v; want nothing new", n, err)
	}
}
