package tokens

import (
	"bytes"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustSigner(t *testing.T, key string) *Signer {
	t.Helper()
	s, err := NewSigner([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keys maps subscriber ids to token keys, as a store would.
func keys(m map[int64][]byte) func(int64) ([]byte, error) {
	return func(id int64) ([]byte, error) {
		k, ok := m[id]
		if !ok {
			return nil, errNotFound
		}
		return k, nil
	}
}

var errNotFound = errors.New("no such subscriber")

func TestVerify(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := mustSigner(t, strings.Repeat("k", 32))
	other := mustSigner(t, strings.Repeat("o", 32))
	key := bytes.Repeat([]byte{7}, MinKeyLen)
	good := s.Sign(Unsubscribe, 42, key, now.Add(time.Hour))
	tampered := []byte(good)
	tampered[3] ^= 1
	stored := keys(map[int64][]byte{42: key})
	rotated := keys(map[int64][]byte{42: bytes.Repeat([]byte{8}, MinKeyLen)})
	short := keys(map[int64][]byte{42: nil})
	unkeyed := s.Sign(Unsubscribe, 42, nil, now.Add(time.Hour))

	tests := []struct {
		name    string
		signer  *Signer
		purpose Purpose
		token   string
		keyOf   func(int64) ([]byte, error)
		at      time.Time
		wantID  int64
		wantErr error
	}{
		{"valid", s, Unsubscribe, good, stored, now, 42, nil},
		{"wrong purpose", s, Confirm, good, stored, now, 0, ErrInvalid},
		{"other secret", other, Unsubscribe, good, stored, now, 0, ErrInvalid},
		{"other subscriber key", s, Unsubscribe, good, rotated, now, 0, ErrInvalid},
		{"subscriber gone", s, Unsubscribe, good, keys(nil), now, 0, errNotFound},
		{"empty subscriber key", s, Unsubscribe, unkeyed, short, now, 0, ErrInvalid},
		{"expired", s, Unsubscribe, good, stored, now.Add(time.Hour), 42, ErrExpired},
		{"expired, other key", s, Unsubscribe, good, rotated, now.Add(time.Hour), 0, ErrInvalid},
		{"tampered", s, Unsubscribe, string(tampered), stored, now, 0, ErrInvalid},
		{"empty", s, Unsubscribe, "", stored, now, 0, ErrInvalid},
		{"garbage", s, Unsubscribe, "not a token at all!", stored, now, 0, ErrInvalid},
		{"truncated", s, Unsubscribe, good[:len(good)-2], stored, now, 0, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.signer.Verify(tt.purpose, tt.token, tt.at, tt.keyOf)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if id != tt.wantID {
				t.Errorf("got id %d, want %d", id, tt.wantID)
			}
		})
	}
}

// TestSameIDNewKey: a token made for one subscriber row does not work for
// a later row that got the same id, which has its own key.
func TestSameIDNewKey(t *testing.T) {
	s := mustSigner(t, strings.Repeat("k", 32))
	now := time.Unix(2000000000, 0)
	first, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	second, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, second) || len(first) != MinKeyLen {
		t.Fatalf("NewKey gave %x then %x", first, second)
	}
	for _, p := range []Purpose{Confirm, Unsubscribe, Preferences} {
		tok := s.Sign(p, 7, first, now.Add(time.Hour))
		if _, err := s.Verify(p, tok, now, keys(map[int64][]byte{7: second})); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s token of the old row on the new row: got %v, want ErrInvalid", p, err)
		}
	}
}

func TestTokensDiffer(t *testing.T) {
	s := mustSigner(t, strings.Repeat("k", 32))
	exp := time.Unix(2000000000, 0)
	key := bytes.Repeat([]byte{1}, MinKeyLen)
	seen := map[string]bool{}
	for id := int64(1); id <= 100; id++ {
		for _, p := range []Purpose{Confirm, Unsubscribe, Preferences} {
			tok := s.Sign(p, id, key, exp)
			if seen[tok] {
				t.Fatalf("token repeated for id %d purpose %s", id, p)
			}
			seen[tok] = true
		}
	}
}

func TestShortKeyRefused(t *testing.T) {
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Fatal("got no error for a 5-byte key")
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	if _, err := LoadSecret("too-short", "BRIEFCAST_SECRET", dir, nil); err == nil {
		t.Error("a short secret from the environment was accepted")
	}
	env := strings.Repeat("e", 40)
	got, err := LoadSecret(env, "BRIEFCAST_SECRET", dir, nil)
	if err != nil || string(got) != env {
		t.Fatalf("env secret: got %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); !os.IsNotExist(err) {
		t.Error("a secret file was written although the environment had one")
	}
	first, err := LoadSecret("", "BRIEFCAST_SECRET", dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "generated_token_secret") {
		t.Errorf("no warning logged: %q", logs.String())
	}
	st, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, mode %v", err, st.Mode())
	}
	again, err := LoadSecret("", "BRIEFCAST_SECRET", dir, nil)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("the secret changed across loads: %v", err)
	}
}

// NewKey returns a fresh random per-subscriber token key of MinKeyLen
// bytes.
func NewKey() ([]byte, error) {
	k := make([]byte, MinKeyLen)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}
