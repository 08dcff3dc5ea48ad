package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"briefcast/subscribers"
)

// multiRow is a multi-row INSERT prepared for one transaction: rows of
// width parameters are buffered and sent importChunk at a time. With
// returning set, each statement's RETURNING rows go to returned.
type multiRow struct {
	s        *DB
	ctx      context.Context
	tx       *sql.Tx
	prefix   string // up to VALUES
	suffix   string // after the rows
	width    int
	many     *sql.Stmt
	args     []any
	returned func(*sql.Rows) error // nil: no RETURNING
}

func (m *multiRow) stmt(n int) string {
	one := "(" + placeholders(m.width) + ")"
	return m.s.d.q(m.prefix + strings.TrimSuffix(strings.Repeat(one+",", n), ",") + m.suffix)
}

// add buffers one row, sending a full chunk.
func (m *multiRow) add(args ...any) error {
	m.args = append(m.args, args...)
	if len(m.args) < importChunk*m.width {
		return nil
	}
	if m.many == nil {
		st, err := m.tx.PrepareContext(m.ctx, m.stmt(importChunk))
		if err != nil {
			return err
		}
		m.many = st
	}
	err := m.run(m.many, m.args)
	m.args = m.args[:0]
	return err
}

// flush sends the buffered tail one row at a time, and closes.
func (m *multiRow) flush() error {
	defer func() {
		if m.many != nil {
			m.many.Close()
		}
	}()
	if len(m.args) == 0 {
		return nil
	}
	one, err := m.tx.PrepareContext(m.ctx, m.stmt(1))
	if err != nil {
		return err
	}
	defer one.Close()
	for i := 0; i < len(m.args); i += m.width {
		if err := m.run(one, m.args[i:i+m.width]); err != nil {
			return err
		}
	}
	m.args = m.args[:0]
	return nil
}

func (m *multiRow) run(st *sql.Stmt, args []any) error {
	if m.returned == nil {
		_, err := st.ExecContext(m.ctx, args...)
		return err
	}
	rows, err := st.QueryContext(m.ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := m.returned(rows); err != nil {
			return err
		}
	}
	return rows.Err()
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
	ins := &multiRow{s: s, ctx: ctx, tx: tx, width: 13,
		prefix: `INSERT INTO subscribers (email, email_key, name, status, digests, tags, timezone, source,
			created_at, updated_at, confirmed_at, unsubscribed_at, consent_at) VALUES `,
	}
	var next int64
	byKey := map[string]*subscribers.Subscriber{}
	if d.postgres {
		ins.suffix = ` ON CONFLICT (email_key) DO NOTHING RETURNING id, email_key`
		ins.returned = func(r *sql.Rows) error {
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
		ins.prefix = strings.Replace(ins.prefix, "(email,", "(id, email,", 1)
		ins.width++
	}
	for _, sub := range subs {
		args := []any{sub.Email, strings.ToLower(sub.Email), sub.Name, string(sub.Status), subscribers.JoinList(sub.Digests),
			subscribers.JoinList(sub.Tags), sub.Timezone, string(sub.Source), d.t(sub.CreatedAt), d.t(sub.UpdatedAt),
			d.t(sub.ConfirmedAt), d.t(sub.UnsubscribedAt), d.t(sub.ConsentAt)}
		if d.postgres {
			byKey[strings.ToLower(sub.Email)] = sub
		} else {
			next++
			sub.ID = next
			args = append([]any{sub.ID}, args...)
		}
		if err := ins.add(args...); err != nil {
			return err
		}
	}
	if err := ins.flush(); err != nil {
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
