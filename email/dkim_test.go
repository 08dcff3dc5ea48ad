package email

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
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
			for _, h := range []string{"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} {
				if !slices.Contains(signed, h) {
					t.Errorf("h= %q lacks %s", tags["h"], h)
				}
			}
			if err := verifyDKIM(raw, tt.key.Public()); err != nil {
				t.Errorf("signature does not verify: %v", err)
			}
			// Changing a signed header breaks the signature.
			tampered := bytes.Replace(raw, []byte("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), []byte("List-Unsubscribe-Post: List-Unsubscribe=One-Clack"), 1)
			if err := verifyDKIM(tampered, tt.key.Public()); err == nil {
				t.Error("a tampered List-Unsubscribe-Post still verifies")
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

var wsp = regexp.MustCompile(`[ \t]+`)

// verifyDKIM checks a relaxed/relaxed DKIM signature (RFC 6376 3.4.2,
// 3.4.4 and 3.7) with pub.
func verifyDKIM(raw []byte, pub crypto.PublicKey) error {
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	if i < 0 {
		return fmt.Errorf("no header/body split")
	}
	head, body := string(raw[:i+2]), string(raw[i+4:])
	// Header fields, each with its continuation lines.
	var fields []string
	for _, line := range strings.SplitAfter(head, "\r\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += line
		} else {
			fields = append(fields, line)
		}
	}
	canonHeader := func(f string) string {
		name, val, _ := strings.Cut(f, ":")
		val = strings.ReplaceAll(val, "\r\n", "")
		val = strings.TrimSpace(wsp.ReplaceAllString(val, " "))
		return strings.ToLower(strings.TrimSpace(name)) + ":" + val
	}
	var sigField string
	for _, f := range fields {
		if strings.HasPrefix(strings.ToLower(f), "dkim-signature:") {
			sigField = f
		}
	}
	if sigField == "" {
		return fmt.Errorf("no signature")
	}
	tags := dkimTags(strings.SplitN(sigField, ":", 2)[1])

	// Body hash.
	lines := strings.Split(body, "\r\n")
	for j := range lines {
		lines[j] = strings.TrimRight(wsp.ReplaceAllString(lines[j], " "), " ")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	cb := ""
	if len(lines) > 0 {
		cb = strings.Join(lines, "\r\n") + "\r\n"
	}
	bh := sha256.Sum256([]byte(cb))
	if got := base64.StdEncoding.EncodeToString(bh[:]); got != tags["bh"] {
		return fmt.Errorf("body hash %s, signature says %s", got, tags["bh"])
	}

	// Signed headers, the last unused instance of each name first.
	used := map[int]bool{}
	var in strings.Builder
	for _, name := range strings.Split(tags["h"], ":") {
		for j := len(fields) - 1; j >= 0; j-- {
			n, _, _ := strings.Cut(fields[j], ":")
			if !used[j] && strings.EqualFold(strings.TrimSpace(n), name) {
				used[j] = true
				in.WriteString(canonHeader(fields[j]) + "\r\n")
				break
			}
		}
	}
	unsigned := regexp.MustCompile(`b=[^;]*$`).ReplaceAllString(strings.TrimRight(sigField, "\r\n"), "b=")
	in.WriteString(canonHeader(unsigned))
	sig, err := base64.StdEncoding.DecodeString(tags["b"])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(in.String()))
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if !ed25519.Verify(k, sum[:], sig) {
			return fmt.Errorf("ed25519 signature mismatch")
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig); err != nil {
			return err
		}
	default:
		return fmt.Errorf("key type %T", pub)
	}
	return nil
}
