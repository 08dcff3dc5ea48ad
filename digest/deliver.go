package digest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"briefcast/config"
	"briefcast/editions"
	"briefcast/email"
)

// The delivery engine of one Deliver call. The calling goroutine claims
// batches of due deliveries and feeds them to one worker per connection;
// each worker composes and sends one message at a time over its own
// connection and hands the outcome to a single committer goroutine, which
// writes every outcome waiting at that moment with one RecordResults (group
// commit). A worker completes its next message only once the outcome of
// the previous one is durable, so a crash leaves at most one message per
// connection sent but not recorded: the duplicate bound of a restart.
//
// Completes, not sends: a server takes a message only when its data ends
// with the final ".", so while one outcome is being committed the worker
// already composes the next message and hands it over up to that last
// line (email.Conn.Prepare), and ends it once the outcome is durable. The
// commit's wait (a WAL flush, about 1-3 ms on PostgreSQL) then overlaps
// the composing and transfer of the next message instead of adding to it.
//
// One committer, not several: overlapping commits on PostgreSQL (whose
// concurrent WAL flushes merge) split the groups, from about 7.7 results
// to 5.3, and sent 10-15% slower in the 100k benchmark. With prepared
// messages, two committers with half the connections each still sent
// about 5% slower than one: the flushes queue behind each other.

// maxCommit bounds one group commit.
const maxCommit = 1024

// gatherWait bounds how long the committer waits for the messages in
// progress before writing a smaller batch (see gather).
const gatherWait = 5 * time.Millisecond

// maxReconnectWait caps the pause between attempts to reach a server that
// is down, so sending resumes soon after it is back.
const maxReconnectWait = time.Minute

// idleClose is how long a connection may sit unused before it is closed.
const idleClose = 20 * time.Second

type job struct {
	d       editions.Delivery
	claimed time.Time
}

type pending struct {
	r       editions.Result
	w       *waiter // nil when no worker waits for it
	release bool    // a claim handed back, not an attempt
}

// waiter is how the committer answers a worker: taken once the worker's
// result is in the batch being written, done once that batch is durable
// (or failed to be).
type waiter struct {
	taken chan struct{}
	done  chan error
}

type run struct {
	s  *Sender
	d  config.Digest
	e  *editions.Edition
	ed *email.Edition

	owner                  string
	lease, base, maxBackof time.Duration
	maxAge, poll           time.Duration
	batch                  int

	results  chan pending
	inflight atomic.Int64 // claimed here and not yet settled
	owed     atomic.Int64 // messages begun whose outcome the committer has not taken
	settled  atomic.Int64 // attempts recorded, for the claim size
	nextDue  atomic.Int64 // unix nanos of the earliest retry recorded here, 0 = none

	fatalOnce sync.Once
	fatalErr  error       // read only after the committer has stopped
	stopped   atomic.Bool // set with fatalErr, for the workers
	cancel    context.CancelCauseFunc

	sent, retried, failed, skipped atomic.Int64
	commits, recorded              atomic.Int64
}

func (s *Sender) newRun(d config.Digest, e *editions.Edition, ed *email.Edition) *run {
	r := &run{
		s: s, d: d, e: e, ed: ed,
		owner:     s.Owner,
		lease:     orDefault(s.Lease, DefaultLease),
		base:      orDefault(s.BackoffBase, DefaultBackoffBase),
		maxBackof: orDefault(s.BackoffMax, DefaultBackoffMax),
		maxAge:    orDefault(s.RetryMaxAge, DefaultRetryMaxAge),
		poll:      orDefault(s.Poll, DefaultPoll),
		batch:     s.ClaimBatch,
	}
	if r.owner == "" {
		r.owner = NewOwner()
	}
	if r.batch <= 0 {
		r.batch = 64 * s.connections()
	}
	return r
}

// fatal stops the run because state can no longer be recorded.
func (r *run) fatal(err error) {
	r.fatalOnce.Do(func() {
		r.fatalErr = err
		r.stopped.Store(true)
		r.cancel(err)
	})
}

// halt stops the run with err while results can still be recorded: as on
// a cancel, every claim in hand is handed back unsent.
func (r *run) halt(err error) {
	r.fatalOnce.Do(func() {
		r.fatalErr = err
		r.cancel(err)
	})
}

