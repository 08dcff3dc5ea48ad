package subscribers

import (
	"context"
	"time"
)

// Store keeps subscribers and the state of digest editions. Every method is
// safe for concurrent use; the PostgreSQL store is also safe for use by
// several processes at once. Methods return ErrNotFound for unknown ids or
// addresses.
type Store interface {
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// PingWrite checks that the database takes writes: it commits a
	// one-row update, so it fails on a read-only file or server and on a
	// full disk, where Ping still succeeds. Callers should not run it more
	// than every second or so.
	PingWrite(ctx context.Context) error
	// Close releases the database.
	Close() error

	// --- subscribers ---

	// Create inserts a new subscriber with s.Email already normalised and
	// records a creation event with reason. It sets s.ID, s.CreatedAt (when
	// zero) and s.UpdatedAt, and ConfirmedAt or UnsubscribedAt when the
	// status calls for them; an empty status is Pending. An address taken in
	// any letter case gives ErrExists; an address that was forgotten (see
	// Forget) may be created again, which lifts its suppression.
	Create(ctx context.Context, s *Subscriber, reason string) error
	// Get returns the subscriber with id.
	Get(ctx context.Context, id int64) (*Subscriber, error)
	// GetByEmail returns the subscriber with this address, in any case.
	GetByEmail(ctx context.Context, email string) (*Subscriber, error)
	// Subscribe is the sign-up path of the form and the CLI; it checks req
	// first (see SubscribeRequest.Validate). A new address is created
	// (pending, or active when req.Active). An address already stored keeps
	// its stored spelling, and a pending or active subscriber keeps their
	// name, digests, tags, timezone and consent: anyone who knows an
	// address can sign it up, so only the person's own links change their
	// details. An active one is left Unchanged; a pending one is
	// StillPending (the caller may send the confirmation again, to the
	// stored address the returned Subscriber carries), or Refreshed to
	// active when req.Active. A suppressed one (unsubscribed, bounced,
	// complained) is Refreshed: pending (or active) again with the new
	// consent, digests, tags and timezone, and the new name unless empty.
	// A forgotten address is created afresh: the person asked again. The
	// returned Subscriber is what is stored.
	Subscribe(ctx context.Context, req SubscribeRequest) (*Subscriber, Outcome, error)
	// SetStatus moves a subscriber to status to and appends an event with
	// reason, setting ConfirmedAt or UnsubscribedAt as fits. Setting the
	// status it already has changes nothing and records nothing.
	SetStatus(ctx context.Context, id int64, to Status, reason string) error
	// UpdatePreferences replaces the digests, tags and timezone.
	UpdatePreferences(ctx context.Context, id int64, p Preferences) error
	// Forget erases everything known about the address for an erasure
	// request, keeping only a one-way hash of it in the suppression list so
	// it is never mailed again by an import. ErrNotFound if unknown. The
	// subscriber's events stay, anonymous (no subscriber id, no reason), so
	// History still adds up.
	Forget(ctx context.Context, email string) error
	// Suppressed reports whether the address must not be mailed: its
	// subscriber is unsubscribed, bounced or complained, or it was
	// forgotten.
	Suppressed(ctx context.Context, email string) (bool, error)
	// Events returns a subscriber's status history, oldest first.
	Events(ctx context.Context, id int64) ([]Event, error)
	// List streams the subscribers matching f in id order, calling fn for
	// each; it pages by keyset (id > last) and never holds the whole list in
	// memory. An error from fn stops the walk and is returned. fn may use
	// the store: no query is open while it runs.
	List(ctx context.Context, f Filter, fn func(*Subscriber) error) error
	// Counts returns how many subscribers there are in each status.
	Counts(ctx context.Context) (map[Status]int64, error)
	// History returns, for each of the last days days (oldest first, the
	// last one being today in UTC), the number of active subscribers at the
	// end of that day, computed from the event table.
	History(ctx context.Context, days int, now time.Time) ([]DayCount, error)
	// Import upserts one batch of rows in a single transaction and reports
	// what it did. Rows are matched by address regardless of case. An empty
	// Name, Timezone or Status and a nil Digests or Tags keep what is
	// stored; a new subscriber without a status is active, with source
	// import and an event with reason "import". A row for a suppressed
	// subscriber never changes its status: a row asking for another status
	// counts as suppressed (its other cells still apply); a row for a
	// forgotten address creates nothing and counts as suppressed. A row
	// equal to what is stored
	// counts as unchanged and writes nothing. Invalid rows, and a repeat of
	// an address earlier in the batch, count as rejected.
	Import(ctx context.Context, rows []ImportRow) (ImportCounts, error)

	// --- digest editions ---

	// SentArticles returns the ids of every article already included in an
	// edition of digest.
	SentArticles(ctx context.Context, digest string) (map[string]bool, error)
	// CreateEdition records a new edition, its articles and one queued
	// delivery for every active subscriber of e.Digest, all in one
	// transaction. It sets e.ID, e.CreatedAt (kept when the caller set it)
	// and e.Recipients, and rounds e.Cutoff to microseconds. An edition
	// with the same (Digest, Key) gives ErrEditionExists, so several
	// processes racing for one scheduled time create it exactly once. An
	// article already in another edition of the digest also fails it.
	CreateEdition(ctx context.Context, e *Edition) error
	// Edition returns one edition by id.
	Edition(ctx context.Context, id int64) (*Edition, error)
	// LatestEdition returns the newest edition of digest by Cutoff, or
	// ErrNotFound when there is none.
	LatestEdition(ctx context.Context, digest string) (*Edition, error)
	// UnfinishedEdition returns the oldest edition of digest (by Cutoff)
	// that FinishEdition has not yet marked done, or ErrNotFound.
	UnfinishedEdition(ctx context.Context, digest string) (*Edition, error)
	// Editions returns the newest editions (of digest, or of every digest
	// when digest is ""), newest (by Cutoff) first, at most limit (all when
	// limit <= 0).
	Editions(ctx context.Context, digest string, limit int) ([]*Edition, error)
	// ClaimDeliveries leases up to limit deliveries of the edition that are
	// due (queued, or retrying with NextAttempt <= now) and not leased by
	// anyone else, to owner until now+lease. On PostgreSQL it uses FOR UPDATE
	// SKIP LOCKED so several senders share one edition without overlap.
	// Deliveries whose subscriber is no longer active, or no longer gets the
	// digest, are marked DeliveryCancelled instead of being returned. The
	// returned deliveries carry the subscriber's current address, name, tags,
	// timezone and id. Due retries come first, longest-waiting first, then
	// queued deliveries in id order. Fewer than limit (even none) can come
	// back while other senders hold locks or leases: only Progress says
	// whether the edition is done. ErrNotFound for an unknown edition.
	ClaimDeliveries(ctx context.Context, editionID int64, owner string, limit int, now time.Time, lease time.Duration) ([]Delivery, error)
	// ReleaseClaims drops every lease on the edition's deliveries, for a
	// single-instance store starting after a crash. Leases of a dead
	// process on PostgreSQL simply expire instead.
	ReleaseClaims(ctx context.Context, editionID int64) error
	// RecordResults writes the outcome of many deliveries in one
	// transaction (group commit) and clears their leases. A result whose
	// Bounce is set also marks its subscriber Bounced, with an event (as
	// SetStatus, with the reply as the reason). A result for a delivery
	// that is no longer queued or retrying (another sender finished it after
	// this one's lease expired) is ignored, so a send is never undone.
	RecordResults(ctx context.Context, results []Result) error
	// Progress counts an edition's deliveries by state; queued or retrying
	// ones that are leased (until their result is recorded or the lease is
	// released) are counted as InFlight instead.
	Progress(ctx context.Context, editionID int64) (Progress, error)
	// Failures lists up to limit (all when limit <= 0) failed or retrying
	// deliveries of an edition in id order, with their last reply.
	Failures(ctx context.Context, editionID int64, limit int) ([]Delivery, error)
	// FinishEdition marks the edition done at now when nothing is left to
	// send; it reports whether the edition is done.
	FinishEdition(ctx context.Context, editionID int64, now time.Time) (bool, error)
	// QueueSize counts the deliveries, over every unfinished edition, that
	// are queued or retrying.
	QueueSize(ctx context.Context) (int64, error)
}

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
}

