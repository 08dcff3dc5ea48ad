package daemon

import (
	"context"
	"log/slog"

	"briefcast/config"
	"briefcast/editions"
	"briefcast/site"
	"briefcast/templates"
)

// archiveEditions reads the editions the digest archives publish, or nil
// when no digest has archive = true. A store that cannot be read costs the
// archive, not the site: the error is logged and the site built without.
func archiveEditions(ctx context.Context, cfg *config.Config, st Store, log *slog.Logger) []*editions.Edition {
	if st == nil || !cfg.Archived() {
		return nil
	}
	eds, err := st.Editions(ctx, "", 0)
	if err != nil {
		log.Warn("digest_archive_unread", "err", err)
		return nil
	}
	return eds
}

// withArchive rebuilds st, the first site, with the digest archives once
// the store is open (the first site is built before, so that a content
// problem is reported without touching the database). On failure st stays.
func (d *Daemon) withArchive(ctx context.Context, cfg *config.Config, st *site.Site) *site.Site {
	eds := archiveEditions(ctx, cfg, d.store, d.log)
	if len(eds) == 0 {
		return st
	}
	tmpl, err := templates.Load(cfg.Site.TemplatesDir)
	if err == nil {
		var full *site.Site
		if full, err = publishSite(cfg, st.Articles, tmpl, eds, d.log); err == nil {
			return full
		}
	}
	d.log.Warn("digest_archive_failed", "err", err)
	return st
}

// editionCreated refreshes the site, and so the archive, as soon as an
// edition of an archived digest exists: its page is up before the first
// message carrying its "View in browser" link goes out.
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
