// Package smtptest runs an SMTP server on loopback for tests and
// benchmarks: it records (or just counts) what it receives and injects
// faults on demand: error replies, connections dropped in the middle of
// DATA, and refusing connections for a while.
package smtptest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// FaultPoint says where a fault may be injected.
type FaultPoint struct {
	Stage string // "rcpt" or "data"
	Rcpt  string // the recipient (the first one at "data")
	N     int    // global counter of messages reaching this stage, from 1
}

// Options configure a Server.
type Options struct {
	// Discard counts messages without keeping them (a benchmark sink).
	Discard bool
	// Fault is called for each RCPT and DATA; returning a non-nil
	// *smtp.SMTPError fails it with that reply.
	Fault func(f FaultPoint) *smtp.SMTPError
	// DropMidData closes the connection in the middle of DATA when it
	// returns true (n counts DATA commands, from 1).
	DropMidData func(rcpt string, n int) bool
	// Username and Password require AUTH PLAIN when set (allowed without
	// TLS: the server is on loopback).
	Username, Password string
	// TLSConfig, when set, enables STARTTLS with it.
	TLSConfig *tls.Config
	// ImplicitTLS serves TLS from the first byte (needs TLSConfig).
	ImplicitTLS bool
	// No8BitMIME leaves 8BITMIME out of the EHLO reply, like a relay that
	// only takes 7-bit data. go-smtp always offers it, so the line is cut
	// from the plain-text stream: this does not work together with TLS.
	No8BitMIME bool
}

// Received is one accepted message.
type Received struct {
	Helo string // the name the client gave in EHLO
	From string
	Body string // the BODY= parameter of MAIL FROM ("8BITMIME"), "" when none
	To   []string
	Data []byte
}

// Server is a running SMTP server.
type Server struct {
	opts   Options
	srv    *smtp.Server
	ln     net.Listener
	port   int
	count  atomic.Int64
	conns  atomic.Int64
	rcptN  atomic.Int64
	dataN  atomic.Int64
	cut    atomic.Int64
	refuse atomic.Bool

	mu   sync.Mutex
	msgs []Received
	open map[net.Conn]struct{}
}

// Start listens on 127.0.0.1:0 and serves until tb's cleanup.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := &Server{opts: opts, open: map[net.Conn]struct{}{}}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = 32 << 20
	s.srv.MaxRecipients = 100
	s.srv.ErrorLog = quietLog{}
	if !opts.ImplicitTLS {
		s.srv.TLSConfig = opts.TLSConfig
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("smtptest: listen: %v", err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	var l net.Listener = &gateListener{Listener: ln, s: s}
	if opts.ImplicitTLS {
		l = tls.NewListener(l, opts.TLSConfig)
	}
	s.ln = l
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.srv.Serve(l)
	}()
	tb.Cleanup(func() {
		s.srv.Close()
		// Close may run before Serve has registered the listener (a test
		// that never connects ends at once); closing it ourselves makes
		// Serve return either way.
		ln.Close()
		<-done
	})
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Port is the server's port.
func (s *Server) Port() int { return s.port }

// Messages returns a copy of the messages received so far (none in
// Discard mode).
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Count is the number of accepted messages.
func (s *Server) Count() int64 { return s.count.Load() }

// Unfinished is the number of messages whose data was cut off: the
// connection ended before the final "." line, so they were not accepted.
func (s *Server) Unfinished() int64 { return s.cut.Load() }

// Connections is the number of connections accepted so far (refused ones
// included).
func (s *Server) Connections() int64 { return s.conns.Load() }

// Refuse switches "server down" on or off. While on, every open
// connection is closed and new connections are closed at once, before the
// greeting.
func (s *Server) Refuse(on bool) {
	s.refuse.Store(on)
	if !on {
		return
	}
	s.mu.Lock()
	open := make([]net.Conn, 0, len(s.open))
	for c := range s.open {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// gateListener counts connections, tracks the open ones and closes new
// ones while the server refuses.
type gateListener struct {
	net.Listener
	s *Server
}

func (l *gateListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.s.conns.Add(1)
		if l.s.refuse.Load() {
			c.Close()
			continue
		}
		tc := &trackedConn{Conn: c, s: l.s, no8bit: l.s.opts.No8BitMIME}
		l.s.mu.Lock()
		l.s.open[tc] = struct{}{}
		l.s.mu.Unlock()
		return tc, nil
	}
}

type trackedConn struct {
	net.Conn
	s      *Server
	once   sync.Once
	no8bit bool
}

// ehlo8Bit is the capability line No8BitMIME removes. go-smtp writes (and
// flushes) each reply line on its own, so it is never split across writes.
var ehlo8Bit = []byte("250-8BITMIME\r\n")

func (c *trackedConn) Write(p []byte) (int, error) {
	if c.no8bit && bytes.Equal(p, ehlo8Bit) {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.open, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c, authed: b.s.opts.Username == ""}, nil
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	from   string
	body   string
	to     []string
	buf    bytes.Buffer
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

func (s *session) AuthMechanisms() []string {
	if s.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.s.opts.Username || password != s.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if !s.authed {
		return errAuthRequired
	}
	s.from = from
	s.body = ""
	if opts != nil {
		s.body = string(opts.Body)
	}
	s.to = s.to[:0]
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.authed {
		return errAuthRequired
	}
	if f := s.s.opts.Fault; f != nil {
		n := int(s.s.rcptN.Add(1))
		if e := f(FaultPoint{Stage: "rcpt", Rcpt: to, N: n}); e != nil {
			return e
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	n := int(s.s.dataN.Add(1))
	rcpt := ""
	if len(s.to) > 0 {
		rcpt = s.to[0]
	}
	if drop := s.s.opts.DropMidData; drop != nil && drop(rcpt, n) {
		// Read a little of the message, then hang up without a reply.
		io.CopyN(io.Discard, r, 64)
		s.conn.Conn().Close()
		return errors.New("smtptest: connection dropped")
	}
	if f := s.s.opts.Fault; f != nil {
		if e := f(FaultPoint{Stage: "data", Rcpt: rcpt, N: n}); e != nil {
			io.Copy(io.Discard, r)
			return e
		}
	}
	if s.s.opts.Discard {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return s.cutOff(err)
		}
		s.s.count.Add(1)
		return nil
	}
	s.buf.Reset()
	if _, err := s.buf.ReadFrom(r); err != nil {
		return s.cutOff(err)
	}
	m := Received{Helo: s.conn.Hostname(), From: s.from, Body: s.body, To: append([]string(nil), s.to...), Data: bytes.Clone(s.buf.Bytes())}
	s.s.mu.Lock()
	s.s.msgs = append(s.s.msgs, m)
	s.s.mu.Unlock()
	s.s.count.Add(1)
	return nil
}

// cutOff counts a message whose data could not be read to the final ".".
func (s *session) cutOff(err error) error {
	s.s.cut.Add(1)
	return err
}

func (s *session) Reset() {
	s.from = ""
	s.body = ""
	s.to = s.to[:0]
}

func (s *session) Logout() error { return nil }

// quietLog drops go-smtp's own log lines (dropped connections are the
// point of several tests).
type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}

// WaitFor polls cond every millisecond until it holds, for tests that wait
// on a server's or a sender's state; after 20 s it fails the test, so a
// broken test cannot hang.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for range 20000 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	tb.Fatalf("gave up waiting for %s", what)
}
