package scheduler

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"briefcast/metrics"
)

// runner is one job's state. It lives as long as the job's name, across
// Replace, so a reload cannot start a second run beside one still going.
type runner struct {
	s    *Scheduler
	name string
	log  *slog.Logger

	mu       sync.Mutex
	job      Job
	sched    Schedule
	due      time.Time // newest scheduled time reached; what a run does
	next     time.Time
	last     EntryInfo // Running and the last run's fields
	stopLoop context.CancelFunc

	runBusy, resumeBusy sync.Mutex // held by the run (the resume) going on
}

// newRunner makes j's runner and starts it with its catch-up. s.mu is held.
func (s *Scheduler) newRunner(j Job, sched Schedule) *runner {
	r := &runner{s: s, name: j.Name, job: j, sched: sched, log: s.log.With("job", j.Name)}
	s.startLoop(r, true)
	return r
}

// guard runs f unless the previous run holding busy is still going (that
// time is skipped, not run twice: false). A panic in f is logged with its
// stack and recovered, so the job runs again at its next time.
func guard(busy *sync.Mutex, log *slog.Logger, f func()) (ran bool) {
	if !busy.TryLock() {
		log.Warn("job_skipped_still_running")
		return false
	}
	defer busy.Unlock()
	defer func() {
		if p := recover(); p != nil {
			log.Error("job_panic", "err", p, "stack", string(debug.Stack()))
		}
	}()
	ran = true // a panic in f returns true too
	f()
	return ran
}

// startLoop starts r's timing loop (and its resume loop) if the scheduler
// runs. s.mu is held.
func (s *Scheduler) startLoop(r *runner, catchUp bool) {
	if !s.started || s.stopped {
		return
	}
	ctx, cancel := context.WithCancel(s.jobCtx)
	r.mu.Lock()
	r.stopLoop = cancel
	hasResume := r.job.Resume != nil
	r.mu.Unlock()
	s.loops.Go(func() { r.loop(ctx, catchUp) })
	if hasResume {
		s.loops.Go(func() { r.resumeLoop(ctx) })
	}
}

// stop ends r's loops; a run in progress finishes.
func (r *runner) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next = time.Time{}
	if r.stopLoop != nil {
		r.stopLoop()
	}
}

// loop waits for each scheduled time and fires it.
func (r *runner) loop(ctx context.Context, catchUp bool) {
	s := r.s
	if catchUp {
		r.catchUp(ctx)
	}
	var last time.Time
	for {
		now := s.clock.Now()
		from := now
		if last.After(from) {
			from = last // the clock went back: never fire a time twice
		}
		r.mu.Lock()
		sched := r.sched
		r.next = sched.Next(from)
		next := r.next
		r.mu.Unlock()
		if next.IsZero() {
			r.log.Warn("job_never_runs_again", "spec", sched.spec)
			<-ctx.Done()
			return
		}
		s.m.JobNextRun(r.name, next)
		for now.Before(next) {
			select {
			case <-ctx.Done():
				return
			case <-s.clock.After(min(next.Sub(now), maxSleep)):
			}
			now = s.clock.Now()
		}
		// Past due, maybe by much: run once, for the newest time reached.
		due := next
		for t := sched.Next(due); !t.IsZero() && !t.After(now); t = sched.Next(t) {
			due = t
		}
		last = due
		r.fire(due)
	}
}

// catchUp runs the newest missed time once, if it is within the window.
func (r *runner) catchUp(ctx context.Context) {
	r.mu.Lock()
	j, sched := r.job, r.sched
	r.mu.Unlock()
	if j.Last == nil || j.CatchUp <= 0 {
		return
	}
	last, ok, err := j.Last(ctx)
	if err != nil && ctx.Err() == nil {
		r.log.Error("job_catch_up_failed", "err", err)
	}
	if err != nil || !ok {
		return
	}
	now := r.s.clock.Now()
	missed, ok := sched.Latest(last, now, j.CatchUp)
	if !ok {
		if first := sched.Next(last); !first.IsZero() && !first.After(now) {
			r.log.Warn("job_missed_beyond_catch_up", "last", last, "catch_up", j.CatchUp.String())
		}
		return
	}
	r.log.Info("job_catching_up", "scheduled", missed, "last", last)
	r.fire(missed)
}

// fire runs the job for scheduled in the background, through guard.
func (r *runner) fire(scheduled time.Time) {
	r.mu.Lock()
	if scheduled.After(r.due) {
		r.due = scheduled
	}
	r.mu.Unlock()
	r.s.runs.Go(func() {
		if !guard(&r.runBusy, r.log, r.runOnce) {
			r.s.m.JobRun(r.name, metrics.OutcomeSkipped)
			r.mu.Lock()
			r.last.LastOutcome = metrics.OutcomeSkipped
			r.mu.Unlock()
		}
		if f := r.s.afterFire; f != nil {
			f(r.name)
		}
	})
}

// runOnce runs the job for the newest due time rather than the one that
// fired it: if two firings race, the one that wins runBusy does the newer
// time, which includes the older.
func (r *runner) runOnce() {
	r.mu.Lock()
	j, due := r.job, r.due
	r.last.Running, r.last.LastRun = true, r.s.clock.Now()
	r.mu.Unlock()
	// Until Run returns, a panic is on its way to guard, which logs it.
	outcome, errText := metrics.OutcomePanic, "panic"
	defer func() {
		r.s.m.JobRun(j.Name, outcome)
		r.mu.Lock()
		r.last.Running, r.last.LastOutcome, r.last.LastError = false, outcome, errText
		r.mu.Unlock()
	}()
	r.log.Info("job_started", "scheduled", due)
	if err := j.Run(r.s.jobCtx, due); err != nil {
		r.log.Error("job_failed", "scheduled", due, "err", err)
		outcome, errText = metrics.OutcomeError, err.Error()
		return
	}
	r.log.Info("job_finished", "scheduled", due)
	outcome, errText = metrics.OutcomeOK, ""
}

// resumeLoop runs Resume at once and then every resumeEvery.
func (r *runner) resumeLoop(ctx context.Context) {
	for {
		r.s.runs.Go(func() { guard(&r.resumeBusy, r.log.With("task", "resume"), r.resumeOnce) })
		select {
		case <-ctx.Done():
			return
		case <-r.s.clock.After(resumeEvery):
		}
	}
}

func (r *runner) resumeOnce() {
	r.mu.Lock()
	resume := r.job.Resume
	r.mu.Unlock()
	if resume == nil { // replaced by a job without one
		return
	}
	if err := resume(r.s.jobCtx); err != nil && r.s.jobCtx.Err() == nil {
		r.log.Error("job_resume_failed", "err", err)
	}
}
