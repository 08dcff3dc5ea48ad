package email

import (
	"io/fs"
	"log/slog"

	"briefcast/config"
	"briefcast/tokens"
)

// The one place where email reads *config.Config: the daemon and the tests
// of other packages build a Composer and a transport from a config through
// these. The rest of the package sees only Options and TransportOptions
// (and config.Digest, the digest an Edition belongs to).

// ComposerOptions are cfg's settings for a Composer.
func ComposerOptions(cfg *config.Config) Options {
	o := Options{
		From:              cfg.Email.From,
		ReplyTo:           cfg.Email.ReplyTo,
		UnsubscribeMailto: cfg.Email.UnsubscribeTo,
		ListIDDomain:      cfg.Email.ListIDOverride,
		PostalAddress:     cfg.Email.PostalAddress,
		BaseURL:           cfg.Site.BaseURL,
		SiteTitle:         cfg.Site.Title,
		ContentDir:        cfg.Site.ContentDir,
		SiteLocation:      cfg.Site.Location,
		ConfirmTTL:        cfg.Subscriptions.ConfirmTTL.Duration,
		Subjects:          make(map[string]string, len(cfg.Digests)),
	}
	if d := cfg.Email.DKIM; d != nil {
		o.DKIM = &DKIMOptions{Domain: d.Domain, Selector: d.Selector, PrivateKeyFile: d.PrivateKeyFile}
	}
	for _, d := range cfg.Digests {
		o.Subjects[d.Name] = d.Subject
	}
	return o
}

// TransportOptionsOf are cfg's settings for a transport.
func TransportOptionsOf(cfg *config.Config) TransportOptions {
	s := cfg.Email.SMTP
	return TransportOptions{
		Kind:      cfg.Email.Transport,
		OutboxDir: cfg.Email.OutboxDir,
		SMTP: SMTPOptions{
			Host: s.Host, Port: s.Port, Username: s.Username, Password: cfg.Email.SMTPPassword,
			TLS: s.TLS, Rate: s.Rate, Timeout: s.Timeout.Duration,
			HELO: string(s.HELO), FromAddress: cfg.Email.From,
		},
	}
}

// NewComposer is New with cfg's settings.
func NewComposer(cfg *config.Config, tmpl fs.FS, signer *tokens.Signer, opts ...Option) (*Composer, error) {
	if cfg == nil {
		return nil, errNoConfig
	}
	return New(ComposerOptions(cfg), tmpl, signer, opts...)
}

// NewTransport is OpenTransport with cfg's settings.
func NewTransport(cfg *config.Config, log *slog.Logger, opts ...TransportOption) (Transport, error) {
	if cfg == nil {
		return nil, errNoConfig
	}
	return NewTransportFrom(TransportOptionsOf(cfg), log, opts...)
}
