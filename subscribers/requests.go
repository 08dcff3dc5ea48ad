package subscribers

import "time"

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
