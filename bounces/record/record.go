// Package record takes bounce reports from bounces/intake to the store:
// a raw bounce message is parsed (by a parser handed in), its return path
// decoded (bounces/verp) to name the edition and subscriber, and each
// finding recorded once; a provider event is recorded as it is. What a
// report does to a subscriber is subscribers.PlanBounce, applied by the
// store in the same transaction that keeps the report.
package record

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"briefcast/bounces"
	"briefcast/bounces/intake"
	"briefcast/bounces/verp"
	"briefcast/editions"
	"briefcast/subscribers"
)

// Finding is what a parser read about one recipient of a bounce message.
// Kind is "hard", "soft", "complaint" or "none".
type Finding struct {
	Kind, Recipient, Status, Reason string
}

// ParseFunc reads a raw bounce message (DSN, ARF or a provider's own
// format) into findings; nil findings and a nil error for a message that
// is no bounce.
type ParseFunc func(r io.Reader) ([]Finding, error)

// Store is what the Recorder needs from the store (package store has it).
type Store interface {
	// RecordBounce keeps one report, once per key, and applies it.
	RecordBounce(ctx context.Context, b subscribers.Bounce, softLimit int) (subscribers.BounceOutcome, error)
	// BounceCounts counts an edition's reports by kind.
	BounceCounts(ctx context.Context, editionID int64) (editions.BounceCounts, error)
	// Progress counts an edition's deliveries by state.
	Progress(ctx context.Context, editionID int64) (editions.Progress, error)
}

// Options configure a Recorder.
type Options struct {
	Store Store
	Parse ParseFunc
	// Key is the return-path secret (verp.Key of the subscriptions
	// secret); without it no return path is trusted and reports are
	// matched by address only.
	Key       []byte
	SoftLimit int    // subscribers.DefaultSoftLimit when 0
	Source    string // how raw messages come in: "smtp", "imap", "file"
	Now       func() time.Time
	Logger    *slog.Logger
	// OnRecorded, when set, is called for every report newly kept (metrics).
	OnRecorded func(b subscribers.Bounce, o subscribers.BounceOutcome)
}

// Recorder is an intake.Sink over the store, safe for concurrent use.
type Recorder struct{ o Options }

var _ intake.Sink = (*Recorder)(nil)

