package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// SMTPTransport delivers over persistent SMTP connections. Every Conn it
// opens shares one rate limiter.
type SMTPTransport struct {
	host    string
	opts    []gomail.Option
	timeout time.Duration
	limiter *limiter
	log     *slog.Logger
	dialer  interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	}
}

// newSMTPTransport trusts the certificates of roots, nil for the system's.
func newSMTPTransport(s TransportOptions, log *slog.Logger, roots *x509.CertPool) (*SMTPTransport, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tc := &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12, RootCAs: roots}
	helo, err := heloName(s)
	if err != nil {
		return nil, err
	}
	opts := []gomail.Option{
		gomail.WithHELO(helo),
		gomail.WithPort(s.Port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tc),
		// No NOOP before and no RSET after every message: a dead connection
		// shows up on MAIL FROM, and a finished DATA ends the transaction.
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
			gomail.WithPassword(s.Password),
		)
	}
	// Check the options once, so a bad config fails at start-up.
	if _, err := gomail.NewClient(s.Host, opts...); err != nil {
		return nil, fmt.Errorf("email: smtp: %w", err)
	}
	t := &SMTPTransport{host: s.Host, opts: opts, timeout: timeout, log: log, dialer: &net.Dialer{Timeout: timeout}}
	if s.Rate > 0 {
		t.limiter = &limiter{interval: time.Duration(float64(time.Second) / s.Rate)}
	}
	if s.TLS == "tls" {
		// go-mail only wraps its own dialer in TLS, so with ours (kept to
		// abort a Send on cancellation) TLS is ours too.
		t.dialer = &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: tc}
	}
	return t, nil
}

// heloName is the EHLO name: s.HELO, else the domain of the From address.
// go-mail would say the machine's host name, which receivers compare with
// its DNS and which is often "localhost" or a name only the LAN knows.
func heloName(s TransportOptions) (string, error) {
	if h := strings.TrimSpace(s.HELO); h != "" {
		if strings.ContainsAny(h, " \t\r\n") {
			return "", fmt.Errorf("email: smtp helo %q holds a space or line break", h)
		}
		return h, nil
	}
	from, err := parseAddress(s.From)
	if err != nil {
		return "", fmt.Errorf("email: smtp helo: no name set and from: %w", err)
	}
	return domainOf(from.Address), nil
}

// Open dials the server, says EHLO, starts TLS and authenticates. A
// failure is a *SendError that is always Temporary (and Broken): it is
// about the connection, never a recipient, so even a 5xx here (a refused
// login) must not fail anybody's message; Code and Reply are for the log.
func (t *SMTPTransport) Open(ctx context.Context) (Conn, error) {
	c := &smtpConn{t: t}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := t.dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c.raw = nc
		return nc, nil
	}
	client, err := gomail.NewClient(t.host, append(slices.Clip(t.opts), gomail.WithDialContextFunc(dial))...)
	if err != nil {
		return nil, fmt.Errorf("email: smtp: %w", err)
	}
	// go-mail dials, starts TLS and authenticates; the transactions run on
	// its low-level client, so a message can be held back just before the
	// end of its data (Prepare).
	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if c.raw != nil {
			c.raw.Close()
		}
		se := Classify(fmt.Errorf("email: smtp connect: %w", err))
		se.Temporary, se.Bounce, se.Broken = true, false, true
		return nil, se
	}
	c.sc = sc
	t.log.Debug("smtp_connected", "host", t.host)
	return c, nil
}

type smtpConn struct {
	t      *SMTPTransport
	sc     *smtp.Client
	raw    net.Conn
	broken bool
	data   io.WriteCloser // the prepared message's data, waiting for Finish or Abort
}

func errBroken() error {
	return &SendError{Temporary: true, Broken: true, Err: errors.New("email: smtp: connection is broken")}
}

// Send delivers one message. After an error with Broken set, every later
// Send fails at once: close the Conn and open another.
func (c *smtpConn) Send(ctx context.Context, m *Message) error {
	if _, err := c.Prepare(ctx, m); err != nil {
		return err
	}
	return c.Finish(ctx)
}

