// Package daemon runs `briefcast serve`: it serves the service graph built
// from the config (site, web server, mail, admin page, schedules), swapped
// whole on Reload while the listeners stay, and owns what is one per
// process: digest locks, SQLite scheduler lock, content watcher.
package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
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
	"briefcast/subscribers"
)

// Store is what the daemon needs of the store (*store.DB is one).
type Store interface {
	server.Store
	admin.Stats
	digest.Store
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
	Clock  scheduler.Clock     // times the scheduled jobs; the real clock when nil

	// Load reads the config again for Reload; OpenStore opens the store at New.
	Load      func() (*config.Config, error)
	OpenStore func(ctx context.Context, cfg *config.Config) (Store, error)

	// Listen, when set, overrides [server] listen (--listen), across reloads.
	Listen      string
	NoScheduler bool             // the web (and watcher) only: no digest or rebuild jobs
	AllowEmpty  bool             // a build with no article may replace a site with some
	Metrics     *metrics.Metrics // nil makes one on Prometheus' default registry
	// Lease replaces [email] delivery_lease (at least 5 s) when set, for tests.
	Lease time.Duration
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
	bounces     *bounceIntake

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

	mu        sync.Mutex // the watcher and the lock, against Run's stop
	ctx       context.Context
	watchDir  string
	stopWatch func() // stops the watcher and waits for it
	release   func() // the SQLite scheduler lock
}

// New builds the site and the service graph, opens the store, binds the
// listeners and validates every schedule; nothing runs before Run.
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
	arts, rejected, err := d.firstArticles(ctx, cfg)
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
	st, err := d.firstSite(ctx, cfg, arts)
	if err != nil {
		return nil, err
	}
	g, err := d.newGraph(cfg, d.content.tmpl, nil)
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
	if err = d.startMetrics(ctx, cfg); err != nil {
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

// Config is the config the daemon runs on now.
func (d *Daemon) Config() *config.Config { return d.cur.Load().cfg }

// ServeHTTP answers with the current graph's server; a request keeps its own.
func (d *Daemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.cur.Load().srv.ServeHTTP(w, r)
}

// Run starts the schedules and the content watcher and serves until ctx
// ends; then running jobs are stopped and waited for (up to 30 seconds).
func (d *Daemon) Run(ctx context.Context) error {
	defer d.close()
	if err := d.start(ctx); err != nil {
		return err
	}
	d.bounces.start(ctx, d)
	d.log.Info("serving", "addr", d.Addr(), "base_url", d.Config().Site.BaseURL, "scheduler", d.sched != nil, "metrics", d.metricsAddr)
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
	// The web has stopped; senders are finishing the messages in hand.
	d.log.Info("stopped")
	return nil
}

// close releases what New acquired, sending the queued confirmations.
func (d *Daemon) close() {
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	d.bounces.stop(stopCtx) // before the store closes under it
	cancel()
	d.publisher.wg.Wait()
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

// warnBaseURL warns when base_url names this machine on another port than
// the one bound (every link would be dead); a proxy may change a public one.
func warnBaseURL(log *slog.Logger, baseURL string, bound net.Addr) {
	u, err := url.Parse(baseURL)
	tcp, ok := bound.(*net.TCPAddr)
	if err != nil || !ok {
		return
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return
	}
	port := cmp.Or(u.Port(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	if listening := strconv.Itoa(tcp.Port); port != listening {
		log.Warn("base_url_port_mismatch", "base_url", baseURL, "listen", bound.String(),
			"hint", "links in pages and mail point at port "+port+" but serve listens on port "+listening+"; set [site] base_url to match")
	}
}

// startMetrics serves /metrics on server.metrics_listen (never the public one).
func (d *Daemon) startMetrics(ctx context.Context, cfg *config.Config) error {
	want := cfg.Server.MetricsAddr()
	if want == "" {
		d.metricsAddr, d.stopMetrics = "off", func() {}
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", want)
	if err != nil {
		return fmt.Errorf("server.metrics_listen: %w", err)
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil && !ap.Addr().IsLoopback() {
		d.log.Warn("metrics_not_loopback", "addr", ln.Addr().String(),
			"reason", "the metrics include subscriber counts; keep this address private")
	}
	// The metrics outlive Run's context, to report the shutdown too.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var served sync.WaitGroup
	served.Go(func() {
		if err := server.Serve(ctx, ln, d.m.Handler(), d.log); err != nil {
			d.log.Error("metrics_serve_failed", "addr", ln.Addr().String(), "err", err)
		}
	})
	d.metricsAddr, d.stopMetrics = ln.Addr().String(), func() { cancel(); served.Wait() }
	return nil
}

// newestRates reads the bounce and complaint rates of each digest's newest edition.
func (d *Daemon) newestRates(ctx context.Context) ([]metrics.EditionRates, error) {
	var out []metrics.EditionRates
	for _, dg := range d.Config().Digests {
		e, err := d.store.LatestEdition(ctx, dg.Name)
		if errors.Is(err, subscribers.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		p, err := d.store.Progress(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		b, err := d.store.BounceCounts(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, metrics.EditionRates{Digest: dg.Name, Edition: e.Key,
			Hard: p.Rate(b.Hard), Soft: p.Rate(b.Soft), Complaints: p.Rate(b.Complaints)})
	}
	return out, nil
}

// Reload (SIGHUP) swaps in a service graph built from the config loaded
// again; if that fails, it is logged and the old graph stays.
func (d *Daemon) Reload(ctx context.Context) error {
	cfg, err := d.o.Load()
	var old *graph
	if err == nil {
		cfg = d.withOverrides(cfg)
		old, err = d.swap(ctx, cfg)
	}
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
	go func() { // once the digest runs sending through it are done
		old.users.Wait()
		old.close(d.log)
	}()
	jobs := 0
	if d.sched != nil {
		jobs = len(d.sched.Entries())
	}
	d.log.Info("reloaded", "jobs", jobs, "base_url", cfg.Site.BaseURL)
	return nil
}

// swap makes a graph for cfg current, with its site and jobs, returning the old.
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
		if err := d.sched.Replace(d.jobs(cfg)); err != nil {
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

// NeedsRestart lists the keys changed from old that are read only at start.
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
