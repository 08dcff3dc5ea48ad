// Package daemon runs `briefcast serve`. It builds the service graph from
// the config (the site, the web server, the mail composer and transport,
// the admin page, the schedules), serves it, and on Reload builds a new
// graph from the reloaded config and swaps it in while the listeners stay.
// It also owns what must be one per process: the per-digest locks, the
// resume poller, the SQLite scheduler lock and the content watcher.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"briefcast/admin"
	"briefcast/bounces/record"
	"briefcast/config"
	"briefcast/digest"
	"briefcast/editions"
	"briefcast/metrics"
	"briefcast/scheduler"
	"briefcast/server"
)

// Store is what the daemon needs of the store: what it hands to the
// server, the digest sender and the admin page, and the queue size of the
// gauges. *store.DB is one.
type Store interface {
	server.Store
	admin.Stats
	digest.Store
	digest.WaveStore
	LatestWave(ctx context.Context, digest, zone string) (*editions.Edition, error)
	record.Store
	QueueSize(ctx context.Context) (int64, error)
	Close() error
}

// Options is what the daemon takes beyond the config.
type Options struct {
	Log    *slog.Logger
	Getenv func(string) string // BRIEFCAST_ADMIN_TOKEN
	Now    func() time.Time    // the server's clock; time.Now when nil
	// Clock times the scheduled jobs; the real clock when nil. Tests
	// give a scheduler.FakeClock to reach a wave's instant at once.
	Clock scheduler.Clock

	// Load reads the config again, for Reload.
	Load func() (*config.Config, error)
	// OpenStore opens the store the config names; it is opened once, at
	// New, and a reload that names another one is logged as needing a
	// restart.
	OpenStore func(ctx context.Context, cfg *config.Config) (Store, error)

	// Listen, when set, overrides [server] listen (the --listen flag); it
	// holds across reloads.
	Listen string
	// NoScheduler serves the web only: no digests or scheduled rebuilds;
	// the content watcher still keeps the site current.
	NoScheduler bool
	// AllowEmpty lets a build that finds no article replace a site that
	// has some.
	AllowEmpty bool
	// Metrics records what the daemon does; nil makes one on Prometheus' default registry.
	Metrics *metrics.Metrics
	// Lease, when set, replaces [email] delivery_lease, which the config
	// keeps at 5 s or more. Tests of several instances give a short one,
	// so a killed instance's deliveries are taken over within seconds.
	Lease time.Duration
	// ParseBounce reads raw bounce messages (DSN, ARF) for the inbound
	// SMTP server and the mailbox poller of [bounces]; record.Parse when
	// nil. Tests set their own.
	ParseBounce record.ParseFunc
}

// Daemon is one `briefcast serve`. Make it with New, then call Run once;
// Reload may be called at any time while it runs.
type Daemon struct {
	o     Options
	log   *slog.Logger
	store Store
	m     *metrics.Metrics
	ln    net.Listener

	metricsAddr string
	stopMetrics func()
	bounces     *bounceIntake // nil when [bounces] takes no mail

	sched *scheduler.Scheduler // nil with NoScheduler
	cur   atomic.Pointer[graph]

	// rebuildMu serialises site rebuilds and reloads, so a rebuild never
	// publishes into a graph that a reload is replacing.
	rebuildMu sync.Mutex
	content   *content // the articles and templates of the site served; rebuildMu
	publisher publisher
	// swapMu orders taking the current graph for a digest run against a
	// reload's swap, so a retired graph waits for every run that took it.
	swapMu sync.Mutex
	locks  sync.Map // digest name: *sync.Mutex (see lock)

	mu          sync.Mutex // the watcher and the lock, against Run's stop
	ctx         context.Context
	watchDir    string
	watchCancel context.CancelFunc
	watchWait   func()
	release     func() // the SQLite scheduler lock
}

