// Package tokens signs and checks the links mailed to subscribers: confirm,
// unsubscribe and preferences. A token is HMAC-SHA256 over the purpose, the
// subscriber id and the expiry, so it cannot be guessed or forged, one
// purpose never works for another, and it needs no database row.
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

// Sign returns a URL-safe token for id and purpose that stops working at
// expires.
func (s *Signer) Sign(p Purpose, id int64, expires time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(id))
	binary.BigEndian.PutUint64(b[8:], uint64(expires.Unix()))
	mac := s.mac(p, b[:])
	return base64.RawURLEncoding.EncodeToString(append(b[:], mac...))
}

// Verify checks token for purpose at now and returns the subscriber id.
// Comparison is in constant time.
func (s *Signer) Verify(p Purpose, token string, now time.Time) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil || len(raw) != 16+sha256.Size {
		return 0, ErrInvalid
	}
	if !hmac.Equal(raw[16:], s.mac(p, raw[:16])) {
		return 0, ErrInvalid
	}
	id := int64(binary.BigEndian.Uint64(raw[:8]))
	exp := time.Unix(int64(binary.BigEndian.Uint64(raw[8:16])), 0)
	if !now.Before(exp) {
		return id, ErrExpired
	}
	return id, nil
}

func (s *Signer) mac(p Purpose, payload []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte("briefcast-token-v1\x00"))
	h.Write([]byte(p))
	h.Write([]byte{0})
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
