package subscribers

import (
	"fmt"
	"strings"
	"time"
)

// BounceKind is what a bounce report says about an address.
type BounceKind string

// The kinds of bounce reports.
const (
	BounceHard      BounceKind = "hard"      // the address does not take mail
	BounceSoft      BounceKind = "soft"      // a temporary failure
	BounceComplaint BounceKind = "complaint" // the recipient marked a message as spam
)

// Valid reports whether k is one of the known kinds.
func (k BounceKind) Valid() bool {
	return k == BounceHard || k == BounceSoft || k == BounceComplaint
}

// DefaultSoftLimit is how many soft bounces on different editions, with
// no delivery in between, make an address bounced.
const DefaultSoftLimit = 3

// Bounce is one report that a message did not arrive, or arrived and was
// marked as spam.
type Bounce struct {
	// Key identifies the report across redeliveries (the provider's event
	// key, or a bounce message's return path, recipient and kind).
	Key  string
	Kind BounceKind
	// EditionID and SubscriberID come from the return path (VERP); 0 when
	// unknown. EditionID 0 with a SubscriberID is a confirmation message.
	EditionID    int64
	SubscriberID int64
	Recipient    string // finds the subscriber when the return path does not
	Status       string // enhanced status code such as "5.1.1", when known
	Reason       string // the diagnostic text
	Source       string // how it came in: "smtp", "imap", "ses", "file", ...
	At           time.Time
}

// BounceOutcome is what recording a Bounce did.
type BounceOutcome struct {
	Duplicate    bool   // the key was seen before: nothing changed
	SubscriberID int64  // 0 when nobody on the list matched
	Digest       string // the digest of the edition bounced, "" when unknown
	From, To     Status // the subscriber's status before and after
	SoftCount    int    // for a soft bounce: soft-bounced editions in a row
}

// Changed reports whether the subscriber's status changed.
func (o BounceOutcome) Changed() bool { return o.From != o.To }

// PlanBounce decides the status a subscriber in status from moves to after
// b: a complaint makes anyone complained; a hard bounce, or softCount soft
// bounces in a row reaching softLimit, makes a pending or active subscriber
// bounced. The reason, for the history, names the kind, code and diagnostic.
func PlanBounce(from Status, b Bounce, softCount, softLimit int) (to Status, reason string) {
	if softLimit <= 0 {
		softLimit = DefaultSoftLimit
	}
	to = from
	live := from == Active || from == Pending
	switch {
	case b.Kind == BounceComplaint && from != Complained:
		to = Complained
	case b.Kind == BounceHard && live:
		to = Bounced
	case b.Kind == BounceSoft && live && softCount >= softLimit:
		to = Bounced
	}
	return to, bounceReason(b, softCount)
}

// bounceReason is one line: "hard bounce 5.1.1: user unknown (smtp)".
func bounceReason(b Bounce, softCount int) string {
	var r strings.Builder
	r.WriteString(string(b.Kind))
	if b.Kind != BounceComplaint {
		r.WriteString(" bounce")
	}
	if b.Kind == BounceSoft {
		fmt.Fprintf(&r, " #%d", softCount)
	}
	if b.Status != "" {
		r.WriteString(" " + b.Status)
	}
	if reason := strings.Join(strings.Fields(b.Reason), " "); reason != "" {
		r.WriteString(": " + reason)
	}
	if b.Source != "" {
		r.WriteString(" (" + b.Source + ")")
	}
	s := r.String()
	if len(s) > 1000 {
		s = strings.ToValidUTF8(s[:1000], "")
	}
	return s
}
