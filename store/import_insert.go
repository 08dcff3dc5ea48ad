package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"briefcast/subscribers"
)

// insertRows runs prefix, then rows of width parameters from args, then
// suffix, as multi-row statements of up to importChunk rows. returned,
// when set, reads their RETURNING rows.
func (s *DB) insertRows(ctx context.Context, tx *sql.Tx, prefix, suffix string, width int, args []any, returned func(*sql.Rows) error) error {
	one := "(" + placeholders(width) + ")"
	for len(args) > 0 {
		n := min(len(args)/width, importChunk)
		q := s.d.q(prefix + strings.TrimSuffix(strings.Repeat(one+",", n), ",") + suffix)
		var err error
		if returned == nil {
			_, err = tx.ExecContext(ctx, q, args[:n*width]...)
		} else {
			rows, qerr := tx.QueryContext(ctx, q, args[:n*width]...)
			err = scanAll(rows, qerr, returned)
		}
		if err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}

// insertMany inserts the new subscribers of an import, then their digests
// and creation events with one set-based statement per digest and one for
// the events. The token key comes from the column's default.
//
// On SQLite the caller holds the write lock (BEGIN IMMEDIATE), so the ids
// after the largest ever handed out (sqlite_sequence, see
// 004_token_keys.sql: never one a forgotten subscriber had) are free:
// numbering the rows here, as SQLite itself would, spares reading back an
// id per row. On PostgreSQL other processes may insert meanwhile: the ids
// come back by RETURNING, and a row another process inserted first
// conflicts, is skipped and counts as unchanged.
func (s *DB) insertMany(ctx context.Context, tx *sql.Tx, subs []*subscribers.Subscriber, now time.Time, counts *subscribers.ImportCounts) error {
	if len(subs) == 0 {
		return nil
	}
	d := s.d
	cols, suffix, width := `email, email_key, name, status, digests, tags, timezone, source,
		created_at, updated_at, confirmed_at, unsubscribed_at, consent_at`, "", 13
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
		args = append(args, sub.Email, strings.ToLower(sub.Email), sub.Name, string(sub.Status), subscribers.JoinList(sub.Digests),
			subscribers.JoinList(sub.Tags), sub.Timezone, string(sub.Source), d.t(sub.CreatedAt), d.t(sub.UpdatedAt),
			d.t(sub.ConfirmedAt), d.t(sub.UnsubscribedAt), d.t(sub.ConsentAt))
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO subscribers (`+cols+`) VALUES `, suffix, width, args, returned); err != nil {
		return err
	}
	return s.insertDigestsAndEvents(ctx, tx, subs, now, counts)
}

// insertDigestsAndEvents writes the subscriber_digests rows and creation
// events of newly inserted subscribers (those with an id).
func (s *DB) insertDigestsAndEvents(ctx context.Context, tx *sql.Tx, subs []*subscribers.Subscriber, now time.Time, counts *subscribers.ImportCounts) error {
	// byDigest holds, for each digest name, the new ids that get it.
	byDigest := map[string][]int64{}
	var names []string
	ids := make([]int64, 0, len(subs))
	for _, sub := range subs {
		if sub.ID == 0 {
			counts.Added--
			counts.Unchanged++
			continue
		}
		ids = append(ids, sub.ID)
		for _, name := range sub.Digests {
			if _, ok := byDigest[name]; !ok {
				names = append(names, name)
			}
			byDigest[name] = append(byDigest[name], sub.ID)
		}
	}
	for _, name := range names {
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
