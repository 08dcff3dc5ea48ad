package digest

import (
	"context"
	"fmt"
	"time"

	"briefcast/editions"
)

// The committer side of a run: the single goroutine that writes the
// outcomes workers hand it in group commits (see deliver.go).

const (
	maxCommit  = 1024                 // the most results in one group commit
	gatherWait = 5 * time.Millisecond // the longest wait for the messages in progress (see gather)
)

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

// commit gathers a batch, tells its workers they are in it, writes it in
// one transaction, then wakes them.
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
		r.rep.Commits++
		if err != nil {
			r.fatal(fmt.Errorf("digest %s: record results: %w", r.d.Name, err))
		}
		for _, p := range batch {
			if err == nil && !p.release {
				r.count(p.r)
			}
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
// are in progress, waits up to gatherWait for them: a transaction costs far
// more than each row in it, and a worker left out of a batch waits for the
// whole of the next one. A worker whose outcome is in hand begins nothing
// new until the batch is taken, so the wait ends as soon as the last
// message in progress is in.
func (r *run) gather(batch *[]pending) {
	var timeout <-chan time.Time
	for len(*batch) < maxCommit {
		var wait <-chan time.Time // nil while a result is waiting: take it first
		if len(r.results) == 0 {
			if r.owed.Load() <= 0 {
				return
			}
			if timeout == nil {
				timeout = time.After(gatherWait)
			}
			wait = timeout
		}
		select {
		case p, ok := <-r.results:
			if !ok {
				return
			}
			*batch = r.take(*batch, p)
		case <-wait:
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
		r.rep.Sent++
	case editions.DeliveryFailed:
		r.rep.Failed++
	case editions.DeliverySkipped:
		r.rep.Skipped++
	case editions.DeliveryRetrying:
		r.rep.Retried++
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
