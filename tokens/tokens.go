// Package tokens signs and checks the links mailed to subscribers (confirm,
// unsubscribe, preferences): the subscriber id and expiry under an
// HMAC-SHA256 keyed with the site secret, over the purpose, the id, the
// expiry and the subscriber's own random token key. One purpose never works
// for another, and a token works only for the row it was made for: a row
// created later with the same id, or a forgotten person signing up again,
// has another token key.
package tokens

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Purpose names what a token may be used for.
type Purpose string

// The purposes of tokens.
const (
	Confirm     Purpose = "confirm"
	Unsubscribe Purpose = "unsubscribe"
	Preferences Purpose = "preferences"
)

// Errors from Verify.
var (
	ErrInvalid = errors.New("token is invalid")
	ErrExpired = errors.New("token has expired")
)

// Signer makes and checks tokens with one secret key.
type Signer struct{ key []byte }

// NewSigner returns a Signer for key, which must hold at least 32 bytes.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("tokens: secret must be at least 32 bytes, got %d", len(key))
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// MinKeyLen is the shortest per-subscriber token key Verify accepts.
const MinKeyLen = 16

// Sign returns a URL-safe token for purpose naming subscriber id, whose
// token key is key, that stops working at expires. A token signed with a
// key shorter than MinKeyLen never verifies.
func (s *Signer) Sign(p Purpose, id int64, key []byte, expires time.Time) string {
	b := make([]byte, 16, 16+sha256.Size)
	binary.BigEndian.PutUint64(b, uint64(id))
	binary.BigEndian.PutUint64(b[8:], uint64(expires.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, s.mac(p, key, b)...))
}

// Verify checks token for purpose at now and returns the subscriber id.
// keyOf gives the token key of the id the token names; its error (such as
// "not found") is returned as is, with id 0. A damaged or forged token, or
// one made for another key, gives ErrInvalid; an authentic one past its
// expiry gives its id and ErrExpired.
func (s *Signer) Verify(p Purpose, token string, now time.Time, keyOf func(id int64) ([]byte, error)) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil || len(raw) != 16+sha256.Size {
		return 0, ErrInvalid
	}
	id := int64(binary.BigEndian.Uint64(raw[:8]))
	key, err := keyOf(id)
	if err != nil {
		return 0, err
	}
	if len(key) < MinKeyLen || !hmac.Equal(raw[16:], s.mac(p, key, raw[:16])) {
		return 0, ErrInvalid
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(raw[8:16])), 0)
	if !now.Before(exp) {
		return id, ErrExpired
	}
	return id, nil
}

// mac is the HMAC of one token. The subscriber key is length-prefixed so
// no key and payload pair can be read as another.
func (s *Signer) mac(p Purpose, key, payload []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write(binary.BigEndian.AppendUint32([]byte("briefcast-token-v2\x00"+string(p)+"\x00"), uint32(len(key))))
	h.Write(key)
	h.Write(payload)
	return h.Sum(nil)
}

// LoadSecret returns the secret from the environment value env when it is
// set, and otherwise the one kept in dataDir/secret.key, generating that file
// (with a warning) on first use so tokens keep working across restarts.
func LoadSecret(env, envName, dataDir string, log *slog.Logger) ([]byte, error) {
	if env != "" {
		if len(env) < 32 {
			return nil, fmt.Errorf("tokens: %s must hold at least 32 characters", envName)
		}
		return []byte(env), nil
	}
	path := filepath.Join(dataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		key, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(key) < 32 {
			return nil, fmt.Errorf("tokens: %s is damaged; delete it to make a new one (old links stop working)", path)
		}
		return key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key) // never fails: crypto/rand crashes the program instead
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	// Link, not rename, so two processes starting at once agree on one key.
	err := os.Link(tmp, path)
	os.Remove(tmp)
	if errors.Is(err, os.ErrExist) {
		return LoadSecret("", envName, dataDir, log)
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	if log != nil {
		log.Warn("generated_token_secret", "path", path, "hint", "set "+envName+" to share one secret between instances")
	}
	return key, nil
}
