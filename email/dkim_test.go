package email

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"briefcast/config"
)

// mustDKIMConfig writes key to a PEM file and returns a config signing
// with it.
func mustDKIMConfig(t *testing.T, key crypto.Signer) *config.Config { return mustDKIMConfigTB(t, key) }

func mustDKIMConfigTB(t testing.TB, key crypto.Signer) *config.Config {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return mustConfig(t, fmt.Sprintf(`
[email.dkim]
domain = "example.org"
selector = "brief"
private_key_file = %q
`, path))
}

func TestDKIMSignature(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		key  crypto.Signer
		algo string
	}{
		{"ed25519", edKey, "ed25519-sha256"},
		{"rsa", rsaKey, "rsa-sha256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustDKIMConfig(t, tt.key)
			c := mustComposer(t, cfg)
			m, _, err := c.Digest(testEdition(cfg), Recipient{ID: 5, Email: "a@example.com", Name: "Zoë"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			raw := msgBytes(t, m)
			p := mustParse(t, raw)
			sig := p.header.Get("DKIM-Signature")
			if sig == "" {
				t.Fatal("no DKIM-Signature header")
			}
			tags := dkimTags(sig)
			if tags["d"] != "example.org" || tags["s"] != "brief" || tags["a"] != tt.algo || tags["c"] != "relaxed/relaxed" {
				t.Errorf("tags = %v", tags)
			}
			signed := strings.Split(strings.ToLower(tags["h"]), ":")
			for _, h := range []string{"from", "to", "subject", "date", "message-id", "mime-version", "content-type",
				"reply-to", "list-id", "list-unsubscribe", "list-unsubscribe-post"} {
				if !slices.Contains(signed, h) {
					t.Errorf("h= %q lacks %s", tags["h"], h)
				}
			}
			if n := len(signed) - len(slices.DeleteFunc(slices.Clone(signed), func(h string) bool { return h == "from" })); n != 2 {
				t.Errorf("h= %q names From %d times, want 2", tags["h"], n)
			}
			if err := verifyDKIM(raw, tt.key.Public()); err != nil {
				t.Errorf("signature does not verify: %v", err)
			}
			// Changing a signed header breaks the signature.
			tampered := bytes.Replace(raw, []byte("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), []byte("List-Unsubscribe-Post: List-Unsubscribe=One-Clack"), 1)
			if err := verifyDKIM(tampered, tt.key.Public()); err == nil {
				t.Error("a tampered List-Unsubscribe-Post still verifies")
			}
			// A second From added on the way (above or below the first)
			// breaks it: From is signed twice.
			for _, extra := range []string{"From: Bank <bank@example.net>\r\n"} {
				top := append([]byte(extra), raw...)
				if err := verifyDKIM(top, tt.key.Public()); err == nil {
					t.Error("a second From on top still verifies")
				}
				j := bytes.Index(raw, []byte("\r\n\r\n")) + 2
				bottom := append(append(append([]byte(nil), raw[:j]...), extra...), raw[j:]...)
				if err := verifyDKIM(bottom, tt.key.Public()); err == nil {
					t.Error("a second From at the end of the header still verifies")
				}
			}
			// So does a List-Id added to a message, or one changed.
			changed := bytes.Replace(raw, []byte("List-Id: "), []byte("List-Id: x"), 1)
			if err := verifyDKIM(changed, tt.key.Public()); err == nil {
				t.Error("a changed List-Id still verifies")
			}
		})
	}
}

func dkimTags(v string) map[string]string {
	tags := map[string]string{}
	v = regexp.MustCompile(`\s+`).ReplaceAllString(v, "")
	for _, kv := range strings.Split(v, ";") {
		if k, val, ok := strings.Cut(kv, "="); ok {
			tags[k] = val
		}
	}
	return tags
}

// verifyDKIM checks the message's DKIM signature with go-msgauth's
// verifier, answering its DNS query with pub.
func verifyDKIM(raw []byte, pub crypto.PublicKey) error {
	var rec string
	switch k := pub.(type) {
	case ed25519.PublicKey:
		rec = "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k)
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return err
		}
		rec = "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	default:
		return fmt.Errorf("key type %T", pub)
	}
	lookup := func(domain string) ([]string, error) {
		if domain != "brief._domainkey.example.org" {
			return nil, fmt.Errorf("no TXT record for %s", domain)
		}
		return []string{rec}, nil
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil {
		return err
	}
	if len(vs) != 1 {
		return fmt.Errorf("%d signatures, want 1", len(vs))
	}
	return vs[0].Err
}