// New checks o and returns its Recorder.
func New(o Options) (*Recorder, error) {
	if o.Store == nil || o.Parse == nil {
		return nil, errors.New("record: a store and a parser are required")
	}
	if o.SoftLimit <= 0 {
		o.SoftLimit = subscribers.DefaultSoftLimit
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Logger = cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	return &Recorder{o: o}, nil
}

// WithSource returns a Recorder like r that labels raw messages source.
func (r *Recorder) WithSource(source string) *Recorder {
	o := r.o
	o.Source = source
	return &Recorder{o: o}
}

// Recorded is one finding of a message and what keeping it did.
type Recorded struct {
	Bounce  subscribers.Bounce
	Outcome subscribers.BounceOutcome
}

// Message parses raw and records each finding; a message that cannot be
// parsed or holds no bounce is logged and dropped (trying again would not
// help). Only a store failure is an error, so the sender tries later.
func (r *Recorder) Message(ctx context.Context, raw []byte) error {
	_, err := r.Apply(ctx, raw)
	return err
}

// Apply is Message returning what was recorded.
func (r *Recorder) Apply(ctx context.Context, raw []byte) ([]Recorded, error) {
	findings, err := r.o.Parse(bytes.NewReader(raw))
	if err != nil {
		r.o.Logger.Warn("bounce_unparsed", "source", r.o.Source, "bytes", len(raw), "err", err)
		return nil, nil
	}
	id, edition, subscriber := r.reportID(raw)
	var out []Recorded
	for _, f := range findings {
		kind := subscribers.BounceKind(strings.ToLower(f.Kind))
		if !kind.Valid() {
			continue
		}
		b := subscribers.Bounce{
			Kind: kind, Recipient: f.Recipient, Status: f.Status, Reason: f.Reason,
			Source: r.o.Source, At: r.o.Now(),
			EditionID: edition, SubscriberID: subscriber,
		}
		// One key per finding: the message, the recipient and the kind.
		b.Key = "message\x00" + id + "\x00" + strings.ToLower(strings.Trim(strings.TrimSpace(b.Recipient), "<>")) + "\x00" + string(kind)
		o, err := r.record(ctx, b)
		if err != nil {
			return out, err
		}
		out = append(out, Recorded{Bounce: b, Outcome: o})
	}
	if len(out) == 0 {
		r.o.Logger.Info("bounce_ignored", "source", r.o.Source, "bytes", len(raw), "findings", len(findings))
	}
	return out, nil
}

// Event records one provider event under its own key.
func (r *Recorder) Event(ctx context.Context, e intake.Event) error {
	kind := subscribers.BounceKind(e.Kind)
	if !kind.Valid() {
		return nil
	}
	at := e.Time
	if at.IsZero() {
		at = r.o.Now()
	}
	b := subscribers.Bounce{
		Key: e.Key(), Kind: kind, Recipient: e.Recipient, Status: e.Status, Reason: e.Reason,
		Source: e.Provider, At: at,
	}
	b.EditionID, b.SubscriberID, _ = r.decode(e.Sender)
	_, err := r.record(ctx, b)
	return err
}

// record keeps b, logs what it did and warns when the edition's rates
// pass their limits with it.
func (r *Recorder) record(ctx context.Context, b subscribers.Bounce) (subscribers.BounceOutcome, error) {
	o, err := r.o.Store.RecordBounce(ctx, b, r.o.SoftLimit)
	if err != nil {
		return o, fmt.Errorf("record: %s bounce from %s: %w", b.Kind, b.Source, err)
	}
	if o.Duplicate {
		r.o.Logger.Info("bounce_duplicate", "source", b.Source, "kind", b.Kind)
		return o, nil
	}
	r.o.Logger.Info("bounce_recorded", "source", b.Source, "kind", b.Kind, "status", b.Status,
		"edition_id", b.EditionID, "subscriber_id", o.SubscriberID, "from", o.From, "to", o.To)
	if r.o.OnRecorded != nil {
		r.o.OnRecorded(b, o)
	}
	if b.EditionID > 0 && o.Digest != "" && b.Kind != subscribers.BounceSoft {
		r.warnRates(ctx, b.EditionID, o.Digest)
	}
	return o, nil
}

// warnRates logs once per report that keeps an edition over a limit.
func (r *Recorder) warnRates(ctx context.Context, editionID int64, digest string) {
	c, err := r.o.Store.BounceCounts(ctx, editionID)
	if err != nil {
		return
	}
	p, err := r.o.Store.Progress(ctx, editionID)
	if err != nil {
		return
	}
	for _, w := range c.Warnings(p) {
		r.o.Logger.Warn("edition_bounce_rate_high", "digest", digest, "edition_id", editionID, "warning", w)
	}
}

// envelopeFields hold the address a message was delivered to; the SMTP
// server and most MTAs add Delivered-To or X-Original-To on top.
var envelopeFields = []string{"Delivered-To", "X-Original-To", "Envelope-To", "To", "Return-Path"}

// verpPattern finds candidate return paths anywhere in a message: a
// complaint (ARF) carries the original message, whose Return-Path is
// ours, and a DSN often quotes the original's headers.
var verpPattern = regexp.MustCompile(`(?i)` + regexp.QuoteMeta(verp.Prefix) + `[a-z2-7]{8,60}@[a-z0-9.-]{1,253}`)

// reportID names a bounce message across copies, so the same bounce
// arriving by SMTP and again through the mailbox is taken once: by the
// first of its addresses that decodes as one of our return paths (the
// envelope header fields first, then anywhere), with the ids it names;
// else by its Message-ID; else by its bytes.
func (r *Recorder) reportID(raw []byte) (id string, edition, subscriber int64) {
	var cands []string
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err == nil {
		for _, f := range envelopeFields {
			for _, v := range m.Header[f] {
				cands = append(cands, verpPattern.FindAllString(v, -1)...)
			}
		}
	}
	for _, c := range verpPattern.FindAll(raw, 20) {
		cands = append(cands, string(c))
	}
	for _, c := range cands {
		if ed, sub, ok := r.decode(c); ok {
			return strings.ToLower(c), ed, sub
		}
	}
	if err == nil {
		if id := strings.TrimSpace(m.Header.Get("Message-Id")); id != "" {
			return id, 0, 0
		}
	}
	h := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(h[:]), 0, 0
}

func (r *Recorder) decode(addr string) (edition, subscriber int64, ok bool) {
	if len(r.o.Key) == 0 || addr == "" {
		return 0, 0, false
	}
	return verp.Decode(r.o.Key, addr)
}

// Parse is the ParseFunc of briefcast: the bounces package's reading of
// DSNs, ARF reports and the text bounces of common mail servers. Results
// that name no recipient are left out: they cannot be applied to anyone.
func Parse(r io.Reader) ([]Finding, error) {
	rs, err := bounces.Parse(r)
	if err != nil {
		return nil, err
	}
	out := make([]Finding, 0, len(rs))
	for _, x := range rs {
		if x.Recipient == "" {
			continue
		}
		out = append(out, Finding{Kind: string(x.Kind), Recipient: x.Recipient, Status: x.Status, Reason: x.Reason})
	}
	return out, nil
}
