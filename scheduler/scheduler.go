// Package scheduler runs briefcast's timed jobs: one per digest and the
// periodic site rebuild. It never misses or doubles a run:
//
//   - schedules follow the daylight-saving rules described on Schedule;
//   - on Start, a job whose last run (from the store) is older than a
//     scheduled time runs once for the newest missed time, if that is within
//     the job's catch-up window; several missed runs collapse into one;
//   - a run still going when the next time comes makes that time be
//     skipped, not run twice (cron's SkipIfStillRunning);
//   - a panic in a job is recovered, logged with its stack and counted, and
//     the job runs again at its next time (cron's Recover, wrapped inside
//     SkipIfStillRunning so the panic cannot leak its token).
//
// Timing is done by the scheduler itself with an injectable Clock; cron is
// used to parse the specs and for its job wrappers. The package knows
// nothing of digests or sites: jobs are plain functions.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"briefcast/metrics"
)

// Job is one scheduled task.
type Job struct {
	// Name identifies the job in logs, metrics and Entries; unique.
	Name string
	// Spec is a five-field cron spec or a descriptor (@daily, @every 5m).
	Spec string
	// Location is the zone Spec is read in; nil means UTC.
	Location *time.Location
	// CatchUp is how long after a missed time the job still runs it on
	// Start; 0 means never.
	CatchUp time.Duration
	// Run does the work for the scheduled time (the digest's cut-off). It
	// must create-or-resume, so a run for a time already done is harmless.
	Run func(ctx context.Context, scheduled time.Time) error
	// Last returns the scheduled time of the newest completed or started
	// run (the last edition's cut-off), ok=false when there never was one.
	// Nil means the job never catches up.
	Last func(ctx context.Context) (t time.Time, ok bool, err error)
	// Resume, when set, is called on Start and then every ResumeEvery to
	// finish work left unfinished, here or by a dead process (a digest's
	// unfinished edition). Its runs never overlap each other.
	Resume func(ctx context.Context) error
}

// EntryInfo describes a scheduled job for operators.
type EntryInfo struct {
	Name        string
	Spec        string
	Location    *time.Location
	Next        []time.Time // the next three runs, in Location
	Running     bool
	LastRun     time.Time // when the last run started (zero: none yet)
	LastOutcome string    // metrics.OutcomeOK, OutcomeError, OutcomePanic or OutcomeSkipped
	LastError   string
}

// DefaultResumeEvery is how often Job.Resume runs unless ResumeEvery is set.
const DefaultResumeEvery = 15 * time.Second

// maxSleep bounds each wait so a wall-clock jump (a suspended machine, a
// corrected clock) is noticed within a minute.
const maxSleep = time.Minute

// Scheduler runs Jobs at their times. Make one with New.
type Scheduler struct {
	// ResumeEvery is how often each job's Resume runs; set before Start.
	ResumeEvery time.Duration

	log   *slog.Logger
	clock Clock
	m     *metrics.Metrics

	// afterFire, for tests, is called once a firing has returned (run,
	// skipped or recovered from a panic).
	afterFire func(name string)

	mu      sync.Mutex
	runners map[string]*runner
	order   []string
	started bool
	stopped bool
	jobCtx  context.Context // given to every Run and Resume
	stopJob context.CancelFunc
	loopCtx context.Context // parent of every loop
	loops   sync.WaitGroup
	runs    sync.WaitGroup
}

// New returns a Scheduler that logs to log, reads time from clock and
// counts runs in m (which may be nil).
func New(log *slog.Logger, clock Clock, m *metrics.Metrics) *Scheduler {
	if clock == nil {
		clock = RealClock()
	}
	return &Scheduler{
		ResumeEvery: DefaultResumeEvery,
		log:         log,
		clock:       clock,
		m:           m,
		runners:     map[string]*runner{},
	}
}

func (s *Scheduler) validate(j Job) (Schedule, error) {
	if j.Name == "" {
		return Schedule{}, errors.New("scheduler: job without a name")
	}
	if j.Run == nil {
		return Schedule{}, fmt.Errorf("scheduler: job %q: no Run function", j.Name)
	}
	sched, err := ParseSchedule(j.Spec, j.Location)
	if err != nil {
		return Schedule{}, fmt.Errorf("scheduler: job %q: schedule %q: %w", j.Name, j.Spec, err)
	}
	if err := sched.checkFires(s.clock.Now()); err != nil {
		return Schedule{}, fmt.Errorf("scheduler: job %q: schedule %q: %w", j.Name, j.Spec, err)
	}
	if j.CatchUp < 0 {
		return Schedule{}, fmt.Errorf("scheduler: job %q: catch-up must not be negative", j.Name)
	}
	return sched, nil
}

