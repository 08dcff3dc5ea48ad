package dnscheck

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"briefcast/dnscheck/dnstest"
)

// goodZone is a domain set up right: SPF through a relay's include, the
// DKIM key (longer than one TXT string), and an enforcing DMARC policy.
// Verification records at the apex push its answer past the EDNS size,
// so the client must fall back to TCP.
func goodZone(t *testing.T, pub crypto.PublicKey) dnstest.Zone {
	t.Helper()
	dkim, err := DKIMRecord(pub)
	if err != nil {
		t.Fatal(err)
	}
	z := dnstest.Zone{
		"example.org":                  nil,
		"_spf.relay.test":              {"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"},
		"brief._domainkey.example.org": {dkim},
		"_dmarc.example.org":           {"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.org"},
		"bounce.example.org":           {"v=spf1 include:_spf.relay.test -all"},
		"other.test":                   {"v=spf1 include:_spf.relay.test -all"},
	}
	for i := range 6 {
		z["example.org"] = append(z["example.org"], "site-verification="+strings.Repeat(string(rune('a'+i)), 200))
	}
	z["example.org"] = append(z["example.org"], "v=spf1 mx include:_spf.relay.test ~all")
	return z
}

type wantRow struct {
	check  string
	status Status
	fix    string // a substring of the fix ("" = not checked)
}

