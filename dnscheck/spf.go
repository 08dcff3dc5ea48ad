package dnscheck

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// maxLookups is RFC 7208's limit on DNS-querying terms in one SPF
// evaluation (section 4.6.4); past it receivers return permerror.
const maxLookups = 10

// addSPF is the record to suggest: the sending host is not known here,
// so it names the relay generically.
const addSPF = `add TXT "v=spf1 include:<your relay's SPF domain> ~all" (or ip4:<relay address>)`

// spfTerm is one mechanism or modifier of an SPF record.
type spfTerm struct {
	qualifier byte   // '+', '-', '~', '?' (mechanisms only)
	name      string // lower case: "include", "all", "redirect", ...
	arg       string // after ':' or '=' (domain spec), "" when absent
	modifier  bool
}

// records returns the TXT records at name that keep accepts.
func records(ctx context.Context, r *resolver, name string, keep func(string) bool) ([]string, *lookupFailure) {
	txts, fail := r.txt(ctx, name)
	return slices.DeleteFunc(txts, func(t string) bool { return !keep(t) }), fail
}

// isSPF tells an SPF record from the other TXT records at a name: the
// version must be a whole word ("v=spf10" is not SPF).
func isSPF(txt string) bool {
	t := strings.ToLower(strings.TrimSpace(txt))
	return t == "v=spf1" || strings.HasPrefix(t, "v=spf1 ")
}

