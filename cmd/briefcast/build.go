package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/daemon"
	"briefcast/editions"
	"briefcast/site"
	"briefcast/templates"
)

func runBuild(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("build", "build [--config PATH] [--allow-empty]",
		"Read every article in [site] content_dir, report the ones that are wrong as\n"+
			"\"file:line: what is wrong\" on stderr, and publish the others, the index, tag\n"+
			"pages and all feeds into [site] output_dir. The output folder is replaced\n"+
			"atomically, only when everything else succeeded, and only when briefcast\n"+
			"published it (or it is empty or missing). A link is kept: the folder it\n"+
			"points to is replaced. Exits 1 when any article was rejected.")
	allowEmpty := fs.Bool("allow-empty", false, "publish even when no article is found and the published site has some")
	if _, err := a.Args(fs, args, 0); err != nil {
		return err
	}
	cfg, err := a.LoadConfig()
	if err != nil {
		return err
	}
	arts, rejected, tmpl, err := loadContent(ctx, a, cfg)
	if err != nil {
		return err
	}
	if err := daemon.RefuseEmpty(cfg, len(arts), *allowEmpty); err != nil {
		return err
	}
	eds, note := archiveEditions(ctx, a, cfg)
	if note != "" {
		a.Log.Info("digest_archive_skipped", "reason", note)
	}
	s, err := site.PublishWithArchive(daemon.SiteOptions(cfg), arts, tmpl, cfg.Site.OutputDir, eds)
	if err != nil {
		return err
	}
	printNotes(a, s)
	fmt.Fprintf(a.Stdout, "briefcast: published %d %s (%d rejected, %d files) to %s\n",
		len(s.Articles), config.Plural(len(s.Articles), "article", "articles"), rejected, len(s.Files), cfg.Site.OutputDir)
	if rejected > 0 {
		return exitError{Code: 1}
	}
	return nil
}

// loadContent loads the templates and every article, printing each
// rejected article on stderr, and, as notes, the optional parts each
// article lacks ("content/x.txt: note: no 2-minute digest"): they are left
// out of its page and feeds, never made up, and the author may want to
// know. It returns the good articles and how many were rejected.
func loadContent(ctx context.Context, a *App, cfg *config.Config) ([]*articles.Article, int, fs.FS, error) {
	tmpl, err := templates.Load(cfg.Site.TemplatesDir)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("templates: %w", err)
	}
	if st, err := os.Stat(cfg.Site.ContentDir); err != nil {
		return nil, 0, nil, fmt.Errorf("site.content_dir: %w", err)
	} else if !st.IsDir() {
		return nil, 0, nil, fmt.Errorf("site.content_dir: %s is not a folder", cfg.Site.ContentDir)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, nil, err
	}
	arts, errs := articles.Load(cfg.Site.ContentDir, daemon.ArticleOptions(cfg, a.Log))
	for _, e := range errs {
		fmt.Fprintln(a.Stderr, daemon.DescribeArticleError(cfg.Site.ContentDir, e))
	}
	for _, art := range arts {
		for _, m := range art.Missing {
			fmt.Fprintf(a.Stderr, "%s: note: no %s\n", filepath.Join(cfg.Site.ContentDir, filepath.FromSlash(art.Path)), m)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, len(errs), nil, err
	}
	return arts, len(errs), tmpl, nil
}

// printNotes prints what the site build left out, such as a lead image
// that is not in the content folder.
func printNotes(a *App, s *site.Site) {
	for _, n := range s.Notes {
		fmt.Fprintln(a.Stderr, n)
	}
}

// archiveEditions reads the editions the digest archives publish, when
// some digest has archive = true and the store is there. Without a store
// (a site with no subscribers yet, a build machine without the database)
// the site is built without archives, and note says why.
func archiveEditions(ctx context.Context, a *App, cfg *config.Config) (eds []*editions.Edition, note string) {
	if !cfg.Archived() {
		return nil, ""
	}
	st, why := openStoreIfExists(ctx, a, cfg)
	if st == nil {
		return nil, why
	}
	defer st.Close()
	eds, err := st.Editions(ctx, "", 0)
	if err != nil {
		return nil, fmt.Sprintf("the editions could not be read (%v)", err)
	}
	return eds, ""
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
	// SIGHUP reloads d until ctx ends; a rejected reload is logged by d
	// and changes nothing.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				d.Reload(ctx)
			}
		}
	}()
	return d.Run(ctx)
}
