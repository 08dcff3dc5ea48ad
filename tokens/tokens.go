// Package tokens signs and checks the links mailed to subscribers: confirm,
// unsubscribe and preferences. A token carries the subscriber id and the
// expiry under an HMAC-SHA256, keyed with the site secret, over the
// purpose, the id, the expiry and the subscriber's own random token key.
// So it cannot be guessed or forged, one purpose never works for another,
// and it works only for the one subscriber row it was made for: a row
// created later, even with the same id, has another token key, and so
// does a person who was forgotten and signs up again.
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
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(id))
	binary.BigEndian.PutUint64(b[8:], uint64(expires.Unix()))
	mac := s.mac(p, key, b[:])
	return base64.RawURLEncoding.EncodeToString(append(b[:], mac...))
}

// Verify checks token for purpose at now and returns the subscriber id.
// keyOf returns the token key of the subscriber the token names; an error
// from it (such as "not found") is returned as it is, with id 0. A
// damaged or forged token, or one made for another subscriber key, gives
// ErrInvalid; an authentic one past its expiry gives its id and
// ErrExpired. Comparison is in constant time.
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
	h.Write([]byte("briefcast-token-v2\x00"))
	h.Write([]byte(p))
	h.Write([]byte{0})
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(key)))
	h.Write(n[:])
	h.Write(key)
	h.Write(payload)
	return h.Sum(nil)
}

// NewKey returns a fresh random per-subscriber token key of MinKeyLen
// bytes.
func NewKey() ([]byte, error) {
	k := make([]byte, MinKeyLen)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return k, nil
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
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	// Link, not rename, so two processes starting at once agree on one key.
	if err := os.Link(tmp, path); err != nil {
		os.Remove(tmp)
		if errors.Is(err, os.ErrExist) {
			return LoadSecret("", envName, dataDir, log)
		}
		return nil, fmt.Errorf("tokens: %w", err)
	}
	os.Remove(tmp)
	if log != nil {
		log.Warn("generated_token_secret", "path", path, "hint", "set "+envName+" to share one secret between instances")
	}
	return key, nil
}
