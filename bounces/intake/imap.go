package intake

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"
)

// IMAPOptions configure the mailbox poller.
type IMAPOptions struct {
	Addr     string // host:port
	Username string
	Password string
	TLS      string // "tls" (TLS from the first byte), "starttls" or "none"
	// TLSConfig is used for "tls" and "starttls"; when nil, the system
	// roots verify a certificate for Addr's host.
	TLSConfig *tls.Config
	Mailbox   string        // default INBOX
	MoveTo    string        // when set, processed messages move here
	Delete    bool          // when true (and no MoveTo), processed messages are expunged
	Interval  time.Duration // between polls (default 1 minute)
	Timeout   time.Duration // dialling and each command (default 1 minute)
	MaxBytes  int64         // a bigger message is marked seen unprocessed (default 10 MB)
	Sink      Sink
	Logger    *slog.Logger
}

// Poller takes unseen messages from a mailbox to a Sink. A message goes to
// the Sink once per poll until it succeeds; then it is marked \Seen (and
// moved or deleted, when so configured). It is never deleted otherwise.
type Poller struct {
	opts IMAPOptions
	c    *client.Client
	live atomic.Pointer[client.Client] // c, for abort, which runs on another goroutine
}

// NewPoller checks the options. It does not connect: Poll and Run do.
func NewPoller(o IMAPOptions) (*Poller, error) {
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return nil, fmt.Errorf("intake: imap: address %q: %w", o.Addr, err)
	}
	switch o.TLS {
	case "tls", "starttls", "none":
	default:
		return nil, fmt.Errorf("intake: imap: tls must be \"tls\", \"starttls\" or \"none\", got %q", o.TLS)
	}
	if o.Sink == nil {
		return nil, errors.New("intake: imap: no sink")
	}
	o.Mailbox = cmp.Or(o.Mailbox, "INBOX")
	o.Interval = positive(o.Interval, time.Minute)
	o.Timeout = positive(o.Timeout, time.Minute)
	o.MaxBytes = positive(o.MaxBytes, DefaultMaxBytes)
	o.Logger = cmp.Or(o.Logger, slog.Default())
	return &Poller{opts: o}, nil
}

