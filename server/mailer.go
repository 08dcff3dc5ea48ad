package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"briefcast/email"
	"briefcast/subscribers"
)

// Limits of the confirmation queue.
const (
	// confirmQueue is how many confirmations may wait to be sent. A sign-up
	// beyond it waits up to confirmQueueWait for room, then is refused
	// (and logged); the person can submit again.
	confirmQueue     = 1024
	confirmQueueWait = 5 * time.Second
	// confirmAttempts is how often one confirmation is tried before it is
	// given up, with confirmBackoff doubling between attempts.
	confirmAttempts = 4
	confirmBackoff  = 2 * time.Second
)

// errQueueFull is SendConfirmation's answer when the queue is full.
var errQueueFull = errors.New("server: confirmation queue full")

// QueuedMailer is the Mailer of a running server: SendConfirmation only
// queues the message, and one goroutine composes and sends the queue in
// order. So a sign-up answers in the same time whether or not it causes a
// message (nobody can time the form to learn whether an address is
// already subscribed), and a slow mail server does not hold sign-ups up.
// A message still queued when the process dies is lost; the pending
// subscriber simply submits the form again.
type QueuedMailer struct {
	c     *email.Composer
	t     email.Transport
	log   *slog.Logger
	queue chan confirmation
	// backoff is the first pause between attempts (tests shorten it).
	backoff time.Duration

	stop      chan struct{} // closed by Close: give up waiting between attempts
	done      chan struct{} // closed when the worker has returned
	closeOnce sync.Once
}

type confirmation struct {
	rcpt email.Recipient
	link string
}

// NewMailer starts a QueuedMailer that composes with c and sends over t.
// Close it to send what is queued and stop.
func NewMailer(c *email.Composer, t email.Transport, log *slog.Logger) *QueuedMailer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &QueuedMailer{
		c: c, t: t, log: log,
		queue:   make(chan confirmation, confirmQueue),
		backoff: confirmBackoff,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go m.run()
	return m
}

// SendConfirmation queues the confirmation of sub. It fails only when the
// mailer is closed, or the queue stays full for confirmQueueWait or until
// ctx ends.
func (m *QueuedMailer) SendConfirmation(ctx context.Context, sub *subscribers.Subscriber, confirmURL string) error {
	select {
	case <-m.stop:
		return errors.New("server: mailer closed")
	default:
	}
	c := confirmation{rcpt: email.Recipient{ID: sub.ID, Email: sub.Email, Name: sub.Name, Timezone: sub.Timezone}, link: confirmURL}
	select {
	case m.queue <- c:
		return nil
	default:
	}
	full := time.NewTimer(confirmQueueWait)
	defer full.Stop()
	select {
	case m.queue <- c:
		return nil
	case <-full.C:
		return errQueueFull
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close sends what is already queued, trying each message once more at
// most, and stops. It waits until ctx ends at the latest.
func (m *QueuedMailer) Close(ctx context.Context) error {
	m.closeOnce.Do(func() { close(m.stop) })
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("server: confirmations still queued: %w", ctx.Err())
	}
}

// run sends the queue until Close, then what is left in it.
func (m *QueuedMailer) run() {
	defer close(m.done)
	for {
		select {
		case c := <-m.queue:
			m.send(c)
		case <-m.stop:
			for {
				select {
				case c := <-m.queue:
					m.send(c)
				default:
					return
				}
			}
		}
	}
}

// send composes and sends one confirmation, trying again with back-off
// while the failure is temporary (a server down, a 4xx): a few times, or
// once more after Close.
func (m *QueuedMailer) send(c confirmation) {
	msg, err := m.c.Confirmation(c.rcpt, c.link)
	if err != nil {
		m.log.Error("confirmation_compose_failed", "subscriber_id", c.rcpt.ID, "err", err)
		return
	}
	wait := m.backoff
	for attempt := 1; ; attempt++ {
		err = m.sendOnce(msg)
		if err == nil {
			return
		}
		stopping := false
		select {
		case <-m.stop:
			stopping = true
		default:
		}
		if se := email.Classify(err); !se.Temporary || attempt >= confirmAttempts || (stopping && attempt >= 2) {
			m.log.Error("confirmation_send_failed", "subscriber_id", c.rcpt.ID, "attempts", attempt, "err", err)
			return
		}
		m.log.Warn("confirmation_send_retry", "subscriber_id", c.rcpt.ID, "attempt", attempt, "err", err)
		if !stopping {
			select {
			case <-time.After(wait):
			case <-m.stop:
			}
			wait *= 2
		}
	}
}

// sendOnce sends msg over a connection of its own: sign-ups are rare
// enough that keeping one open would mostly keep it idle.
func (m *QueuedMailer) sendOnce(msg *email.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := m.t.Open(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Send(ctx, msg)
}
