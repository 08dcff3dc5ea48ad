package main

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/digest"
	"briefcast/editions"
	"briefcast/metrics"
	"briefcast/site"
	"briefcast/templates"
)

// liveSite is what the daemon's jobs act on: it rebuilds and swaps the
// served site, and sends digests from the articles that site publishes, so
// every link in a digest points at a page that is being served.
type liveSite struct {
	a   *App
	w   *webParts
	m   *metrics.Metrics
	cfg atomic.Pointer[config.Config]
	// allowEmpty lets a rebuild that finds no article replace a site
	// that has some.
	allowEmpty bool

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per digest: one delivery loop at a time in this process
}

func newLiveSite(a *App, cfg *config.Config, w *webParts, m *metrics.Metrics, allowEmpty bool) *liveSite {
	l := &liveSite{a: a, w: w, m: m, allowEmpty: allowEmpty, locks: map[string]*sync.Mutex{}}
	l.cfg.Store(cfg)
	return l
}

// setConfig takes a config accepted by a SIGHUP reload; the next rebuild
// and the next digest run use it.
func (l *liveSite) setConfig(cfg *config.Config) { l.cfg.Store(cfg) }

// rebuild loads the content again and swaps the new site in. A rejected
// article is logged with its file:line; if an earlier build had it, that
// last good version stays published, so an article saved half-edited never
// vanishes from the site. A failing build keeps the old site, and so does
// one that finds no article at all where the old site had some (the
// content folder emptied, unmounted or unreadable), unless allowEmpty.
func (l *liveSite) rebuild(ctx context.Context) error {
	cfg := l.cfg.Load()
	began := time.Now()
	tmpl, err := templates.Load(cfg.Site.TemplatesDir)
	if err != nil {
		return err
	}
	arts, errs := articles.Load(cfg.Site.ContentDir, articleOptions(cfg, l.a.Log))
	old := l.w.Server.Site()
	arts = keepLastGood(arts, errs, old)
	for _, e := range errs {
		l.a.Log.Error("article_rejected", "err", describeArticleError(cfg.Site.ContentDir, e))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(arts) == 0 && old != nil && len(old.Articles) > 0 && !l.allowEmpty {
		return errEmptyContent(cfg)
	}
	st, err := site.Build(cfg, arts, tmpl)
	if err != nil {
		return err
	}
	l.w.Server.SetSite(st)
	l.m.Build(time.Since(began), len(errs))
	if err := st.Write(cfg.Site.OutputDir); err != nil {
		l.a.Log.Warn("site_write_failed", "dir", cfg.Site.OutputDir, "err", err)
	}
	l.a.Log.Info("site_rebuilt", "articles", len(arts), "rejected", len(errs), "duration", time.Since(began))
	l.w.Server.PingHub(ctx, old, st)
	return nil
}

// keepLastGood adds back, for every rejected file, the article the old site
// had from that file, unless its slug is now taken.
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
	added := false
	for _, err := range errs {
		var ae *articles.Error
		if !errors.As(err, &ae) {
			continue
		}
		if prev := byPath[ae.Path]; prev != nil && !slugs[prev.Slug] {
			arts = append(arts, prev)
			slugs[prev.Slug] = true
			added = true
		}
	}
	if added {
		sort.SliceStable(arts, func(i, j int) bool {
			if !arts[i].Published.Equal(arts[j].Published) {
				return arts[i].Published.After(arts[j].Published)
			}
			return arts[i].Slug < arts[j].Slug
		})
	}
	return arts
}

func (l *liveSite) digestLock(name string) *sync.Mutex {
	l.mu.Lock()
	defer l.mu.Unlock()
	mu := l.locks[name]
	if mu == nil {
		mu = &sync.Mutex{}
		l.locks[name] = mu
	}
	return mu
}

// sender returns a Sender for one run of digest d. It never waits for
// retries: the resume poller comes back for them, so a server that is down
// cannot hold up the digest's next scheduled edition.
func (l *liveSite) sender(d config.Digest) *digest.Sender {
	cfg := l.cfg.Load()
	s := digest.NewSender(cfg, l.w.Store, l.w.Composer, l.w.Transport, l.a.Log)
	s.NoWait = true
	s.OnResult = func(r editions.Result) {
		switch r.State {
		case editions.DeliverySent:
			l.m.Message(d.Name, metrics.ResultSent)
		case editions.DeliveryRetrying:
			l.m.Message(d.Name, metrics.ResultRetried)
		case editions.DeliveryFailed:
			l.m.Message(d.Name, metrics.ResultFailed)
		}
	}
	return s
}

// articles are the articles of the site being served.
func (l *liveSite) articles() []*articles.Article {
	if st := l.w.Server.Site(); st != nil {
		return st.Articles
	}
	return nil
}

// runDigest is a digest's scheduled job: it finishes what is still
// unfinished, then creates and delivers the edition due at cutoff.
func (l *liveSite) runDigest(ctx context.Context, d config.Digest, cutoff time.Time) error {
	mu := l.digestLock(d.Name)
	mu.Lock()
	defer mu.Unlock()
	if err := l.resumeLocked(ctx, d); err != nil {
		return err
	}
	rep, err := l.sender(d).RunDue(ctx, d, l.articles(), cutoff)
	if rep != nil && rep.Created {
		l.m.EditionCreated(d.Name)
	}
	return err
}

// resume is the poller every instance runs: it helps deliver any
// unfinished edition of d (after a crash, another instance's death, or
// retries coming due). It does nothing while d's job is running here.
func (l *liveSite) resume(ctx context.Context, d config.Digest) error {
	mu := l.digestLock(d.Name)
	if !mu.TryLock() {
		return nil
	}
	defer mu.Unlock()
	return l.resumeLocked(ctx, d)
}

func (l *liveSite) resumeLocked(ctx context.Context, d config.Digest) error {
	eds, err := l.w.Store.Editions(ctx, d.Name, 20)
	if err != nil {
		return err
	}
	byID := map[string]*articles.Article{}
	for _, a := range l.articles() {
		byID[a.ID] = a
	}
	// Oldest first, so a backlog drains in the order it was created.
	for i := len(eds) - 1; i >= 0; i-- {
		e := eds[i]
		if !e.FinishedAt.IsZero() {
			continue
		}
		if _, err := l.sender(d).Deliver(ctx, d, e, byID); err != nil {
			return err
		}
	}
	return nil
}
