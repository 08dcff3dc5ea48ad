package email

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"briefcast/email/smtptest"
)

func withReturnPath(from string, msg []byte) []byte {
	return append([]byte("Return-Path: <"+from+">\r\n"), msg...)
}

// verpLike stands in for bounces/verp: any function of the two ids.
func verpLike(editionID, subscriberID int64) string {
	return fmt.Sprintf("bounces+e%ds%d@bounce.example.org", editionID, subscriberID)
}

// TestReturnPathSMTP checks that the relay is told each message's own
// envelope sender: the edition and subscriber for a digest, edition 0 for
// a confirmation, while the From header stays the list's address.
func TestReturnPathSMTP(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := smtpConfig(t, srv, "none", "", "")
	c := mustComposer(t, cfg, WithReturnPath(verpLike))
	e := testEdition(cfg)
	e.ID = 17
	conn := mustOpen(t, cfg)
	m, _, err := c.Digest(e, Recipient{ID: 5, Email: "r5@example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(context.Background(), m); err != nil {
		t.Fatalf("Send digest: %v", err)
	}
	cm, err := c.Confirmation(Recipient{ID: 9, Email: "n@example.com"}, "https://example.org/news/confirm?token=t")
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(context.Background(), cm); err != nil {
		t.Fatalf("Send confirmation: %v", err)
	}
	got := srv.Messages()
	want := []string{"bounces+e17s5@bounce.example.org", "bounces+e0s9@bounce.example.org"}
	if len(got) != len(want) {
		t.Fatalf("server got %d messages, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.From != want[i] {
			t.Errorf("message %d: MAIL FROM %q, want %q", i, r.From, want[i])
		}
		if h := mustParse(t, r.Data).header.Get("From"); !bytes.Contains([]byte(h), []byte("brief@example.org")) {
			t.Errorf("message %d: From header %q, want the list's address", i, h)
		}
	}
}

// TestReturnPathDefault checks that without a return path (no bounce
// domain) MAIL FROM stays the From address, as before.
func TestReturnPathDefault(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := smtpConfig(t, srv, "none", "", "")
	c := mustComposer(t, cfg)
	m, _, err := c.Digest(testEdition(cfg), Recipient{ID: 5, Email: "r5@example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mustOpen(t, cfg).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || got[0].From != "brief@example.org" {
		t.Fatalf("MAIL FROM %+v, want brief@example.org", got)
	}
}

// TestReturnPathFile checks that the outbox file starts with the
// Return-Path line a delivering MTA would add.
func TestReturnPathFile(t *testing.T) {
	cfg := mustConfig(t, "")
	c := mustComposer(t, cfg, WithReturnPath(verpLike))
	e := testEdition(cfg)
	e.ID = 3
	m, _, err := c.Digest(e, Recipient{ID: 4, Email: "r4@example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mustOpen(t, cfg).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(cfg.Email.OutboxDir, "daily", "20261125T1200Z", "4.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Return-Path: <bounces+e3s4@bounce.example.org>\r\n"; !bytes.HasPrefix(raw, []byte(want)) {
		t.Fatalf("outbox file starts %q, want %q", raw[:min(len(raw), 80)], want)
	}
}

// TestEnvelopeSenderRefused checks that an envelope sender that could
// smuggle a command is refused, not sent.
func TestEnvelopeSenderRefused(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := smtpConfig(t, srv, "none", "", "")
	c := mustComposer(t, cfg, WithReturnPath(func(int64, int64) string { return "a@b>\r\nRCPT TO:<x@y" }))
	m, _, err := c.Digest(testEdition(cfg), Recipient{ID: 5, Email: "r5@example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mustOpen(t, cfg).Send(context.Background(), m); err == nil {
		t.Fatal("Send with a line break in the envelope sender succeeded")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server got %d messages, want 0", n)
	}
}
