package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"briefcast/dnscheck"
	"briefcast/dnscheck/dnstest"
)

// mustDKIMKeyFile writes a new Ed25519 key as PKCS #8 PEM, as openssl
// genpkey makes it, and returns its path and public half.
func mustDKIMKeyFile(t *testing.T) (string, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pub
}

func TestCheckDNS(t *testing.T) {
	keyFile, pub := mustDKIMKeyFile(t)
	good, err := dnscheck.DKIMRecord(pub)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPub, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := dnscheck.DKIMRecord(otherPub.Public())
	zone := func(dkim string) dnstest.Zone {
		return dnstest.Zone{
			"example.org":                 {"v=spf1 ip4:192.0.2.10 -all"},
			"news._domainkey.example.org": {dkim},
			"_dmarc.example.org":          {"v=DMARC1; p=reject; rua=mailto:dmarc@example.org"},
		}
	}
	extra := fmt.Sprintf(`
[email]
from = "The Brief <brief@example.org>"
[email.dkim]
domain = "example.org"
selector = "news"
private_key_file = %q
`, keyFile)
	cfg := checkConfig(t, 25, extra)

	tests := []struct {
		name     string
		dkim     string
		flags    []string
		wantCode int
		wantOut  []*regexp.Regexp
		wantErr  string
	}{
		{name: "records match the config", dkim: good, flags: []string{"--dns"}, wantCode: 0,
			wantOut: []*regexp.Regexp{
				regexp.MustCompile(`(?m)^CHECK +DOMAIN +STATUS +FOUND +FIX$`),
				regexp.MustCompile(`(?m)^spf +example\.org +ok +v=spf1 ip4:192\.0\.2\.10 -all`),
				regexp.MustCompile(`(?m)^dkim +news\._domainkey\.example\.org +ok `),
				regexp.MustCompile(`(?m)^dmarc +_dmarc\.example\.org +ok `),
			}},
		{name: "--resolver alone implies --dns and a wrong key fails", dkim: other, wantCode: 1,
			wantOut: []*regexp.Regexp{
				regexp.MustCompile(`(?m)^dkim +news\._domainkey\.example\.org +fail .*does not match email\.dkim\.private_key_file`),
				regexp.MustCompile(`(?m)^To publish at news\._domainkey\.example\.org \(TXT\):\n"` + regexp.QuoteMeta(good) + `"$`),
			},
			wantErr: "DNS records need fixing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.Start(t, zone(tt.dkim))
			args := append([]string{"--config", cfg, "check"}, tt.flags...)
			args = append(args, "--resolver", srv.Addr)
			code, out, errOut := runCheckCLI(t, nil, args...)
			t.Logf("stdout:\n%s", out)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, re := range tt.wantOut {
				if !re.MatchString(out) {
					t.Errorf("stdout does not match %s:\n%s", re, out)
				}
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.wantErr)
			}
		})
	}
}

func TestCheckDNSResolverDown(t *testing.T) {
	keyFile, _ := mustDKIMKeyFile(t)
	cfg := checkConfig(t, 25, fmt.Sprintf("[email]\nfrom = \"b@example.org\"\n[email.dkim]\ndomain = \"example.org\"\nselector = \"s\"\nprivate_key_file = %q\n", keyFile))
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()

	code, _, errOut := runCheckCLI(t, nil, "--config", cfg, "check", "--dns", "--resolver", addr)
	if code != 1 || !strings.Contains(errOut, "resolver "+addr+" did not answer") {
		t.Fatalf("exit %d, stderr %q; want 1 and an error naming resolver %s", code, errOut, addr)
	}
}
