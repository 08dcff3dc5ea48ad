package email

import "briefcast/config"

// The one place where email reads *config.Config: the daemon, the commands
// and the tests of other packages (which cannot import the daemon) build a
// Composer and a transport through these.

// OptionsOf are cfg's settings for a Composer.
func OptionsOf(cfg *config.Config) Options {
	o := Options{
		From:          cfg.Email.From,
		ReplyTo:       cfg.Email.ReplyTo,
		UnsubscribeTo: cfg.Email.UnsubscribeTo,
		ListIDDomain:  cfg.Email.ListIDOverride,
		PostalAddress: cfg.Email.PostalAddress,
		BaseURL:       cfg.Site.BaseURL,
		SiteTitle:     cfg.Site.Title,
		ContentDir:    cfg.Site.ContentDir,
		Location:      cfg.Site.Location,
		ConfirmTTL:    cfg.Subscriptions.ConfirmTTL.Duration,
		Subjects:      make(map[string]string, len(cfg.Digests)),
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
		Kind: cfg.Email.Transport, OutboxDir: cfg.Email.OutboxDir,
		Host: s.Host, Port: s.Port, Username: s.Username, Password: cfg.Email.SMTPPassword,
		TLS: s.TLS, Rate: s.Rate, Timeout: s.Timeout.Duration, HELO: string(s.HELO), From: cfg.Email.From,
	}
}
