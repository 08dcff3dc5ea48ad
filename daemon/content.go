package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/editions"
	"briefcast/site"
	"briefcast/templates"
)

// ArticleOptions is how every command and the daemon read the content
// folder, once per load: spilling to data_dir, else the temporary folder.
func ArticleOptions(cfg *config.Config, log *slog.Logger) articles.Options {
	o := articles.Options{Location: cfg.Site.Location, MaxBytes: cfg.Site.MaxArticleBytes, Log: log, Slugs: cfg.Site.Slugs}
	dir := cfg.DataDir
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		dir = os.TempDir()
	}
	if sp, err := articles.NewSpill(dir); err == nil {
		o.Spill = sp
	} else if log != nil {
		log.Warn("article_tiers_in_memory", "err", err)
	}
	return o
}

// RefuseEmpty stops a build that found no article (an emptied or unmounted
// content folder) from replacing a published site that has some, unless allow.
func RefuseEmpty(cfg *config.Config, found int, allow bool) error {
	if found > 0 || allow {
		return nil
	}
	has, err := site.HasPublishedArticles(cfg.Site.OutputDir)
	if err != nil || !has {
		return err
	}
	return errEmptyContent(cfg)
}

func errEmptyContent(cfg *config.Config) error {
	return fmt.Errorf("site.content_dir: no article found in %s, but the site published in site.output_dir (%s) has some: refusing to replace it with an empty site (--allow-empty does)",
		cfg.Site.ContentDir, cfg.Site.OutputDir)
}

// DescribeArticleError prints an article error as "file:line: message",
// with the file named as DisplayPath does.
func DescribeArticleError(contentDir string, err error) string {
	ae, ok := errors.AsType[*articles.Error](err)
	if !ok {
		return err.Error()
	}
	e := *ae
	e.Path = DisplayPath(filepath.Join(contentDir, filepath.FromSlash(ae.Path)))
	return e.Error()
}

// DisplayPath names p as a user would type it: relative to the working
// folder when p is below it, else in full.
func DisplayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || !filepath.IsLocal(rel) {
		return p
	}
	return rel
}

// loadContent reads cfg's templates and articles, logging those rejected.
func loadContent(cfg *config.Config, log *slog.Logger) (*content, []*articles.Article, []error, error) {
	tmpl, err := templates.Load(cfg.Site.TemplatesDir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("templates: %w", err)
	}
	c := &content{cfg: cfg, tmpl: tmpl, set: articles.NewSet(cfg.Site.ContentDir, ArticleOptions(cfg, log))}
	arts, errs := c.set.Articles()
	for _, e := range errs {
		log.Error("article_rejected", "err", DescribeArticleError(cfg.Site.ContentDir, e))
	}
	return c, arts, errs, nil
}

