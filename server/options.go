package server

import (
	"context"
	"slices"
	"time"

	"briefcast/subscribers"
)

// Options are the settings a Server is built from. The daemon fills them
// from the config, so this package never reads the config itself.
type Options struct {
	// BaseURL is the site's absolute URL (base_url). Its path prefixes
	// every route; links in mail are built on it.
	BaseURL string
	// SiteTitle names the site on the pages and in the consent text.
	SiteTitle string
	// Digests are the digests a person can tick, in the config's order.
	// With none, a sign-up chooses nothing and gets everything.
	Digests []Digest
	// DoubleOptIn makes a sign-up pending until its confirmation link is
	// followed; without it the sign-up is active at once.
	DoubleOptIn bool
	// ConfirmTTL is how long a confirmation link works.
	ConfirmTTL time.Duration
	// TrustedProxies are CIDRs or single addresses of proxies whose
	// X-Forwarded-For names the client (server.trusted_proxies).
	TrustedProxies []string
	// WebSubHub is the hub told about changed feeds and named in their
	// Link header; "" for none.
	WebSubHub string
}

// Digest is one digest as the sign-up and preferences pages offer it.
type Digest struct {
	Name  string // the digest's name, as stored with a subscription
	Title string // the label of its checkbox; the name when empty
	// Timezone is the digest's own zone (IANA), the sign-up form's
	// choice for a browser that runs no script; "" for UTC.
	Timezone string
	// Depth is what its mail holds unless a subscriber chose otherwise
	// (subscribers.DepthTake or DepthDigest); "" for the take.
	Depth string
}

// clone copies the slices of o, so a caller changing its own after New
// does not change a running server.
func (o Options) clone() Options {
	o.Digests = slices.Clone(o.Digests)
	o.TrustedProxies = slices.Clone(o.TrustedProxies)
	return o
}

// Store is what the sign-up pages and the person's own links need from the
// subscriber store (package store implements it). Methods return
// subscribers.ErrNotFound for an unknown id or address.
type Store interface {
	// Subscribe signs an address up (see subscribers.PlanSubscribe).
	Subscribe(ctx context.Context, req subscribers.SubscribeRequest) (*subscribers.Subscriber, subscribers.Outcome, error)
	// Get returns the subscriber with id.
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
