package dnscheck

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// parseTags reads a "tag=value; tag=value" record (DKIM keys, DMARC) into
// its values by tag, and the name of its first tag. A part without '=' or
// a repeated tag makes the record invalid, as RFC 6376 section 3.2 says.
func parseTags(rec string) (tags map[string]string, first string, err error) {
	tags = map[string]string{}
	for part := range strings.SplitSeq(rec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, "", fmt.Errorf("%q is not tag=value", part)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := tags[name]; dup {
			return nil, "", fmt.Errorf("tag %s= appears twice", name)
		}
		if len(tags) == 0 {
			first = name
		}
		tags[name] = strings.TrimSpace(value)
	}
	return tags, first, nil
}

// KeyType is the k= value for a public key: "rsa" or "ed25519".
func KeyType(pub crypto.PublicKey) (string, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return "rsa", nil
	case ed25519.PublicKey:
		return "ed25519", nil
	}
	return "", fmt.Errorf("dnscheck: unsupported DKIM key type %T", pub)
}

// DKIMRecord returns the TXT record that publishes pub: the RSA key as
// SubjectPublicKeyInfo (what verifiers and key tools use), the Ed25519 key
// as its 32 raw bytes (RFC 8463).
func DKIMRecord(pub crypto.PublicKey) (string, error) {
	k, err := KeyType(pub)
	if err != nil {
		return "", err
	}
	var raw []byte
	if k == "ed25519" {
		raw = pub.(ed25519.PublicKey)
	} else if raw, err = x509.MarshalPKIXPublicKey(pub); err != nil {
		return "", fmt.Errorf("dnscheck: %w", err)
	}
	return fmt.Sprintf("v=DKIM1; k=%s; p=%s", k, base64.StdEncoding.EncodeToString(raw)), nil
}

// ZoneText quotes a TXT value for a zone file, split into strings of at
// most 255 bytes: one string cannot hold an RSA key.
func ZoneText(value string) string {
	var parts []string
	for c := range slices.Chunk([]byte(value), 255) {
		parts = append(parts, string(c))
	}
	return `"` + strings.Join(parts, `" "`) + `"`
}

func decodeDKIMKey(k, p string) (crypto.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("p= is not base64: %w", err)
	}
	if k == "ed25519" {
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("p= holds %d bytes, an Ed25519 key has %d", len(raw), ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(raw), nil
	}
	if pub, err := x509.ParsePKIXPublicKey(raw); err == nil {
		return pub, nil
	}
	// Some tools publish the bare PKCS #1 key; verifiers accept it too.
	pub, err := x509.ParsePKCS1PublicKey(raw)
	if err != nil {
		return nil, errors.New("p= is not an RSA public key")
	}
	return pub, nil
}

func checkDKIM(ctx context.Context, r *resolver, o Options) Row {
	if o.DKIMSelector == "" {
		return Row{Check: "dkim", Domain: o.FromDomain, Status: Warn, Found: "briefcast does not sign ([email.dkim] not set)",
			Fix: "set [email.dkim] (Gmail and Yahoo require DKIM of bulk senders), or make sure your relay signs with d=" + o.FromDomain}
	}
	name := o.DKIMSelector + "._domainkey." + o.DKIMDomain
	row := Row{Check: "dkim", Domain: name}
	want, wantErr := DKIMRecord(o.DKIMPublicKey)
	publish := "publish the key of email.dkim.private_key_file (shown below)"
	if wantErr != nil {
		publish = wantErr.Error()
	} else {
		row.Want = want
	}

	recs, fail := records(ctx, r, name, func(t string) bool { return strings.Contains(strings.ToLower(t), "p=") })
	row, ok := one(row, recs, fail, "no DKIM key record", "no DKIM key; "+publish, publish,
		fmt.Sprintf("%d DKIM records: verifiers may pick any; keep only one and %s", len(recs), publish))
	if !ok {
		return row
	}
	probs := dkimProblems(row.Found, o.DKIMPublicKey, publish)
	if len(probs) == 0 {
		row.Want = ""
	}
	return withProblems(row, probs, "")
}

// dkimProblems compares a published key record with the configured key.
func dkimProblems(rec string, pub crypto.PublicKey, publish string) []problem {
	tags, first, err := parseTags(rec)
	if err != nil {
		return []problem{{Fail, fmt.Sprintf("bad syntax: %v; %s", err, publish)}}
	}
	if v, ok := tags["v"]; ok && (v != "DKIM1" || first != "v") {
		return []problem{{Fail, "v= must be first and DKIM1; " + publish}}
	}
	k := cmp.Or(strings.ToLower(tags["k"]), "rsa")
	p := strings.Join(strings.Fields(tags["p"]), "")
	if p == "" {
		return []problem{{Fail, "p= is empty: the key is revoked; " + publish}}
	}
	wantK, err := KeyType(pub)
	if err != nil {
		return []problem{{Fail, err.Error()}}
	}
	if k != wantK {
		return []problem{{Fail, fmt.Sprintf("k=%s but email.dkim.private_key_file is an %s key; %s", k, wantK, publish)}}
	}
	got, err := decodeDKIMKey(k, p)
	if err != nil {
		return []problem{{Fail, fmt.Sprintf("%v; %s", err, publish)}}
	}
	if eq, ok := got.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub) {
		return []problem{{Fail, "the key in DNS does not match email.dkim.private_key_file; " + publish}}
	}
	var probs []problem
	if h, ok := tags["h"]; ok && !hasFlag(h, "sha256") {
		probs = append(probs, problem{Fail, "h=" + h + " leaves out sha256, which briefcast signs with; remove h= or add sha256"})
	}
	if hasFlag(tags["t"], "y") {
		probs = append(probs, problem{Warn, "t=y marks the domain as testing DKIM: receivers may ignore failures; remove t=y"})
	}
	return probs
}

// hasFlag reports whether the colon-separated list holds want.
func hasFlag(list, want string) bool {
	for f := range strings.SplitSeq(list, ":") {
		if strings.EqualFold(strings.TrimSpace(f), want) {
			return true
		}
	}
	return false
}
