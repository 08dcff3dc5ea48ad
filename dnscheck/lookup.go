package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// ErrNoAnswer means the resolver itself did not answer: nothing listens at
// its address, or no reply came within the timeout. It is about the
// resolver, not about the domain being checked.
var ErrNoAnswer = errors.New("did not answer")

// lookupFailure is a DNS answer that is not a usable record set: NXDOMAIN,
// SERVFAIL, REFUSED, or no reply at all (rcode -1).
type lookupFailure struct {
	resolver string // HOST:PORT asked
	rcode    int    // dns.RcodeNameError and so on; -1 when nothing came back
	err      error  // the transport error when rcode is -1
}

// nxdomain reports whether the name does not exist at all, as opposed to
// existing with no TXT record.
func (f *lookupFailure) nxdomain() bool { return f != nil && f.rcode == dns.RcodeNameError }

// found is the short form shown in the report's "found" column.
func (f *lookupFailure) found() string {
	switch {
	case f.rcode == dns.RcodeNameError:
		return "NXDOMAIN (name does not exist)"
	case f.rcode == dns.RcodeServerFailure:
		return "SERVFAIL"
	case f.rcode < 0 && isTimeout(f.err):
		return "timeout"
	case f.rcode < 0:
		return "no answer"
	default:
		return dns.RcodeToString[f.rcode]
	}
}

// row reports the failure: SERVFAIL and timeouts say the answer is
// unknown, which is not the same as "missing".
func (f *lookupFailure) row(check, name string) Row {
	row := Row{Check: check, Domain: name, Status: Fail, Found: f.found()}
	switch {
	case f.rcode < 0 && isTimeout(f.err):
		row.Fix = fmt.Sprintf("resolver %s did not answer in time; retry or pick another with --resolver", f.resolver)
	case f.rcode < 0:
		row.Fix = fmt.Sprintf("resolver %s did not answer (%v); retry or pick another with --resolver", f.resolver, f.err)
	case f.rcode == dns.RcodeServerFailure:
		row.Fix = "the resolver could not get an answer: check the domain's name servers and DNSSEC signatures"
	default:
		row.Fix = "the resolver refused or rejected the query; pick another with --resolver"
	}
	return row
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// resolver asks one DNS server for TXT records and remembers whether it
// ever answered, so a dead resolver is one clear error rather than a
// table of failures.
type resolver struct {
	addr     string
	timeout  time.Duration
	answered bool
	lastErr  error
}

// ednsSize is the UDP payload size advertised (the 2020 DNS flag day
// value): large enough for most TXT sets, small enough to avoid
// fragmentation. Larger answers come back truncated and are asked again
// over TCP.
const ednsSize = 1232

// txt returns the TXT records at name, each with its character-strings
// joined: a record longer than 255 bytes is split into several strings on
// the wire, and SPF, DKIM and DMARC read them as one. A name that exists
// without TXT records gives no records and no error.
func (r *resolver) txt(ctx context.Context, name string) ([]string, *lookupFailure) {
	fqdn := dns.Fqdn(name)
	q := new(dns.Msg)
	q.SetQuestion(fqdn, dns.TypeTXT)
	q.RecursionDesired = true
	q.SetEdns0(ednsSize, false)

	c := &dns.Client{Net: "udp", Timeout: r.timeout}
	resp, _, err := c.ExchangeContext(ctx, q, r.addr)
	if err == nil && resp.Truncated {
		c.Net = "tcp"
		resp, _, err = c.ExchangeContext(ctx, q, r.addr)
	}
	if err != nil {
		r.lastErr = err
		return nil, &lookupFailure{resolver: r.addr, rcode: -1, err: err}
	}
	r.answered = true
	if resp.Rcode != dns.RcodeSuccess {
		return nil, &lookupFailure{resolver: r.addr, rcode: resp.Rcode}
	}
	var out []string
	for _, rr := range resp.Answer {
		if t, ok := rr.(*dns.TXT); ok && strings.EqualFold(t.Hdr.Name, fqdn) {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

// resolverFrom returns the first nameserver of a resolv.conf as HOST:PORT.
func resolverFrom(path string) (string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return "", fmt.Errorf("dnscheck: %w (use --resolver HOST:PORT)", err)
	}
	if len(cc.Servers) == 0 {
		return "", fmt.Errorf("dnscheck: %s lists no nameserver (use --resolver HOST:PORT)", path)
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port), nil
}