func TestCheck(t *testing.T) {
	keys := testRSAKeys(t)
	pub, otherPub := &keys[0].PublicKey, &keys[1].PublicKey
	otherDKIM, _ := DKIMRecord(otherPub)
	edPub := mustEd25519(t)
	edDKIM, _ := DKIMRecord(edPub)

	tests := []struct {
		name     string
		edit     func(z dnstest.Zone)
		fault    func(s *dnstest.Server)
		opts     func(o *Options)
		want     []wantRow
		wantFail bool
	}{
		{name: "all good", want: []wantRow{
			{"spf", OK, "include:"}, {"dkim", OK, ""}, {"dmarc", OK, ""},
			{"dmarc-dkim-alignment", OK, ""}, {"dmarc-spf-alignment", OK, ""},
		}},
		{name: "all good with Ed25519 and a bounce domain",
			edit: func(z dnstest.Zone) { z["brief._domainkey.example.org"] = []string{edDKIM} },
			opts: func(o *Options) { o.DKIMPublicKey = edPub; o.BounceDomain = "bounce.example.org" },
			want: []wantRow{{"dkim", OK, ""}, {"dmarc-spf-alignment", OK, ""}}},
		{name: "SPF missing",
			edit:     func(z dnstest.Zone) { z["example.org"] = z["example.org"][:6] },
			want:     []wantRow{{"spf", Fail, "add TXT \"v=spf1 include:"}},
			wantFail: true},
		{name: "SPF on a name that does not exist",
			edit:     func(z dnstest.Zone) { delete(z, "example.org") },
			want:     []wantRow{{"spf", Fail, "does not exist"}},
			wantFail: true},
		{name: "two SPF records",
			edit:     func(z dnstest.Zone) { z["example.org"] = append(z["example.org"], "v=spf1 -all") },
			want:     []wantRow{{"spf", Fail, "permerror: 2 SPF records"}},
			wantFail: true},
		{name: "SPF +all",
			edit: func(z dnstest.Zone) {
				z["example.org"] = []string{"v=spf1 include:_spf.relay.test +all"}
			},
			want:     []wantRow{{"spf", Fail, "+all"}},
			wantFail: true},
		{name: "SPF longer than one string is read whole",
			edit: func(z dnstest.Zone) {
				// 476 bytes: the server splits it at 255, inside "ip4:192.0.2.18".
				var ips []string
				for i := 1; i <= 30; i++ {
					ips = append(ips, fmt.Sprintf("ip4:192.0.2.%d", i))
				}
				z["example.org"] = []string{"v=spf1 " + strings.Join(ips, " ") + " include:_spf.relay.test -all"}
			},
			want: []wantRow{{"spf", OK, ""}}},
		{name: "SPF ?all warns",
			edit: func(z dnstest.Zone) {
				z["example.org"] = []string{"v=spf1 include:_spf.relay.test ?all"}
			},
			want: []wantRow{{"spf", Warn, "?all"}}},
		{name: "SPF without all warns",
			edit: func(z dnstest.Zone) { z["example.org"] = []string{"v=spf1 include:_spf.relay.test"} },
			want: []wantRow{{"spf", Warn, "no all"}}},
		{name: "SPF ten lookups through includes is the limit",
			edit: func(z dnstest.Zone) { lookupChain(z, 3) },
			want: []wantRow{{"spf", OK, ""}}},
		{name: "SPF thirteen lookups through includes",
			edit:     func(z dnstest.Zone) { lookupChain(z, 4) },
			want:     []wantRow{{"spf", Fail, "more than 10 DNS lookups"}},
			wantFail: true},
		{name: "SPF include without a record",
			edit:     func(z dnstest.Zone) { delete(z, "_spf.relay.test") },
			want:     []wantRow{{"spf", Fail, "include:_spf.relay.test: NXDOMAIN"}},
			wantFail: true},
		{name: "SPF syntax error",
			edit: func(z dnstest.Zone) {
				z["example.org"] = []string{"v=spf1 inclde:_spf.relay.test -all"}
			},
			want:     []wantRow{{"spf", Fail, "unknown mechanism"}},
			wantFail: true},
		{name: "DKIM missing",
			edit:     func(z dnstest.Zone) { delete(z, "brief._domainkey.example.org") },
			want:     []wantRow{{"dkim", Fail, "no DKIM key"}},
			wantFail: true},
		{name: "DKIM key mismatch",
			edit:     func(z dnstest.Zone) { z["brief._domainkey.example.org"] = []string{otherDKIM} },
			want:     []wantRow{{"dkim", Fail, "does not match email.dkim.private_key_file"}},
			wantFail: true},
		{name: "DKIM revoked",
			edit: func(z dnstest.Zone) {
				z["brief._domainkey.example.org"] = []string{"v=DKIM1; k=rsa; p="}
			},
			want:     []wantRow{{"dkim", Fail, "revoked"}},
			wantFail: true},
		{name: "DKIM key type differs",
			edit:     func(z dnstest.Zone) { z["brief._domainkey.example.org"] = []string{edDKIM} },
			want:     []wantRow{{"dkim", Fail, "k=ed25519 but email.dkim.private_key_file is an rsa key"}},
			wantFail: true},
		{name: "DKIM testing mode warns",
			edit: func(z dnstest.Zone) {
				z["brief._domainkey.example.org"][0] = strings.Replace(z["brief._domainkey.example.org"][0], "k=rsa;", "k=rsa; t=y;", 1)
			},
			want: []wantRow{{"dkim", Warn, "t=y"}}},
		{name: "DKIM not configured warns",
			opts: func(o *Options) { o.DKIMSelector = "" },
			want: []wantRow{{"dkim", Warn, "set [email.dkim]"}, {"dmarc-dkim-alignment", Warn, ""}, {"dmarc-spf-alignment", OK, ""}}},
		{name: "DMARC missing",
			edit:     func(z dnstest.Zone) { delete(z, "_dmarc.example.org") },
			want:     []wantRow{{"dmarc", Fail, `add TXT at _dmarc.example.org "v=DMARC1; p=none`}},
			wantFail: true},
		{name: "DMARC p=none warns",
			edit: func(z dnstest.Zone) {
				z["_dmarc.example.org"] = []string{"v=DMARC1; p=none; rua=mailto:d@example.org"}
			},
			want: []wantRow{{"dmarc", Warn, "p=quarantine"}}},
		{name: "DMARC two records",
			edit: func(z dnstest.Zone) {
				z["_dmarc.example.org"] = append(z["_dmarc.example.org"], "v=DMARC1; p=reject")
			},
			want:     []wantRow{{"dmarc", Fail, "2 DMARC records"}},
			wantFail: true},
		{name: "DMARC bad syntax",
			edit:     func(z dnstest.Zone) { z["_dmarc.example.org"] = []string{"v=DMARC1; p=maybe"} },
			want:     []wantRow{{"dmarc", Fail, "p=maybe"}},
			wantFail: true},
		{name: "DMARC misaligned DKIM and SPF",
			edit: func(z dnstest.Zone) {
				z["brief._domainkey.other.test"] = z["brief._domainkey.example.org"]
			},
			opts:     func(o *Options) { o.DKIMDomain = "other.test"; o.BounceDomain = "other.test" },
			want:     []wantRow{{"dkim", OK, ""}, {"dmarc-dkim-alignment", Fail, "outside example.org"}, {"dmarc-spf-alignment", Fail, "the bounce domain (other.test)"}},
			wantFail: true},
		{name: "DMARC misaligned SPF alone warns",
			opts: func(o *Options) { o.BounceDomain = "other.test" },
			want: []wantRow{{"dmarc-dkim-alignment", OK, ""}, {"dmarc-spf-alignment", Warn, "outside example.org"}}},
		{name: "DMARC strict alignment needs the exact domain",
			edit: func(z dnstest.Zone) {
				z["_dmarc.example.org"] = []string{"v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:d@example.org"}
			},
			opts:     func(o *Options) { o.BounceDomain = "bounce.example.org" },
			want:     []wantRow{{"dmarc-dkim-alignment", OK, ""}, {"dmarc-spf-alignment", Warn, "aspf=s needs the bounce domain"}},
			wantFail: false},
		{name: "DMARC of the organisational domain applies to a subdomain",
			edit: func(z dnstest.Zone) {
				z["news.example.org"] = []string{"v=spf1 include:_spf.relay.test -all"}
				z["brief._domainkey.news.example.org"] = z["brief._domainkey.example.org"]
				z["_dmarc.example.org"] = []string{"v=DMARC1; p=reject; sp=none; rua=mailto:d@example.org"}
			},
			opts: func(o *Options) { o.FromDomain = "news.example.org"; o.DKIMDomain = "example.org" },
			want: []wantRow{{"dmarc", Warn, "sp=none only monitors"}, {"dmarc-dkim-alignment", OK, ""}}},
		{name: "SERVFAIL is not missing",
			fault:    func(s *dnstest.Server) { s.SetRcode("_dmarc.example.org", dns.RcodeServerFailure) },
			want:     []wantRow{{"dmarc", Fail, "DNSSEC"}},
			wantFail: true},
		{name: "a name the resolver never answers times out",
			fault:    func(s *dnstest.Server) { s.SetSilent("brief._domainkey.example.org") },
			opts:     func(o *Options) { o.Timeout = 300 * time.Millisecond },
			want:     []wantRow{{"dkim", Fail, "did not answer"}},
			wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := goodZone(t, pub)
			if tt.edit != nil {
				tt.edit(z)
			}
			srv := dnstest.Start(t, z)
			if tt.fault != nil {
				tt.fault(srv)
			}
			o := Options{FromDomain: "example.org", DKIMDomain: "example.org", DKIMSelector: "brief", DKIMPublicKey: pub, Resolver: srv.Addr}
			if tt.opts != nil {
				tt.opts(&o)
			}
			rep, err := Check(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			var table bytes.Buffer
			if err := rep.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", table.String())
			for _, w := range tt.want {
				row, ok := findRow(rep, w.check)
				if !ok {
					t.Fatalf("no %s row in\n%s", w.check, table.String())
				}
				if row.Status != w.status || !strings.Contains(row.Fix, w.fix) {
					t.Errorf("%s: got %s %q, want %s with %q\n%s", w.check, row.Status, row.Fix, w.status, w.fix, table.String())
				}
			}
			if got := rep.Failed(); got != tt.wantFail {
				t.Errorf("Failed() = %v, want %v\n%s", got, tt.wantFail, table.String())
			}
		})
	}
}

