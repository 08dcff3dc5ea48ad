package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"briefcast/config"
	"briefcast/digest"
	"briefcast/editions"
	"briefcast/metrics"
	"briefcast/scheduler"
	"briefcast/subscribers"
)

// RebuildJobName names the periodic site rebuild among the scheduler's
// jobs; digest jobs are "digest:" plus the digest's name, so a digest
// called "rebuild" cannot clash with it.
const RebuildJobName = "rebuild"

// DigestJobName is the scheduler's name for digest name's job.
func DigestJobName(name string) string { return "digest:" + name }

// newScheduler makes the scheduler with cfg's jobs; every schedule is
// validated here, so a bad one stops the daemon from starting.
func (d *Daemon) newScheduler(cfg *config.Config) error {
	clock := d.o.Clock
	if clock == nil {
		clock = scheduler.RealClock()
	}
	d.sched = scheduler.New(d.log, clock, d.m)
	jobs, err := d.jobs(cfg)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := d.sched.Add(j); err != nil {
			return err
		}
	}
	return nil
}

// jobs returns the scheduler's jobs for cfg: one per digest, each with the
// resume poller that finishes unfinished editions, and the rebuild when
// [feeds] rebuild is set.
func (d *Daemon) jobs(cfg *config.Config) ([]scheduler.Job, error) {
	var jobs []scheduler.Job
	for _, dg := range cfg.Digests {
		if dg.PerSubscriber() {
			jobs = append(jobs, d.waveJobs(dg)...)
			continue
		}
		jobs = append(jobs, scheduler.Job{
			Name:     DigestJobName(dg.Name),
			Spec:     dg.Schedule,
			Location: dg.Location,
			CatchUp:  dg.CatchUpWindow(),
			Run: func(ctx context.Context, cutoff time.Time) error {
				return d.runDigest(ctx, dg, cutoff)
			},
			Resume: func(ctx context.Context) error { return d.resume(ctx, dg) },
			Last:   lastEdition(d.store, dg.Name),
		})
	}
	if cfg.Feeds.Rebuild != "" {
		loc, err := ScheduleZone(cfg)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, scheduler.Job{
			Name:     RebuildJobName,
			Spec:     cfg.Feeds.Rebuild,
			Location: loc,
			Run:      func(ctx context.Context, _ time.Time) error { return d.rebuild(ctx) },
		})
	}
	return jobs, nil
}

// ScheduleZone is [schedule] timezone loaded, UTC when unset; the rebuild
// job reads a cron spec in it.
func ScheduleZone(cfg *config.Config) (*time.Location, error) {
	if cfg.Schedule.Timezone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(cfg.Schedule.Timezone)
	if err != nil {
		return nil, fmt.Errorf("schedule.timezone: %w", err)
	}
	return loc, nil
}

// lastEdition reads the cut-off of the digest's newest edition, for
// catching up on runs missed while the daemon was down.
func lastEdition(store Store, name string) func(ctx context.Context) (time.Time, bool, error) {
	return func(ctx context.Context) (time.Time, bool, error) {
		e, err := store.LatestEdition(ctx, name)
		if errors.Is(err, subscribers.ErrNotFound) {
			return time.Time{}, false, nil
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("last edition of %s: %w", name, err)
		}
		return e.Cutoff, true, nil
	}
}

// SchedulerLockPath is the lock file that keeps one scheduler (or one
// `digest send`) per SQLite database: beside the database file itself, so
// two configs naming the same file share it. "" for PostgreSQL, where
// unique edition keys make several schedulers safe.
func SchedulerLockPath(cfg *config.Config) string {
	if cfg.Store.Driver != "sqlite" {
		return ""
	}
	path := config.SQLiteFile(cfg.Store.DSN)
	if path == "" {
		return "" // in memory: no other process can open it
	}
	return path + ".scheduler.lock"
}

// start takes the SQLite lock (failing when another process holds it),
// then starts the scheduler (catch-up first) and the content watcher.
func (d *Daemon) start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ctx = ctx
	g := d.cur.Load()
	go g.srv.PingHub(ctx, nil, g.srv.Site())
	// A web-only instance (no scheduler) still keeps its site current.
	d.startWatcher(g.cfg.Site.ContentDir)
	if d.sched == nil {
		return nil
	}
	if path := SchedulerLockPath(g.cfg); path != "" {
		release, err := scheduler.LockFile(path)
		if err != nil {
			return err
		}
		d.release = release
	}
	d.sched.Start(ctx)
	return nil
}

