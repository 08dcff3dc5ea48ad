package daemon

import (
	"briefcast/config"
	"briefcast/digest"
	"briefcast/server"
	"briefcast/site"
)

// The option structs of the packages the daemon wires, filled from the
// config here, so those packages never see *config.Config.

// SenderOptions are the digest sender's settings.
func SenderOptions(cfg *config.Config) digest.Options {
	return digest.Options{
		Connections:    cfg.Email.SMTP.Connections,
		RetryMaxAge:    cfg.Email.RetryMaxAge.Duration,
		Lease:          cfg.Email.DeliveryLease.Duration,
		SingleInstance: cfg.Store.Driver == "sqlite",
	}
}

// ServerOptions are the web server's settings.
func ServerOptions(cfg *config.Config) server.Options {
	digests := make([]server.Digest, len(cfg.Digests))
	for i, d := range cfg.Digests {
		digests[i] = server.Digest{Name: d.Name, Title: d.Title, Timezone: d.Zone(), Depth: d.Depth}
	}
	return server.Options{
		BaseURL:        cfg.Site.BaseURL,
		SiteTitle:      cfg.Site.Title,
		Digests:        digests,
		DoubleOptIn:    cfg.Subscriptions.DoubleOptInEnabled(),
		ConfirmTTL:     cfg.Subscriptions.ConfirmTTL.Duration,
		TrustedProxies: cfg.Server.TrustedProxies,
		WebSubHub:      cfg.Feeds.WebSubHub,
	}
}

// SiteOptions are the site builder's settings.
func SiteOptions(cfg *config.Config) site.Options {
	digests := make([]site.Digest, len(cfg.Digests))
	for i, d := range cfg.Digests {
		digests[i] = site.Digest{Name: d.Name, Title: d.Title, Archived: d.Archived(), Location: d.Location}
	}
	return site.Options{
		BaseURL:     cfg.Site.BaseURL,
		Title:       cfg.Site.Title,
		Description: cfg.Site.Description,
		Language:    cfg.Site.Language,
		Author:      cfg.Site.Author,
		ContentDir:  cfg.Site.ContentDir,
		Slugs:       cfg.Site.Slugs,
		PageSize:    cfg.Site.PageSize,
		FeedItems:   cfg.Feeds.Items,
		FeedContent: cfg.Feeds.Content,
		FeedDepths:  cfg.Feeds.Depths,
		Digests:     digests,
	}
}
