package admin

import (
	"context"
	"time"

	"briefcast/editions"
	"briefcast/store"
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
	// Waves returns the waves of digest with a cut-off in [from, to),
	// oldest first, each with its progress.
	Waves(ctx context.Context, digest string, from, to time.Time) ([]store.WaveStatus, error)
	// ZoneCounts counts digest's active subscribers by time zone, "" for
	// those without one.
	ZoneCounts(ctx context.Context, digest string) (map[string]int64, error)
}

// WavePlanner tells the page which digests go out in waves and when their
// coming waves are due; the daemon implements it from its current config.
type WavePlanner interface {
	// LocalDigests names the digests with send_at = "subscriber".
	LocalDigests() []string
	// PlanWaves returns the waves of digest due in (from, to] for
	// subscribers in zones ("" for those without one), oldest first.
	PlanWaves(digest string, zones []string, from, to time.Time) []PlannedWave
}

// PlannedWave is a coming wave: its instant and the zones reaching the
// schedule's local time then.
type PlannedWave struct {
	At    time.Time
	Zones []string
}
