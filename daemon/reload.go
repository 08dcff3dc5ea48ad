package daemon

import (
	"context"
	"reflect"
	"time"

	"briefcast/config"
)

// Reload loads the config again (SIGHUP) and rebuilds the whole service
// graph from it: the site (so a new base_url reaches every page and feed),
// the composer and transport (from, SMTP settings), the web handlers and
// the schedules (the digest list). The new graph is swapped in atomically
// behind the same listener; the old one's transport is closed once the
// digest runs using it are done. A config that does not load, validate or
// build is rejected, logged, and the old graph keeps running. Settings
// that only take effect at start are logged as needing a restart.
func (d *Daemon) Reload(ctx context.Context) error {
	cfg, err := d.o.Load()
	if err != nil {
		d.log.Error("reload_rejected", "err", err)
		return err
	}
	cfg = d.withOverrides(cfg)
	old, err := d.swap(ctx, cfg)
	if err != nil {
		d.log.Error("reload_rejected", "err", err)
		return err
	}
	// After swap, without rebuildMu: stopping the watcher waits for its
	// rebuild, which takes rebuildMu.
	d.mu.Lock()
	if d.ctx != nil && cfg.Site.ContentDir != d.watchDir {
		d.startWatcher(cfg.Site.ContentDir)
	}
	d.mu.Unlock()
	for _, key := range NeedsRestart(old.cfg, cfg) {
		d.log.Warn("reload_needs_restart", "key", key, "reason", "read only at start; the old value stays in use until a restart")
	}
	old.retire(d.log)
	jobs := 0
	if d.sched != nil {
		jobs = len(d.sched.Entries())
	}
	d.log.Info("reloaded", "jobs", jobs, "base_url", cfg.Site.BaseURL)
	return nil
}

// swap builds the site and a graph for cfg, replaces the schedules and
// makes the graph current. It returns the graph it replaced.
func (d *Daemon) swap(ctx context.Context, cfg *config.Config) (*graph, error) {
	d.rebuildMu.Lock()
	defer d.rebuildMu.Unlock()
	began := time.Now()
	old := d.cur.Load()
	prevSite := old.srv.Site()
	st, rejected, err := d.buildSite(ctx, cfg, prevSite)
	if err != nil {
		return nil, err
	}
	g, err := d.newGraph(cfg, old)
	if err != nil {
		return nil, err
	}
	g.srv.SetSite(st)
	if d.sched != nil {
		if err := d.replaceJobs(cfg); err != nil {
			g.close(d.log)
			return nil, err
		}
	}
	d.swapMu.Lock()
	d.cur.Store(g)
	d.swapMu.Unlock()
	d.m.Build(time.Since(began), rejected)
	d.publish(ctx, g, prevSite, st)
	return old, nil
}

// NeedsRestart lists the keys that differ between old and cfg but are
// only read at start: the listeners are bound and the store opened once.
func NeedsRestart(old, cfg *config.Config) []string {
	var keys []string
	if old.Server.Listen != cfg.Server.Listen {
		keys = append(keys, "server.listen")
	}
	if old.Server.MetricsAddr() != cfg.Server.MetricsAddr() {
		keys = append(keys, "server.metrics_listen")
	}
	if old.Store.Driver != cfg.Store.Driver {
		keys = append(keys, "store.driver")
	}
	if old.Store.DSN != cfg.Store.DSN {
		keys = append(keys, "store.dsn")
	}
	if old.Bounces.Listen != cfg.Bounces.Listen {
		keys = append(keys, "bounces.listen")
	}
	if !reflect.DeepEqual(old.Bounces.IMAP, cfg.Bounces.IMAP) {
		keys = append(keys, "bounces.imap")
	}
	return keys
}