// Prepare sends MAIL FROM, RCPT TO, DATA and the message, all but the
// final "." line: a server takes a message only once that line ends its
// data, so a prepared message is not delivered before Finish, and a
// connection lost before then (a crash, or Abort) loses it. go-mail's
// smtp.Client Data writer writes the "." only when closed, by Finish. The
// Conn is its own Prepared.
func (c *smtpConn) Prepare(ctx context.Context, m *Message) (Prepared, error) {
	switch {
	case c.broken:
		return nil, errBroken()
	case c.data != nil:
		return nil, &SendError{Err: errors.New("email: smtp: a prepared message is not finished")}
	case m == nil || m.Msg == nil:
		return nil, &SendError{Err: errors.New("email: smtp: empty message")}
	}
	if err := c.t.limiter.wait(ctx); err != nil {
		return nil, err
	}
	var w io.WriteCloser
	err := c.step(ctx, false, func() (err error) {
		w, err = c.begin(m)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.data = w
	return c, nil
}

// begin runs a transaction up to the end of the message's data. A server
// without 8BITMIME gets the message re-encoded to 7 bits first.
func (c *smtpConn) begin(m *Message) (io.WriteCloser, error) {
	msg := m.Msg
	from, err := envelopeSender(m)
	if err != nil {
		return nil, err
	}
	from = "<" + from + ">"
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return nil, &SendError{Err: fmt.Errorf("email: smtp: recipients: %w", err)}
	}
	if ok, _ := c.sc.Extension("8BITMIME"); !ok {
		sevenBit(msg)
	}
	var w io.WriteCloser
	if ok, _ := c.sc.Extension("PIPELINING"); ok {
		w, err = c.pipelined(from, rcpts)
	} else {
		w, err = c.lockstep(from, rcpts)
	}
	if err != nil {
		return nil, err
	}
	if _, err := m.WriteTo(w); err != nil {
		// Only dropping the connection ends a part-sent message undelivered.
		c.broken = true
		return nil, &SendError{Temporary: true, Broken: true, Err: fmt.Errorf("email: smtp: write message: %w", err)}
	}
	return w, nil
}

// envelopeSender is m's bare envelope sender: its own return path, else
// the From address. One holding a line break, space or angle bracket is
// refused rather than sent as a command or a header.
func envelopeSender(m *Message) (string, error) {
	from := m.From
	if from == "" {
		sender, err := m.Msg.GetSender(false) // "<address>"
		if err != nil {
			return "", &SendError{Err: fmt.Errorf("email: smtp: sender: %w", err)}
		}
		from = strings.TrimSuffix(strings.TrimPrefix(sender, "<"), ">")
	}
	if strings.ContainsAny(from, "\r\n<> ") || !strings.Contains(from, "@") {
		return "", &SendError{Err: fmt.Errorf("email: smtp: envelope sender %q is not a bare address", from)}
	}
	return from, nil
}

// lockstep sends MAIL FROM, RCPT TO and DATA one at a time through
// go-mail's smtp.Client, each after the reply to the one before.
func (c *smtpConn) lockstep(from string, rcpts []string) (io.WriteCloser, error) {
	if err := c.sc.Mail(from); err != nil {
		return nil, c.refused(err)
	}
	for _, r := range rcpts {
		if err := c.sc.Rcpt(r); err != nil {
			return nil, c.refused(err)
		}
	}
	w, err := c.sc.Data()
	if err != nil {
		return nil, c.refused(err)
	}
	return w, nil
}

// pipelined sends MAIL FROM, every RCPT TO and DATA in one write and then
// reads their replies (RFC 2920), saving two round trips a message, which
// sit on the path of every message's final "." (bench/NOTES.md). go-mail
// has no pipelining, so this writes to its smtp.Client's exported Text
// connection, with the MAIL FROM parameters go-mail's Mail would send. The
// first refusal decides the outcome; the replies after it are read and
// dropped. A server that accepts DATA after refusing the envelope gets the
// connection closed before any data, so nothing is delivered.
func (c *smtpConn) pipelined(from string, rcpts []string) (io.WriteCloser, error) {
	mail := "MAIL FROM:" + from
	if ok, _ := c.sc.Extension("8BITMIME"); ok {
		mail += " BODY=8BITMIME"
	}
	if ok, _ := c.sc.Extension("SMTPUTF8"); ok {
		mail += " SMTPUTF8"
	}
	text := c.sc.Text
	for _, line := range append([]string{mail}, rcpts...) {
		if strings.ContainsAny(line, "\r\n") {
			return nil, &SendError{Err: fmt.Errorf("email: smtp: address %q holds a line break", line)}
		}
	}
	bw := text.W
	bw.WriteString(mail + "\r\n")
	for _, r := range rcpts {
		bw.WriteString("RCPT TO:" + r + "\r\n")
	}
	bw.WriteString("DATA\r\n")
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	_, _, refusal := text.ReadResponse(250)
	for range rcpts {
		if _, _, err := text.ReadResponse(25); err != nil && refusal == nil {
			refusal = err
		}
	}
	_, _, derr := text.ReadResponse(354)
	switch {
	case refusal == nil && derr == nil:
		return &dataWriter{WriteCloser: text.DotWriter(), text: text}, nil
	case derr == nil: // DATA taken after a refusal: close before any data
		c.broken = true
		c.raw.Close()
		se := Classify(refusal)
		se.Broken = true
		return nil, se
	case refusal == nil:
		refusal = derr
	}
	return nil, c.refused(refusal)
}

// dataWriter is the data of a pipelined transaction: Close ends it with
// "." and reads the server's reply.
type dataWriter struct {
	io.WriteCloser // a dot writer
	text           *textproto.Conn
}

func (d *dataWriter) Close() error {
	if err := d.WriteCloser.Close(); err != nil {
		return err
	}
	_, _, err := d.text.ReadResponse(250)
	return err
}

// sevenBit re-encodes the 8-bit parts of msg as quoted-printable (and
// 8-bit files as base64) for a server without 8BITMIME (RFC 6152). The
// DKIM signature is made after, over the re-encoded body.
func sevenBit(msg *gomail.Msg) {
	if msg.Encoding() == gomail.NoEncoding.String() {
		msg.SetEncoding(gomail.EncodingQP)
	}
	for _, p := range msg.GetParts() {
		if p.GetEncoding() == gomail.NoEncoding {
			p.SetEncoding(gomail.EncodingQP)
		}
	}
	for _, f := range slices.Concat(msg.GetAttachments(), msg.GetEmbeds()) {
		if f.Enc == gomail.NoEncoding {
			f.Enc = gomail.EncodingB64
		}
	}
}

// refused classifies a refused MAIL FROM, RCPT TO or DATA and resets the
// transaction, so the connection can take the next message.
func (c *smtpConn) refused(err error) error {
	se := Classify(err)
	if !se.Broken {
		if rerr := c.sc.Reset(); rerr != nil {
			se.Broken = true
		}
	}
	return se
}

// step runs one stage of a transaction with a fresh deadline. Cancelling
// ctx moves the deadline to the past, so a stage stuck on the network fails
// at once. delivers says that success means the server took the message.
func (c *smtpConn) step(ctx context.Context, delivers bool, run func() error) error {
	if err := c.sc.UpdateDeadline(c.t.timeout); err != nil {
		c.broken = true
		return &SendError{Temporary: true, Broken: true, Err: fmt.Errorf("email: smtp: %w", err)}
	}
	stop := context.AfterFunc(ctx, func() { c.raw.SetDeadline(time.Unix(1, 0)) })
	err := run()
	if !stop() {
		// The deadline is gone, and so is the connection; a message the
		// server took stays taken.
		c.broken = true
		if err != nil || !delivers {
			return &SendError{Temporary: true, Broken: true, Err: fmt.Errorf("email: smtp: %w", context.Cause(ctx))}
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

// Finish ends the prepared message's data with "." and reads the
// server's reply.
func (c *smtpConn) Finish(ctx context.Context) error {
	w := c.data
	if w == nil {
		return &SendError{Err: errors.New("email: smtp: prepared message already finished")}
	}
	c.data = nil
	if c.broken {
		return errBroken()
	}
	return c.step(ctx, true, w.Close)
}

// Abort closes the connection without ending the data: the server
// discards a message whose data never ended.
func (c *smtpConn) Abort() {
	if c.data != nil {
		c.data = nil
		c.broken = true
		c.raw.Close()
	}
}

// Close says QUIT on a healthy connection and just closes a broken one.
func (c *smtpConn) Close() error {
	if c.broken || c.data != nil {
		// QUIT in the middle of DATA would be taken as message text.
		c.broken = true
		return c.raw.Close()
	}
	err := c.sc.Quit()
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
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
