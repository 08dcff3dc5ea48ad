package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"briefcast/bounces/intake"
	"briefcast/bounces/record"
	"briefcast/bounces/verp"
	"briefcast/config"
	"briefcast/subscribers"
	"briefcast/tokens"
)

// recorderOptions configures the bounce sink.
func recorderOptions(cfg *config.Config, st record.Store, secret []byte, log *slog.Logger) record.Options {
	return record.Options{Store: st, Parse: record.Parse, Key: verp.Key(secret), SoftLimit: cfg.Bounces.SoftLimit, Logger: log}
}

// newRecorder builds the daemon's bounce sink, which counts in the metrics.
func (d *Daemon) newRecorder(cfg *config.Config, secret []byte) (*record.Recorder, error) {
	o := recorderOptions(cfg, d.store, secret, d.log)
	o.Now = d.o.Now
	o.OnRecorded = func(b subscribers.Bounce, out subscribers.BounceOutcome) { d.m.Bounce(out.Digest, string(b.Kind)) }
	return record.New(o)
}

// NewRecorder builds the bounce sink the daemon uses, for the commands
// that apply bounce messages outside it. Raw messages are labelled source.
func NewRecorder(cfg *config.Config, st record.Store, source string, log *slog.Logger) (*record.Recorder, error) {
	secret, err := tokens.LoadSecret(cfg.Subscriptions.Secret, cfg.Subscriptions.SecretEnv, cfg.DataDir, log)
	if err != nil {
		return nil, err
	}
	o := recorderOptions(cfg, st, secret, log)
	o.Source = source
	return record.New(o)
}

// webhooks builds the enabled provider webhooks, by route.
func (d *Daemon) webhooks(cfg *config.Config, sink intake.Sink) (map[string]http.Handler, error) {
	w := cfg.Bounces.Webhooks
	sec, err := cfg.Bounces.Secrets(d.o.Getenv)
	if err != nil {
		return nil, err
	}
	hs := map[string]http.Handler{}
	var first error // the one reported
	add := func(name string, h http.Handler, err error) {
		if err != nil && first == nil {
			first = fmt.Errorf("bounces.webhooks.%s: %w", name, err)
		}
		hs["/webhooks/bounces/"+name] = h
	}
	if s := w.SES; s != nil && s.Enabled {
		h, err := intake.NewSES(intake.SESOptions{Sink: sink, TopicARNs: s.TopicARN, CertHosts: s.CertHosts, Logger: d.log})
		add("ses", h, err)
	}
	if p := w.Postmark; p != nil && p.Enabled {
		h, err := intake.NewPostmark(intake.PostmarkOptions{Sink: sink, Username: p.Username, Password: sec.PostmarkPassword, Logger: d.log})
		add("postmark", h, err)
	}
	if m := w.Mailgun; m != nil && m.Enabled {
		h, err := intake.NewMailgun(intake.MailgunOptions{Sink: sink, SigningKey: []byte(sec.MailgunSigningKey), Now: d.o.Now, Logger: d.log})
		add("mailgun", h, err)
	}
	if s := w.SendGrid; s != nil && s.Enabled {
		h, err := intake.NewSendGrid(intake.SendGridOptions{Sink: sink, PublicKey: sec.SendGridPublicKey, Logger: d.log})
		add("sendgrid", h, err)
	}
	if first != nil {
		return nil, first
	}
	return hs, nil
}

// currentSink hands bounces to the current graph's recorder, across reloads.
type currentSink struct {
	d      *Daemon
	source string
}

func (s currentSink) Message(ctx context.Context, raw []byte) error {
	return s.d.cur.Load().recorder.WithSource(s.source).Message(ctx, raw)
}

func (s currentSink) Event(ctx context.Context, e intake.Event) error {
	return s.d.cur.Load().recorder.Event(ctx, e)
}

// bounceIntake is the inbound SMTP server and the mailbox poller of the process.
type bounceIntake struct {
	ln     net.Listener
	smtp   *intake.SMTPServer
	poller *intake.Poller
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newBounceIntake binds the SMTP listener and builds the poller of cfg.
func (d *Daemon) newBounceIntake(ctx context.Context, cfg *config.Config) (*bounceIntake, error) {
	b := cfg.Bounces
	bi := &bounceIntake{}
	if b.Listen != "" {
		var err error
		bi.smtp, err = intake.NewSMTP(intake.SMTPOptions{Domain: b.Domain, MaxBytes: b.MaxBytes, MaxConns: b.MaxConnections,
			Timeout: b.Timeout.Duration, Sink: currentSink{d, "smtp"}, Logger: d.log})
		if err == nil {
			var lc net.ListenConfig
			bi.ln, err = lc.Listen(ctx, "tcp", b.Listen)
		}
		if err != nil {
			return nil, fmt.Errorf("bounces.listen: %w", err)
		}
	}
	if i := b.IMAP; i != nil {
		sec, err := b.Secrets(d.o.Getenv)
		if err == nil {
			bi.poller, err = intake.NewPoller(intake.IMAPOptions{Addr: i.Addr(), Username: i.Username, Password: sec.IMAPPassword,
				TLS: i.TLS, Mailbox: i.Mailbox, MoveTo: i.MoveTo, Delete: i.Delete, Interval: i.Interval.Duration,
				MaxBytes: b.MaxBytes, Sink: currentSink{d, "imap"}, Logger: d.log})
		}
		if err != nil {
			if bi.ln != nil {
				bi.ln.Close()
			}
			return nil, fmt.Errorf("bounces.imap: %w", err)
		}
	}
	return bi, nil
}

// start serves SMTP and polls the mailbox until stop.
func (bi *bounceIntake) start(ctx context.Context, d *Daemon) {
	ctx, bi.cancel = context.WithCancel(ctx)
	if bi.smtp != nil {
		d.log.Info("bounces_smtp_listening", "addr", bi.ln.Addr().String())
		bi.wg.Go(func() {
			if err := bi.smtp.Serve(bi.ln); err != nil {
				d.log.Error("bounces_smtp_failed", "err", err)
			}
		})
	}
	if bi.poller != nil {
		bi.wg.Go(func() {
			if err := bi.poller.Run(ctx); err != nil && ctx.Err() == nil {
				d.log.Error("bounces_imap_failed", "err", err)
			}
		})
	}
}

// stop lets SMTP sessions finish (bounded by ctx) and stops the poller.
func (bi *bounceIntake) stop(ctx context.Context) {
	if bi == nil { // New failed first
		return
	}
	if bi.cancel != nil {
		bi.cancel()
	}
	if bi.smtp != nil && bi.smtp.Shutdown(ctx) != nil {
		bi.smtp.Close()
	}
	if bi.ln != nil {
		bi.ln.Close() // not yet served: Shutdown does not know it
	}
	bi.wg.Wait() // the poller logs out as Run returns
}
