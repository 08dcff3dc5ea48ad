package daemon

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"briefcast/admin"
	"briefcast/bounces/record"
	"briefcast/bounces/verp"
	"briefcast/config"
	"briefcast/digest"
	"briefcast/email"
	"briefcast/server"
	"briefcast/site"
	"briefcast/templates"
	"briefcast/tokens"
)

// graph is every part built from one config: a reload builds a new one
// and swaps it in whole, so no part runs on a mix of old and new settings.
type graph struct {
	cfg       *config.Config
	composer  *email.Composer
	transport email.Transport
	mailer    *server.QueuedMailer // the sign-up confirmations
	srv       *server.Server
	admin     *admin.Handler
	recorder  *record.Recorder // where bounce reports go
	secure    bool             // the admin cookie's Secure flag, from base_url

	users sync.WaitGroup // digest runs using it, which a retired graph waits for
}

// newGraph builds the parts for cfg. The admin page of prev (the graph
// replaced) is kept when its cookie flag is, so a reload logs nobody out.
func (d *Daemon) newGraph(cfg *config.Config, tmpl fs.FS, prev *graph) (*graph, error) {
	g := &graph{cfg: cfg}
	composer, signer, secret, err := newComposer(cfg, tmpl, d.log)
	if err != nil {
		return nil, err
	}
	g.composer = composer
	if g.recorder, err = d.newRecorder(cfg, secret); err != nil {
		return nil, err
	}
	hooks, err := d.webhooks(cfg, g.recorder)
	if err != nil {
		return nil, err
	}
	if g.transport, err = email.NewTransport(email.TransportOptionsOf(cfg), d.log); err != nil {
		return nil, err
	}
	g.mailer = server.NewMailer(g.composer, g.transport, d.log)
	g.srv, err = server.New(ServerOptions(cfg), d.store, g.mailer, signer, tmpl, d.log,
		server.WithClock(d.o.Now), server.WithObserver(d.m),
		server.WithRateLimits(server.RateLimit(cfg.Server.RateLimitIP), server.RateLimit(cfg.Server.RateLimitAddress)))
	if err == nil {
		g.secure = strings.HasPrefix(strings.ToLower(cfg.Site.BaseURL), "https://")
		if prev != nil && prev.secure == g.secure {
			g.admin = prev.admin
		} else {
			g.admin, err = d.newAdmin(tmpl, g.secure)
		}
	}
	if err != nil {
		g.close(d.log) // nothing is queued yet; the transport is let go
		return nil, err
	}
	g.srv.Handle("GET "+admin.Path, g.admin)
	g.srv.Handle("POST "+admin.Path, g.admin)
	for path, h := range hooks {
		g.srv.Handle("POST "+path, h)
	}
	return g, nil
}

// newAdmin returns the /admin/ page: its cookie is Secure when base_url is
// https (a proxy may end TLS), and wrong tokens are counted per client as
// the current server sees it.
func (d *Daemon) newAdmin(tmpl fs.FS, secure bool) (*admin.Handler, error) {
	var src admin.EntriesSource
	if d.sched != nil {
		src = d.sched
	}
	clientIP := func(r *http.Request) netip.Addr { return d.cur.Load().srv.ClientIP(r) }
	return admin.New(d.store, src, tmpl, d.o.Getenv("BRIEFCAST_ADMIN_TOKEN"), d.log,
		admin.WithSecureCookie(secure), admin.WithClientIP(clientIP), admin.WithWaves(wavePlanner{d}))
}

// wavePlanner shows /admin/ the current config's local-time digests' waves.
type wavePlanner struct{ d *Daemon }

// LocalDigests names the digests with send_at = "subscriber".
func (p wavePlanner) LocalDigests() []string {
	var out []string
	for _, dg := range p.d.Config().Digests {
		if dg.PerSubscriber() {
			out = append(out, dg.Name)
		}
	}
	return out
}

// PlanWaves returns digest name's waves in (from, to], without bad zones.
func (p wavePlanner) PlanWaves(name string, zones []string, from, to time.Time) []admin.PlannedWave {
	dg, ok := p.d.Config().Digest(name)
	if !ok {
		return nil
	}
	waves, _ := digest.Waves(*dg, zones, from, to)
	out := make([]admin.PlannedWave, len(waves))
	for i, w := range waves {
		out[i] = admin.PlannedWave{At: w.At, Zones: w.Zones}
	}
	return out
}

// close sends the queued confirmations (up to ten seconds), closes the transport.
func (g *graph) close(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.mailer.Close(ctx); err != nil {
		log.Warn("confirmations_unsent", "err", err)
	}
	if c, ok := g.transport.(io.Closer); ok {
		c.Close()
	}
}

// acquire returns the current graph, in use until done is called.
func (d *Daemon) acquire() (g *graph, done func()) {
	d.swapMu.Lock()
	defer d.swapMu.Unlock()
	g = d.cur.Load()
	g.users.Add(1)
	return g, g.users.Done
}

// newComposer builds the composer and its links' signer from the token
// secret (returned too), with VERP envelope senders when [bounces] domain is set.
func newComposer(cfg *config.Config, tmpl fs.FS, log *slog.Logger) (*email.Composer, *tokens.Signer, []byte, error) {
	secret, err := tokens.LoadSecret(cfg.Subscriptions.Secret, cfg.Subscriptions.SecretEnv, cfg.DataDir, log)
	if err != nil {
		return nil, nil, nil, err
	}
	signer, err := tokens.NewSigner(secret)
	if err != nil {
		return nil, nil, nil, err
	}
	var opts []email.Option
	if domain := cfg.Bounces.Domain; domain != "" {
		key := verp.Key(secret)
		opts = append(opts, email.WithReturnPath(func(editionID, subscriberID int64) string {
			return verp.Encode(key, editionID, subscriberID, domain)
		}))
	}
	c, err := email.NewComposer(email.OptionsOf(cfg), tmpl, signer, opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, signer, secret, nil
}

// NewComposer builds the daemon's composer for the commands that send or
// preview mail, and the signer of the links the caller adds itself.
func NewComposer(cfg *config.Config, log *slog.Logger) (*email.Composer, *tokens.Signer, error) {
	tmpl, err := templates.Load(cfg.Site.TemplatesDir)
	if err != nil {
		return nil, nil, fmt.Errorf("templates: %w", err)
	}
	c, signer, _, err := newComposer(cfg, tmpl, log)
	return c, signer, err
}

// The option structs of the packages the daemon wires are filled from the
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
