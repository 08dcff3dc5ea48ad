package daemon

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"time"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/site"
)

// content is what the site being served was built from: the articles, kept
// file by file, and the templates. An article change is applied to it and
// the site updated from the previous one (site.Update), so one edit renders
// only the files it reaches.
type content struct {
	cfg  *config.Config
	tmpl fs.FS
	set  *articles.Set
}

// changed applies the watcher's report of changed files: each is read
// again alone and the site updated. A change it cannot apply file by file
// (a folder, a lead image, lost events: names is nil), or a site built for
// another config, is a full rebuild.
func (d *Daemon) changed(ctx context.Context, names []string) error {
	d.rebuildMu.Lock()
	defer d.rebuildMu.Unlock()
	g := d.cur.Load()
	c := d.content
	if names == nil || c == nil || c.cfg != g.cfg || !d.reread(c, names) {
		return d.rebuildLocked(ctx)
	}
	began := time.Now()
	old := g.srv.Site()
	arts, errs := c.set.Articles()
	if err := d.refuseEmpty(g.cfg, arts, old); err != nil {
		return err
	}
	st, err := site.Update(old, SiteOptions(g.cfg), arts, c.tmpl, archiveEditions(ctx, g.cfg, d.store, d.log))
	if err != nil && old != nil && old.Dir != "" {
		// Writing into the served folder failed part way: a full build
		// publishes the folder anew.
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

// reread reads the changed files again; false when one needs a full
// rebuild. A rejected file is logged; its last good version stays.
func (d *Daemon) reread(c *content, names []string) bool {
	for _, name := range names {
		if articles.ImageExt(name) {
			return false // a lead image: only a full build reads them
		}
		err := c.set.Reload(name)
		if errors.Is(err, articles.ErrNeedsLoad) {
			return false
		}
		if err != nil {
			d.log.Error("article_rejected", "err", DescribeArticleError(c.cfg.Site.ContentDir, err))
		}
	}
	return true
}

// publisher pings the hub about an update in the background, and writes
// the static copy of a site served from memory (see publishSite): writing
// the whole folder of a large site takes far longer than updating the
// site served, so the server swaps first, and edits that come while a
// copy is being written are coalesced into the next one. A site served
// from its folder has its files written by the update itself.
type publisher struct {
	mu      sync.Mutex
	pending func()
	oldest  *site.Site // the site before the first of the pending edits
	running bool
	wg      sync.WaitGroup // the writing goroutine
}

// publishLater writes st's static copy and pings the hub, after the
// copies already under way; of several waiting, only the newest is
// written, and the hub is told of every feed changed since the last copy.
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
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			p.mu.Lock()
			job := p.pending
			p.pending = nil
			if job == nil {
				p.running = false
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			job()
		}
	}()
}
