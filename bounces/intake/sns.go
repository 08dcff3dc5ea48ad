package intake

import (
	"context"
	"crypto"
	"crypto/rsa"
	_ "crypto/sha1" // crypto.SHA1 for signature version 1
	_ "crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultSNSHosts are the hosts SNS signing certificates and subscription
// links may come from: one per AWS region.
var DefaultSNSHosts = []string{"sns.*.amazonaws.com", "sns.*.amazonaws.com.cn"}

// snsMessage is an SNS HTTP(S) delivery.
type snsMessage struct {
	Type             string
	MessageID        string `json:"MessageId"`
	Token            string
	TopicArn         string
	Subject          *string
	Message          string
	Timestamp        string
	SubscribeURL     string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
}

// stringToSign is SNS's canonical form: chosen fields as name and value on
// lines of their own, in byte order of the names. Subject is signed only
// when the message has one.
func (m snsMessage) stringToSign() (string, error) {
	fields := []string{"Message", m.Message, "MessageId", m.MessageID}
	switch {
	case m.Type == "Notification" && m.Subject != nil:
		fields = append(fields, "Subject", *m.Subject, "Timestamp", m.Timestamp)
	case m.Type == "Notification":
		fields = append(fields, "Timestamp", m.Timestamp)
	case m.Type == "SubscriptionConfirmation", m.Type == "UnsubscribeConfirmation":
		fields = append(fields, "SubscribeURL", m.SubscribeURL, "Timestamp", m.Timestamp, "Token", m.Token)
	default:
		return "", fmt.Errorf("unknown message type %q", m.Type)
	}
	fields = append(fields, "TopicArn", m.TopicArn, "Type", m.Type)
	return strings.Join(fields, "\n") + "\n", nil
}

// errUnverifiable is a signature that could not be checked for a reason
// on our side or AWS's (the certificate could not be fetched): SNS should
// try again rather than be refused.
var errUnverifiable = errors.New("cannot check the signature now")

// snsVerifier checks SNS signatures against certificates fetched, over
// HTTPS only, from allow-listed hosts, and keeps them.
type snsVerifier struct {
	client *http.Client
	hosts  []string
	mu     sync.Mutex
	certs  map[string]*x509.Certificate
}

const maxCachedCerts = 32

func (v *snsVerifier) verify(ctx context.Context, m snsMessage) error {
	var hash crypto.Hash
	switch m.SignatureVersion {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return fmt.Errorf("signature version %q", m.SignatureVersion)
	}
	text, err := m.stringToSign()
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return errors.New("signature is not base64")
	}
	cert, err := v.cert(ctx, m.SigningCertURL)
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("signing certificate has no RSA key")
	}
	if err := rsa.VerifyPKCS1v15(pub, hash, digest(hash, text), sig); err != nil {
		return errors.New("signature does not match")
	}
	return nil
}

func digest(h crypto.Hash, text string) []byte {
	d := h.New()
	d.Write([]byte(text))
	return d.Sum(nil)
}

func (v *snsVerifier) cert(ctx context.Context, raw string) (*x509.Certificate, error) {
	if !hostAllowed(raw, v.hosts) {
		return nil, fmt.Errorf("signing certificate URL %q is not https on an allowed host", raw)
	}
	v.mu.Lock()
	c, ok := v.certs[raw]
	v.mu.Unlock()
	if ok && time.Now().Before(c.NotAfter) {
		return c, nil
	}
	c, err := v.fetch(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnverifiable, err)
	}
	now := time.Now()
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil, fmt.Errorf("signing certificate %q is not valid now", raw)
	}
	v.mu.Lock()
	if len(v.certs) >= maxCachedCerts {
		clear(v.certs)
	}
	v.certs[raw] = c
	v.mu.Unlock()
	return c, nil
}

func (v *snsVerifier) fetch(ctx context.Context, raw string) (*x509.Certificate, error) {
	body, err := get(ctx, v.client, raw, 64<<10)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(body)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", raw)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", raw, err)
	}
	return c, nil
}

// get fetches raw with client, reading at most max bytes.
func get(ctx context.Context, client *http.Client, raw string, max int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", raw, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, max))
}

// hostAllowed reports whether raw is an https URL, without user info, on
// a host matching one of patterns. "*" in a pattern stands for one DNS
// label. A pattern without a port allows only the default port; one with
// a port (as a test server's) allows that port.
func hostAllowed(raw string, patterns []string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Host == "" {
		return false
	}
	defaultPort := u.Port() == "" || u.Port() == "443"
	for _, p := range patterns {
		p = strings.ToLower(p)
		if strings.Contains(p, ":") && labelsMatch(p, strings.ToLower(u.Host)) ||
			!strings.Contains(p, ":") && defaultPort && labelsMatch(p, strings.ToLower(u.Hostname())) {
			return true
		}
	}
	return false
}

func labelsMatch(pattern, host string) bool {
	return slices.EqualFunc(strings.Split(pattern, "."), strings.Split(host, "."), func(p, h string) bool {
		if p == "*" {
			return h != "" && strings.Trim(h, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
		}
		return p == h
	})
}
