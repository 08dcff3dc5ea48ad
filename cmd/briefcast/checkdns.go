package main

import (
	"context"
	"flag"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"briefcast/config"
	"briefcast/dnscheck"
)

// dnsFlags are check's --dns and --resolver.
type dnsFlags struct {
	on       bool
	resolver string
}

func addDNSFlags(fs *flag.FlagSet) *dnsFlags {
	f := &dnsFlags{}
	fs.BoolVar(&f.on, "dns", false, "also look up SPF, DKIM and DMARC for the From (and bounce) domain and print what to fix")
	fs.StringVar(&f.resolver, "resolver", "", "DNS server HOST:PORT for --dns (implies --dns; default: first nameserver of /etc/resolv.conf)")
	return f
}

// check runs the DNS checks when asked: it prints the table and fails
// with exit status 1 when any row failed.
func (f *dnsFlags) check(ctx context.Context, a *App, cfg *config.Config) error {
	if !f.on && f.resolver == "" {
		return nil
	}
	opts, err := dnsOptions(cfg)
	if err != nil {
		return err
	}
	opts.Resolver = f.resolver
	rep, err := dnscheck.Check(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "briefcast: DNS of %s, asked of %s:\n", opts.FromDomain, rep.Resolver)
	if err := rep.WriteTable(a.Stdout); err != nil {
		return err
	}
	if rep.Failed() {
		fmt.Fprintln(a.Stderr, "briefcast check: DNS records need fixing (rows marked fail)")
		return exitError{Code: 1}
	}
	return nil
}

// dnsOptions reads what to check from the config: the From domain, the
// bounce domain, and the public half of the DKIM key.
func dnsOptions(cfg *config.Config) (dnscheck.Options, error) {
	addr, err := mail.ParseAddress(cfg.Email.From)
	if err != nil {
		return dnscheck.Options{}, fmt.Errorf("email.from: %w", err)
	}
	o := dnscheck.Options{
		FromDomain:   addr.Address[strings.LastIndexByte(addr.Address, '@')+1:],
		BounceDomain: bounceDomain(cfg),
		Timeout:      5 * time.Second,
	}
	if d := cfg.Email.DKIM; d != nil {
		pub, err := dkimPublicKey(d.PrivateKeyFile)
		if err != nil {
			return o, err
		}
		o.DKIMDomain, o.DKIMSelector, o.DKIMPublicKey = d.Domain, d.Selector, pub
	}
	return o, nil
}

// bounceDomain is the envelope sender's domain when it is not the From
// domain: [bounces] domain ("" keeps the From domain).
func bounceDomain(cfg *config.Config) string { return cfg.Bounces.Domain }

// dkimPublicKey reads the signing key the way the mailer does, so the key
// compared is the key that signs.
func dkimPublicKey(path string) (any, error) {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("email.dkim.private_key_file: %w", err)
	}
	key, err := gomail.PrivKeyFromPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("email.dkim.private_key_file %s: %w", path, err)
	}
	return key.Public(), nil
}
