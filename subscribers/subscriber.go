// Package subscribers owns the people who receive digests: the Subscriber
// type, the rules of an address, statuses and consent, and CSV import and
// export. It decides what a sign-up or an import row changes (PlanSubscribe,
// PlanImport); package store writes it, in one transaction.
package subscribers

import (
	"errors"
	"time"
)

// Status is where a subscriber stands. Only Active subscribers are mailed
// digests; Unsubscribed, Bounced and Complained addresses are suppressed
// until the person subscribes again.
type Status string

// The statuses a subscriber can be in.
const (
	Pending      Status = "pending"
	Active       Status = "active"
	Unsubscribed Status = "unsubscribed"
	Bounced      Status = "bounced"
	Complained   Status = "complained"
)

// Suppressed reports whether mail to a subscriber in this status is banned.
func (s Status) Suppressed() bool {
	return s == Unsubscribed || s == Bounced || s == Complained
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool { return s == Pending || s == Active || s.Suppressed() }

// Source records where a subscriber came from.
type Source string

// The sources of a subscriber.
const (
	SourceForm   Source = "form"
	SourceImport Source = "import"
	SourceCLI    Source = "cli"
)

// Subscriber is one person on the list. Its json tags are the shape of an
// export (JSONWriter); the store reads its times in UTC.
type Subscriber struct {
	ID       int64             `json:"id"`
	Email    string            `json:"email"` // normalised by NormalizeEmail; unique regardless of case
	Name     string            `json:"name"`
	Status   Status            `json:"status"`
	Digests  []string          `json:"digests"`  // digest names they receive
	Tags     []string          `json:"tags"`     // optional topic filter: only articles with one of these tags
	Timezone string            `json:"timezone"` // IANA zone, "" for the digest's own
	Depths   map[string]string `json:"-"`        // per digest name; a digest not in it gets its default
	// PausedUntil: no edition cut off before it is sent to them; zero
	// when not paused.
	PausedUntil time.Time `json:"-"`

	Source      Source    `json:"source"`
	ConsentAt   time.Time `json:"consent_at,omitzero"`    // when consent was given (zero when unknown)
	ConsentIP   string    `json:"consent_ip,omitempty"`   // form only
	ConsentText string    `json:"consent_text,omitempty"` // the text of the form they agreed to

	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	ConfirmedAt    time.Time `json:"confirmed_at,omitzero"`    // zero until confirmed
	UnsubscribedAt time.Time `json:"unsubscribed_at,omitzero"` // zero unless unsubscribed

	// TokenKey is mixed into the MAC of every link token made for this
	// subscriber (see package tokens), so a token works for this row only:
	// drawn at random with the row, never changed, never exported.
	TokenKey []byte `json:"-"`
}

// Event is one change of a subscriber's status, kept forever so an
// operator can answer "why did this person stop getting mail?".
type Event struct {
	ID           int64
	SubscriberID int64
	At           time.Time
	From         Status // "" for the creation event
	To           Status
	Reason       string
}

// Errors the store returns for subscribers.
var (
	ErrNotFound = errors.New("subscriber not found")
	ErrExists   = errors.New("address already subscribed")
)

// SubscribeRequest is a sign-up from the form or the CLI.
type SubscribeRequest struct {
	Email       string // normalised by Validate
	Name        string
	Digests     []string
	Tags        []string
	Timezone    string
	Active      bool // skip double opt-in: the operator already has consent
	Source      Source
	ConsentAt   time.Time
	ConsentIP   string
	ConsentText string
}

// Outcome says what Subscribe did.
type Outcome string

// The outcomes of Subscribe.
const (
	Created      Outcome = "created"   // a new subscriber
	Refreshed    Outcome = "refreshed" // suppressed, now pending (or active) again; or pending, now active
	StillPending Outcome = "pending"   // already waiting for confirmation; nothing changed
	Unchanged    Outcome = "unchanged" // already active; nothing changed
)

// Preferences are what a subscriber can change about themselves.
type Preferences struct {
	Digests     []string
	Tags        []string
	Timezone    string
	Depths      map[string]string // per digest; nil or "" keeps the default
	PausedUntil time.Time         // zero resumes mail at once
}

// Filter selects subscribers for List. Zero fields match everything.
type Filter struct {
	Status  Status
	Digest  string
	AfterID int64 // start after this id
	Limit   int   // at most this many in all; 0 = no limit
}

// DayCount is the number of active subscribers at the end of a day.
type DayCount struct {
	Day    time.Time // midnight UTC
	Active int64
}

// ImportRow is one row of an import. Empty fields and nil lists keep what
// is stored.
type ImportRow struct {
	Line     int // source line, for messages
	Email    string
	Name     string
	Digests  []string
	Tags     []string
	Timezone string
	Status   Status
	// NewStatus is the status of a new subscriber whose row has none
	// (import --status); "" means active (the operator holds consent).
	NewStatus Status
}

// ImportCounts are the totals an import reports. Suppressed counts the rows
// an import refused because they would bring back an address its owner
// left (see PlanImport).
type ImportCounts struct {
	Added, Updated, Unchanged, Suppressed, Rejected int
}
