package daemon

import (
	"context"
	"errors"

	"briefcast/metrics"
	"briefcast/subscribers"
)

// newestRates reads, for each configured digest, the bounce and complaint
// rates of its newest edition, for the metrics scrape.
func (d *Daemon) newestRates(ctx context.Context) ([]metrics.EditionRates, error) {
	var out []metrics.EditionRates
	for _, dg := range d.Config().Digests {
		e, err := d.store.LatestEdition(ctx, dg.Name)
		if errors.Is(err, subscribers.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		p, err := d.store.Progress(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		b, err := d.store.BounceCounts(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, metrics.EditionRates{Digest: dg.Name, Edition: e.Key,
			Hard: p.Rate(b.Hard), Soft: p.Rate(b.Soft), Complaints: p.Rate(b.Complaints)})
	}
	return out, nil
}