// Add validates j and schedules it; after Start it begins at once. The
// error names the job and its spec.
func (s *Scheduler) Add(j Job) error {
	sched, err := s.validate(j)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.runners[j.Name]; dup {
		return fmt.Errorf("scheduler: job %q added twice", j.Name)
	}
	r := s.newRunner(j, sched)
	s.runners[j.Name] = r
	s.order = append(s.order, j.Name)
	if s.started && !s.stopped {
		s.startLoop(r, true)
	}
	return nil
}

// Start runs every job's catch-up (see Job.CatchUp), then its schedule,
// until Stop. Runs get a context that Stop cancels, derived from ctx.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	s.jobCtx, s.stopJob = context.WithCancel(ctx)
	s.loopCtx = s.jobCtx
	for _, name := range s.order {
		s.startLoop(s.runners[name], true)
	}
}

// Stop stops scheduling, cancels the context of running jobs (a sender
// then finishes the messages in hand and records them) and waits for them
// to return, or for ctx to end, whichever is first.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	started := s.started
	if started {
		s.stopJob()
	}
	s.mu.Unlock()
	if !started {
		return nil
	}
	s.loops.Wait() // loops end promptly once their context is done
	done := make(chan struct{})
	go func() { s.runs.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("scheduler: jobs still running at shutdown: %w", ctx.Err())
	}
}

// Replace swaps the set of jobs, for a configuration reload. Every job is
// validated first: on any error nothing changes. Jobs keep their state
// (and a run in progress) by name; a job whose spec or zone changed is
// rescheduled from now; removed jobs stop being scheduled (a run in
// progress finishes); new jobs start with their catch-up.
func (s *Scheduler) Replace(jobs []Job) error {
	scheds := make([]Schedule, len(jobs))
	seen := map[string]bool{}
	for i, j := range jobs {
		sched, err := s.validate(j)
		if err != nil {
			return err
		}
		if seen[j.Name] {
			return fmt.Errorf("scheduler: job %q given twice", j.Name)
		}
		seen[j.Name] = true
		scheds[i] = sched
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	running := s.started && !s.stopped
	for _, name := range s.order {
		if seen[name] {
			continue
		}
		r := s.runners[name]
		r.mu.Lock()
		if r.stopLoop != nil {
			r.stopLoop()
		}
		r.mu.Unlock()
		delete(s.runners, name)
		s.m.ForgetJob(name)
		s.log.Info("job_removed", "job", name)
	}
	s.order = s.order[:0]
	for i, j := range jobs {
		s.order = append(s.order, j.Name)
		r, ok := s.runners[j.Name]
		if !ok {
			r = s.newRunner(j, scheds[i])
			s.runners[j.Name] = r
			if running {
				s.startLoop(r, true)
			}
			s.log.Info("job_added", "job", j.Name, "spec", j.Spec)
			continue
		}
		r.mu.Lock()
		changed := r.sched.Spec() != scheds[i].Spec() || r.sched.Location().String() != scheds[i].Location().String() ||
			(r.job.Resume == nil) != (j.Resume == nil)
		r.job, r.sched = j, scheds[i]
		if changed {
			r.next = time.Time{}
			if r.stopLoop != nil {
				r.stopLoop()
			}
		}
		r.mu.Unlock()
		if changed {
			if running {
				s.startLoop(r, false)
			}
			s.log.Info("job_rescheduled", "job", j.Name, "spec", j.Spec, "zone", scheds[i].Location().String())
		}
	}
	return nil
}

// Entries describes every job, in the order they were added, with its
// next three runs.
func (s *Scheduler) Entries() []EntryInfo {
	s.mu.Lock()
	runners := make([]*runner, 0, len(s.order))
	for _, name := range s.order {
		runners = append(runners, s.runners[name])
	}
	s.mu.Unlock()
	now := s.clock.Now()
	out := make([]EntryInfo, 0, len(runners))
	for _, r := range runners {
		r.mu.Lock()
		e := EntryInfo{
			Name:        r.job.Name,
			Spec:        r.job.Spec,
			Location:    r.sched.Location(),
			Running:     r.running,
			LastRun:     r.lastRun,
			LastOutcome: r.lastOutcome,
			LastError:   r.lastErr,
		}
		sched, next := r.sched, r.next
		r.mu.Unlock()
		from := now
		if sched.Interval() > 0 && next.After(now) {
			// An @every job's runs count from its loop, not from now.
			e.Next = append(e.Next, next.In(sched.Location()))
			from = next
		}
		for _, t := range sched.NextN(from, 3-len(e.Next)) {
			e.Next = append(e.Next, t.In(sched.Location()))
		}
		out = append(out, e)
	}
	return out
}
