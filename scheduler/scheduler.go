// Package scheduler runs briefcast's timed jobs (one per digest and the
// periodic site rebuild) on an injectable Clock, and never misses or
// doubles a run: schedules follow the daylight-saving rules of Schedule,
// missed runs are caught up once on Start, a run still going makes the
// next time be skipped, and a panic is recovered and counted. cron only
// parses the specs; jobs are plain functions.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"briefcast/metrics"
)

// Job is one scheduled task.
type Job struct {
	Name     string         // in logs, metrics and Entries; unique
	Spec     string         // a five-field cron spec or a descriptor (@daily, @every 5m)
	Location *time.Location // the zone Spec is read in; nil means UTC
	// CatchUp is how long after a missed time the job still runs it on
	// Start; 0 means never.
	CatchUp time.Duration
	// Run does the work for the scheduled time (the digest's cut-off). It
	// must create-or-resume, so a run for a time already done is harmless.
	Run func(ctx context.Context, scheduled time.Time) error
	// Last returns the scheduled time of the newest run started (ok=false
	// when there never was one); nil means the job never catches up.
	Last func(ctx context.Context) (t time.Time, ok bool, err error)
	// Resume, when set, is called on Start and then every 15 seconds to
	// finish work left unfinished, here or by a dead process. Its runs
	// never overlap each other.
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

// resumeEvery is how often Job.Resume runs.
const resumeEvery = 15 * time.Second

// maxSleep bounds each wait so a wall-clock jump (a suspended machine) is
// noticed within a minute.
const maxSleep = time.Minute

// Scheduler runs Jobs at their times. Make one with New.
type Scheduler struct {
	log   *slog.Logger
	clock Clock
	m     *metrics.Metrics

	afterFire func(name string) // for tests: a firing has returned

	mu      sync.Mutex
	runners []*runner // in the order added
	started bool
	stopped bool
	jobCtx  context.Context // given to every Run and Resume, and parent of every loop
	stopJob context.CancelFunc
	loops   sync.WaitGroup
	runs    sync.WaitGroup
}

// New returns a Scheduler that logs to log, reads time from clock (the
// real one when nil) and counts runs in m (which may be nil).
func New(log *slog.Logger, clock Clock, m *metrics.Metrics) *Scheduler {
	if clock == nil {
		clock = realClock{}
	}
	return &Scheduler{log: log, clock: clock, m: m}
}

func (s *Scheduler) validate(j Job) (Schedule, error) {
	if j.Name == "" {
		return Schedule{}, errors.New("scheduler: job without a name")
	}
	if j.Run == nil {
		return Schedule{}, fmt.Errorf("scheduler: job %q: no Run function", j.Name)
	}
	sched, err := ParseSchedule(j.Spec, j.Location)
	if err == nil {
		err = sched.checkFires(s.clock.Now())
	}
	if err != nil {
		return Schedule{}, fmt.Errorf("scheduler: job %q: schedule %q: %w", j.Name, j.Spec, err)
	}
	if j.CatchUp < 0 {
		return Schedule{}, fmt.Errorf("scheduler: job %q: catch-up must not be negative", j.Name)
	}
	return sched, nil
}

func find(rs []*runner, name string) *runner {
	if i := slices.IndexFunc(rs, func(r *runner) bool { return r.name == name }); i >= 0 {
		return rs[i]
	}
	return nil
}

// Add validates j and schedules it; after Start it begins at once.
func (s *Scheduler) Add(j Job) error {
	sched, err := s.validate(j)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if find(s.runners, j.Name) != nil {
		return fmt.Errorf("scheduler: job %q added twice", j.Name)
	}
	s.runners = append(s.runners, s.newRunner(j, sched))
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
	for _, r := range s.runners {
		s.startLoop(r, true)
	}
}

// Stop stops scheduling, cancels the context of running jobs and waits
// for them to return, or for ctx to end, whichever is first.
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

// Replace swaps the set of jobs, for a configuration reload; on any
// invalid job nothing changes. Jobs keep their state (and a run in
// progress) by name; a changed spec or zone is rescheduled from now;
// removed jobs stop being scheduled; new jobs start with their catch-up.
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
	old := s.runners
	for _, r := range old {
		if !seen[r.name] {
			r.stop()
			s.m.ForgetJob(r.name)
			s.log.Info("job_removed", "job", r.name)
		}
	}
	s.runners = make([]*runner, len(jobs))
	for i, j := range jobs {
		r := find(old, j.Name)
		if r == nil {
			s.runners[i] = s.newRunner(j, scheds[i])
			s.log.Info("job_added", "job", j.Name, "spec", j.Spec)
			continue
		}
		s.runners[i] = r
		r.mu.Lock()
		changed := r.sched.spec != scheds[i].spec || r.sched.loc.String() != scheds[i].loc.String() ||
			(r.job.Resume == nil) != (j.Resume == nil)
		r.job, r.sched = j, scheds[i]
		r.mu.Unlock()
		if changed {
			r.stop()
			s.startLoop(r, false)
			s.log.Info("job_rescheduled", "job", j.Name, "spec", j.Spec, "zone", scheds[i].loc.String())
		}
	}
	return nil
}

// Entries describes every job, in order, with its next three runs.
func (s *Scheduler) Entries() []EntryInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	out := make([]EntryInfo, 0, len(s.runners))
	for _, r := range s.runners {
		r.mu.Lock()
		e, sched, next := r.last, r.sched, r.next
		e.Name, e.Spec, e.Location = r.job.Name, r.job.Spec, sched.loc
		r.mu.Unlock()
		from := now
		if sched.Interval() > 0 && next.After(now) {
			// An @every job's runs count from its loop's next run (aligned
			// on the interval), not from now.
			from = next.Add(-time.Nanosecond)
		}
		e.Next = sched.NextN(from, 3) // in sched.loc
		out = append(out, e)
	}
	return out
}

// ErrLocked is returned by LockFile when another process holds the lock.
var ErrLocked = errors.New("another briefcast process runs the scheduler on this database")

// LockFile takes an exclusive, non-blocking flock on path (creating it), so
// only one process runs the scheduler on a SQLite database; the kernel
// drops it when the process dies, so a crash leaves no stale lock. A second
// taker gets an error wrapping ErrLocked that names the file.
func LockFile(path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("scheduler: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("scheduler: %w (lock file %s is held; with SQLite only one process may run the scheduler: stop the other one, or use PostgreSQL for several instances)", ErrLocked, path)
		}
		return nil, fmt.Errorf("scheduler: lock %s: %w", path, err)
	}
	// The pid is only a hint for the operator; the flock is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return sync.OnceFunc(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}), nil
}