// parseSPF splits a record into terms; an unknown mechanism or a missing
// domain is a syntax error, which receivers treat as permerror.
func parseSPF(rec string) ([]spfTerm, error) {
	var terms []spfTerm
	for _, f := range strings.Fields(rec)[1:] {
		t, err := parseSPFTerm(f)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	return terms, nil
}

func parseSPFTerm(f string) (spfTerm, error) {
	if i := strings.IndexByte(f, '='); i > 0 && !strings.ContainsAny(f[:i], ":/") {
		return spfTerm{name: strings.ToLower(f[:i]), arg: f[i+1:], modifier: true}, nil
	}
	t := spfTerm{qualifier: '+'}
	if strings.ContainsRune("+-~?", rune(f[0])) {
		t.qualifier, f = f[0], f[1:]
	}
	name, arg := f, ""
	if i := strings.IndexAny(f, ":/"); i >= 0 {
		name, arg = f[:i], strings.TrimPrefix(f[i:], ":")
	}
	t.name, t.arg = strings.ToLower(name), arg
	switch t.name {
	case "all", "a", "mx", "ptr":
	case "include", "exists", "ip4", "ip6":
		if arg == "" {
			return t, fmt.Errorf("%q needs a value", f)
		}
	default:
		return t, fmt.Errorf("unknown mechanism %q", f)
	}
	return t, nil
}

// problem is one thing wrong with a record; the row shows the worst
// status and every fix.
type problem struct {
	status Status
	fix    string
}

func checkSPF(ctx context.Context, r *resolver, domain string) Row {
	recs, fail := records(ctx, r, domain, isSPF)
	row, ok := one(Row{Check: "spf", Domain: domain}, recs, fail, "no SPF record",
		"the domain does not exist in DNS; create it, then "+addSPF, addSPF,
		fmt.Sprintf("permerror: %d SPF records; merge them into one TXT record", len(recs)))
	if !ok {
		return row
	}
	return withProblems(row, spfProblems(ctx, r, domain, row.Found),
		"make sure it lists your relay (include: or ip4:/ip6:)")
}

// withProblems sets the row's status to the worst problem and its fix to
// all of them, or to okFix when there is none.
func withProblems(row Row, probs []problem, okFix string) Row {
	row.Status, row.Fix = OK, okFix
	var fixes []string
	for _, p := range probs {
		if p.status == Fail || row.Status == OK {
			row.Status = p.status
		}
		fixes = append(fixes, p.fix)
	}
	if len(fixes) > 0 {
		row.Fix = strings.Join(fixes, "; ")
	}
	return row
}

// spfProblems checks one domain's record: its syntax, how it ends, and
// the DNS lookups it costs with everything it includes.
func spfProblems(ctx context.Context, r *resolver, domain, rec string) []problem {
	terms, err := parseSPF(rec)
	if err != nil {
		return []problem{{Fail, fmt.Sprintf("permerror: %v; fix the record's syntax", err)}}
	}
	probs := allProblem(terms)
	w := &spfWalk{r: r, seen: map[string]bool{domain: true}}
	w.walk(ctx, terms)
	probs = append(probs, w.probs...)
	if w.count > maxLookups {
		probs = append(probs, problem{Fail, fmt.Sprintf(
			"permerror: more than %d DNS lookups (include/a/mx/ptr/exists/redirect, counted through includes); replace includes with ip4:/ip6: or drop unused ones", maxLookups)})
	}
	return probs
}

// allProblem judges how the record ends: the all mechanism is what
// receivers apply to hosts not listed.
func allProblem(terms []spfTerm) []problem {
	i := slices.IndexFunc(terms, spfTerm.isAll)
	switch {
	case i >= 0 && terms[i].qualifier == '+':
		return []problem{{Fail, "+all lets any host send as this domain; end the record with ~all or -all"}}
	case i >= 0 && terms[i].qualifier == '?':
		return []problem{{Warn, "?all is neutral (no protection); end the record with ~all or -all"}}
	case i >= 0 || slices.ContainsFunc(terms, func(t spfTerm) bool { return t.modifier && t.name == "redirect" }):
		return nil
	}
	return []problem{{Warn, "no all mechanism (receivers read it as ?all); end the record with ~all or -all"}}
}

func (t spfTerm) isAll() bool { return !t.modifier && t.name == "all" }

// spfWalk counts DNS-querying terms through includes and redirects, the
// way a receiver evaluating the record would, stopping past the limit.
type spfWalk struct {
	r     *resolver
	count int
	seen  map[string]bool
	probs []problem
}

func (w *spfWalk) walk(ctx context.Context, terms []spfTerm) {
	hasAll := slices.ContainsFunc(terms, spfTerm.isAll)
	for _, t := range terms {
		if w.count > maxLookups {
			return
		}
		switch {
		case !t.modifier && (t.name == "a" || t.name == "mx" || t.name == "ptr" || t.name == "exists"):
			w.count++
		case !t.modifier && t.name == "include":
			w.count++
			w.follow(ctx, "include:"+t.arg, t.arg)
		case t.modifier && t.name == "redirect" && !hasAll:
			// redirect is ignored when the record has an all mechanism.
			w.count++
			w.follow(ctx, "redirect="+t.arg, t.arg)
		}
	}
}

// follow reads the record an include or redirect names and walks it. A
// target without exactly one SPF record makes the whole evaluation fail.
func (w *spfWalk) follow(ctx context.Context, term, target string) {
	if strings.Contains(target, "%") {
		return // a macro: its name is only known for a real message
	}
	target = normalise(target)
	if w.seen[target] {
		w.fail("permerror: %s loops back to a record already included", term)
		return
	}
	// seen holds the chain being followed, not every name met: a domain
	// included twice on different paths is counted twice, as receivers do.
	w.seen[target] = true
	defer delete(w.seen, target)
	recs, fail := records(ctx, w.r, target, isSPF)
	switch {
	case fail != nil:
		w.fail("%s: %s; fix or remove it", term, fail.found())
	case len(recs) != 1:
		w.fail("permerror: %s has %d SPF records (want 1); fix or remove it", term, len(recs))
	default:
		if terms, err := parseSPF(recs[0]); err != nil {
			w.fail("permerror: %s: %v", term, err)
		} else {
			w.walk(ctx, terms)
		}
	}
}

func (w *spfWalk) fail(format string, args ...any) {
	w.probs = append(w.probs, problem{Fail, fmt.Sprintf(format, args...)})
}
