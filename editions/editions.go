// Package editions holds the shapes of a digest edition and its delivery
// queue, apart from the digest sender and the store so neither imports the
// other.
package editions

import (
	"errors"
	"fmt"
	"time"

	"briefcast/subscribers"
)

// ErrExists: an edition with the same digest and key is already stored.
var ErrExists = errors.New("edition already exists")

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
	// Zones is the zone set of a wave of a send_at = "subscriber" digest
	// whose local schedule time is Cutoff ("" = subscribers without a
	// zone); nil for an edition sent to everyone at once.
	Zones []string
}

// Wave reports whether e is one wave of a local-time digest.
func (e *Edition) Wave() bool { return len(e.Zones) > 0 }

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
	Subscriber  subscribers.Subscriber // current id, email, name, tags and timezone
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
type Progress struct{ Queued, InFlight, Sent, Retrying, Failed, Cancelled, Skipped int64 }

// Total is the number of deliveries.
func (p Progress) Total() int64 {
	return p.Queued + p.InFlight + p.Sent + p.Retrying + p.Failed + p.Cancelled + p.Skipped
}

// Done reports whether nothing is left to send.
func (p Progress) Done() bool { return p.Queued == 0 && p.InFlight == 0 && p.Retrying == 0 }

// BounceCounts counts the bounce reports about one edition by kind, each
// recipient once per kind.
type BounceCounts struct{ Hard, Soft, Complaints int64 }

// Rate is n as a share of the edition's sent messages (0 when none).
func (p Progress) Rate(n int64) float64 {
	if p.Sent == 0 {
		return 0
	}
	return float64(n) / float64(p.Sent)
}

// The rates past which an edition is flagged: mailbox providers start
// filtering a sender whose complaints pass 0.1 % of messages, and a
// hard-bounce rate over 2 % says the list holds stale addresses.
const (
	ComplaintRateLimit  = 0.001
	HardBounceRateLimit = 0.02
)

// Warnings says in words which of the edition's rates pass their limits;
// nil when none does.
func (c BounceCounts) Warnings(p Progress) []string {
	var w []string
	if r := p.Rate(c.Complaints); r > ComplaintRateLimit {
		w = append(w, fmt.Sprintf("complaint rate %.2f%% is over %.1f%%", 100*r, 100*ComplaintRateLimit))
	}
	if r := p.Rate(c.Hard); r > HardBounceRateLimit {
		w = append(w, fmt.Sprintf("hard-bounce rate %.2f%% is over %.0f%%", 100*r, 100*HardBounceRateLimit))
	}
	return w
}
