package subscribers

import (
	"context"
	"io"
	"slices"
)

// Importer writes one batch of import rows in a single transaction, as
// PlanImport decides, and reports what it did.
type Importer interface {
	Import(ctx context.Context, rows []ImportRow) (ImportCounts, error)
}

// ImportCSV reads an import file (see ReadCSV) into st in batches of
// batchSize rows, one transaction each, parsing one batch ahead of the
// store. check, when not nil, may reject a row the format allows (an
// unknown digest, say). Rejected rows come back in line order; err stops
// the import (batches already written stay written).
func ImportCSV(ctx context.Context, st Importer, r io.Reader, batchSize int, check func(*ImportRow) *RowError) (ImportCounts, []RowError, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []ImportRow, 1)
	var (
		readRejected []RowError
		readErr      error
		checked      []RowError
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(batches)
		readRejected, readErr = ReadCSV(r, batchSize, func(b []ImportRow) error {
			select {
			case batches <- slices.Clone(b):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	var total ImportCounts
	var err error
	for b := range batches {
		if err != nil {
			continue // drain so the reader can finish
		}
		if check != nil {
			keep := b[:0]
			for i := range b {
				if e := check(&b[i]); e != nil {
					checked = append(checked, *e)
					continue
				}
				keep = append(keep, b[i])
			}
			b = keep
		}
		var c ImportCounts
		if c, err = st.Import(ctx, b); err != nil {
			cancel()
			continue
		}
		total.Added += c.Added
		total.Updated += c.Updated
		total.Unchanged += c.Unchanged
		total.Suppressed += c.Suppressed
		total.Rejected += c.Rejected
	}
	<-done
	if err == nil {
		err = readErr
	}
	rejected := append(readRejected, checked...)
	slices.SortStableFunc(rejected, func(a, b RowError) int { return a.Line - b.Line })
	total.Rejected += len(rejected)
	return total, rejected, err
}
