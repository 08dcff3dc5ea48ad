package scheduler

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"briefcast/metrics"
)

// runner is one job's state. Its wrapped cron.Job, and so the
// SkipIfStillRunning token, lives as long as the job's name, across
// Replace, so a reload cannot start a second run beside one still going.
type runner struct {
	s    *Scheduler
	name string
	log  *slog.Logger

	mu          sync.Mutex
	job         Job
	sched       Schedule
	due         time.Time // newest scheduled time reached; what a run does
	next        time.Time
	running     bool
	lastRun     time.Time
	lastOutcome string
	lastErr     string
	stopLoop    context.CancelFunc

	wrapped cron.Job // SkipIfStillRunning(Recover(run))
	resume  cron.Job // SkipIfStillRunning(Recover(resume)), its own token
}

func (s *Scheduler) newRunner(j Job, sched Schedule) *runner {
	r := &runner{s: s, name: j.Name, job: j, sched: sched, log: s.log.With("job", j.Name)}
	name := j.Name
	skipLog := cronLogger{log: r.log, onSkip: func() {
		s.m.JobRun(name, metrics.OutcomeSkipped)
		r.mu.Lock()
		r.lastOutcome = metrics.OutcomeSkipped
		r.mu.Unlock()
	}}
	// NewChain(a, b).Then(j) is a(b(j)): SkipIfStillRunning is outermost,
	// so Recover returns normally after a panic and the token goes back.
	r.wrapped = cron.NewChain(cron.SkipIfStillRunning(skipLog), cron.Recover(skipLog)).Then(cron.FuncJob(r.runOnce))
	resumeLog := cronLogger{log: r.log.With("task", "resume")}
	r.resume = cron.NewChain(cron.SkipIfStillRunning(resumeLog), cron.Recover(resumeLog)).Then(cron.FuncJob(r.resumeOnce))
	return r
}

// startLoop starts r's timing loop (and its resume loop). s.mu is held.
func (s *Scheduler) startLoop(r *runner, catchUp bool) {
	ctx, cancel := context.WithCancel(s.loopCtx)
	r.mu.Lock()
	r.stopLoop = cancel
	hasResume := r.job.Resume != nil
	r.mu.Unlock()
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		r.loop(ctx, catchUp)
	}()
	if hasResume {
		s.loops.Add(1)
		go func() {
			defer s.loops.Done()
			r.resumeLoop(ctx)
		}()
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
		r.mu.Lock()
		sched := r.sched
		r.mu.Unlock()
		now := s.clock.Now()
		from := now
		if last.After(from) {
			from = last // the clock went back: never fire a time twice
		}
		next := sched.Next(from)
		r.mu.Lock()
		r.next = next
		r.mu.Unlock()
		if next.IsZero() {
			r.log.Warn("job_never_runs_again", "spec", sched.Spec())
			<-ctx.Done()
			return
		}
		s.m.JobNextRun(r.name, next)
		for now.Before(next) {
			d := min(next.Sub(now), maxSleep)
			select {
			case <-ctx.Done():
				return
			case <-s.clock.After(d):
			}
			now = s.clock.Now()
		}
		// Past due, maybe by much (a suspended machine): run once, for the
		// newest time reached.
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
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("job_catch_up_failed", "err", err)
		}
		return
	}
	if !ok {
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

// fire runs the job for scheduled in the background, through the
// no-overlap and panic guards.
func (r *runner) fire(scheduled time.Time) {
	r.mu.Lock()
	if scheduled.After(r.due) {
		r.due = scheduled
	}
	r.mu.Unlock()
	r.s.runs.Add(1)
	go func() {
		defer r.s.runs.Done()
		r.wrapped.Run()
		if f := r.s.afterFire; f != nil {
			f(r.name)
		}
	}()
}

// runOnce is the innermost job. It runs for the newest due time rather
// than the one that fired it: if two firings race, the one that wins the
// SkipIfStillRunning token does the newer time, which includes the older.
func (r *runner) runOnce() {
	r.mu.Lock()
	j, due := r.job, r.due
	r.running = true
	r.lastRun = r.s.clock.Now()
	r.mu.Unlock()
	finished := false
	defer func() {
		if !finished { // a panic on its way to Recover, which logs it
			r.s.m.JobRun(j.Name, metrics.OutcomePanic)
			r.finish(metrics.OutcomePanic, "panic")
		}
	}()
	r.log.Info("job_started", "scheduled", due)
	err := j.Run(r.s.jobCtx, due)
	finished = true
	if err != nil {
		r.log.Error("job_failed", "scheduled", due, "err", err)
		r.s.m.JobRun(j.Name, metrics.OutcomeError)
		r.finish(metrics.OutcomeError, err.Error())
		return
	}
	r.log.Info("job_finished", "scheduled", due)
	r.s.m.JobRun(j.Name, metrics.OutcomeOK)
	r.finish(metrics.OutcomeOK, "")
}

func (r *runner) finish(outcome, errText string) {
	r.mu.Lock()
	r.running = false
	r.lastOutcome = outcome
	r.lastErr = errText
	r.mu.Unlock()
}

// resumeLoop runs Resume at once and then every ResumeEvery.
func (r *runner) resumeLoop(ctx context.Context) {
	s := r.s
	every := s.ResumeEvery
	if every <= 0 {
		every = DefaultResumeEvery
	}
	for {
		s.runs.Add(1)
		go func() {
			defer s.runs.Done()
			r.resume.Run()
		}()
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(every):
		}
	}
}

func (r *runner) resumeOnce() {
	r.mu.Lock()
	resume := r.job.Resume
	r.mu.Unlock()
	if resume == nil {
		return
	}
	if err := resume(r.s.jobCtx); err != nil && r.s.jobCtx.Err() == nil {
		r.log.Error("job_resume_failed", "err", err)
	}
}
