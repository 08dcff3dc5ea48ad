package intake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPOptions configure the inbound SMTP server.
type SMTPOptions struct {
	// Domain is the bounce domain: RCPT to any other domain is refused
	// (this is not a relay).
	Domain   string
	Hostname string        // the name in the greeting; Domain when empty
	MaxBytes int64         // caps one message (default 10 MB); over it, 552 5.3.4
	MaxConns int           // caps open connections (default 20); one more is told 421
	Timeout  time.Duration // the read and the write timeout (default 1 minute)
	Sink     Sink
	Logger   *slog.Logger
}

// DefaultMaxBytes is the default cap on one inbound message.
const DefaultMaxBytes = 10 << 20

// SMTPServer accepts mail for the bounce domain and hands it to a Sink.
type SMTPServer struct {
	opts   SMTPOptions
	srv    *smtp.Server
	ctx    context.Context
	cancel context.CancelFunc
}

// NewSMTP checks the options and builds the server.
func NewSMTP(o SMTPOptions) (*SMTPServer, error) {
	o.Domain = strings.ToLower(strings.TrimSpace(o.Domain))
	if o.Domain == "" || strings.ContainsAny(o.Domain, "@ \t\r\n") {
		return nil, fmt.Errorf("intake: smtp: bounce domain %q is not a domain", o.Domain)
	}
	if o.Sink == nil {
		return nil, errors.New("intake: smtp: no sink")
	}
	o.Hostname = cmp.Or(o.Hostname, o.Domain)
	o.MaxBytes = positive(o.MaxBytes, DefaultMaxBytes)
	o.MaxConns = positive(o.MaxConns, 20)
	o.Timeout = positive(o.Timeout, time.Minute)
	o.Logger = cmp.Or(o.Logger, slog.Default())
	s := &SMTPServer{opts: o}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, remote: c.Conn().RemoteAddr().String()}, nil
	}))
	srv.Domain = o.Hostname
	srv.MaxMessageBytes = o.MaxBytes
	srv.MaxRecipients = 10
	srv.ReadTimeout = o.Timeout
	srv.WriteTimeout = o.Timeout
	srv.ErrorLog = libLogger(o.Logger, slog.LevelWarn, "bounces: smtp: ")
	s.srv = srv
	return s, nil
}

// Serve accepts connections on l until Close or Shutdown.
func (s *SMTPServer) Serve(l net.Listener) error {
	err := s.srv.Serve(&limitListener{Listener: l, slots: make(chan struct{}, s.opts.MaxConns), timeout: s.opts.Timeout})
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for open sessions to end, or for ctx.
func (s *SMTPServer) Shutdown(ctx context.Context) error {
	defer s.cancel()
	return s.srv.Shutdown(ctx)
}

// Close stops at once, dropping open sessions.
func (s *SMTPServer) Close() error {
	s.cancel()
	return s.srv.Close()
}

// session is one SMTP transaction's state.
type session struct {
	s      *SMTPServer
	remote string
	from   string
	rcpts  []string
}

func (ss *session) Reset()        { ss.from, ss.rcpts = "", nil }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

var errRelayDenied = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relay access denied"}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	at := strings.LastIndexByte(to, '@')
	if at <= 0 || !strings.EqualFold(to[at+1:], ss.s.opts.Domain) {
		return errRelayDenied
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

var errTryLater = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary local problem, try again later"}

// Data hands one copy per recipient to the sink, each with the envelope on
// top, as an MTA delivering to a mailbox would. Any sink error makes the
// whole message temporary, so the sender retries it: the sink must take a
// copy it already has without harm.
func (ss *session) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err // ErrDataTooLarge is 552 5.3.4
	}
	for _, rcpt := range ss.rcpts {
		raw := withEnvelope(ss.from, rcpt, body)
		ctx, cancel := context.WithTimeout(ss.s.ctx, ss.s.opts.Timeout)
		err := ss.s.opts.Sink.Message(ctx, raw)
		cancel()
		if err != nil {
			ss.s.opts.Logger.Error("bounces: smtp: message not processed, sender told to retry",
				"remote", ss.remote, "rcpt", rcpt, "bytes", len(body), "err", err)
			return errTryLater
		}
	}
	ss.s.opts.Logger.Info("bounces: smtp: message received", "remote", ss.remote, "rcpts", len(ss.rcpts), "bytes", len(body))
	return nil
}

// withEnvelope puts Return-Path and Delivered-To on top of body. go-smtp
// hands over addresses from a single command line, but CR and LF are cut
// anyway so no header can be injected.
func withEnvelope(from, rcpt string, body []byte) []byte {
	clean := strings.NewReplacer("\r", "", "\n", "", "<", "", ">", "")
	head := "Return-Path: <" + clean.Replace(from) + ">\r\nDelivered-To: " + clean.Replace(rcpt) + "\r\n"
	return append([]byte(head), body...)
}

// limitListener refuses connections over its limit with a 421 reply, at
// once, rather than leaving them waiting in the backlog.
type limitListener struct {
	net.Listener
	slots   chan struct{}
	timeout time.Duration
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &slotConn{Conn: c, free: func() { <-l.slots }}, nil
		default:
			go l.refuse(c)
		}
	}
}

func (l *limitListener) refuse(c net.Conn) {
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(l.timeout))
	io.WriteString(c, "421 4.7.0 Too many connections, try again later\r\n")
}

// slotConn gives its slot back once, on the first Close.
type slotConn struct {
	net.Conn
	once sync.Once
	free func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.free)
	return err
}