// ImportCounts are the totals an import reports. Suppressed counts the rows
// that asked to bring back an address its owner had left (a new status for
// an unsubscribed, bounced or complained subscriber, or any row for a
// forgotten address): the import never overrides that choice.
type ImportCounts struct {
	Added, Updated, Unchanged, Suppressed, Rejected int
}

// Edition is one run of one digest.
type Edition struct {
	ID         int64
	Digest     string
	Key        string    // stable unique key within the digest, e.g. "20251123T1200Z"
	Cutoff     time.Time // articles published up to this time are in
	Articles   []string  // article ids, newest first
	CreatedAt  time.Time
	FinishedAt time.Time // zero while sending
	Recipients int64     // deliveries queued at creation
}

// DeliveryState is where one recipient of an edition stands.
type DeliveryState string

// The delivery states.
const (
	DeliveryQueued    DeliveryState = "queued"
	DeliverySent      DeliveryState = "sent"
	DeliveryRetrying  DeliveryState = "retrying"
	DeliveryFailed    DeliveryState = "failed"
	DeliveryCancelled DeliveryState = "cancelled" // unsubscribed before it went out
	DeliverySkipped   DeliveryState = "skipped"   // their tag filter left nothing
)

// Delivery is one recipient of one edition.
type Delivery struct {
	ID          int64
	EditionID   int64
	State       DeliveryState
	Attempts    int
	LastReply   string
	NextAttempt time.Time
	Subscriber  Subscriber // current id, email, name, tags and timezone
}

// Result is the outcome of one delivery attempt.
type Result struct {
	DeliveryID   int64
	SubscriberID int64
	State        DeliveryState // sent, retrying, failed or skipped
	Attempts     int
	LastReply    string
	NextAttempt  time.Time // for retrying
	At           time.Time
	Bounce       bool // a hard bounce (5.1.x): mark the subscriber bounced
}

// Progress counts an edition's deliveries by state.
type Progress struct {
	Queued, InFlight, Sent, Retrying, Failed, Cancelled, Skipped int64
}

// Total is the number of deliveries.
func (p Progress) Total() int64 {
	return p.Queued + p.InFlight + p.Sent + p.Retrying + p.Failed + p.Cancelled + p.Skipped
}

// Done reports whether nothing is left to send.
func (p Progress) Done() bool { return p.Queued == 0 && p.InFlight == 0 && p.Retrying == 0 }
