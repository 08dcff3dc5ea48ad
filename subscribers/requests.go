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
	Digests  []string
	Tags     []string
	Timezone string
	// Depths per digest name; nil or "" keeps each digest's default.
	Depths map[string]string
	// PausedUntil holds mail until then; zero resumes it at once.
	PausedUntil time.Time
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

// ImportRow is one row of an import. Status "" keeps a stored status, or
// makes a new subscriber active (an import is consent the operator holds).
type ImportRow struct {
	Line     int // source line, for messages
	Email    string
	Name     string
	Digests  []string
	Tags     []string
	Timezone string
	Status   Status
	// NewStatus is the status of a new subscriber whose row has none
	// (subscribers import --status); "" means active. It never changes a
	// stored subscriber.
	NewStatus Status
}

// ImportCounts are the totals an import reports. Suppressed counts the rows
// that asked to bring back an address its owner had left (a new status for
// an unsubscribed, bounced or complained subscriber, or any row for a
// forgotten address): the import never overrides that choice.
type ImportCounts struct {
	Added, Updated, Unchanged, Suppressed, Rejected int
}
