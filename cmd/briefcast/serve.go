package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"briefcast/metrics"
	"briefcast/store"

	"briefcast/config"
	"briefcast/email"
	"briefcast/server"
	"briefcast/site"
	"briefcast/templates"
	"briefcast/tokens"
)

func init() {
	register(command{Name: "serve", Summary: "serve the site, its feeds and the subscription pages", Run: runServe})
}

func runServe(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("serve", "serve [--config PATH] [--listen ADDR] [--no-scheduler] [--allow-empty]",
		"Run the daemon: build the site in memory and serve it, with its feeds and the\n"+
			"pages to subscribe, confirm, change preferences and unsubscribe, on [server]\n"+
			"listen; rebuild it when content_dir changes and on [feeds] rebuild; send every\n"+
			"digest on its schedule. The built site is also written to [site] output_dir\n"+
			"(which, as for build, must be a folder briefcast published, or empty).\n"+
			"A rebuild that finds no article keeps the site it serves, and serve does not\n"+
			"start over a published site that has articles, unless --allow-empty is given.\n"+
			"SIGHUP reloads config.toml (an invalid one is rejected and the old one kept).\n"+
			"SIGINT or SIGTERM stop it gracefully: requests in flight finish, each mail\n"+
			"connection finishes its message, state is recorded, then it exits 0.")
	listen := fs.String("listen", "", "address to listen on (overrides [server] listen), e.g. 127.0.0.1:8080 or :0")
	noSched := fs.Bool("no-scheduler", false, "serve the web only: no scheduled digests, rebuilds or content watching")
	allowEmpty := fs.Bool("allow-empty", false, "serve and publish a site without articles even when the published one has some")
	if err := a.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(a.Stderr, "briefcast serve: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	cfg, err := a.LoadConfig()
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Server.Listen = *listen
	}
	m := metrics.New(nil)
	w, err := startWeb(ctx, a, cfg, *allowEmpty, server.WithObserver(m))
	if err != nil {
		return err
	}
	defer w.Close()
	m.Build(w.BuildTime, w.Rejected)
	metricsAddr, stopMetrics, err := startMetrics(ctx, a, cfg, m)
	if err != nil {
		return err
	}
	defer stopMetrics()

	var d *daemon
	if !*noSched {
		live := newLiveSite(a, cfg, w, m, *allowEmpty)
		d, err = newDaemon(a, cfg, w.Store, m, live.rebuild, live.runDigest, live.resume)
		if err != nil {
			return err
		}
		if err := d.Start(ctx); err != nil {
			return err
		}
		defer func() {
			// Bounded: senders finish the message each connection is on,
			// record it and return; a restart resumes the edition.
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := d.Stop(stopCtx); err != nil {
				a.Log.Error("scheduler_stop_failed", "err", err)
			}
		}()
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go d.ReloadOn(ctx, hup, live.setConfig)
	}
	adminH, err := newAdminHandler(a, cfg, w.Store, d, w.Templates, w.Server.ClientIP)
	if err != nil {
		return err
	}
	w.Server.Handle("GET /admin/", adminH)
	w.Server.Handle("POST /admin/", adminH)
	a.Log.Info("serving", "addr", w.Listener.Addr().String(), "base_url", cfg.Site.BaseURL, "scheduler", d != nil, "metrics", metricsAddr)
	if err := w.Server.Serve(ctx, w.Listener); err != nil {
		return err
	}
	a.Log.Info("stopped")
	return nil
}