func (r *run) deliver(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	r.cancel = cancel
	conns := r.s.connections()
	jobs := make(chan job, r.batch)
	r.results = make(chan pending, 4*conns)

	committed := make(chan struct{})
	go func() {
		defer close(committed)
		r.commit()
	}()
	var workers sync.WaitGroup
	for range conns {
		workers.Go(func() { r.work(ctx, parent, jobs) })
	}
	stopProgress := r.reportProgress(ctx)

	r.claim(ctx, parent, jobs)

	close(jobs)
	workers.Wait()
	close(r.results)
	<-committed
	stopProgress()
	if r.fatalErr != nil {
		return r.fatalErr
	}
	return parent.Err()
}

// claim feeds jobs until the edition has nothing left that this run can
// do, or ctx ends.
func (r *run) claim(ctx, parent context.Context, jobs chan<- job) {
	st := r.s.Store
	start := time.Now()
	for ctx.Err() == nil {
		now := r.s.now()
		ds, err := st.ClaimDeliveries(ctx, r.e.ID, r.owner, r.claimSize(start), now, r.lease)
		if err != nil {
			if ctx.Err() == nil {
				r.fatal(fmt.Errorf("digest %s: claim deliveries: %w", r.d.Name, err))
			}
			return
		}
		if len(ds) > 0 {
			r.inflight.Add(int64(len(ds)))
			for i, d := range ds {
				select {
				case jobs <- job{d: d, claimed: now}:
				case <-ctx.Done():
					for _, d := range ds[i:] {
						r.release(parent, job{d: d, claimed: now})
					}
					return
				}
			}
			continue
		}
		// Nothing is due now: let every message in hand settle, then see
		// whether the edition is complete or must wait for retries or for
		// other senders.
		for r.inflight.Load() > 0 {
			if !sleep(ctx, 2*time.Millisecond) {
				return
			}
		}
		p, err := st.Progress(ctx, r.e.ID)
		if err != nil {
			if ctx.Err() == nil {
				r.fatal(fmt.Errorf("digest %s: progress: %w", r.d.Name, err))
			}
			return
		}
		if p.Done() || (r.s.NoWait && p.Queued == 0) {
			return
		}
		wait := r.poll
		if due := r.nextDue.Load(); due != 0 {
			// Sleep until the earliest retry recorded here; once it has
			// passed, fall back to polling.
			if due <= now.UnixNano() {
				r.nextDue.CompareAndSwap(due, 0) // the last claim saw it
			} else {
				wait = min(wait, max(time.Unix(0, due).Sub(r.s.now()), 0)+time.Millisecond)
			}
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// claimSize is how many deliveries to claim next: as many as the run
// sends in an eighth of the lease at its pace so far (a slow or
// rate-limited relay must not leave claims waiting until their lease runs
// out), between one per connection and the configured batch.
func (r *run) claimSize(start time.Time) int {
	conns := r.s.connections()
	elapsed := time.Since(start)
	settled := r.settled.Load()
	if elapsed < 500*time.Millisecond || settled < int64(conns) {
		return min(r.batch, 8*conns)
	}
	fit := int(float64(settled) / elapsed.Seconds() * r.lease.Seconds() / 8)
	return max(conns, min(fit, r.batch))
}

// work sends the jobs of one connection: each message is prepared while
// the previous outcome is being committed and finished once it is durable
// (see the top of this file). When the run ends in between (cancelled,
// or a commit failed), the prepared message is aborted, undelivered, and
// its delivery handed back.
func (r *run) work(ctx, parent context.Context, jobs <-chan job) {
	var conn email.Conn
	closeConn := func() {
		if conn != nil {
			_ = conn.Close()
			conn = nil
		}
	}
	defer closeConn()
	// A message whose data has ended is always recorded, even after a
	// cancel.
	sendCtx := context.WithoutCancel(parent)
	w := &waiter{taken: make(chan struct{}, 1), done: make(chan error, 1)}
	waiting := false    // this worker's last outcome is not durable yet
	settled := func() { // after w.done answered
		waiting = false
		r.settled.Add(1)
		r.inflight.Add(-1)
	}
	openFails := 0
	idle := time.NewTimer(idleClose)
	defer idle.Stop()
	for {
		var durable <-chan error
		if waiting {
			durable = w.done
		}
		var j job
		select {
		case next, ok := <-jobs:
			if !ok {
				if waiting {
					<-w.done
					settled()
				}
				return
			}
			j = next
			r.owed.Add(1)
		case <-durable:
			settled()
			continue
		case <-idle.C:
			// Waiting for retries can take minutes: do not hold a
			// connection the server will time out anyway.
			closeConn()
			continue
		}
		idle.Reset(idleClose)
		if ctx.Err() != nil {
			r.owed.Add(-1)
			r.release(parent, j)
			continue
		}
		if r.stale(j) {
			// The lease may run out mid-send and another sender take the
			// delivery over: leave it for a later claim.
			r.owed.Add(-1)
			r.inflight.Add(-1)
			continue
		}
		res, p, pause, halted := r.prepare(sendCtx, &conn, j, &openFails)
		if waiting {
			// A failed commit cancels ctx before it answers.
			<-w.done
			settled()
		}
		if halted {
			r.owed.Add(-1)
			r.release(parent, j)
			continue
		}
		if p != nil {
			if ctx.Err() != nil || r.stale(j) {
				p.Abort()
				closeConn()
				r.owed.Add(-1)
				r.release(parent, j)
				continue
			}
			res = r.finish(sendCtx, &conn, p, res, &openFails)
		}
		r.results <- pending{r: res, w: w}
		waiting = true
		// Begin the next message only once this outcome is in a batch:
		// until then the CPU goes to the other connections finishing
		// theirs, which the committer waits for (see gather).
		<-w.taken
		// Pace reconnecting while the server is down; the delivery itself
		// is retried on its own schedule.
		sleep(ctx, pause)
	}
}

// stale reports a claim held for more than half its lease.
func (r *run) stale(j job) bool {
	return r.s.now().Sub(j.claimed) > r.lease/2
}

// prepare composes the message of j and hands it to the server up to the
// end of its data. It returns p to finish, with res filled in for that,
// or, when nothing is to be delivered, the final outcome res and how long
// to wait before the next attempt when the server could not be reached.
// halted says a template failed to render: the run is stopping and j is
// to be handed back, with no outcome.
func (r *run) prepare(sendCtx context.Context, conn *email.Conn, j job, openFails *int) (res editions.Result, p email.Prepared, pause time.Duration, halted bool) {
	sub := j.d.Subscriber
	res = editions.Result{DeliveryID: j.d.ID, SubscriberID: sub.ID, Attempts: j.d.Attempts + 1}
	rcpt := email.Recipient{ID: sub.ID, TokenKey: sub.TokenKey, Email: sub.Email, Name: sub.Name, Timezone: sub.Timezone}
	m, ok, err := r.s.Composer.Digest(r.ed, rcpt, sub.Tags)
	var rerr *email.RenderError
	switch {
	case errors.As(err, &rerr):
		r.s.log().Error("digest_render_failed", "digest", r.d.Name, "edition", r.e.Key, "subscriber_id", sub.ID, "template", rerr.Template)
		r.halt(fmt.Errorf("digest %s: edition %s: %w; the recipients not yet sent stay queued, fix the template and run again", r.d.Name, r.e.Key, err))
		return res, nil, 0, true
	case err != nil:
		// The error may quote the address: it goes to the store, not the log.
		r.s.log().Warn("digest_compose_failed", "digest", r.d.Name, "edition", r.e.Key, "subscriber_id", sub.ID)
		res.State, res.LastReply, res.At = editions.DeliveryFailed, clip("compose: "+err.Error()), r.s.now()
		return res, nil, 0, false
	case !ok:
		res.State, res.Attempts, res.At = editions.DeliverySkipped, j.d.Attempts, r.s.now()
		return res, nil, 0, false
	}
	if *conn == nil {
		c, err := r.s.Transport.Open(sendCtx)
		if err != nil {
			*openFails++
			se := email.Classify(err)
			r.s.log().Warn("digest_connect_failed", "digest", r.d.Name, "failures", *openFails, "err", replyText(se))
			r.outcome(&res, se)
			return res, nil, min(r.backoff(*openFails), maxReconnectWait), false
		}
		*conn = c
	}
	p, err = (*conn).Prepare(sendCtx, m)
	if err != nil {
		r.refused(conn, &res, err)
		return res, nil, 0, false
	}
	return res, p, 0, false
}

// finish ends the data of a prepared message and returns its outcome.
func (r *run) finish(sendCtx context.Context, conn *email.Conn, p email.Prepared, res editions.Result, openFails *int) editions.Result {
	if err := p.Finish(sendCtx); err != nil {
		r.refused(conn, &res, err)
		return res
	}
	*openFails = 0
	res.State, res.At = editions.DeliverySent, r.s.now()
	return res
}

// refused fills res from a refused or failed message. After a refused
// message the session state is uncertain (and a 421 or a dropped link
// ends it anyway): the next message starts afresh on a new connection.
func (r *run) refused(conn *email.Conn, res *editions.Result, err error) {
	se := email.Classify(err)
	_ = (*conn).Close()
	*conn = nil
	r.outcome(res, se)
}

// outcome fills res from a failed attempt.
func (r *run) outcome(res *editions.Result, se *email.SendError) {
	now := r.s.now()
	res.At = now
	reply := replyText(se)
	if !se.Temporary {
		res.State, res.LastReply, res.Bounce = editions.DeliveryFailed, clip(reply), se.Bounce
		return
	}
	next := now.Add(r.backoff(res.Attempts))
	created := r.e.CreatedAt
	if created.IsZero() {
		created = now
	}
	if next.After(created.Add(r.maxAge)) {
		res.State = editions.DeliveryFailed
		res.LastReply = clip(fmt.Sprintf("gave up after %d attempts: %s", res.Attempts, reply))
		return
	}
	res.State, res.LastReply, res.NextAttempt = editions.DeliveryRetrying, clip(reply), next
}

// release hands a claimed, unsent delivery back: due again at once, its
// attempts and last reply unchanged. One claimed too long ago is left to
// its lease instead: another sender may own it by now.
func (r *run) release(parent context.Context, j job) {
	defer r.inflight.Add(-1)
	if r.stopped.Load() || r.s.now().Sub(j.claimed) > r.lease/2 {
		return // its lease expires on its own
	}
	// The store records only attempt outcomes, so the claim goes back as
	// "retrying, due now" with its attempts unchanged: the lease is cleared
	// and the next claim takes it.
	r.results <- pending{r: editions.Result{
		DeliveryID: j.d.ID, SubscriberID: j.d.Subscriber.ID, State: editions.DeliveryRetrying,
		Attempts: j.d.Attempts, LastReply: j.d.LastReply, NextAttempt: r.s.now(), At: r.s.now(),
	}, release: true}
}

// commit is the single writer of results: it gathers a batch, tells its
// workers they are in it, writes it in one transaction, then wakes them.
func (r *run) commit() {
	batch := make([]pending, 0, maxCommit)
	rs := make([]editions.Result, 0, maxCommit)
	bg := context.Background()
	for p := range r.results {
		batch = r.take(batch[:0], p)
		r.gather(&batch)
		rs = rs[:0]
		for _, p := range batch {
			rs = append(rs, p.r)
			if p.w != nil {
				p.w.taken <- struct{}{}
			}
		}
		err := r.record(bg, rs)
		r.commits.Add(1)
		r.recorded.Add(int64(len(rs)))
		if err != nil {
			r.fatal(fmt.Errorf("digest %s: record results: %w", r.d.Name, err))
		} else {
			for _, p := range batch {
				if !p.release {
					r.count(p.r)
				}
			}
		}
		for _, p := range batch {
			if p.w != nil {
				p.w.done <- err
			}
		}
	}
}

// take adds p to batch.
func (r *run) take(batch []pending, p pending) []pending {
	if p.w != nil {
		r.owed.Add(-1)
	}
	return append(batch, p)
}

// gather adds to batch every result already waiting and, while messages
// are in progress (each worker of the last batch is finishing its next
// one, and hands in its outcome within a round trip or so), waits up to
// gatherWait for them. A transaction costs far more than each row in it
// (a WAL flush on PostgreSQL, about 400µs on SQLite, against some 10µs a
// row), and a worker left out of a batch waits for the whole of the next
// one before it can send again, so waiting briefly for the others raises
// throughput. A worker whose outcome is in hand begins nothing new until
// the batch is closed, so the wait ends as soon as the last message in
// progress is in, and while it lasts the CPU goes to those messages: it
// costs little, and a batch cut short costs a lot. Composing and handing
// over 16 messages on two cores takes 1.5-2.5 ms, longer than a SQLite
// commit: with a 1 ms limit most SQLite batches were cut short and split
// the connections into groups (9 results a commit), with 2 ms one in ten
// to one in three were, and with 5 ms almost none (15.9 of 16; PostgreSQL
// alike). The old target, 3/4 of the connections, left the four slowest
// out of every batch (12.4 results a commit).
func (r *run) gather(batch *[]pending) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for len(*batch) < maxCommit {
		select {
		case p, ok := <-r.results:
			if !ok {
				return
			}
			*batch = r.take(*batch, p)
			continue
		default:
		}
		if r.owed.Load() <= 0 {
			return
		}
		if timer == nil {
			timer = time.NewTimer(gatherWait)
		}
		select {
		case p, ok := <-r.results:
			if !ok {
				return
			}
			*batch = r.take(*batch, p)
		case <-timer.C:
			return
		}
	}
}

// record writes rs, trying again briefly when the database is busy.
func (r *run) record(ctx context.Context, rs []editions.Result) error {
	var err error
	for try := range 5 {
		if err = r.s.Store.RecordResults(ctx, rs); err == nil {
			return nil
		}
		time.Sleep(time.Duration(try+1) * 50 * time.Millisecond)
	}
	return err
}

func (r *run) count(res editions.Result) {
	switch res.State {
	case editions.DeliverySent:
		r.sent.Add(1)
	case editions.DeliveryFailed:
		r.failed.Add(1)
	case editions.DeliverySkipped:
		r.skipped.Add(1)
	case editions.DeliveryRetrying:
		r.retried.Add(1)
		due := res.NextAttempt.UnixNano()
		for {
			cur := r.nextDue.Load()
			if (cur != 0 && cur <= due) || r.nextDue.CompareAndSwap(cur, due) {
				break
			}
		}
	default:
		return
	}
	if r.s.OnResult != nil {
		r.s.OnResult(res)
	}
}

// reportProgress calls Sender.Progress about twice a second until stopped.
// Counting an edition's states reads its whole queue (tens of milliseconds
// for 100,000 recipients), so on a large edition the calls are spaced out
// to keep that under about 2% of the run's time.
func (r *run) reportProgress(ctx context.Context) (stop func()) {
	if r.s.Progress == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for wait := 500 * time.Millisecond; sleep(ctx, wait); {
			start := time.Now()
			p, err := r.s.Store.Progress(ctx, r.e.ID)
			if err != nil {
				continue
			}
			r.s.Progress(p)
			wait = max(500*time.Millisecond, 50*time.Since(start))
		}
	})
	return func() { cancel(); wg.Wait() }
}

// backoff is the delay before attempt n+1: base·2^(n-1), capped, plus up
// to a quarter more of jitter so retries spread out.
func (r *run) backoff(n int) time.Duration {
	d := r.base
	for i := 1; i < n && d < r.maxBackof; i++ {
		d *= 2
	}
	d = min(d, r.maxBackof)
	return d + rand.N(d/4+1)
}

// replyText is what is stored as a delivery's last reply: the SMTP reply,
// or the connection error when there was none.
func replyText(se *email.SendError) string {
	if se.Code == 0 {
		if se.Err != nil {
			return se.Err.Error()
		}
		return se.Error()
	}
	s := strconv.Itoa(se.Code)
	if se.Enhanced != "" {
		s += " " + se.Enhanced
	}
	if se.Reply != "" {
		s += " " + se.Reply
	}
	return s
}

func clip(s string) string {
	const n = 500
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
