package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"briefcast/admin"
	"briefcast/config"
	"briefcast/metrics"
	"briefcast/scheduler"
	"briefcast/store"
	"briefcast/subscribers"
)

// rebuildJobName names the periodic site rebuild among the scheduler's
// jobs; digest jobs are "digest:" plus the digest's name, so a digest
// called "rebuild" cannot clash with it.
const rebuildJobName = "rebuild"

func digestJobName(name string) string { return "digest:" + name }

// daemon is the scheduled part of `briefcast serve`: a job per digest, the
// periodic rebuild, the content watcher, and on SQLite the lock that keeps
// a second process from scheduling on the same database. serve makes it
// with newDaemon, then calls Start, Reload on SIGHUP, and Stop.
type daemon struct {
	a     *App
	store *store.DB
	m     *metrics.Metrics
	sched *scheduler.Scheduler

	rebuild   func(ctx context.Context) error // serialised: never two at once
	runDigest func(ctx context.Context, d config.Digest, cutoff time.Time) error
	resume    func(ctx context.Context, d config.Digest) error

	rebuildMu sync.Mutex

	mu          sync.Mutex
	cfg         *config.Config
	ctx         context.Context // Start's, for restarting the watcher on reload
	watchDir    string
	watchCancel context.CancelFunc
	watchWait   func()
	release     func() // the SQLite lock
}

// newDaemon prepares the daemon for cfg: rebuild rebuilds and publishes the
// site (keeping the last good one when articles are broken), runDigest
// creates-or-resumes and delivers the edition of d for cutoff, and resume
// (may be nil) finishes d's unfinished edition, if any, as the
// "deliver unfinished editions" poller of every instance. It validates every
// schedule, and registers the store-backed gauges (send queue, subscribers)
// on m, so call it once per m. Nothing runs before Start.
func newDaemon(a *App, cfg *config.Config, store *store.DB, m *metrics.Metrics,
	rebuild func(ctx context.Context) error,
	runDigest func(ctx context.Context, d config.Digest, cutoff time.Time) error,
	resume func(ctx context.Context, d config.Digest) error) (*daemon, error) {
	d := &daemon{a: a, cfg: cfg, store: store, m: m, runDigest: runDigest, resume: resume}
	d.rebuild = func(ctx context.Context) error {
		d.rebuildMu.Lock()
		defer d.rebuildMu.Unlock()
		return rebuild(ctx)
	}
	d.sched = scheduler.New(a.Log, scheduler.RealClock(), m)
	jobs, err := d.jobs(cfg)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if err := d.sched.Add(j); err != nil {
			return nil, err
		}
	}
	m.WatchQueue(store.QueueSize, a.Log)
	metrics.WatchSubscribers(m, store.Counts, a.Log)
	return d, nil
}

// jobs returns the scheduler's jobs for cfg: one per digest, and the
// rebuild when [feeds] rebuild is set.
func (d *daemon) jobs(cfg *config.Config) ([]scheduler.Job, error) {
	var jobs []scheduler.Job
	for _, dg := range cfg.Digests {
		j := scheduler.Job{
			Name:     digestJobName(dg.Name),
			Spec:     dg.Schedule,
			Location: dg.Location,
			CatchUp:  dg.CatchUpWindow(),
			Run: func(ctx context.Context, cutoff time.Time) error {
				return d.runDigest(ctx, dg, cutoff)
			},
			Last: lastEdition(d.store, dg.Name),
		}
		if d.resume != nil {
			j.Resume = func(ctx context.Context) error { return d.resume(ctx, dg) }
		}
		jobs = append(jobs, j)
	}
	if cfg.Feeds.Rebuild != "" {
		loc, err := scheduleZone(cfg)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, scheduler.Job{
			Name:     rebuildJobName,
			Spec:     cfg.Feeds.Rebuild,
			Location: loc,
			Run:      func(ctx context.Context, _ time.Time) error { return d.rebuild(ctx) },
		})
	}
	return jobs, nil
}

