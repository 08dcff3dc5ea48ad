package subscribers

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// importChunk is the rows of one multi-row statement. Each statement is
// prepared once per batch with exactly importChunk rows (a shorter tail goes
// row by row), so SQLite parses it once rather than once per chunk.
const importChunk = 100

// Import implements Store. One batch is one transaction: a lookup of the
// batch's addresses and forgotten hashes, then multi-row inserts for the new
// subscribers, one INSERT ... SELECT per digest and one for the events (see
// insertMany), and one update per changed subscriber. See planImport for
// the rules.
func (s *SQLiteStore) Import(ctx context.Context, rows []ImportRow) (ImportCounts, error) {
	keys := make([]string, len(rows))
	zones := zoneCache{}
	for i := range rows {
		if k, err := checkImportRow(&rows[i], zones); err == nil {
			keys[i] = k
		}
	}
	var counts ImportCounts
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		now := time.Now().UTC()
		existing, forgotten, err := s.lookupBatch(ctx, tx, keys)
		if err != nil {
			return err
		}
		plan := planImport(rows, keys, existing, forgotten, now)
		counts = plan.Counts
		if err := s.insertMany(ctx, tx, plan.Inserts, now); err != nil {
			return err
		}
		for _, u := range plan.Updates {
			if err := s.update(ctx, tx, u.New, u.DigestsChanged); err != nil {
				return err
			}
			if u.StatusFrom != "" {
				if err := s.event(ctx, tx, u.New.ID, now, statusChange{From: u.StatusFrom, To: u.New.Status, Reason: "import"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return ImportCounts{}, fmt.Errorf("subscribers: import: %w", err)
	}
	return counts, nil
}

// multiRow is a multi-row statement prepared for one transaction: rows of
// width parameters are buffered and sent importChunk at a time.
type multiRow struct {
	ctx    context.Context
	tx     *sql.Tx
	prefix string // up to VALUES
	width  int
	many   *sql.Stmt
	args   []any
}

func (m *multiRow) stmt(n int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", m.width), ",") + ")"
	return m.prefix + strings.TrimSuffix(strings.Repeat(one+",", n), ",")
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
	_, err := st.ExecContext(m.ctx, args...)
	return err
}

// lookupBatch returns the stored subscribers among keys and which of the
// other keys were forgotten.
func (s *SQLiteStore) lookupBatch(ctx context.Context, tx *sql.Tx, keys []string) (map[string]*Subscriber, map[string]bool, error) {
	existing := make(map[string]*Subscriber)
	var want []any
	for _, k := range keys {
		if k != "" {
			want = append(want, k)
		}
	}
	if len(want) == 0 {
		return existing, nil, nil
	}
	// One statement of importChunk keys, the last chunk padded by repeating
	// a key (IN ignores duplicates).
	q, err := tx.PrepareContext(ctx, `SELECT `+sqliteRows+` FROM subscribers s WHERE s.email_key IN (`+placeholders(importChunk)+`)`)
	if err != nil {
		return nil, nil, err
	}
	defer q.Close()
	for len(want)%importChunk != 0 {
		want = append(want, want[0])
	}
	for c := 0; c < len(want); c += importChunk {
		subs, err := scanSQLite(q.QueryRowContext(ctx, want[c:c+importChunk]...))
		if err != nil {
			return nil, nil, err
		}
		for _, sub := range subs {
			existing[strings.ToLower(sub.Email)] = sub
		}
	}
	// Forgotten addresses are rare: skip the lookup when there are none.
	var has int
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM suppressions)`).Scan(&has); err != nil || has == 0 {
		return existing, nil, err
	}
	// Otherwise look the hashes of the new keys up in chunks, like the
	// addresses above, rather than with one query per row: once a single
	// address has been forgotten, every later import pays this.
	byHash := map[string]string{}
	var hashes []any
	for _, k := range keys {
		if k == "" || existing[k] != nil {
			continue
		}
		h := HashEmail(k)
		if _, ok := byHash[h]; !ok {
			byHash[h] = k
			hashes = append(hashes, h)
		}
	}
	forgotten := map[string]bool{}
	if len(hashes) == 0 {
		return existing, forgotten, nil
	}
	hq, err := tx.PrepareContext(ctx, `SELECT email_hash FROM suppressions WHERE email_hash IN (`+placeholders(importChunk)+`)`)
	if err != nil {
		return nil, nil, err
	}
	defer hq.Close()
	for len(hashes)%importChunk != 0 {
		hashes = append(hashes, hashes[0])
	}
	for c := 0; c < len(hashes); c += importChunk {
		rows, err := hq.QueryContext(ctx, hashes[c:c+importChunk]...)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return nil, nil, err
			}
			forgotten[byHash[h]] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	return existing, forgotten, nil
}

// insertMany inserts new subscribers, then their digests and creation
// events. The caller holds the write lock (BEGIN IMMEDIATE), so the ids
// after the largest ever handed out (sqlite_sequence, see
// 004_token_keys.sql: never one a forgotten subscriber had) are free:
// numbering the rows here, as SQLite itself would, spares a RETURNING round trip per row and lets the
// digests and events be written by a few set-based statements instead of
// binding every value of every row again.
func (s *SQLiteStore) insertMany(ctx context.Context, tx *sql.Tx, subs []*Subscriber, now time.Time) error {
	if len(subs) == 0 {
		return nil
	}
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT max(COALESCE((SELECT MAX(id) FROM subscribers), 0),
		COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'subscribers'), 0))`).Scan(&last); err != nil {
		return err
	}
	first := last + 1
	ins := &multiRow{ctx: ctx, tx: tx, width: 14,
		prefix: `INSERT INTO subscribers (id, email, email_key, name, status, digests, tags, timezone, source,
			created_at, updated_at, confirmed_at, unsubscribed_at, consent_at) VALUES `,
	}
	// byDigest holds, for each digest name, a JSON array of the new ids
	// that get it, for json_each below.
	byDigest := map[string][]byte{}
	var names []string
	for i, sub := range subs {
		sub.ID = first + int64(i)
		if err := ins.add(sub.ID, sub.Email, strings.ToLower(sub.Email), sub.Name, string(sub.Status), joinList(sub.Digests),
			joinList(sub.Tags), sub.Timezone, string(sub.Source), sub.CreatedAt.UnixMicro(), sub.UpdatedAt.UnixMicro(),
			sqlMicros(sub.ConfirmedAt), sqlMicros(sub.UnsubscribedAt), sqlMicros(sub.ConsentAt)); err != nil {
			return err
		}
		for _, d := range sub.Digests {
			ids, ok := byDigest[d]
			if !ok {
				names = append(names, d)
				ids = append(make([]byte, 0, 8*len(subs)), '[')
			} else {
				ids = append(ids, ',')
			}
			byDigest[d] = strconv.AppendInt(ids, sub.ID, 10)
		}
	}
	if err := ins.flush(); err != nil {
		return err
	}
	for _, d := range names {
		ids := append(byDigest[d], ']')
		if _, err := tx.ExecContext(ctx, `INSERT INTO subscriber_digests (digest, subscriber_id)
			SELECT ?, value FROM json_each(?)`, d, string(ids)); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO subscriber_events (subscriber_id, at, to_status, reason)
		SELECT id, ?, status, 'import' FROM subscribers WHERE id >= ? AND id <= ? ORDER BY id`,
		now.UnixMicro(), first, subs[len(subs)-1].ID)
	return err
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