// lookupChain makes example.org's SPF cost 1+3n lookups: it includes a
// chain of n records, each with a, mx and one more include.
func lookupChain(z dnstest.Zone, n int) {
	z["example.org"] = []string{"v=spf1 include:l0.test ~all"}
	for i := range n {
		z[chainName(i)] = []string{"v=spf1 a mx include:" + chainName(i+1) + " -all"}
	}
	z[chainName(n)] = []string{"v=spf1 ip4:192.0.2.1 -all"}
}

func chainName(i int) string { return "l" + string(rune('0'+i)) + ".test" }

func findRow(rep Report, check string) (Row, bool) {
	for _, r := range rep.Rows {
		if r.Check == check {
			return r, true
		}
	}
	return Row{}, false
}

func TestCheckResolverDown(t *testing.T) {
	// A port nothing listens on: bind one, then free it.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()

	_, err = Check(context.Background(), Options{FromDomain: "example.org", Resolver: addr, Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "resolver "+addr+" did not answer") || !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("got %v, want an error naming resolver %s", err, addr)
	}
}

func TestCheckUsesTCPForLongAnswers(t *testing.T) {
	keys := testRSAKeys(t)
	srv := dnstest.Start(t, goodZone(t, &keys[0].PublicKey))
	rep, err := Check(context.Background(), Options{FromDomain: "example.org", DKIMDomain: "example.org", DKIMSelector: "brief", DKIMPublicKey: &keys[0].PublicKey, Resolver: srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	if row, _ := findRow(rep, "spf"); row.Status != OK {
		t.Errorf("spf: got %s %q, want ok", row.Status, row.Fix)
	}
	if srv.TCP.Load() == 0 {
		t.Error("no query came over TCP; the apex answer is larger than the UDP size")
	}
}

func TestWriteTable(t *testing.T) {
	rep := Report{Rows: []Row{
		{Check: "spf", Domain: "example.org", Status: OK, Found: "v=spf1 -all"},
		{Check: "dkim", Domain: "s._domainkey.example.org", Status: Fail, Found: strings.Repeat("x", 100) + "\tevil\n", Fix: "publish", Want: "v=DKIM1; p=" + strings.Repeat("A", 300)},
	}}
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasPrefix(lines[0], "CHECK ") || !strings.Contains(lines[0], "FIX") {
		t.Errorf("header: %q", lines[0])
	}
	// Columns line up: STATUS starts at the same offset on every row.
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:3] {
		if len(l) <= col || (l[col:col+2] != "ok" && l[col:col+4] != "fail") {
			t.Errorf("status column misaligned in %q", l)
		}
	}
	if strings.Contains(lines[2], "evil") || !strings.Contains(lines[2], "…") {
		t.Errorf("found value not truncated: %q", lines[2])
	}
	if !strings.Contains(b.String(), `"v=DKIM1; p=`+strings.Repeat("A", 244)+`" "`+strings.Repeat("A", 56)+`"`) {
		t.Errorf("record to publish not split into 255-byte strings:\n%s", b.String())
	}
}
