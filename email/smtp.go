package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"briefcast/config"
)

// SMTPTransport delivers over persistent SMTP connections. Every Conn it
// opens shares one rate limiter.
type SMTPTransport struct {
	host        string
	opts        []gomail.Option
	timeout     time.Duration
	limiter     *limiter
	log         *slog.Logger
	tls         *tls.Config
	implicitTLS bool
}

func newSMTPTransport(cfg *config.Config, log *slog.Logger, o transportOptions) (*SMTPTransport, error) {
	s := cfg.Email.SMTP
	timeout := s.Timeout.Duration
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tc := &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	if o.tlsConfig != nil {
		tc = o.tlsConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = s.Host
		}
	}
	opts := []gomail.Option{
		gomail.WithPort(s.Port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tc),
		// A NOOP before and an RSET after every message cost two round
		// trips each. Neither is needed: a dead connection shows up as an
		// error on MAIL FROM, and a finished DATA ends the transaction
		// (go-mail still resets after a refused recipient).
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
	}
	switch s.TLS {
	case "tls", "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default: // "starttls": mandatory, never a silent fall-back to plain text
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.Username != "" {
		// PLAIN and LOGIN are only ever used over TLS or to localhost
		// (go-mail refuses them otherwise).
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthOpportunistic),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.Username),
			gomail.WithPassword(cfg.Email.SMTPPassword),
		)
	}
	// Check the options once, so a bad config fails at start-up.
	if _, err := gomail.NewClient(s.Host, opts...); err != nil {
		return nil, fmt.Errorf("email: smtp: %w", err)
	}
	return &SMTPTransport{
		host:        s.Host,
		opts:        opts,
		timeout:     timeout,
		limiter:     newLimiter(s.Rate),
		log:         log,
		tls:         tc,
		implicitTLS: s.TLS == "tls",
	}, nil
}

// Open dials the server, says EHLO, starts TLS and authenticates. A
// failure is a *SendError that is always Temporary (and Broken): it is
// about the connection, never about a recipient, so even a 5xx here (a
// refused login, say) must not fail anybody's message. Code and Reply
// still carry the server's answer for the log.
func (t *SMTPTransport) Open(ctx context.Context) (Conn, error) {
	c := &smtpConn{t: t}
	dialer := &net.Dialer{Timeout: t.timeout}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var nc net.Conn
		var err error
		if t.implicitTLS {
			// go-mail only wraps its own dialer in TLS, so with our dial
			// function (kept to abort a Send on cancellation) TLS is ours.
			nc, err = (&tls.Dialer{NetDialer: dialer, Config: t.tls}).DialContext(ctx, network, addr)
		} else {
			nc, err = dialer.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		c.raw = nc
		return nc, nil
	}
	opts := append(append([]gomail.Option(nil), t.opts...), gomail.WithDialContextFunc(dial))
	client, err := gomail.NewClient(t.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("email: smtp: %w", err)
	}
	if err := client.DialWithContext(ctx); err != nil {
		if c.raw != nil {
			c.raw.Close()
		}
		se := Classify(fmt.Errorf("email: smtp connect: %w", err))
		se.Temporary, se.Bounce, se.Broken = true, false, true
		return nil, se
	}
	c.client = client
	t.log.Debug("smtp_connected", "host", t.host)
	return c, nil
}

type smtpConn struct {
	t      *SMTPTransport
	client *gomail.Client
	raw    net.Conn
	broken bool
}

// Send delivers one message. After an error with Broken set, every later
// Send fails at once: close the Conn and open another.
func (c *smtpConn) Send(ctx context.Context, m *Message) error {
	if c.broken {
		return &SendError{Temporary: true, Broken: true, Err: errors.New("email: smtp: connection is broken")}
	}
	if m == nil || m.Msg == nil {
		return &SendError{Err: errors.New("email: smtp: empty message")}
	}
	if err := c.t.limiter.wait(ctx); err != nil {
		return err
	}
	// Cancelling ctx aborts a Send stuck on the network: the deadline is
	// moved to the past, and the pending read or write fails at once.
	stop := context.AfterFunc(ctx, func() { c.raw.SetDeadline(time.Unix(1, 0)) })
	err := c.client.Send(m.Msg)
	if !stop() {
		// The deadline is gone: whatever happened, this connection is done.
		c.broken = true
		if err != nil {
			return &SendError{Temporary: true, Broken: true, Err: fmt.Errorf("email: smtp: %w", ctx.Err())}
		}
	}
	if err == nil {
		return nil
	}
	se := Classify(err)
	if se.Broken {
		c.broken = true
	}
	return se
}

// Close says QUIT on a healthy connection and just closes a broken one.
func (c *smtpConn) Close() error {
	if c.broken {
		return c.raw.Close()
	}
	err := c.client.Close()
	c.raw.Close()
	if err != nil {
		return fmt.Errorf("email: smtp close: %w", err)
	}
	return nil
}

// limiter spaces messages evenly at rate per second across every Conn.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func newLimiter(rate float64) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{interval: time.Duration(float64(time.Second) / rate)}
}

// wait blocks until the caller's turn or ctx ends.
func (l *limiter) wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
