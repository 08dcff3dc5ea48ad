package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"briefcast/email"
	"briefcast/subscribers"
)

// Mailer is the background queue of sign-ups. The form answers once a
// sign-up is queued, so neither the answer nor its time can tell whether an
// address is already subscribed.
type Mailer interface {
	// Enqueue queues job. It fails when the queue stays full or the mailer
	// is closed: then nothing of the sign-up was done.
	Enqueue(ctx context.Context, job SignupJob) error
}

// SignupJob is the store work of one sign-up, run by the queue. It returns
// the confirmation to mail, or nil when none is due (an active address, a
// single opt-in). Its error must not name the address.
type SignupJob func(ctx context.Context) (*Confirmation, error)

// Confirmation is one double opt-in message to send.
type Confirmation struct {
	Subscriber *subscribers.Subscriber
	Link       string // the confirmation page, with its token
}

// Limits of the sign-up queue. A sign-up beyond signupQueue waits up to
// signupQueueWait for room, then is refused with a 503: the person can
// submit again. A confirmation is tried confirmAttempts times, with
// confirmBackoff doubling between attempts.
const (
	signupQueue      = 1024
	signupQueueWait  = 5 * time.Second
	signupJobTimeout = 30 * time.Second // the store work of one sign-up
	confirmAttempts  = 4
	confirmBackoff   = 2 * time.Second
)

// errQueueFull is Enqueue's answer when the queue is full.
var errQueueFull = errors.New("server: sign-up queue full")

// QueuedMailer is the Mailer of a running server: one goroutine runs the
// queued sign-ups and sends their confirmations. A sign-up still queued when
// the process dies is lost; the person simply submits the form again.
type QueuedMailer struct {
	c       *email.Composer
	t       email.Transport
	log     *slog.Logger
	queue   chan SignupJob
	backoff time.Duration   // the first pause between attempts (tests shorten it)
	stopped context.Context // done once Close is called: give up waiting between attempts
	stop    context.CancelFunc
	done    chan struct{} // closed when the worker has returned
}

// NewMailer starts a QueuedMailer that composes with c and sends over t.
func NewMailer(c *email.Composer, t email.Transport, log *slog.Logger) *QueuedMailer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &QueuedMailer{c: c, t: t, log: log, queue: make(chan SignupJob, signupQueue), backoff: confirmBackoff,
		done: make(chan struct{})}
	m.stopped, m.stop = context.WithCancel(context.Background())
	go m.run()
	return m
}

// Enqueue queues job, waiting up to signupQueueWait for room.
func (m *QueuedMailer) Enqueue(ctx context.Context, job SignupJob) error {
	if m.stopped.Err() != nil {
		return errors.New("server: mailer closed")
	}
	select {
	case m.queue <- job:
		return nil
	case <-time.After(signupQueueWait):
		return errQueueFull
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close runs the sign-ups already queued and stops, waiting until ctx ends at most.
func (m *QueuedMailer) Close(ctx context.Context) error {
	m.stop()
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
		case job := <-m.queue:
			m.handle(job)
		case <-m.stopped.Done():
			for len(m.queue) > 0 { // only this goroutine receives
				m.handle(<-m.queue)
			}
			return
		}
	}
}

// handle runs one sign-up and sends its confirmation, if any.
func (m *QueuedMailer) handle(job SignupJob) {
	ctx, cancel := context.WithTimeout(context.Background(), signupJobTimeout)
	c, err := job(ctx)
	cancel()
	if err != nil {
		m.log.Error("signup_failed", "err", err)
		return
	}
	if c != nil {
		m.send(c)
	}
}

// send composes and sends one confirmation, retrying temporary failures
// with back-off: a few times, or once more after Close.
func (m *QueuedMailer) send(c *Confirmation) {
	sub := c.Subscriber
	// No name: the form lets anyone choose it, and the confirmation goes to
	// an address nobody has vouched for yet.
	rcpt := email.Recipient{ID: sub.ID, Email: sub.Email, Timezone: sub.Timezone, TokenKey: sub.TokenKey}
	msg, err := m.c.Confirmation(rcpt, c.Link)
	if err != nil {
		m.log.Error("confirmation_compose_failed", "subscriber_id", sub.ID, "err", err)
		return
	}
	wait := m.backoff
	for attempt := 1; ; attempt++ {
		err = m.sendOnce(msg)
		if err == nil {
			return
		}
		stopping := m.stopped.Err() != nil
		if !email.Classify(err).Temporary || attempt >= confirmAttempts || (stopping && attempt >= 2) {
			m.log.Error("confirmation_send_failed", "subscriber_id", sub.ID, "attempts", attempt, "err", err)
			return
		}
		m.log.Warn("confirmation_send_retry", "subscriber_id", sub.ID, "attempt", attempt, "err", err)
		select { // at once when stopping
		case <-time.After(wait):
		case <-m.stopped.Done():
		}
		wait *= 2
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
