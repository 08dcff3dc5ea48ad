package server

import (
	"context"
	"time"

	"briefcast/subscribers"
)

// Options are the settings a Server is built from, filled by the daemon from the config.
type Options struct {
	BaseURL        string        // the site's absolute URL (base_url): its path prefixes every route, links in mail build on it
	SiteTitle      string        // names the site on the pages and in the consent text
	Digests        []Digest      // what a person can tick, in config order; with none, a sign-up gets everything
	DoubleOptIn    bool          // a sign-up is pending until its confirmation link is followed
	ConfirmTTL     time.Duration // how long a confirmation link works
	TrustedProxies []string      // CIDRs or addresses of proxies whose X-Forwarded-For names the client
	WebSubHub      string        // the hub told about changed feeds and named in their Link header; "" for none
}

// Digest is one digest as the sign-up and preferences pages offer it.
type Digest struct {
	Name     string // the digest's name, as stored with a subscription
	Title    string // the label of its checkbox; the name when empty
	Timezone string // its own zone, the sign-up form's choice without script; "" for UTC
	Depth    string // subscribers.DepthTake or DepthDigest unless a subscriber chose otherwise; "" for the take
}

// Store is what the pages need from the subscriber store (package store);
// subscribers.ErrNotFound answers an unknown id or address.
type Store interface {
	// Subscribe signs an address up (see subscribers.PlanSubscribe).
	Subscribe(ctx context.Context, req subscribers.SubscribeRequest) (*subscribers.Subscriber, subscribers.Outcome, error)
	Get(ctx context.Context, id int64) (*subscribers.Subscriber, error)
	// GetByEmail returns the subscriber with this address, in any case.
	GetByEmail(ctx context.Context, email string) (*subscribers.Subscriber, error)
	// SetStatus moves a subscriber to a status, with an event.
	SetStatus(ctx context.Context, id int64, to subscribers.Status, reason string) error
	// UpdatePreferences replaces the digests, tags and timezone.
	UpdatePreferences(ctx context.Context, id int64, p subscribers.Preferences) error
	// PingWrite checks that the database takes writes (for /healthz).
	PingWrite(ctx context.Context) error
}
