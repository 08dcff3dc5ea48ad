package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"briefcast/config"
	"briefcast/daemon"
	"briefcast/email"
	"briefcast/templates"
	"briefcast/tokens"
)

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
	composer, err := email.NewComposer(cfg, tmpl, signer)
	if err != nil {
		return fmt.Errorf("email templates: %w", err)
	}
	if err := checkDigestTemplates(composer, cfg, a.Now()); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "briefcast: %d %s scheduled, email templates OK\n", len(cfg.Digests), plural(len(cfg.Digests), "digest", "digests"))

	if err := checkStore(ctx, a, cfg); err != nil {
		return err
	}

	if smtp {
		t, err := daemon.NewTransport(withSMTP(cfg), a.Log)
		if err != nil {
			return fmt.Errorf("email.smtp: %w", err)
		}
		conn, err := t.Open(ctx)
		if err != nil {
			return smtpCheckError(cfg, err)
		}
		conn.Close()
		fmt.Fprintf(a.Stdout, "briefcast: SMTP %s:%d answered (EHLO%s), nothing sent\n",
			cfg.Email.SMTP.Host, cfg.Email.SMTP.Port, map[bool]string{true: ", AUTH", false: ""}[cfg.Email.SMTP.Username != ""])
	}
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
	reply := strings.TrimSpace(fmt.Sprintf("%d %s %s", se.Code, se.Enhanced, se.Reply))
	return fmt.Errorf("email.smtp: %s refused the session: %s", addr, strings.Join(strings.Fields(reply), " "))
}

// checkDigestTemplates runs every digest's subject and body templates on
// sample articles: a template that parses but cannot run ({{.Titel}})
// would otherwise only fail when the digest is sent. Every broken digest
// is reported, each error naming the digest and the template.
func checkDigestTemplates(c *email.Composer, cfg *config.Config, now time.Time) error {
	var errs []error
	for i, d := range cfg.Digests {
		if err := c.CheckDigest(d, now); err != nil {
			errs = append(errs, fmt.Errorf("digests[%d] (%s): %w", i, d.Name, err))
		}
	}
	return errors.Join(errs...)
}

// checkStore pings the store. A SQLite file that does not exist yet is
// reported, not created.
func checkStore(ctx context.Context, a *App, cfg *config.Config) error {
	if cfg.Store.Driver == "sqlite" {
		if _, err := os.Stat(cfg.Store.DSN); errors.Is(err, os.ErrNotExist) {
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

// withSMTP returns cfg with the smtp transport chosen, so --smtp checks
// the [email.smtp] settings even while mail goes to files.
func withSMTP(cfg *config.Config) *config.Config {
	c := *cfg
	c.Email.Transport = "smtp"
	return &c
}