// startMetrics binds server.metrics_listen and serves /metrics there until
// ctx ends; stop waits for that. The public listener never serves them. It
// returns the bound address, or "off" when the key turns metrics off.
func startMetrics(ctx context.Context, a *App, cfg *config.Config, m *metrics.Metrics) (addr string, stop func(), err error) {
	want := cfg.Server.MetricsAddr()
	if want == "" {
		return "off", func() {}, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", want)
	if err != nil {
		return "", nil, fmt.Errorf("server.metrics_listen: %w", err)
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil && !ap.Addr().IsLoopback() {
		a.Log.Warn("metrics_not_loopback", "addr", ln.Addr().String(),
			"reason", "the metrics include subscriber counts; keep this address private")
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := m.Serve(ctx, ln, a.Log); err != nil {
			a.Log.Error("metrics_serve_failed", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return ln.Addr().String(), func() { cancel(); <-done }, nil
}

// webParts is everything startWeb set up, for the caller to serve and, in
// the daemon, to share with the scheduler (the same store, site and
// mailer).
type webParts struct {
	Server    *server.Server
	Store     *store.DB
	Listener  net.Listener
	Signer    *tokens.Signer
	Composer  *email.Composer
	Transport email.Transport
	Mailer    *server.QueuedMailer // the sign-up confirmations
	Templates fs.FS
	Rejected  int           // articles rejected by the first build
	BuildTime time.Duration // how long the first build took
}

// Close releases the listener (if Serve never ran), sends the
// confirmations still queued (for up to ten seconds) and closes the store.
func (w *webParts) Close() error {
	w.Listener.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	merr := w.Mailer.Close(ctx)
	return errors.Join(merr, w.Store.Close())
}

// startWeb builds the site in memory, opens the store, the token secret and
// the mail transport, makes the server and binds its listener. It does not
// serve: the caller runs w.Server.Serve(ctx, w.Listener). Without
// allowEmpty, a build that found no article where the published site has
// some stops it (see refuseEmpty).
func startWeb(ctx context.Context, a *App, cfg *config.Config, allowEmpty bool, opts ...server.Option) (w *webParts, err error) {
	tmpl, err := templates.Load(cfg.Site.TemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	began := time.Now()
	st, rejected, err := buildContent(ctx, a, cfg)
	if err != nil {
		return nil, err
	}
	if rejected > 0 {
		a.Log.Warn("articles_rejected", "count", rejected)
	}
	if err := refuseEmpty(cfg, len(st.Articles), allowEmpty); err != nil {
		return nil, err
	}
	// The static copy is a convenience (a CDN or another server may serve
	// it); failing to write it must not stop the live server. Being told
	// to replace a folder briefcast did not publish is a mistake in the
	// config, though, which start-up reports.
	if err := st.Write(cfg.Site.OutputDir); errors.Is(err, site.ErrNotOurs) {
		return nil, err
	} else if err != nil {
		a.Log.Warn("site_write_failed", "dir", cfg.Site.OutputDir, "err", err)
	}
	secret, err := tokens.LoadSecret(cfg.Subscriptions.Secret, cfg.Subscriptions.SecretEnv, cfg.DataDir, a.Log)
	if err != nil {
		return nil, err
	}
	signer, err := tokens.NewSigner(secret)
	if err != nil {
		return nil, err
	}
	composer, err := email.NewComposer(cfg, tmpl, signer)
	if err != nil {
		return nil, err
	}
	transport, err := email.NewTransport(cfg, a.Log)
	if err != nil {
		return nil, err
	}
	store, err := a.OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	mailer := server.NewMailer(composer, transport, a.Log)
	defer func() {
		if err != nil {
			mailer.Close(context.Background()) // nothing is queued yet
			store.Close()
		}
	}()
	srv, err := server.New(cfg, store, mailer, signer, tmpl, a.Log, append([]server.Option{server.WithClock(a.Now)}, opts...)...)
	if err != nil {
		return nil, err
	}
	srv.SetSite(st)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Server.Listen)
	if err != nil {
		return nil, fmt.Errorf("server.listen: %w", err)
	}
	go srv.PingHub(ctx, nil, st)
	return &webParts{Server: srv, Store: store, Listener: ln, Signer: signer, Composer: composer, Transport: transport, Mailer: mailer, Templates: tmpl, Rejected: rejected, BuildTime: time.Since(began)}, nil
}
