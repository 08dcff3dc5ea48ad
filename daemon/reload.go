package daemon

import (
	"context"
	"reflect"
	"time"

	"briefcast/config"
)

// Reload loads the config again (SIGHUP) and swaps in a whole new service
// graph built from it, behind the same listener: the old one's transport
// is closed once the digest runs using it are done. A config that does not
// load, validate or build is logged and rejected, and the old graph keeps
// running; settings read only at start are logged as needing a restart.
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
	g, err := d.newGraph(cfg, d.content.tmpl, old)
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
	for _, k := range []struct {
		key     string
		changed bool
	}{
		{"server.listen", old.Server.Listen != cfg.Server.Listen},
		{"server.metrics_listen", old.Server.MetricsAddr() != cfg.Server.MetricsAddr()},
		{"store.driver", old.Store.Driver != cfg.Store.Driver},
		{"store.dsn", old.Store.DSN != cfg.Store.DSN},
		{"bounces.listen", old.Bounces.Listen != cfg.Bounces.Listen},
		{"bounces.imap", !reflect.DeepEqual(old.Bounces.IMAP, cfg.Bounces.IMAP)},
	} {
		if k.changed {
			keys = append(keys, k.key)
		}
	}
	return keys
}
