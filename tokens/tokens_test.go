package tokens

import (
	"bytes"
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

func TestVerify(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := mustSigner(t, strings.Repeat("k", 32))
	other := mustSigner(t, strings.Repeat("o", 32))
	good := s.Sign(Unsubscribe, 42, now.Add(time.Hour))
	tampered := []byte(good)
	tampered[3] ^= 1

	tests := []struct {
		name    string
		signer  *Signer
		purpose Purpose
		token   string
		at      time.Time
		wantID  int64
		wantErr error
	}{
		{"valid", s, Unsubscribe, good, now, 42, nil},
		{"wrong purpose", s, Confirm, good, now, 0, ErrInvalid},
		{"other key", other, Unsubscribe, good, now, 0, ErrInvalid},
		{"expired", s, Unsubscribe, good, now.Add(time.Hour), 42, ErrExpired},
		{"tampered", s, Unsubscribe, string(tampered), now, 0, ErrInvalid},
		{"empty", s, Unsubscribe, "", now, 0, ErrInvalid},
		{"garbage", s, Unsubscribe, "not a token at all!", now, 0, ErrInvalid},
		{"truncated", s, Unsubscribe, good[:len(good)-2], now, 0, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.signer.Verify(tt.purpose, tt.token, tt.at)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if err == nil && id != tt.wantID {
				t.Errorf("got id %d, want %d", id, tt.wantID)
			}
		})
	}
}

func TestTokensDiffer(t *testing.T) {
	s := mustSigner(t, strings.Repeat("k", 32))
	exp := time.Unix(2000000000, 0)
	seen := map[string]bool{}
	for id := int64(1); id <= 100; id++ {
		for _, p := range []Purpose{Confirm, Unsubscribe, Preferences} {
			tok := s.Sign(p, id, exp)
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
