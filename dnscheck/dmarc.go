package dnscheck

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// dmarcPolicy is the part of a DMARC record the checks use.
type dmarcPolicy struct {
	policy string // p=, or sp= when the record is the organisational domain's
	tag    string // "p" or "sp": which of them policy is
	adkim  string // "r" or "s"
	aspf   string
	pct    int
	rua    bool
}

// OrgDomain returns the organisational domain of name (RFC 7489 section
// 3.2): one label below its public suffix, using the public suffix list
// compiled into golang.org/x/net/publicsuffix, so mail.example.co.uk
// gives example.co.uk, not co.uk. A name that is itself a suffix is its
// own organisational domain.
func OrgDomain(name string) string {
	org, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return name
	}
	return org
}

// aligned reports whether domain aligns with from in the given mode:
// "s" needs the same name, "r" the same organisational domain.
func aligned(domain, from, mode string) bool {
	if mode == "s" {
		return domain == from
	}
	return OrgDomain(domain) == OrgDomain(from)
}

func checkDMARC(ctx context.Context, r *resolver, o Options) []Row {
	pol, row := findDMARC(ctx, r, o.FromDomain)
	if pol == nil {
		return []Row{row}
	}
	return append([]Row{row}, alignmentRows(o, pol)...)
}

// findDMARC looks up the From domain's policy and, when there is none,
// its organisational domain's, as receivers do. It returns the policy
// (nil when unusable) and the row reporting it.
func findDMARC(ctx context.Context, r *resolver, from string) (*dmarcPolicy, Row) {
	name := "_dmarc." + from
	recs, fail := records(ctx, r, name, isDMARC)
	if org := OrgDomain(from); (fail == nil || fail.nxdomain()) && len(recs) == 0 && org != from {
		orgName := "_dmarc." + org
		if orgRecs, orgFail := records(ctx, r, orgName, isDMARC); orgFail == nil && len(orgRecs) > 0 {
			name, recs, fail = orgName, orgRecs, nil
		}
	}
	add := fmt.Sprintf(`Gmail and Yahoo require DMARC of bulk senders: add TXT at _dmarc.%s "v=DMARC1; p=none; rua=mailto:dmarc-reports@%s"`, from, from)
	row, ok := one(Row{Check: "dmarc", Domain: name}, recs, fail, "no DMARC record", add, add,
		fmt.Sprintf("%d DMARC records: receivers then apply none; keep only one", len(recs)))
	if !ok {
		return nil, row
	}
	pol, err := parseDMARC(row.Found, name != "_dmarc."+from)
	if err != nil {
		return nil, failed(row, row.Found, fmt.Sprintf("bad syntax: %v; receivers ignore the record", err))
	}
	return pol, withProblems(row, policyProblems(pol, from), "")
}

// isDMARC tells a DMARC record from the other TXT records at a name.
func isDMARC(txt string) bool {
	v, _, _ := strings.Cut(txt, ";")
	return strings.EqualFold(strings.Join(strings.Fields(v), ""), "v=DMARC1")
}

