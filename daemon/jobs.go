package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
// jobs; digest jobs start with "digest:", so a digest cannot clash with it.
const RebuildJobName = "rebuild"

// DigestJobName is the scheduler's name for digest name's job.
func DigestJobName(name string) string { return "digest:" + name }

// WaveJobName is the scheduler's name for the job that sends digest name's
// waves in zone; "" (subscribers without a zone) is the digest's own job.
func WaveJobName(name, zone string) string {
	if zone == "" {
		return DigestJobName(name)
	}
	return DigestJobName(name) + "@" + zone
}

// newScheduler makes the scheduler; a bad schedule stops the daemon starting.
func (d *Daemon) newScheduler(cfg *config.Config) error {
	d.sched = scheduler.New(d.log, d.o.Clock, d.m)
	for _, j := range d.jobs(cfg) {
		if err := d.sched.Add(j); err != nil {
			return err
		}
	}
	return nil
}

// jobs returns cfg's jobs: the rebuild, and one per digest or, for a
// local-time one, per zone of its subscribers (zones with equal times meet
// on the wave's key); only the digest's own job resumes.
func (d *Daemon) jobs(cfg *config.Config) []scheduler.Job {
	var jobs []scheduler.Job
	for _, dg := range cfg.Digests {
		zones := []string{""}
		if dg.PerSubscriber() {
			zones = d.waveZones(dg)
		}
		for _, z := range zones {
			loc, err := digest.ZoneLocation(dg, z)
			if err != nil {
				d.log.Warn("digest_zone_skipped", "digest", dg.Name, "zone", z, "err", err)
				continue
			}
			j := scheduler.Job{
				Name:     WaveJobName(dg.Name, z),
				Spec:     dg.Schedule,
				Location: loc,
				CatchUp:  dg.CatchUpWindow(),
				Run:      func(ctx context.Context, at time.Time) error { return d.runDigest(ctx, dg, at) },
				Last:     d.lastEdition(dg, z),
			}
			if z == "" {
				j.Resume = func(ctx context.Context) error { return d.resume(ctx, dg) }
			}
			jobs = append(jobs, j)
		}
	}
	if cfg.Feeds.Rebuild != "" {
		jobs = append(jobs, scheduler.Job{
			Name:     RebuildJobName,
			Spec:     cfg.Feeds.Rebuild,
			Location: cfg.Schedule.Location,
			Run:      func(ctx context.Context, _ time.Time) error { return d.rebuild(ctx) },
		})
	}
	return jobs
}

// waveZones is "" and dg's subscribers' zones (only "" on a store error).
func (d *Daemon) waveZones(dg config.Digest) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zs, err := d.store.SubscriberZones(ctx, dg.Name)
	if err != nil {
		d.log.Error("digest_zones_failed", "digest", dg.Name, "err", err)
	}
	return append([]string{""}, slices.DeleteFunc(zs, func(z string) bool { return z == "" })...)
}

// lastEdition reads the cut-off of dg's newest edition (or wave to zone).
func (d *Daemon) lastEdition(dg config.Digest, zone string) func(ctx context.Context) (time.Time, bool, error) {
	return func(ctx context.Context) (time.Time, bool, error) {
		var e *editions.Edition
		var err error
		what := "last edition of " + dg.Name
		if dg.PerSubscriber() {
			e, err = d.store.LatestWave(ctx, dg.Name, zone)
			what = fmt.Sprintf("last wave of %s in %q", dg.Name, zone)
		} else {
			e, err = d.store.LatestEdition(ctx, dg.Name)
		}
		if errors.Is(err, subscribers.ErrNotFound) {
			return time.Time{}, false, nil
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("%s: %w", what, err)
		}
		return e.Cutoff, true, nil
	}
}

// SchedulerLockPath is the lock keeping one scheduler per SQLite database,
// beside its file; "" for PostgreSQL, where several schedulers are safe.
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

// start starts the content watcher, takes the SQLite lock and starts the scheduler.
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
		var err error
		if d.release, err = scheduler.LockFile(path); err != nil {
			return err
		}
	}
	d.sched.Start(ctx)
	return nil
}

// startWatcher watches dir, else leaves it to the rebuild job. d.mu is held.
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
	d.stopWatch = func() { cancel(); wait() }
}

func (d *Daemon) stopWatcher() {
	if d.stopWatch != nil {
		d.stopWatch()
		d.stopWatch = nil
	}
}

// stop stops the watcher and the scheduler, then releases the lock.
func (d *Daemon) stop(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopWatcher()
	if d.sched == nil {
		return nil
	}
	err := d.sched.Stop(ctx)
	if d.release != nil && err == nil {
		// Kept while jobs still run, so no new process starts beside them.
		d.release()
		d.release = nil
	}
	return err
}

// lock returns digest name's mutex: one delivery loop at a time here.
func (d *Daemon) lock(name string) *sync.Mutex {
	mu, _ := d.locks.LoadOrStore(name, &sync.Mutex{})
	return mu.(*sync.Mutex)
}

// runDigest is a digest's (or zone's) job: it finishes what is left, then
// sends the edition due at cutoff from the site served, so every link
// works; a local-time digest then refreshes its zones.
func (d *Daemon) runDigest(ctx context.Context, dg config.Digest, cutoff time.Time) error {
	mu := d.lock(dg.Name)
	mu.Lock()
	defer mu.Unlock()
	g, done := d.acquire()
	defer done()
	s := d.sender(g, dg)
	run := s.RunDue
	if dg.PerSubscriber() {
		defer d.refreshWaves(g.cfg)
		run = s.RunWave
	}
	if err := d.resumeLocked(ctx, g, dg); err != nil {
		return err
	}
	rep, err := run(ctx, dg, g.srv.Site().Articles, cutoff)
	if rep != nil && rep.Created {
		d.m.EditionCreated(dg.Name)
	}
	return err
}

// refreshWaves replaces the scheduler's jobs with cfg's, on its own
// goroutine: Replace must not be called from inside the job it may stop.
func (d *Daemon) refreshWaves(cfg *config.Config) {
	go func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.cur.Load().cfg != cfg {
			return // reloaded meanwhile: the reload set the jobs
		}
		if err := d.sched.Replace(d.jobs(cfg)); err != nil {
			d.log.Error("digest_waves_refresh_failed", "err", err)
		}
	}()
}

// resume helps deliver dg's unfinished editions, unless dg's job runs here.
func (d *Daemon) resume(ctx context.Context, dg config.Digest) error {
	mu := d.lock(dg.Name)
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
	for _, e := range slices.Backward(eds) { // oldest first
		if !e.FinishedAt.IsZero() {
			continue
		}
		if _, err := d.sender(g, dg).Deliver(ctx, dg, e, byID); err != nil {
			return err
		}
	}
	return nil
}

// sender returns a Sender for one run of dg on g. It never waits for
// retries (the poller does), so a mail server down cannot hold up the next edition.
func (d *Daemon) sender(g *graph, dg config.Digest) *digest.Sender {
	s := digest.NewSender(SenderOptions(g.cfg), d.store, g.composer, g.transport, d.log)
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