// firstArticles loads the content served at start, before the store is
// opened so content problems show without it, and counts articles rejected.
func (d *Daemon) firstArticles(ctx context.Context, cfg *config.Config) ([]*articles.Article, int, error) {
	if fi, err := os.Stat(cfg.Site.ContentDir); err != nil {
		return nil, 0, fmt.Errorf("site.content_dir: %w", err)
	} else if !fi.IsDir() {
		return nil, 0, fmt.Errorf("site.content_dir: %s is not a folder", cfg.Site.ContentDir)
	}
	c, arts, errs, err := loadContent(cfg, d.log)
	if err != nil {
		return nil, 0, err
	}
	if len(errs) > 0 {
		d.log.Warn("articles_rejected", "count", len(errs))
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if err := RefuseEmpty(cfg, len(arts), d.o.AllowEmpty); err != nil {
		return nil, 0, err
	}
	// A folder briefcast did not publish is a config mistake to report.
	if err := site.CheckOutput(cfg.Site.OutputDir); errors.Is(err, site.ErrNotOurs) {
		return nil, 0, err
	}
	d.content = c
	return arts, len(errs), nil
}

// publishSite builds the site into output_dir and serves it from there, or
// from memory when that fails: the readers' copy must not take it down.
func publishSite(cfg *config.Config, arts []*articles.Article, tmpl fs.FS, eds []*editions.Edition, log *slog.Logger) (*site.Site, error) {
	st, err := site.PublishServed(SiteOptions(cfg), arts, tmpl, cfg.Site.OutputDir, eds)
	if err == nil {
		return st, nil
	}
	mem, berr := site.BuildWithArchive(SiteOptions(cfg), arts, tmpl, eds)
	if berr != nil {
		return nil, berr // the site itself does not build: not a folder's fault
	}
	log.Warn("site_write_failed", "dir", cfg.Site.OutputDir, "err", err, "serving_from", "memory")
	return mem, nil
}

// buildSite loads the content again and builds the site for cfg, keeping
// old's last good version of an article saved half-edited.
func (d *Daemon) buildSite(ctx context.Context, cfg *config.Config, old *site.Site) (*site.Site, int, error) {
	c, arts, errs, err := loadContent(cfg, d.log)
	if err != nil {
		return nil, 0, err
	}
	arts = keepLastGood(arts, errs, old)
	if err := ctx.Err(); err != nil {
		return nil, len(errs), err
	}
	if err := d.refuseEmpty(cfg, arts, old); err != nil {
		return nil, len(errs), err
	}
	st, err := publishSite(cfg, arts, c.tmpl, d.archiveEditions(ctx, cfg), d.log)
	if err == nil {
		d.content = c
	}
	return st, len(errs), err
}

// refuseEmpty is RefuseEmpty for a site replacing old.
func (d *Daemon) refuseEmpty(cfg *config.Config, arts []*articles.Article, old *site.Site) error {
	if len(arts) == 0 && old != nil && len(old.Articles) > 0 && !d.o.AllowEmpty {
		return errEmptyContent(cfg)
	}
	return nil
}

// rebuild swaps a new build into the running graph; a failure keeps the old.
func (d *Daemon) rebuild(ctx context.Context) error {
	d.rebuildMu.Lock()
	defer d.rebuildMu.Unlock()
	return d.rebuildLocked(ctx)
}

// rebuildLocked is rebuild with rebuildMu held.
func (d *Daemon) rebuildLocked(ctx context.Context) error {
	g := d.cur.Load()
	began := time.Now()
	old := g.srv.Site()
	st, rejected, err := d.buildSite(ctx, g.cfg, old)
	if err != nil {
		return err
	}
	g.srv.SetSite(st)
	d.m.Build(time.Since(began), rejected)
	d.publish(ctx, g, old, st)
	d.log.Info("site_rebuilt", "articles", len(st.Articles), "rejected", rejected, "duration", time.Since(began))
	return nil
}

// publish writes a memory-served site's copy and pings the hub of changes.
func (d *Daemon) publish(ctx context.Context, g *graph, old, st *site.Site) {
	if st.Dir == "" {
		if err := st.Write(g.cfg.Site.OutputDir); err != nil {
			d.log.Warn("site_write_failed", "dir", g.cfg.Site.OutputDir, "err", err)
		}
	}
	g.srv.PingHub(ctx, old, st)
}

// keepLastGood adds back old's articles from rejected files whose slugs are free.
func keepLastGood(arts []*articles.Article, errs []error, old *site.Site) []*articles.Article {
	if len(errs) == 0 || old == nil {
		return arts
	}
	byPath := make(map[string]*articles.Article, len(old.Articles))
	for _, a := range old.Articles {
		byPath[a.Path] = a
	}
	slugs := make(map[string]bool, len(arts))
	for _, a := range arts {
		slugs[a.Slug] = true
	}
	found := len(arts)
	for _, err := range errs {
		ae, ok := errors.AsType[*articles.Error](err)
		if !ok {
			continue
		}
		if prev := byPath[ae.Path]; prev != nil && !slugs[prev.Slug] {
			arts = append(arts, prev)
			slugs[prev.Slug] = true
		}
	}
	if len(arts) > found { // newest first, as articles.Set gives them
		slices.SortStableFunc(arts, func(a, b *articles.Article) int {
			return cmp.Or(b.Published.Compare(a.Published), strings.Compare(a.Slug, b.Slug))
		})
	}
	return arts
}

// archiveEditions reads the editions the digest archives publish; a store
// that cannot be read costs the archive, not the site.
func (d *Daemon) archiveEditions(ctx context.Context, cfg *config.Config) []*editions.Edition {
	if !cfg.Archived() {
		return nil
	}
	eds, err := d.store.Editions(ctx, "", 0)
	if err != nil {
		d.log.Warn("digest_archive_unread", "err", err)
		return nil
	}
	return eds
}

// firstSite publishes the site served at start, once, with the digest
// archives when they build; without them when they do not.
func (d *Daemon) firstSite(ctx context.Context, cfg *config.Config, arts []*articles.Article) (*site.Site, error) {
	eds := d.archiveEditions(ctx, cfg)
	st, err := publishSite(cfg, arts, d.content.tmpl, eds, d.log)
	if err != nil && len(eds) > 0 {
		d.log.Warn("digest_archive_failed", "err", err)
		st, err = publishSite(cfg, arts, d.content.tmpl, nil, d.log)
	}
	return st, err
}

// editionCreated refreshes the archive before a link to the edition is mailed.
func (d *Daemon) editionCreated(ctx context.Context, dg config.Digest, e *editions.Edition) {
	if !dg.Archived() {
		return
	}
	if err := d.rebuild(ctx); err != nil {
		d.log.Warn("digest_archive_failed", "digest", dg.Name, "edition", e.Key, "err", err)
		return
	}
	d.log.Info("digest_archive_refreshed", "digest", dg.Name, "edition", e.Key)
}

// content is what the site served was built from, kept file by file so an
// edit updates the site (site.Update) rendering only the files it reaches.
type content struct {
	cfg  *config.Config
	tmpl fs.FS
	set  *articles.Set
}

// changed applies the watcher's changed files one by one; a folder, a lead
// image, lost events (names nil) or a reloaded config take a full rebuild.
func (d *Daemon) changed(ctx context.Context, names []string) error {
	d.rebuildMu.Lock()
	defer d.rebuildMu.Unlock()
	g := d.cur.Load()
	c := d.content
	if names == nil || c.cfg != g.cfg || !d.reread(c, names) {
		return d.rebuildLocked(ctx)
	}
	began := time.Now()
	old := g.srv.Site()
	arts, errs := c.set.Articles()
	if err := d.refuseEmpty(g.cfg, arts, old); err != nil {
		return err
	}
	st, err := site.Update(old, SiteOptions(g.cfg), arts, c.tmpl, d.archiveEditions(ctx, g.cfg))
	if err != nil && old != nil && old.Dir != "" {
		// Writing into the served folder failed part way: publish it anew.
		d.log.Warn("site_update_failed", "err", err)
		return d.rebuildLocked(ctx)
	}
	if err != nil {
		return err
	}
	g.srv.SetSite(st)
	d.m.Build(time.Since(began), len(errs))
	d.publishLater(ctx, g, old, st)
	d.log.Info("site_updated", "files", len(names), "articles", len(st.Articles), "rejected", len(errs), "duration", time.Since(began))
	return nil
}

// reread reads the changed files again; false when one needs a full rebuild.
func (d *Daemon) reread(c *content, names []string) bool {
	for _, name := range names {
		if articles.ImageExt(name) {
			return false // a lead image: only a full build reads them
		}
		if err := c.set.Reload(name); errors.Is(err, articles.ErrNeedsLoad) {
			return false
		} else if err != nil {
			d.log.Error("article_rejected", "err", DescribeArticleError(c.cfg.Site.ContentDir, err))
		}
	}
	return true
}

// publisher publishes updates in the background, after the server swapped:
// writing a large site's copy is slow, so edits meanwhile are coalesced.
type publisher struct {
	mu      sync.Mutex
	pending func()
	oldest  *site.Site // the site before the first of the pending edits
	running bool
	wg      sync.WaitGroup // the writing goroutine
}

// publishLater publishes st after the copies under way, coalescing those waiting.
func (d *Daemon) publishLater(ctx context.Context, g *graph, old, st *site.Site) {
	p := &d.publisher
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending == nil {
		p.oldest = old
	}
	from := p.oldest
	p.pending = func() { d.publish(ctx, g, from, st) }
	if p.running {
		return
	}
	p.running = true
	p.wg.Go(func() {
		for {
			p.mu.Lock()
			job := p.pending
			p.pending, p.running = nil, job != nil
			p.mu.Unlock()
			if job == nil {
				return
			}
			job()
		}
	})
}
