// Package intake is how bounce reports and complaints reach briefcast: an
// SMTP server for the bounce domain, a poller for a mailbox, and webhooks
// for mail providers (Amazon SES through SNS, Postmark, Mailgun, SendGrid).
// None of them interprets a bounce: each hands what arrived to a Sink, which
// the parser and the subscriber store provide.
package intake

import (
	"context"
	"log"
	"log/slog"
	"strings"
	"time"
)

// Sink receives what arrived. Its errors mean "try again later": the SMTP
// server answers 451, the poller leaves the message unseen, a webhook answers
// 500 so the provider redelivers. A message or event that is understood but
// concerns nobody (an unknown recipient, a report that is not a bounce) is
// not an error: return nil, so nothing tells a sender who is subscribed.
type Sink interface {
	// Message processes one raw message (RFC 5322 bytes) that arrived for
	// the bounce domain. The SMTP server adds Return-Path and Delivered-To
	// header fields on top, as a delivering MTA does, so the parser finds
	// the VERP address in the same place for every way in.
	Message(ctx context.Context, raw []byte) error
	// Event processes one provider event (webhooks). The same event may
	// come more than once: Event.Key is the same for every copy.
	Event(ctx context.Context, e Event) error
}

// Kind is what happened to a recipient.
type Kind string

// The kinds of events a provider reports.
const (
	Hard      Kind = "hard"      // the address does not take mail
	Soft      Kind = "soft"      // a temporary failure: full mailbox, greylisting, a block
	Complaint Kind = "complaint" // the recipient marked a message as spam
)

// Event is one provider report about one recipient.
type Event struct {
	Kind      Kind
	Recipient string // the address the message was sent to
	Status    string // enhanced status code such as "5.1.1", or the SMTP code, when known
	Reason    string // the provider's or remote server's words
	Provider  string // "ses", "postmark", "mailgun" or "sendgrid"
	// ID is the provider's id of the report. Together with Provider and
	// Recipient (Key) it identifies the event across redeliveries.
	ID string
	// Sender is the envelope sender of the original message when the
	// provider reports it: the VERP address, for bounces/verp.Decode.
	Sender string
	// MessageID is the provider's id of the original message, when known.
	MessageID string
	Time      time.Time
}

// Key identifies an event across redeliveries: a store keeps it to make a
// redelivered event change nothing.
func (e Event) Key() string {
	return e.Provider + "\x00" + e.ID + "\x00" + strings.ToLower(e.Recipient)
}

// libLogger puts a library's Printf/Println log on slog behind prefix:
// go-smtp's error log at warning, go-imap's client log at debug (its read
// errors follow a dropped connection, which Poll reports itself).
func libLogger(l *slog.Logger, level slog.Level, prefix string) *log.Logger {
	ll := slog.NewLogLogger(l.Handler(), level)
	ll.SetPrefix(prefix)
	return ll
}

// positive is v, or def when v is not above zero.
func positive[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