// New builds the daemon for cfg: it builds the site (refusing to start
// over a published site with articles when it finds none, unless
// AllowEmpty), opens the store, builds the service graph, binds the public
// and metrics listeners and validates every schedule. Nothing is served
// and nothing scheduled before Run.
func New(ctx context.Context, cfg *config.Config, o Options) (_ *Daemon, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(nil)
	}
	d := &Daemon{o: o, log: o.Log, m: o.Metrics}
	cfg = d.withOverrides(cfg)

	began := time.Now()
	st, rejected, err := d.firstSite(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if d.store, err = o.OpenStore(ctx, cfg); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	st = d.withArchive(ctx, cfg, st)
	g, err := d.newGraph(cfg, nil)
	if err != nil {
		return nil, err
	}
	g.srv.SetSite(st)
	d.cur.Store(g)
	d.m.Build(time.Since(began), rejected)

	var lc net.ListenConfig
	if d.ln, err = lc.Listen(ctx, "tcp", cfg.Server.Listen); err != nil {
		return nil, fmt.Errorf("server.listen: %w", err)
	}
	warnBaseURL(d.log, cfg.Site.BaseURL, d.ln.Addr())
	if d.metricsAddr, d.stopMetrics, err = startMetrics(ctx, cfg, d.m, d.log); err != nil {
		return nil, err
	}
	if d.bounces, err = d.newBounceIntake(ctx, cfg); err != nil {
		return nil, err
	}
	if !o.NoScheduler {
		if err := d.newScheduler(cfg); err != nil {
			return nil, err
		}
	}
	d.m.WatchQueue(d.store.QueueSize, d.log)
	metrics.WatchSubscribers(d.m, d.store.Counts, d.log)
	d.m.WatchEditions(d.newestRates, d.log)
	return d, nil
}

// withOverrides applies the command line's overrides to a loaded config.
func (d *Daemon) withOverrides(cfg *config.Config) *config.Config {
	if d.o.Listen != "" {
		c := *cfg
		c.Server.Listen = d.o.Listen
		return &c
	}
	return cfg
}

// Addr is the public listener's address.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// BouncesAddr is the inbound bounce SMTP server's address, "" without one.
func (d *Daemon) BouncesAddr() string { return d.bounces.addr() }

// Config is the config the daemon runs on now.
func (d *Daemon) Config() *config.Config { return d.cur.Load().cfg }

// ServeHTTP answers with the current graph's server. A request holds the
// graph it started on; a reload lets it finish there.
func (d *Daemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.cur.Load().srv.ServeHTTP(w, r)
}

// Run starts the schedules (taking the SQLite lock first, catching up on
// missed runs) and the content watcher, serves until ctx ends, then stops:
// requests in flight finish, running jobs are told to stop and waited for
// (up to 30 seconds: each sender records the message it is on), queued
// confirmations are sent, and the store is closed.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.close()
	if err := d.start(ctx); err != nil {
		return err
	}
	d.bounces.start(ctx, d)
	cfg := d.Config()
	d.log.Info("serving", "addr", d.Addr(), "base_url", cfg.Site.BaseURL, "scheduler", d.sched != nil, "metrics", d.metricsAddr)
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.stop(stopCtx); err != nil {
			d.log.Error("scheduler_stop_failed", "err", err)
		}
	}()
	if err := server.Serve(ctx, d.ln, d, d.log); err != nil {
		return err
	}
	// Logged when the web has stopped, before the jobs are waited for:
	// senders are finishing the messages in hand.
	d.log.Info("stopped")
	return nil
}

// close releases what New acquired; the current graph's queued
// confirmations are sent first.
func (d *Daemon) close() {
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	d.bounces.stop(stopCtx) // before the store closes under it
	cancel()
	d.publisher.wait()
	if g := d.cur.Load(); g != nil {
		g.close(d.log)
	}
	if d.stopMetrics != nil {
		d.stopMetrics()
	}
	if d.ln != nil {
		d.ln.Close()
	}
	if d.store != nil {
		if err := d.store.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			d.log.Warn("store_close_failed", "err", err)
		}
	}
}
