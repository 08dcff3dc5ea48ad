package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"briefcast/config"
	"briefcast/daemon"
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
			"SIGHUP reloads config.toml and rebuilds everything from it (an invalid one is\n"+
			"rejected and the old one kept); listen addresses and the store need a restart.\n"+
			"SIGINT or SIGTERM stop it gracefully: requests in flight finish, each mail\n"+
			"connection finishes its message, state is recorded, then it exits 0.")
	listen := fs.String("listen", "", "address to listen on (overrides [server] listen), e.g. 127.0.0.1:8080 or :0")
	noSched := fs.Bool("no-scheduler", false, "serve the web only: no scheduled digests, rebuilds or content watching")
	allowEmpty := fs.Bool("allow-empty", false, "serve and publish a site without articles even when the published one has some")
	if _, err := a.Args(fs, args, 0); err != nil {
		return err
	}
	cfg, err := a.LoadConfig()
	if err != nil {
		return err
	}
	o := daemon.Options{
		Log: a.Log, Getenv: a.Getenv, Now: a.Now,
		Load:      a.LoadConfig,
		OpenStore: func(ctx context.Context, cfg *config.Config) (daemon.Store, error) { return a.OpenStore(ctx, cfg) },
		Listen:    *listen, NoScheduler: *noSched, AllowEmpty: *allowEmpty,
	}
	if a.serveOptions != nil {
		a.serveOptions(&o)
	}
	d, err := daemon.New(ctx, cfg, o)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloadOn(ctx, d, hup)
	return d.Run(ctx)
}

// reloadOn reloads d for every signal on hup until ctx ends. A rejected
// reload is logged by d and changes nothing.
func reloadOn(ctx context.Context, d *daemon.Daemon, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			d.Reload(ctx)
		}
	}
}
