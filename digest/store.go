package digest

import (
	"context"
	"time"

	"briefcast/editions"
)

// Store is what the sender needs from the store (package store implements
// it): the editions of a digest and their delivery queue. Lookups return
// subscribers.ErrNotFound when nothing matches.
type Store interface {
	WaveStore
	// SentArticles returns the ids of every article in an edition of digest.
	SentArticles(ctx context.Context, digest string) (map[string]bool, error)
	// CreateEdition records an edition, its articles and one queued
	// delivery per active subscriber of its digest, in one transaction;
	// editions.ErrExists when another run created the same (digest, key).
	CreateEdition(ctx context.Context, e *editions.Edition) error
	EditionByKey(ctx context.Context, digest, key string) (*editions.Edition, error)
	LatestEdition(ctx context.Context, digest string) (*editions.Edition, error)     // the newest by cutoff
	UnfinishedEdition(ctx context.Context, digest string) (*editions.Edition, error) // the oldest not finished
	// ClaimDeliveries leases up to limit due deliveries of the edition to
	// owner until now+lease; no two claims ever hold the same delivery.
	ClaimDeliveries(ctx context.Context, editionID int64, owner string, limit int, now time.Time, lease time.Duration) ([]editions.Delivery, error)
	ReleaseClaims(ctx context.Context, editionID int64) error // drops every lease on the edition's deliveries
	// RecordResults writes many results in one transaction and clears
	// their leases; a recorded send is never undone.
	RecordResults(ctx context.Context, results []editions.Result) error
	Progress(ctx context.Context, editionID int64) (editions.Progress, error)
	// FinishEdition marks the edition done when nothing is left to send.
	FinishEdition(ctx context.Context, editionID int64, now time.Time) (bool, error)
}

// WaveStore is what local-time delivery (send_at = "subscriber") needs from
// the store.
type WaveStore interface {
	// SubscriberZones returns the distinct zones of digest's active
	// subscribers ("" = none).
	SubscriberZones(ctx context.Context, digest string) ([]string, error)
	// CreateWave records a wave (e.Zones set) and queues its recipients:
	// the active subscribers in its zones with no other delivery of the
	// digest from a wave less than gap away; editions.ErrExists when
	// another run created the same (digest, key).
	CreateWave(ctx context.Context, e *editions.Edition, gap time.Duration) error
	// EarlierArticles returns the articles of digest that editions older
	// than editionID sent, or still mean to send, to the subscriber.
	EarlierArticles(ctx context.Context, digest string, subscriberID, editionID int64) (map[string]bool, error)
}
