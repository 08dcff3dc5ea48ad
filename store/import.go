package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"briefcast/subscribers"
)

// importChunk is the rows of one multi-row statement.
const importChunk = 100

// Import upserts one batch of rows in a single transaction and reports what
// it did; subscribers.PlanImport holds the rules. One batch is a lookup of
// the batch's addresses and forgotten hashes, multi-row inserts for the new
// subscribers, one INSERT ... SELECT per digest and one for the events, and
// one update per changed subscriber.
func (s *DB) Import(ctx context.Context, rows []subscribers.ImportRow) (subscribers.ImportCounts, error) {
	keys := subscribers.CheckImportRows(rows)
	var counts subscribers.ImportCounts
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if s.d.postgres {
			// An import is idempotent, so a server crash that loses the
			// last batches loses nothing a re-run does not restore; not
			// waiting for the WAL flush on each batch's commit makes a big
			// import much faster (unlike fsync=off this never risks
			// corruption). A table that grew by a big import has stale
			// statistics, and the planner then reads the batch's addresses
			// with a sequential scan per batch, which makes the import
			// quadratic: only index lookups make sense here.
			for _, set := range []string{`SET LOCAL synchronous_commit TO OFF`, `SET LOCAL enable_seqscan TO OFF`} {
				if _, err := tx.ExecContext(ctx, set); err != nil {
					return err
				}
			}
		}
		now := time.Now().UTC()
		existing, forgotten, err := s.lookupBatch(ctx, tx, keys)
		if err != nil {
			return err
		}
		plan := subscribers.PlanImport(rows, keys, existing, forgotten, now)
		counts = plan.Counts
		if err := s.insertMany(ctx, tx, plan.Inserts, now, &counts); err != nil {
			return err
		}
		for _, u := range plan.Updates {
			if err := s.update(ctx, tx, u.New, u.DigestsChanged); err != nil {
				return err
			}
			if u.StatusFrom != "" {
				if err := s.event(ctx, tx, u.New.ID, now, subscribers.Change{From: u.StatusFrom, To: u.New.Status, Reason: "import"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return subscribers.ImportCounts{}, fmt.Errorf("store: import: %w", err)
	}
	return counts, nil
}

// inChunks runs query, whose one IN list holds importChunk parameters, over
// vals in chunks (the last padded by repeating a value: IN ignores
// duplicates, and one statement text serves every chunk), calling fn for
// each row.
func (s *DB) inChunks(ctx context.Context, tx *sql.Tx, query string, vals []any, fn func(*sql.Rows) error) error {
	if len(vals) == 0 {
		return nil
	}
	query = s.d.q(strings.Replace(query, "(?)", "("+placeholders(importChunk)+")", 1))
	for len(vals)%importChunk != 0 {
		vals = append(vals, vals[0])
	}
	for c := 0; c < len(vals); c += importChunk {
		rows, err := tx.QueryContext(ctx, query, vals[c:c+importChunk]...)
		if err := scanAll(rows, err, fn); err != nil {
			return err
		}
	}
	return nil
}

// lookupBatch returns the stored subscribers among keys (locked on
// PostgreSQL) and which of the other keys were forgotten.
func (s *DB) lookupBatch(ctx context.Context, tx *sql.Tx, keys []string) (map[string]*subscribers.Subscriber, map[string]bool, error) {
	existing := make(map[string]*subscribers.Subscriber)
	var want []any
	for _, k := range keys {
		if k != "" {
			want = append(want, k)
		}
	}
	err := s.inChunks(ctx, tx, `SELECT `+subscriberCols+` FROM subscribers s WHERE s.email_key IN (?)`+s.d.forUpdate, want,
		func(r *sql.Rows) error {
			sub, err := scanSubscriber(r)
			if err == nil {
				existing[strings.ToLower(sub.Email)] = sub
			}
			return err
		})
	if err != nil {
		return nil, nil, err
	}
	// Forgotten addresses are rare: skip the lookup when there are none.
	var has bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM suppressions)`).Scan(&has); err != nil || !has {
		return existing, nil, err
	}
	// Otherwise look the hashes of the new keys up in chunks too: once a
	// single address has been forgotten, every later import pays this.
	byHash := map[string]string{}
	var hashes []any
	for _, k := range keys {
		if k == "" || existing[k] != nil {
			continue
		}
		h := subscribers.HashEmail(k)
		if _, ok := byHash[h]; !ok {
			byHash[h] = k
			hashes = append(hashes, h)
		}
	}
	forgotten := map[string]bool{}
	err = s.inChunks(ctx, tx, `SELECT email_hash FROM suppressions WHERE email_hash IN (?)`, hashes, func(r *sql.Rows) error {
		var h string
		err := r.Scan(&h)
		forgotten[byHash[h]] = true
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return existing, forgotten, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
