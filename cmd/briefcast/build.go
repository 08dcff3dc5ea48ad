package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/daemon"
	"briefcast/site"
	"briefcast/templates"
)

func init() {
	register(command{Name: "build", Summary: "publish the static site and its feeds", Run: runBuild})
	register(command{Name: "check", Summary: "validate the config and all content; write nothing", Run: runCheck})
}

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
		len(s.Articles), plural(len(s.Articles), "article", "articles"), rejected, len(s.Files), cfg.Site.OutputDir)
	if rejected > 0 {
		return exitError{Code: 1}
	}
	return nil
}

func runCheck(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("check", "check [--config PATH] [--smtp] [--dns [--resolver HOST:PORT]]",
		"Validate everything the daemon would use, writing nothing: the config and\n"+
			"every schedule, the templates, every article (rendering the whole site in\n"+
			"memory), and the store connection; with --smtp also connect to the SMTP\n"+
			"server (EHLO and AUTH; nothing is sent); with --dns also look up SPF, DKIM\n"+
			"and DMARC and print a table of what to fix. Wrong articles are reported as\n"+
			"\"file:line: what is wrong\" on stderr. Exits 1 when anything is wrong.")
	smtp := fs.Bool("smtp", false, "also connect to [email.smtp] and log in, sending nothing")
	dnsCheck := addDNSFlags(fs)
	if _, err := a.Args(fs, args, 0); err != nil {
		return err
	}
	cfg, err := a.LoadConfig()
	if err != nil {
		return err
	}
	rejected, err := checkContent(ctx, a, cfg)
	if err != nil {
		return err
	}
	if err := site.CheckOutput(cfg.Site.OutputDir); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "briefcast: output_dir %s may be published into\n", cfg.Site.OutputDir)
	if err := checkServices(ctx, a, cfg, *smtp); err != nil {
		return err
	}
	if err := dnsCheck.check(ctx, a, cfg); err != nil {
		return err
	}
	if rejected > 0 {
		return exitError{Code: 1}
	}
	return nil
}

// checkContent validates the templates and every article and builds the
// whole site in memory, writing nothing. Each rejected article is printed
// on stderr as "file:line: what is wrong", followed by a summary line on
// stdout. It returns how many articles were rejected; err is for problems
// that stop the check itself (templates, an unreadable content folder).
func checkContent(ctx context.Context, a *App, cfg *config.Config) (rejected int, err error) {
	s, rejected, err := buildContent(ctx, a, cfg)
	if err != nil {
		return rejected, err
	}
	fmt.Fprintf(a.Stdout, "briefcast: %d %s OK, %d rejected, %d files rendered (nothing written)\n",
		len(s.Articles), plural(len(s.Articles), "article", "articles"), rejected, len(s.Files))
	return rejected, nil
}

// buildContent loads the templates and the content and renders the site in
// memory, printing every rejected article on stderr.
func buildContent(ctx context.Context, a *App, cfg *config.Config) (*site.Site, int, error) {
	arts, rejected, tmpl, err := loadContent(ctx, a, cfg)
	if err != nil {
		return nil, rejected, err
	}
	s, err := site.Build(daemon.SiteOptions(cfg), arts, tmpl)
	if err != nil {
		return nil, rejected, err
	}
	printNotes(a, s)
	return s, rejected, nil
}

// loadContent loads the templates and every article, printing each
// rejected article on stderr. It returns the good articles and how many
// were rejected.
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
	printMissing(a, cfg, arts)
	if err := ctx.Err(); err != nil {
		return nil, len(errs), nil, err
	}
	return arts, len(errs), tmpl, nil
}

// printMissing lists, as notes on stderr, the optional parts each article
// lacks ("content/x.txt: note: no 2-minute digest"): they are left out of
// its page and feeds, never made up, and the author may want to know.
func printMissing(a *App, cfg *config.Config, arts []*articles.Article) {
	for _, art := range arts {
		name := filepath.Join(cfg.Site.ContentDir, filepath.FromSlash(art.Path))
		for _, m := range art.Missing {
			fmt.Fprintf(a.Stderr, "%s: note: no %s\n", name, m)
		}
	}
}

// printNotes prints what the site build left out, such as a lead image
// that is not in the content folder.
func printNotes(a *App, s *site.Site) {
	for _, n := range s.Notes {
		fmt.Fprintln(a.Stderr, n)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
