package subscribers

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// importChunk bounds the rows of one multi-row statement, keeping its
// parameters well under SQLite's limit of 32766.
const importChunk = 500

// Import implements Store. One batch is one transaction: a lookup of the
// batch's addresses and forgotten hashes, then multi-row inserts for the new
// subscribers, their digests and their events, and one update per changed
// subscriber. See planImport for the rules.
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

// lookupBatch returns the stored subscribers among keys and which of the
// other keys were forgotten.
func (s *SQLiteStore) lookupBatch(ctx context.Context, tx *sql.Tx, keys []string) (map[string]*Subscriber, map[string]bool, error) {
	var want []string
	for _, k := range keys {
		if k != "" {
			want = append(want, k)
		}
	}
	existing := make(map[string]*Subscriber)
	for c := 0; c < len(want); c += importChunk {
		chunk := want[c:min(c+importChunk, len(want))]
		rows, err := tx.QueryContext(ctx, `SELECT `+sqliteCols+` FROM subscribers s WHERE s.email_key IN (`+placeholders(len(chunk))+`)`, anys(chunk)...)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			sub, err := scanSQLite(rows)
			if err != nil {
				rows.Close()
				return nil, nil, err
			}
			existing[strings.ToLower(sub.Email)] = sub
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	hashes := map[string]string{} // hash -> key
	for _, k := range want {
		if existing[k] == nil {
			hashes[HashEmail(k)] = k
		}
	}
	forgotten := map[string]bool{}
	if len(hashes) == 0 {
		return existing, forgotten, nil
	}
	// Forgotten addresses are rare: skip the lookup when there are none.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM suppressions)`).Scan(&n); err != nil || n == 0 {
		return existing, forgotten, err
	}
	hs := make([]string, 0, len(hashes))
	for h := range hashes {
		hs = append(hs, h)
	}
	for c := 0; c < len(hs); c += importChunk {
		chunk := hs[c:min(c+importChunk, len(hs))]
		rows, err := tx.QueryContext(ctx, `SELECT email_hash FROM suppressions WHERE email_hash IN (`+placeholders(len(chunk))+`)`, anys(chunk)...)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return nil, nil, err
			}
			forgotten[hashes[h]] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	return existing, forgotten, nil
}

// insertMany inserts new subscribers with multi-row statements, then their
// digests and creation events.
func (s *SQLiteStore) insertMany(ctx context.Context, tx *sql.Tx, subs []*Subscriber, now time.Time) error {
	const cols = 13
	byKey := make(map[string]*Subscriber, len(subs))
	for c := 0; c < len(subs); c += importChunk {
		chunk := subs[c:min(c+importChunk, len(subs))]
		var b strings.Builder
		b.WriteString(`INSERT INTO subscribers (email, email_key, name, status, digests, tags, timezone, source,
			created_at, updated_at, confirmed_at, unsubscribed_at, consent_at) VALUES `)
		args := make([]any, 0, len(chunk)*cols)
		for i, sub := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
			key := strings.ToLower(sub.Email)
			byKey[key] = sub
			args = append(args, sub.Email, key, sub.Name, sub.Status, joinList(sub.Digests), joinList(sub.Tags), sub.Timezone,
				sub.Source, sub.CreatedAt.UnixMicro(), sub.UpdatedAt.UnixMicro(), sqlMicros(sub.ConfirmedAt),
				sqlMicros(sub.UnsubscribedAt), sqlMicros(sub.ConsentAt))
		}
		b.WriteString(` RETURNING id, email_key`)
		rows, err := tx.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var key string
			if err := rows.Scan(&id, &key); err != nil {
				rows.Close()
				return err
			}
			byKey[key].ID = id
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	// Digests, two parameters a row.
	var pairs []any
	flush := func(q string, width int) error {
		if len(pairs) == 0 {
			return nil
		}
		n := len(pairs) / width
		one := "(" + strings.TrimSuffix(strings.Repeat("?,", width), ",") + ")"
		_, err := tx.ExecContext(ctx, q+strings.TrimSuffix(strings.Repeat(one+",", n), ","), pairs...)
		pairs = pairs[:0]
		return err
	}
	for _, sub := range subs {
		for _, d := range sub.Digests {
			pairs = append(pairs, d, sub.ID)
			if len(pairs) >= importChunk*2*2 {
				if err := flush(`INSERT INTO subscriber_digests (digest, subscriber_id) VALUES `, 2); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(`INSERT INTO subscriber_digests (digest, subscriber_id) VALUES `, 2); err != nil {
		return err
	}
	at := now.UnixMicro()
	for _, sub := range subs {
		pairs = append(pairs, sub.ID, at, sub.Status, "import")
		if len(pairs) >= importChunk*4*2 {
			if err := flush(`INSERT INTO subscriber_events (subscriber_id, at, to_status, reason) VALUES `, 4); err != nil {
				return err
			}
		}
	}
	return flush(`INSERT INTO subscriber_events (subscriber_id, at, to_status, reason) VALUES `, 4)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func anys(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