// Run polls until ctx ends. A failed poll drops the connection; the next
// one reconnects, after a delay that doubles with each failure in a row
// (up to 32 intervals, at most an hour).
func (p *Poller) Run(ctx context.Context) error {
	defer p.Close()
	stop := context.AfterFunc(ctx, p.abort)
	defer stop()
	failures := 0
	for {
		n, err := p.Poll(ctx)
		delay := p.opts.Interval
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && p.c == nil:
			failures++
			delay = min(p.opts.Interval<<min(failures-1, 5), time.Hour)
			p.opts.Logger.Warn("bounces: imap: poll failed, will reconnect", "addr", p.opts.Addr, "failures", failures, "retry_in", delay, "err", err)
		case err != nil:
			failures = 0
			p.opts.Logger.Warn("bounces: imap: some messages left unseen for the next poll", "mailbox", p.opts.Mailbox, "processed", n, "err", err)
		default:
			failures = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// abort cuts the connection so a command blocked on the network returns.
func (p *Poller) abort() {
	if c := p.live.Load(); c != nil {
		c.Terminate()
	}
}

// Close logs out, if connected.
func (p *Poller) Close() error {
	if p.c == nil {
		return nil
	}
	err := p.c.Logout()
	p.setClient(nil)
	return err
}

// Poll connects if needed and hands every unseen message to the Sink. It
// returns how many were processed. An error from the server drops the
// connection (the next Poll reconnects); a Sink error only leaves that
// message unseen, and the others are still processed.
func (p *Poller) Poll(ctx context.Context) (int, error) {
	if p.c == nil || p.c.State() == imap.LogoutState {
		if err := p.connect(); err != nil {
			return 0, err
		}
	}
	n, sinkErrs, err := p.processUnseen(ctx)
	if err != nil {
		p.c.Terminate()
		p.setClient(nil)
		return n, fmt.Errorf("intake: imap: %s: %w", p.opts.Addr, err)
	}
	return n, errors.Join(sinkErrs...)
}

func (p *Poller) setClient(c *client.Client) {
	p.c = c
	p.live.Store(c)
}

func (p *Poller) connect() error {
	p.setClient(nil)
	c, err := p.dial()
	if err != nil {
		return fmt.Errorf("intake: imap: connect %s: %w", p.opts.Addr, err)
	}
	c.Timeout = p.opts.Timeout
	c.ErrorLog = libLogger(p.opts.Logger, slog.LevelDebug, "bounces: imap: ")
	if err := c.Login(p.opts.Username, p.opts.Password); err != nil {
		c.Terminate()
		return fmt.Errorf("intake: imap: log in to %s as %q: %w", p.opts.Addr, p.opts.Username, err)
	}
	if _, err := c.Select(p.opts.Mailbox, false); err != nil {
		c.Logout()
		return fmt.Errorf("intake: imap: select %q: %w", p.opts.Mailbox, err)
	}
	p.setClient(c)
	p.opts.Logger.Info("bounces: imap: connected", "addr", p.opts.Addr, "mailbox", p.opts.Mailbox)
	return nil
}

func (p *Poller) dial() (*client.Client, error) {
	d := &net.Dialer{Timeout: p.opts.Timeout}
	cfg := p.opts.TLSConfig.Clone()
	if cfg == nil {
		host, _, _ := net.SplitHostPort(p.opts.Addr)
		cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	switch p.opts.TLS {
	case "tls":
		return client.DialWithDialerTLS(d, p.opts.Addr, cfg)
	case "starttls":
		c, err := client.DialWithDialer(d, p.opts.Addr)
		if err != nil {
			return nil, err
		}
		if err := c.StartTLS(cfg); err != nil {
			c.Terminate()
			return nil, fmt.Errorf("starttls: %w", err)
		}
		return c, nil
	default:
		return client.DialWithDialer(d, p.opts.Addr)
	}
}

// processUnseen returns the number processed, the sink's errors (those
// messages stay unseen), and the first error of the connection.
func (p *Poller) processUnseen(ctx context.Context) (n int, sinkErrs []error, err error) {
	crit := imap.NewSearchCriteria()
	crit.WithoutFlags = []string{imap.SeenFlag, imap.DeletedFlag}
	uids, err := p.c.UidSearch(crit)
	if err != nil {
		return 0, nil, fmt.Errorf("search unseen: %w", err)
	}
	for _, uid := range uids {
		if ctx.Err() != nil {
			return n, sinkErrs, ctx.Err()
		}
		raw, size, err := p.fetch(uid)
		if err != nil {
			return n, sinkErrs, err
		}
		if raw == nil {
			p.opts.Logger.Warn("bounces: imap: message too big, marked seen without processing", "uid", uid, "bytes", size, "max_bytes", p.opts.MaxBytes)
		} else if err := p.opts.Sink.Message(ctx, raw); err != nil {
			sinkErrs = append(sinkErrs, fmt.Errorf("intake: imap: message uid %d: %w", uid, err))
			continue
		}
		if err := p.markSeen(uid, raw != nil); err != nil {
			return n, sinkErrs, err
		}
		n++
	}
	return n, sinkErrs, nil
}

// fetch reads a message without setting \Seen (BODY.PEEK); raw is nil when
// it is over MaxBytes.
func (p *Poller) fetch(uid uint32) (raw []byte, size uint32, err error) {
	set := new(imap.SeqSet)
	set.AddNum(uid)
	ms, err := p.uidFetch(set, imap.FetchRFC822Size)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch size of uid %d: %w", uid, err)
	}
	for _, m := range ms {
		size = m.Size
	}
	if int64(size) > p.opts.MaxBytes {
		return nil, size, nil
	}
	section := &imap.BodySectionName{Peek: true}
	if ms, err = p.uidFetch(set, section.FetchItem()); err != nil {
		return nil, 0, fmt.Errorf("fetch uid %d: %w", uid, err)
	}
	for _, m := range ms {
		if body := m.GetBody(section); body != nil {
			if raw, err = io.ReadAll(io.LimitReader(body, p.opts.MaxBytes+1)); err != nil {
				return nil, 0, fmt.Errorf("read uid %d: %w", uid, err)
			}
			return raw, size, nil
		}
	}
	return nil, 0, fmt.Errorf("fetch uid %d: the server sent no body", uid)
}

// uidFetch runs one UID FETCH and collects what it returns.
func (p *Poller) uidFetch(set *imap.SeqSet, item imap.FetchItem) ([]*imap.Message, error) {
	ch := make(chan *imap.Message, 1)
	done := make(chan error, 1)
	go func() { done <- p.c.UidFetch(set, []imap.FetchItem{item}, ch) }()
	var ms []*imap.Message
	for m := range ch {
		ms = append(ms, m)
	}
	return ms, <-done
}

// markSeen sets \Seen; after processing, it also moves or deletes the
// message when configured.
func (p *Poller) markSeen(uid uint32, processed bool) error {
	set := new(imap.SeqSet)
	set.AddNum(uid)
	seen := imap.FormatFlagsOp(imap.AddFlags, true)
	if err := p.c.UidStore(set, seen, []any{imap.SeenFlag}, nil); err != nil {
		return fmt.Errorf("mark uid %d seen: %w", uid, err)
	}
	switch {
	case !processed:
	case p.opts.MoveTo != "":
		return p.move(set, uid)
	case p.opts.Delete:
		return p.remove(set, uid)
	}
	return nil
}

// move uses MOVE, or COPY and delete where a server offers MOVE but its
// store cannot do it (the connection is still up after the refusal).
func (p *Poller) move(set *imap.SeqSet, uid uint32) error {
	err := p.c.UidMove(set, p.opts.MoveTo)
	if err == nil {
		return nil
	}
	if p.c.State() == imap.LogoutState {
		return fmt.Errorf("move uid %d to %q: %w", uid, p.opts.MoveTo, err)
	}
	if cerr := p.c.UidCopy(set, p.opts.MoveTo); cerr != nil {
		return fmt.Errorf("move uid %d to %q: %w; copy: %w", uid, p.opts.MoveTo, err, cerr)
	}
	return p.remove(set, uid)
}

// remove marks the message \Deleted and expunges the mailbox.
func (p *Poller) remove(set *imap.SeqSet, uid uint32) error {
	deleted := imap.FormatFlagsOp(imap.AddFlags, true)
	if err := p.c.UidStore(set, deleted, []any{imap.DeletedFlag}, nil); err != nil {
		return fmt.Errorf("mark uid %d deleted: %w", uid, err)
	}
	if err := p.c.Expunge(nil); err != nil {
		return fmt.Errorf("expunge: %w", err)
	}
	return nil
}