// startWatcher watches dir for article changes. A folder that cannot be
// watched is logged and left to the scheduled rebuild. d.mu is held.
func (d *Daemon) startWatcher(dir string) {
	d.stopWatcher()
	d.watchDir = dir
	ctx, cancel := context.WithCancel(d.ctx)
	wait, err := scheduler.NewWatcher(dir, d.changed, d.log).Start(ctx)
	if err != nil {
		cancel()
		d.log.Error("content_watch_failed", "dir", dir, "err", err)
		return
	}
	d.log.Info("content_watching", "dir", dir)
	d.watchCancel, d.watchWait = cancel, wait
}

func (d *Daemon) stopWatcher() {
	if d.watchCancel != nil {
		d.watchCancel()
		d.watchWait()
		d.watchCancel, d.watchWait = nil, nil
	}
}

// stop stops the watcher and the scheduler, waits (bounded by ctx) for
// running jobs, whose context it cancels so senders record what they sent
// and stop, then releases the lock.
func (d *Daemon) stop(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopWatcher()
	if d.sched == nil {
		return nil
	}
	err := d.sched.Stop(ctx)
	if d.release != nil && err == nil {
		// With jobs still running the lock is kept until the process
		// exits, so a new process cannot start beside them.
		d.release()
		d.release = nil
	}
	return err
}

// digestLocks holds one mutex per digest: one delivery loop at a time in
// this process, whichever of the job and the poller gets there first.
type digestLocks struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

func (l *digestLocks) of(name string) *sync.Mutex {
	l.mu.Lock()
	defer l.mu.Unlock()
	mu := l.m[name]
	if mu == nil {
		mu = &sync.Mutex{}
		l.m[name] = mu
	}
	return mu
}

// runDigest is a digest's scheduled job: it finishes what is still
// unfinished, then creates and delivers the edition due at cutoff, from
// the articles of the site being served, so every link in it points at a
// page that is served.
func (d *Daemon) runDigest(ctx context.Context, dg config.Digest, cutoff time.Time) error {
	mu := d.locks.of(dg.Name)
	mu.Lock()
	defer mu.Unlock()
	g, done := d.acquire()
	defer done()
	if err := d.resumeLocked(ctx, g, dg); err != nil {
		return err
	}
	rep, err := d.sender(g, dg).RunDue(ctx, dg, g.srv.Site().Articles, cutoff)
	if rep != nil && rep.Created {
		d.m.EditionCreated(dg.Name)
	}
	return err
}

// resume is the poller every instance runs: it helps deliver any
// unfinished edition of dg (after a crash, another instance's death, or
// retries coming due). It does nothing while dg's job is running here.
func (d *Daemon) resume(ctx context.Context, dg config.Digest) error {
	mu := d.locks.of(dg.Name)
	if !mu.TryLock() {
		return nil
	}
	defer mu.Unlock()
	g, done := d.acquire()
	defer done()
	return d.resumeLocked(ctx, g, dg)
}

func (d *Daemon) resumeLocked(ctx context.Context, g *graph, dg config.Digest) error {
	eds, err := d.store.Editions(ctx, dg.Name, 20)
	if err != nil {
		return err
	}
	byID := digest.ByID(g.srv.Site().Articles)
	// Oldest first, so a backlog drains in the order it was created.
	for i := len(eds) - 1; i >= 0; i-- {
		e := eds[i]
		if !e.FinishedAt.IsZero() {
			continue
		}
		if _, err := d.sender(g, dg).Deliver(ctx, dg, e, byID); err != nil {
			return err
		}
	}
	return nil
}

// sender returns a Sender for one run of digest dg on g's composer and
// transport. It never waits for retries: the resume poller comes back for
// them, so a mail server that is down cannot hold up the next edition.
func (d *Daemon) sender(g *graph, dg config.Digest) *digest.Sender {
	s := NewSender(g.cfg, d.store, g.composer, g.transport, d.log)
	s.NoWait = true
	if d.o.Lease > 0 {
		s.Lease = d.o.Lease
	}
	s.OnResult = func(r editions.Result) {
		switch r.State {
		case editions.DeliverySent:
			d.m.Message(dg.Name, metrics.ResultSent)
		case editions.DeliveryRetrying:
			d.m.Message(dg.Name, metrics.ResultRetried)
		case editions.DeliveryFailed:
			d.m.Message(dg.Name, metrics.ResultFailed)
		}
	}
	s.OnCreated = d.editionCreated
	return s
}
