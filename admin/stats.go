package admin

import (
	"context"
	"time"

	"briefcast/editions"
	"briefcast/subscribers"
)

// Stats is what the admin page reads from the store (package store
// implements it).
type Stats interface {
	// Counts returns how many subscribers there are in each status.
	Counts(ctx context.Context) (map[subscribers.Status]int64, error)
	// History returns the active subscribers at the end of each of the
	// last days days, oldest first.
	History(ctx context.Context, days int, now time.Time) ([]subscribers.DayCount, error)
	// Editions returns the newest editions of every digest when digest is
	// "", newest first, at most limit.
	Editions(ctx context.Context, digest string, limit int) ([]*editions.Edition, error)
	// Progress counts an edition's deliveries by state.
	Progress(ctx context.Context, editionID int64) (editions.Progress, error)
	// BounceCounts counts the bounce and complaint reports about an
	// edition by kind.
	BounceCounts(ctx context.Context, editionID int64) (editions.BounceCounts, error)
}
