package server

import (
	"context"

	"briefcast/subscribers"
)

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