// scheduleZone is [schedule] timezone loaded, UTC when unset; the rebuild
// job reads a cron spec in it.
func scheduleZone(cfg *config.Config) (*time.Location, error) {
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
func lastEdition(store *store.DB, digest string) func(ctx context.Context) (time.Time, bool, error) {
	return func(ctx context.Context) (time.Time, bool, error) {
		e, err := store.LatestEdition(ctx, digest)
		if errors.Is(err, subscribers.ErrNotFound) {
			return time.Time{}, false, nil
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("last edition of %s: %w", digest, err)
		}
		return e.Cutoff, true, nil
	}
}

// schedulerLockPath is the lock file that keeps one scheduler per SQLite
// database: beside the database file itself, so two configs naming the
// same file share it. "" for PostgreSQL, where unique edition keys make
// several schedulers safe.
func schedulerLockPath(cfg *config.Config) string {
	if cfg.Store.Driver != "sqlite" {
		return ""
	}
	path := config.SQLiteFile(cfg.Store.DSN)
	if path == "" {
		return ""
	}
	return path + ".scheduler.lock"
}

// Start takes the SQLite lock (failing when another process holds it),
// then starts the scheduler (catch-up first) and the content watcher.
func (d *daemon) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if path := schedulerLockPath(d.cfg); path != "" {
		release, err := scheduler.LockFile(path)
		if err != nil {
			return err
		}
		d.release = release
	}
	d.ctx = ctx
	d.sched.Start(ctx)
	d.startWatcher(d.cfg.Site.ContentDir)
	return nil
}

// startWatcher watches dir for article changes. A folder that cannot be
// watched is logged and left to the scheduled rebuild. d.mu is held.
func (d *daemon) startWatcher(dir string) {
	if d.watchCancel != nil {
		d.watchCancel()
		d.watchWait()
		d.watchCancel, d.watchWait = nil, nil
	}
	d.watchDir = dir
	ctx, cancel := context.WithCancel(d.ctx)
	w := scheduler.NewWatcher(dir, d.rebuild, d.a.Log)
	wait, err := w.Start(ctx)
	if err != nil {
		cancel()
		d.a.Log.Error("content_watch_failed", "dir", dir, "err", err)
		return
	}
	d.a.Log.Info("content_watching", "dir", dir)
	d.watchCancel, d.watchWait = cancel, wait
}

// Stop stops the watcher and the scheduler, waits (bounded by ctx) for
// running jobs, whose context it cancels so senders record what they sent
// and stop, then releases the lock.
func (d *daemon) Stop(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.watchCancel != nil {
		d.watchCancel()
		d.watchWait()
		d.watchCancel, d.watchWait = nil, nil
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

// Reload loads the config again, for SIGHUP. A config that does not load
// or validate is rejected and the old one keeps running; otherwise the new
// schedules take effect at once, without a restart, and the new config is
// returned for the rest of serve to pick up. The store and the listen
// addresses are not reloaded.
func (d *daemon) Reload(ctx context.Context) (*config.Config, error) {
	cfg, err := d.a.LoadConfig()
	if err != nil {
		d.a.Log.Error("reload_rejected", "err", err)
		return nil, err
	}
	jobs, err := d.jobs(cfg)
	if err == nil {
		err = d.sched.Replace(jobs)
	}
	if err != nil {
		d.a.Log.Error("reload_rejected", "err", err)
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.cfg
	d.cfg = cfg
	if old.Store.Driver != cfg.Store.Driver || old.Store.DSN != cfg.Store.DSN {
		d.a.Log.Warn("reload_store_unchanged", "reason", "the store is only opened at start; restart to change it")
	}
	if d.ctx != nil && cfg.Site.ContentDir != d.watchDir {
		d.startWatcher(cfg.Site.ContentDir)
	}
	d.a.Log.Info("reloaded", "jobs", len(jobs))
	return cfg, nil
}

// ReloadOn calls Reload for every signal on hup until ctx ends, handing
// each accepted config to apply (which may be nil).
func (d *daemon) ReloadOn(ctx context.Context, hup <-chan os.Signal, apply func(*config.Config)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			cfg, err := d.Reload(ctx)
			if err == nil && apply != nil {
				apply(cfg)
			}
		}
	}
}

// Scheduler returns the scheduler, for `/admin/` and tests.
func (d *daemon) Scheduler() *scheduler.Scheduler { return d.sched }

// newAdminHandler returns the /admin/ page, protected by
// BRIEFCAST_ADMIN_TOKEN; with the variable unset (or too short) it answers
// 404 to everything, so serve may mount it either way. Its session cookie
// is Secure when base_url is https, and wrong tokens are counted per client
// as clientIP (the server's, which knows the trusted proxies) sees it. d
// may be nil.
func newAdminHandler(a *App, cfg *config.Config, store *store.DB, d *daemon, tmpl fs.FS, clientIP func(*http.Request) netip.Addr) (*admin.Handler, error) {
	var src admin.EntriesSource
	if d != nil {
		src = d.sched
	}
	return admin.New(store, src, tmpl, a.Getenv("BRIEFCAST_ADMIN_TOKEN"), a.Log,
		admin.WithSecureCookie(strings.HasPrefix(strings.ToLower(cfg.Site.BaseURL), "https://")),
		admin.WithClientIP(clientIP))
}
