package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"briefcast/subscribers"
)

// importChunk is the rows of one multi-row statement.
const importChunk = 100

// Import upserts one batch of rows, as subscribers.PlanImport decides, in
// one transaction and reports what it did.
func (s *DB) Import(ctx context.Context, rows []subscribers.ImportRow) (subscribers.ImportCounts, error) {
	keys := subscribers.CheckImportRows(rows)
	var counts subscribers.ImportCounts
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if s.d.postgres {
			// An import is idempotent, so a crash losing the last batches
			// loses nothing a re-run does not restore. A table grown by a
			// big import has stale statistics, and a sequential scan per
			// batch would make the import quadratic.
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

// chunks runs text(n) over args in statements of n <= importChunk rows of
// width parameters, calling fn (when set) for each row they return. The
// full-size statement is prepared once: the SQLite driver keeps no
// statement cache, and parsing it for every chunk slows a large import.
func (s *DB) chunks(ctx context.Context, tx *sql.Tx, text func(n int) string, width int, args []any, fn func(*sql.Rows) error) error {
	var full *sql.Stmt
	if len(args) >= importChunk*width {
		st, err := tx.PrepareContext(ctx, s.d.q(text(importChunk)))
		if err != nil {
			return err
		}
		defer st.Close()
		full = st
	}
	for len(args) > 0 {
		n := min(len(args)/width, importChunk)
		var rows *sql.Rows
		var err error
		if n == importChunk {
			rows, err = full.QueryContext(ctx, args[:n*width]...)
		} else {
			rows, err = tx.QueryContext(ctx, s.d.q(text(n)), args[:n*width]...)
		}
		if err := scanAll(rows, err, fn); err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}

// inList is text for chunks of a query whose one IN list is (?).
func inList(query string) func(n int) string {
	return func(n int) string { return strings.Replace(query, "(?)", "("+placeholders(n)+")", 1) }
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
	err := s.chunks(ctx, tx, inList(`SELECT `+subscriberCols+` FROM subscribers s WHERE s.email_key IN (?)`+s.d.forUpdate), 1, want,
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
	// Otherwise look the hashes of the new keys up too.
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
	err = s.chunks(ctx, tx, inList(`SELECT email_hash FROM suppressions WHERE email_hash IN (?)`), 1, hashes, func(r *sql.Rows) error {
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

// insertMany inserts the new subscribers of an import (the token key from
// the column's default), then their digests and creation events.
//
// On SQLite the caller holds the write lock, so the ids after the largest
// ever handed out (sqlite_sequence) are free: numbering the rows here
// spares reading back an id per row. On PostgreSQL the ids come back by
// RETURNING; a row another process inserted first is skipped (unchanged).
func (s *DB) insertMany(ctx context.Context, tx *sql.Tx, subs []*subscribers.Subscriber, now time.Time, counts *subscribers.ImportCounts) error {
	if len(subs) == 0 {
		return nil
	}
	d := s.d
	cols, suffix, width := `email, email_key, source, created_at, `+subscriberFields, "", 17
	var (
		next     int64
		returned func(*sql.Rows) error
	)
	byKey := map[string]*subscribers.Subscriber{}
	if d.postgres {
		suffix = ` ON CONFLICT (email_key) DO NOTHING RETURNING id, email_key`
		returned = func(r *sql.Rows) error {
			var id int64
			var k string
			err := r.Scan(&id, &k)
			if sub := byKey[k]; sub != nil {
				sub.ID = id
			}
			return err
		}
	} else {
		if err := tx.QueryRowContext(ctx, `SELECT max(COALESCE((SELECT MAX(id) FROM subscribers), 0),
			COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'subscribers'), 0))`).Scan(&next); err != nil {
			return err
		}
		cols, width = "id, "+cols, width+1
	}
	args := make([]any, 0, len(subs)*width)
	for _, sub := range subs {
		if d.postgres {
			byKey[strings.ToLower(sub.Email)] = sub
		} else {
			next++
			sub.ID = next
			args = append(args, sub.ID)
		}
		args = d.fieldValues(sub, append(args, sub.Email, strings.ToLower(sub.Email), string(sub.Source), d.t(sub.CreatedAt))...)
	}
	one := "(" + placeholders(width) + ")"
	text := func(n int) string {
		return `INSERT INTO subscribers (` + cols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(one+",", n), ",") + suffix
	}
	if err := s.chunks(ctx, tx, text, width, args, returned); err != nil {
		return err
	}
	return s.insertDigestsAndEvents(ctx, tx, subs, now, counts)
}

// insertDigestsAndEvents writes the subscriber_digests rows and creation
// events of newly inserted subscribers (those with an id).
func (s *DB) insertDigestsAndEvents(ctx context.Context, tx *sql.Tx, subs []*subscribers.Subscriber, now time.Time, counts *subscribers.ImportCounts) error {
	// byDigest holds, for each digest name, the new ids that get it.
	byDigest := map[string][]int64{}
	ids := make([]int64, 0, len(subs))
	for _, sub := range subs {
		if sub.ID == 0 {
			counts.Added--
			counts.Unchanged++
			continue
		}
		ids = append(ids, sub.ID)
		for _, name := range sub.Digests {
			byDigest[name] = append(byDigest[name], sub.ID)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(byDigest)) {
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO subscriber_digests (digest, subscriber_id)
			SELECT ?, value FROM (`+s.d.idList+`) ids`), name, jsonIDs(byDigest[name])); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO subscriber_events (subscriber_id, at, to_status, reason)
		SELECT s.id, ?, s.status, 'import' FROM subscribers s WHERE s.id IN (`+s.d.idList+`) ORDER BY s.id`),
		s.d.t(now), jsonIDs(ids))
	return err
}
