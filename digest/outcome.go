package digest

// What happens to one delivery after an attempt: its outcome, its
// backoff, a claim handed back; and the progress reports of a run.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"briefcast/editions"
	"briefcast/email"
)

// outcome fills res from a failed attempt.
func (r *run) outcome(res *editions.Result, se *email.SendError) {
	now := r.s.now()
	res.At = now
	reply := se.ReplyText()
	if !se.Temporary {
		res.State, res.LastReply, res.Bounce = editions.DeliveryFailed, clip(reply), se.Bounce
		return
	}
	next := now.Add(r.backoff(res.Attempts))
	created := r.e.CreatedAt
	if created.IsZero() {
		created = now
	}
	if next.After(created.Add(r.s.RetryMaxAge)) {
		res.State = editions.DeliveryFailed
		res.LastReply = clip(fmt.Sprintf("gave up after %d attempts: %s", res.Attempts, reply))
		return
	}
	res.State, res.LastReply, res.NextAttempt = editions.DeliveryRetrying, clip(reply), next
}

// release hands a claimed, unsent delivery back as "retrying, due now",
// its attempts and last reply unchanged. One claimed too long ago is left
// to its lease instead: another sender may own it by now.
func (r *run) release(j job) {
	defer r.inflight.Add(-1)
	if r.stopped.Load() || r.stale(j) {
		return
	}
	r.results <- pending{r: editions.Result{
		DeliveryID: j.d.ID, SubscriberID: j.d.Subscriber.ID, State: editions.DeliveryRetrying,
		Attempts: j.d.Attempts, LastReply: j.d.LastReply, NextAttempt: r.s.now(), At: r.s.now(),
	}, release: true}
}

// reportProgress calls Sender.Progress about twice a second until stopped,
// less often on a large edition: counting reads the whole queue, which is
// kept under about 2% of the run's time.
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
	d := r.s.BackoffBase
	for i := 1; i < n && d < r.s.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, r.s.BackoffMax)
	return d + rand.N(d/4+1)
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
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}
