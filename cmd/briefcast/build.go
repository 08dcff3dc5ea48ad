package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	gomail "github.com/wneessen/go-mail"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/daemon"
	"briefcast/dnscheck"
	"briefcast/editions"
	"briefcast/email"
	"briefcast/site"
	"briefcast/templates"
	"briefcast/tokens"
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
		return errFailed
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

func runCheck(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("check", "check [--config PATH] [--smtp] [--dns [--resolver HOST:PORT]]",
		"Validate everything the daemon would use, writing nothing: the config and\n"+
			"every schedule, the templates, every article (rendering the whole site in\n"+
			"memory), and the store connection; with --smtp also connect to the SMTP\n"+
			"server (EHLO and AUTH; nothing is sent); with --dns also look up SPF, DKIM\n"+
			"and DMARC and print a table of what to fix. Wrong articles are reported as\n"+
			"\"file:line: what is wrong\" on stderr. Exits 1 when anything is wrong.")
	smtp := fs.Bool("smtp", false, "also connect to [email.smtp] and log in, sending nothing")
	dns := fs.Bool("dns", false, "also look up SPF, DKIM and DMARC for the From (and bounce) domain and print what to fix")
	resolver := fs.String("resolver", "", "DNS server HOST:PORT for --dns (implies --dns; default: first nameserver of /etc/resolv.conf)")
	if _, err := a.Args(fs, args, 0); err != nil {
		return err
	}
	cfg, err := a.LoadConfig()
	if err != nil {
		return err
	}
	// The whole site is built in memory, writing nothing.
	arts, rejected, tmpl, err := loadContent(ctx, a, cfg)
	if err != nil {
		return err
	}
	s, err := site.Build(daemon.SiteOptions(cfg), arts, tmpl)
	if err != nil {
		return err
	}
	printNotes(a, s)
	fmt.Fprintf(a.Stdout, "briefcast: %d %s OK, %d rejected, %d files rendered (nothing written)\n",
		len(s.Articles), config.Plural(len(s.Articles), "article", "articles"), rejected, len(s.Files))
	if err := site.CheckOutput(cfg.Site.OutputDir); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "briefcast: output_dir %s may be published into\n", cfg.Site.OutputDir)
	if err := checkServices(ctx, a, cfg, *smtp); err != nil {
		return err
	}
	if *dns || *resolver != "" {
		if err := checkDNS(ctx, a, cfg, *resolver); err != nil {
			return err
		}
	}
	if rejected > 0 {
		return errFailed
	}
	return nil
}

