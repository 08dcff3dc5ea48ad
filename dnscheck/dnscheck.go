// Package dnscheck looks up the DNS records that decide whether receivers
// accept briefcast's mail (SPF, DKIM, DMARC) and says what to fix in each.
package dnscheck

import (
	"cmp"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is the verdict of one row.
type Status string

// The statuses, from good to bad. Only Fail makes a report fail: a
// warning is something receivers tolerate today.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Options says what to check and where to ask.
type Options struct {
	FromDomain   string // domain of the From address; required
	BounceDomain string // domain of the envelope sender (SPF is checked there); "" = FromDomain

	// The DKIM key briefcast signs with. DKIMSelector "" means briefcast
	// does not sign, which is reported as a warning.
	DKIMDomain    string
	DKIMSelector  string
	DKIMPublicKey crypto.PublicKey // *rsa.PublicKey or ed25519.PublicKey

	Resolver string        // HOST:PORT of the DNS server; "" = first nameserver of /etc/resolv.conf
	Timeout  time.Duration // per query; 0 = 5s
}

// Row is one finding.
type Row struct {
	Check  string // "spf", "dkim", "dmarc", "dmarc-dkim-alignment", ...
	Domain string // the name looked up
	Status Status
	Found  string // what DNS holds, shortened for the table
	Fix    string // what to change; "" when nothing
	Want   string // the whole record to publish at Domain, when it is known and DNS differs
}

// Report is every finding of one Check.
type Report struct {
	Resolver string
	Rows     []Row
}

// Failed reports whether any row failed.
func (r Report) Failed() bool {
	return slices.ContainsFunc(r.Rows, func(row Row) bool { return row.Status == Fail })
}

// foundWidth keeps the table readable: a DKIM key is 400 characters.
const foundWidth = 60

// WriteTable writes the report as an aligned plain-text table.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tDOMAIN\tSTATUS\tFOUND\tFIX")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", row.Check, row.Domain, row.Status, cell(truncate(row.Found, foundWidth)), cell(row.Fix))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, row := range r.Rows {
		if row.Want != "" {
			fmt.Fprintf(w, "\nTo publish at %s (TXT):\n%s\n", row.Domain, ZoneText(cell(row.Want)))
		}
	}
	return nil
}

// cell keeps a value on one line and out of the column separators: DNS
// text is whatever the zone's owner typed.
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// one is row with the single record of recs found, and true. When the
// lookup failed or there is not exactly one record, it is row failed:
// found noneFound and fixNone when there is none, fixNX when the name does
// not exist, fixMany when there are several.
func one(row Row, recs []string, fail *lookupFailure, noneFound, fixNX, fixNone, fixMany string) (Row, bool) {
	switch {
	case fail.nxdomain():
		return failed(row, fail.found(), fixNX), false
	case fail != nil:
		return fail.row(row.Check, row.Domain), false
	case len(recs) == 0:
		return failed(row, noneFound, fixNone), false
	case len(recs) > 1:
		return failed(row, strings.Join(recs, " | "), fixMany), false
	}
	row.Found = recs[0]
	return row, true
}

// failed is row failed with found and fix.
func failed(row Row, found, fix string) Row {
	row.Status, row.Found, row.Fix = Fail, found, fix
	return row
}

// Check looks up SPF for the From and bounce domains, the DKIM key and
// DMARC, and returns one row per finding. It returns an error only when
// the options are unusable or the resolver never answered: a domain
// without records is a failed row, not an error.
func Check(ctx context.Context, o Options) (Report, error) {
	o.FromDomain = normalise(o.FromDomain)
	o.BounceDomain = normalise(o.BounceDomain)
	if o.FromDomain == "" {
		return Report{}, errors.New("dnscheck: no From domain to check")
	}
	o.BounceDomain = cmp.Or(o.BounceDomain, o.FromDomain)
	o.DKIMDomain = cmp.Or(normalise(o.DKIMDomain), o.FromDomain)
	if o.Resolver == "" {
		addr, err := resolverFrom("/etc/resolv.conf")
		if err != nil {
			return Report{}, err
		}
		o.Resolver = addr
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	r := &resolver{addr: o.Resolver, timeout: o.Timeout}

	rep := Report{Resolver: o.Resolver}
	rep.Rows = append(rep.Rows, checkSPF(ctx, r, o.FromDomain))
	if o.BounceDomain != o.FromDomain {
		rep.Rows = append(rep.Rows, checkSPF(ctx, r, o.BounceDomain))
	}
	rep.Rows = append(rep.Rows, checkDKIM(ctx, r, o))
	rep.Rows = append(rep.Rows, checkDMARC(ctx, r, o)...)

	if !r.answered && r.lastErr != nil {
		return rep, fmt.Errorf("dnscheck: resolver %s %w: %w", o.Resolver, ErrNoAnswer, r.lastErr)
	}
	return rep, nil
}

func normalise(domain string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), "."))
}
