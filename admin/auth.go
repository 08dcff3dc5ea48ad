package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"briefcast/server"
)

// MinTokenLength is the shortest BRIEFCAST_ADMIN_TOKEN that enables the
// page: 32 random characters are far beyond guessing, even unthrottled.
const MinTokenLength = 32

// After maxFailures wrong tokens from one client within failWindow, every
// token from it (the right one too) gets 429 for blockFor.
const (
	sessionTTL  = 12 * time.Hour // however the browser keeps the cookie
	maxSessions = 64             // held in memory; the oldest go first
	maxFailures = 5
	failWindow  = 15 * time.Minute
	blockFor    = 15 * time.Minute
	maxClients  = 10000 // whose failures are remembered
)

// sessions are the logins made with ?token=, held in memory only: a
// restart logs everybody out, which for an operator page is fine. They are
// kept by a hash of the cookie, so memory never holds a usable cookie.
type sessions struct {
	mu    sync.Mutex
	slots [maxSessions]session
}

// session is one slot of sessions; a free one has the zero expiry.
type session struct {
	hash    [sha256.Size]byte
	expires time.Time
}

// create starts a session and returns its cookie value, unrelated to the
// token. It takes the slot that ends soonest: a free or expired one, else
// the oldest session's.
func (s *sessions) create(now time.Time) string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	id := hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	slot := &s.slots[0]
	for i := range s.slots {
		if s.slots[i].expires.Before(slot.expires) {
			slot = &s.slots[i]
		}
	}
	*slot = session{sha256.Sum256([]byte(id)), now.Add(sessionTTL)}
	return id
}

// valid reports whether id is a live session at now.
func (s *sessions) valid(id string, now time.Time) bool {
	h := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.slots[:], func(x session) bool { return x.hash == h && now.Before(x.expires) })
}

// end frees the slot of session id, for a logout.
func (s *sessions) end(id string) {
	h := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.slots {
		if s.slots[i].hash == h {
			s.slots[i] = session{}
		}
	}
}

type failures struct {
	n            int
	since, until time.Time // start of the current window; blocked until (zero: not blocked)
}

// newThrottle counts wrong tokens per client, forgetting a client whose window and block are over.
func newThrottle() server.Bounded[failures] {
	return server.Bounded[failures]{Max: maxClients, Idle: func(f failures, now time.Time) bool {
		return now.Sub(f.since) >= failWindow && !now.Before(f.until)
	}}
}

// fail records a wrong token from key and reports whether that blocked it.
func (f *failures) fail(now time.Time) bool {
	if now.Sub(f.since) >= failWindow {
		f.n, f.since = 0, now
	}
	f.n++
	if f.n >= maxFailures && !now.Before(f.until) {
		f.until = now.Add(blockFor)
		f.n, f.since = 0, now
		return true
	}
	return false
}