// checkServices checks what the daemon would use beyond the content: the
// email templates, the store connection and, with smtp, a real connection
// to the SMTP server (EHLO and AUTH, nothing sent). Each line it prints
// says what was checked; the first failure is returned.
func checkServices(ctx context.Context, a *App, cfg *config.Config, smtp bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	tmpl, err := templates.Load(cfg.Site.TemplatesDir)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	// A throwaway key: check must not create the secret file.
	signer, err := tokens.NewSigner(make([]byte, 32))
	if err != nil {
		return err
	}
	composer, err := email.NewComposer(email.OptionsOf(cfg), tmpl, signer)
	if err != nil {
		return fmt.Errorf("email templates: %w", err)
	}
	// Run every digest's templates on sample articles: a template that
	// parses but cannot run ({{.Titel}}) would otherwise only fail when
	// the digest is sent.
	var errs []error
	now := a.Now()
	for i, d := range cfg.Digests {
		if err := composer.CheckDigest(d, now); err != nil {
			errs = append(errs, fmt.Errorf("digests[%d] (%s): %w", i, d.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "briefcast: %d %s scheduled, email templates OK\n", len(cfg.Digests), config.Plural(len(cfg.Digests), "digest", "digests"))

	if err := checkStore(ctx, a, cfg); err != nil {
		return err
	}
	if !smtp {
		return nil
	}
	// The smtp transport is chosen, so --smtp checks the [email.smtp]
	// settings even while mail goes to files.
	o := email.TransportOptionsOf(cfg)
	o.Kind = "smtp"
	t, err := email.NewTransport(o, a.Log)
	if err != nil {
		return fmt.Errorf("email.smtp: %w", err)
	}
	conn, err := t.Open(ctx)
	if err != nil {
		return smtpCheckError(cfg, err)
	}
	conn.Close()
	auth := ""
	if cfg.Email.SMTP.Username != "" {
		auth = ", AUTH"
	}
	fmt.Fprintf(a.Stdout, "briefcast: SMTP %s:%d answered (EHLO%s), nothing sent\n", cfg.Email.SMTP.Host, cfg.Email.SMTP.Port, auth)
	return nil
}

// smtpCheckError says what went wrong opening the SMTP connection in the
// operator's terms: no connection at all is "cannot connect", not the
// "send failed (temporary)" a sender logs for a message it will retry.
func smtpCheckError(cfg *config.Config, err error) error {
	addr := net.JoinHostPort(cfg.Email.SMTP.Host, strconv.Itoa(cfg.Email.SMTP.Port))
	var se *email.SendError
	if !errors.As(err, &se) {
		return fmt.Errorf("email.smtp: %s: %w", addr, err)
	}
	if se.Code == 0 {
		return fmt.Errorf("email.smtp: cannot connect to %s: %w", addr, se.Err)
	}
	reply := fmt.Sprintf("%d %s %s", se.Code, se.Enhanced, se.Reply)
	return fmt.Errorf("email.smtp: %s refused the session: %s", addr, oneLine(reply))
}

// checkStore pings the store. A SQLite file that does not exist yet is
// reported, not created.
func checkStore(ctx context.Context, a *App, cfg *config.Config) error {
	if f := config.SQLiteFile(cfg.Store.DSN); cfg.Store.Driver == "sqlite" && f != "" {
		if _, err := os.Stat(f); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(a.Stdout, "briefcast: store %s does not exist yet; it is created on first use\n", cfg.Store.DSN)
			return nil
		}
	}
	st, err := a.OpenStore(ctx, cfg)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	fmt.Fprintf(a.Stdout, "briefcast: store (%s) answered\n", cfg.Store.Driver)
	return nil
}

// checkDNS looks up SPF, DKIM and DMARC for the From domain, the bounce
// domain ([bounces] domain, when set) and the public half of the DKIM key,
// prints the table and fails with exit status 1 when any row failed.
func checkDNS(ctx context.Context, a *App, cfg *config.Config, resolver string) error {
	addr, err := mail.ParseAddress(cfg.Email.From)
	if err != nil {
		return fmt.Errorf("email.from: %w", err)
	}
	opts := dnscheck.Options{
		FromDomain:   addr.Address[strings.LastIndexByte(addr.Address, '@')+1:],
		BounceDomain: cfg.Bounces.Domain,
		Timeout:      5 * time.Second,
		Resolver:     resolver,
	}
	if d := cfg.Email.DKIM; d != nil {
		// The key is read the way the mailer does, so the key compared is
		// the key that signs.
		pemBytes, err := os.ReadFile(d.PrivateKeyFile)
		if err != nil {
			return fmt.Errorf("email.dkim.private_key_file: %w", err)
		}
		key, err := gomail.PrivKeyFromPEM(pemBytes)
		if err != nil {
			return fmt.Errorf("email.dkim.private_key_file %s: %w", d.PrivateKeyFile, err)
		}
		opts.DKIMDomain, opts.DKIMSelector, opts.DKIMPublicKey = d.Domain, d.Selector, key.Public()
	}
	rep, err := dnscheck.Check(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "briefcast: DNS of %s, asked of %s:\n", opts.FromDomain, rep.Resolver)
	if err := rep.WriteTable(a.Stdout); err != nil {
		return err
	}
	if rep.Failed() {
		return a.fail(errFailed, "check", "DNS records need fixing (rows marked fail)")
	}
	return nil
}
