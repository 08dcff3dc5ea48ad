package digest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"briefcast/config"
	"briefcast/editions"
	"briefcast/email"
)

// The delivery engine of one Deliver call. The calling goroutine claims
// batches of due deliveries and feeds them to one worker per connection;
// each worker sends one message at a time and hands the outcome to a single
// committer goroutine, which writes every outcome waiting at that moment
// with one RecordResults (group commit). A worker completes its next
// message only once the outcome of the previous one is durable, so a crash
// leaves at most one message per connection sent but not recorded.
//
// Completes, not sends: a server takes a message only when its data ends
// with the final ".", so while one outcome is being committed the worker
// already composes the next message and hands it over up to that last line
// (email.Conn.Prepare), and ends it once the outcome is durable.
// bench/NOTES.md has the measurements behind this design.

const (
	maxReconnectWait = time.Minute      // the longest pause between attempts to reach a server that is down
	idleClose        = 20 * time.Second // how long a connection may sit unused before it is closed
)

type job struct {
	d       editions.Delivery
	claimed time.Time
}

type run struct {
	s  *Sender
	d  config.Digest
	e  *editions.Edition
	ed *email.Edition

	results  chan pending
	inflight atomic.Int64 // claimed here and not yet settled
	owed     atomic.Int64 // messages begun whose outcome the committer has not taken
	nextDue  atomic.Int64 // unix nanos of the earliest retry recorded here, 0 = none

	fatalOnce sync.Once
	fatalErr  error       // read only after the committer has stopped
	stopped   atomic.Bool // results can no longer be recorded, for the workers
	cancel    context.CancelCauseFunc

	rep Report // this run's counts, kept by the committer
}

// newRun starts a run on a copy of s with every zero setting at its
// default.
func (s *Sender) newRun(d config.Digest, e *editions.Edition, ed *email.Edition) *run {
	c := *s
	c.Lease = orDefault(s.Lease, DefaultLease)
	c.BackoffBase = orDefault(s.BackoffBase, DefaultBackoffBase)
	c.BackoffMax = orDefault(s.BackoffMax, DefaultBackoffMax)
	c.RetryMaxAge = orDefault(s.RetryMaxAge, DefaultRetryMaxAge)
	c.Poll = orDefault(s.Poll, DefaultPoll)
	c.Connections = orDefault(s.Connections, DefaultConnections)
	c.ClaimBatch = orDefault(s.ClaimBatch, 64*c.Connections)
	if c.Owner == "" {
		c.Owner = NewOwner()
	}
	return &run{s: &c, d: d, e: e, ed: ed}
}

// fatal stops the run because state can no longer be recorded.
func (r *run) fatal(err error) { r.halt(err, true) }

// halt stops the run with err. While results can still be recorded (not
// stopped), every claim in hand is handed back unsent, as on a cancel.
func (r *run) halt(err error, stopped bool) {
	r.fatalOnce.Do(func() {
		r.fatalErr = err
		r.stopped.Store(stopped)
		r.cancel(err)
	})
}

func (r *run) deliver(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	r.cancel = cancel
	conns := r.s.Connections
	jobs := make(chan job, r.s.ClaimBatch)
	r.results = make(chan pending, 4*conns)

	var committer, workers sync.WaitGroup
	committer.Go(r.commit)
	for range conns {
		workers.Go(func() { r.work(ctx, parent, jobs) })
	}
	stopProgress := r.reportProgress(ctx)

	r.claim(ctx, jobs)

	close(jobs)
	workers.Wait()
	close(r.results)
	committer.Wait()
	stopProgress()
	if r.fatalErr != nil {
		return r.fatalErr
	}
	return parent.Err()
}

// claim feeds jobs until the edition has nothing left that this run can
// do, or ctx ends.
func (r *run) claim(ctx context.Context, jobs chan<- job) {
	st := r.s.Store
	for ctx.Err() == nil {
		now := r.s.now()
		ds, err := st.ClaimDeliveries(ctx, r.e.ID, r.s.Owner, r.s.ClaimBatch, now, r.s.Lease)
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
						r.release(job{d: d, claimed: now})
					}
					return
				}
			}
			continue
		}
		// Nothing is due now: let every message in hand settle, then see
		// whether the edition is complete or must wait.
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
		wait := r.s.Poll
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

// work sends the jobs of one connection (see the top of this file). When
// the run ends between preparing and finishing a message, it is aborted,
// undelivered, and its delivery handed back.
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
	waiting := false // this worker's last outcome is not durable yet
	settle := func() {
		if waiting {
			<-w.done
			waiting = false
			r.inflight.Add(-1)
		}
	}
	giveBack := func(j job) {
		r.owed.Add(-1)
		r.release(j)
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
				settle()
				return
			}
			j = next
			r.owed.Add(1)
		case <-durable:
			waiting = false
			r.inflight.Add(-1)
			continue
		case <-idle.C:
			// Waiting for retries can take minutes: do not hold a
			// connection the server will time out anyway.
			closeConn()
			continue
		}
		idle.Reset(idleClose)
		if ctx.Err() != nil {
			giveBack(j)
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
		settle() // a failed commit cancels ctx before it answers
		if halted {
			giveBack(j)
			continue
		}
		if p != nil {
			if ctx.Err() != nil || r.stale(j) {
				p.Abort()
				closeConn()
				giveBack(j)
				continue
			}
			if err := p.Finish(sendCtx); err != nil {
				r.refused(&conn, &res, err)
			} else {
				openFails = 0
				res.State, res.At = editions.DeliverySent, r.s.now()
			}
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
	return r.s.now().Sub(j.claimed) > r.s.Lease/2
}

// prepare composes the message of j and hands it to the server up to the
// end of its data, returning p to finish; or, with nothing to deliver, the
// final outcome res and the pause before reconnecting to a server that
// could not be reached. halted says a template failed to render: j is to
// be handed back, with no outcome.
func (r *run) prepare(sendCtx context.Context, conn *email.Conn, j job, openFails *int) (res editions.Result, p email.Prepared, pause time.Duration, halted bool) {
	sub := j.d.Subscriber
	res = editions.Result{DeliveryID: j.d.ID, SubscriberID: sub.ID, Attempts: j.d.Attempts + 1}
	rcpt := email.Recipient{ID: sub.ID, TokenKey: sub.TokenKey, Email: sub.Email, Name: sub.Name, Timezone: sub.Timezone,
		Depth: sub.Depths[r.d.Name]}
	ed, held := r.editionFor(sendCtx, &res)
	if held {
		return res, nil, 0, false
	}
	m, ok, err := r.s.Composer.Digest(ed, rcpt, sub.Tags)
	var rerr *email.RenderError
	switch {
	case errors.As(err, &rerr):
		r.s.log().Error("digest_render_failed", "digest", r.d.Name, "edition", r.e.Key, "subscriber_id", sub.ID, "template", rerr.Template)
		r.halt(fmt.Errorf("digest %s: edition %s: %w; the recipients not yet sent stay queued, fix the template and run again", r.d.Name, r.e.Key, err), false)
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
			r.s.log().Warn("digest_connect_failed", "digest", r.d.Name, "failures", *openFails, "err", se.ReplyText())
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

// refused fills res from a refused or failed message. The session state is
// uncertain now, so the next message starts on a new connection.
func (r *run) refused(conn *email.Conn, res *editions.Result, err error) {
	se := email.Classify(err)
	_ = (*conn).Close()
	*conn = nil
	r.outcome(res, se)
}