// parseDMARC checks a record's syntax (RFC 7489 section 6.3) and reads
// its policy; fromOrg says the record is the organisational domain's, so
// sp= (when set) is the policy for the From domain.
func parseDMARC(rec string, fromOrg bool) (*dmarcPolicy, error) {
	v, first, err := parseTags(rec)
	if err != nil {
		return nil, err
	}
	if first != "v" {
		return nil, errors.New("v=DMARC1 must come first")
	}
	pol := &dmarcPolicy{tag: "p", pct: 100}
	for _, tag := range []string{"p", "sp"} {
		if s, ok := v[tag]; ok && s != "none" && s != "quarantine" && s != "reject" {
			return nil, fmt.Errorf("%s=%s (want none, quarantine or reject)", tag, s)
		}
	}
	pol.policy = v["p"]
	if pol.policy == "" {
		return nil, errors.New("p= is missing")
	}
	if sp := v["sp"]; fromOrg && sp != "" {
		pol.policy, pol.tag = sp, "sp"
	}
	for _, tag := range []string{"adkim", "aspf"} {
		if s, ok := v[tag]; ok && s != "r" && s != "s" {
			return nil, fmt.Errorf("%s=%s (want r or s)", tag, s)
		}
	}
	pol.adkim, pol.aspf = cmp.Or(v["adkim"], "r"), cmp.Or(v["aspf"], "r")
	if s, ok := v["pct"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 100 {
			return nil, fmt.Errorf("pct=%s (want 0 to 100)", s)
		}
		pol.pct = n
	}
	for _, tag := range []string{"rua", "ruf"} {
		if s, ok := v[tag]; ok {
			for u := range strings.SplitSeq(s, ",") {
				if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(u)), "mailto:") {
					return nil, fmt.Errorf("%s=%s (want mailto: addresses)", tag, s)
				}
			}
		}
	}
	_, pol.rua = v["rua"]
	return pol, nil
}

func policyProblems(pol *dmarcPolicy, from string) []problem {
	var probs []problem
	if pol.policy == "none" {
		probs = append(probs, problem{Warn, fmt.Sprintf("%[1]s=none only monitors; once reports show your mail aligned, move to %[1]s=quarantine, then %[1]s=reject", pol.tag)})
	}
	if pol.pct < 100 {
		probs = append(probs, problem{Warn, fmt.Sprintf("pct=%d applies the policy to part of the mail only; raise it to 100", pol.pct)})
	}
	if !pol.rua {
		probs = append(probs, problem{Warn, "no rua=: you get no aggregate reports; add rua=mailto:dmarc-reports@" + from})
	}
	return probs
}

// alignmentRows reports whether DKIM and SPF pass DMARC's identifier
// alignment. DMARC passes when either aligns, so one misaligned is a
// warning (SPF alone breaks on forwarding) and both is a failure.
func alignmentRows(o Options, pol *dmarcPolicy) []Row {
	from := o.FromDomain
	dkimOK := o.DKIMSelector != "" && aligned(o.DKIMDomain, from, pol.adkim)
	spfOK := aligned(o.BounceDomain, from, pol.aspf)
	dkimFound := fmt.Sprintf("d=%s, From %s, adkim=%s", o.DKIMDomain, from, pol.adkim)
	dkimFix := alignFix("email.dkim.domain", o.DKIMDomain, from, "adkim", pol.adkim)
	if o.DKIMSelector == "" {
		dkimFound, dkimFix = "briefcast does not sign, From "+from, "set [email.dkim] with domain = "+from
	}
	return []Row{
		alignment("dmarc-dkim-alignment", from, dkimFound, dkimFix, dkimOK, spfOK),
		alignment("dmarc-spf-alignment", o.BounceDomain, fmt.Sprintf("bounce %s, From %s, aspf=%s", o.BounceDomain, from, pol.aspf),
			alignFix("the bounce domain", o.BounceDomain, from, "aspf", pol.aspf), spfOK, dkimOK),
	}
}

// alignment is one identifier's row: ok when it aligns, else a warning
// when the other one does and a failure when neither does.
func alignment(check, domain, found, fix string, ok, otherOK bool) Row {
	row := Row{Check: check, Domain: domain, Status: OK, Found: found}
	switch {
	case ok:
	case otherOK:
		row.Status, row.Fix = Warn, fix
	default:
		row.Status, row.Fix = Fail, fix
	}
	return row
}

func alignFix(what, domain, from, tag, mode string) string {
	if mode == "s" {
		return fmt.Sprintf("%s=s needs %s (%s) to be exactly %s; use %s or relax to %s=r", tag, what, domain, from, from, tag)
	}
	return fmt.Sprintf("%s (%s) is outside %s, the From domain's organisational domain; use %s or a name under it", what, domain, OrgDomain(from), from)
}
