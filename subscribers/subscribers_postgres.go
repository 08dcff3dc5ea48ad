package subscribers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgCols are the subscriber columns in the order scanPG reads them.
const pgCols = `s.id, s.email, s.name, s.status, s.digests, s.tags, s.timezone, s.source,
	s.consent_at, s.consent_ip, s.consent_text, s.created_at, s.updated_at, s.confirmed_at, s.unsubscribed_at, s.token_key`

func scanPG(r pgx.Row) (*Subscriber, error) {
	// Plain string destinations take pgx's direct paths; *Status and
	// *Source would go through reflection on every row.
	var (
		s                             Subscriber
		status, source, digests, tags string
		consent, confirmed, unsub     *time.Time
		created, updated              time.Time
	)
	if err := r.Scan(&s.ID, &s.Email, &s.Name, &status, &digests, &tags, &s.Timezone, &source,
		&consent, &s.ConsentIP, &s.ConsentText, &created, &updated, &confirmed, &unsub, &s.TokenKey); err != nil {
		return nil, err
	}
	s.Status, s.Source = Status(status), Source(source)
	s.Digests, s.Tags = splitList(digests), splitList(tags)
	s.ConsentAt, s.ConfirmedAt, s.UnsubscribedAt = fromPG(consent), fromPG(confirmed), fromPG(unsub)
	s.CreatedAt, s.UpdatedAt = created.UTC(), updated.UTC()
	return &s, nil
}

// pgQuerier is a pool or a transaction.
type pgQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// byKey reads one subscriber; lock adds FOR UPDATE inside a transaction.
func (s *PostgresStore) byKey(ctx context.Context, q pgQuerier, key string, lock bool) (*Subscriber, error) {
	sql := `SELECT ` + pgCols + ` FROM subscribers s WHERE s.email_key = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	sub, err := scanPG(q.QueryRow(ctx, sql, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("subscribers: get by address: %w", err)
	}
	return sub, nil
}

func (s *PostgresStore) byID(ctx context.Context, q pgQuerier, id int64, lock bool) (*Subscriber, error) {
	sql := `SELECT ` + pgCols + ` FROM subscribers s WHERE s.id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	sub, err := scanPG(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("subscribers: get %d: %w", id, err)
	}
	return sub, nil
}

func (s *PostgresStore) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

func (s *PostgresStore) insert(ctx context.Context, tx pgx.Tx, sub *Subscriber) error {
	key, err := newTokenKey()
	if err != nil {
		return err
	}
	err = tx.QueryRow(ctx, `INSERT INTO subscribers (email, email_key, name, status, digests, tags, timezone, source,
		consent_at, consent_ip, consent_text, created_at, updated_at, confirmed_at, unsubscribed_at, token_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (email_key) DO NOTHING RETURNING id`,
		sub.Email, strings.ToLower(sub.Email), sub.Name, string(sub.Status), joinList(sub.Digests), joinList(sub.Tags), sub.Timezone, string(sub.Source),
		pgTime(sub.ConsentAt), sub.ConsentIP, sub.ConsentText, sub.CreatedAt.UTC(), sub.UpdatedAt.UTC(),
		pgTime(sub.ConfirmedAt), pgTime(sub.UnsubscribedAt), key).Scan(&sub.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("subscribers: insert: %w", err)
	}
	sub.TokenKey = key
	return s.setDigests(ctx, tx, sub.ID, sub.Digests, false)
}

func (s *PostgresStore) update(ctx context.Context, tx pgx.Tx, sub *Subscriber, digestsChanged bool) error {
	_, err := tx.Exec(ctx, `UPDATE subscribers SET name = $1, status = $2, digests = $3, tags = $4, timezone = $5,
		consent_at = $6, consent_ip = $7, consent_text = $8, updated_at = $9, confirmed_at = $10, unsubscribed_at = $11
		WHERE id = $12`,
		sub.Name, string(sub.Status), joinList(sub.Digests), joinList(sub.Tags), sub.Timezone,
		pgTime(sub.ConsentAt), sub.ConsentIP, sub.ConsentText, sub.UpdatedAt.UTC(),
		pgTime(sub.ConfirmedAt), pgTime(sub.UnsubscribedAt), sub.ID)
	if err != nil {
		return fmt.Errorf("subscribers: update %d: %w", sub.ID, err)
	}
	if digestsChanged {
		return s.setDigests(ctx, tx, sub.ID, sub.Digests, true)
	}
	return nil
}

func (s *PostgresStore) setDigests(ctx context.Context, tx pgx.Tx, id int64, digests []string, replace bool) error {
	if replace {
		if _, err := tx.Exec(ctx, `DELETE FROM subscriber_digests WHERE subscriber_id = $1`, id); err != nil {
			return fmt.Errorf("subscribers: digests of %d: %w", id, err)
		}
	}
	if len(digests) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO subscriber_digests (digest, subscriber_id) SELECT unnest($1::text[]), $2`, digests, id)
	if err != nil {
		return fmt.Errorf("subscribers: digests of %d: %w", id, err)
	}
	return nil
}

func (s *PostgresStore) event(ctx context.Context, tx pgx.Tx, id int64, at time.Time, c statusChange) error {
	_, err := tx.Exec(ctx, `INSERT INTO subscriber_events (subscriber_id, at, from_status, to_status, reason) VALUES ($1, $2, $3, $4, $5)`,
		id, at.UTC(), string(c.From), string(c.To), c.Reason)
	if err != nil {
		return fmt.Errorf("subscribers: event of %d: %w", id, err)
	}
	return nil
}

// Create implements Store; see create.
func (s *PostgresStore) Create(ctx context.Context, sub *Subscriber, reason string) error {
	return create(ctx, s, sub, reason)
}

// Get implements Store.
func (s *PostgresStore) Get(ctx context.Context, id int64) (*Subscriber, error) {
	return s.byID(ctx, s.pool, id, false)
}

// GetByEmail implements Store.
func (s *PostgresStore) GetByEmail(ctx context.Context, email string) (*Subscriber, error) {
	return s.byKey(ctx, s.pool, emailKey(email), false)
}

// Subscribe implements Store; see subscribe.
func (s *PostgresStore) Subscribe(ctx context.Context, req SubscribeRequest) (*Subscriber, Outcome, error) {
	return subscribe(ctx, s, req)
}

// SetStatus implements Store.
func (s *PostgresStore) SetStatus(ctx context.Context, id int64, to Status, reason string) error {
	return setStatus(ctx, s, id, to, reason)
}

// UpdatePreferences implements Store.
func (s *PostgresStore) UpdatePreferences(ctx context.Context, id int64, p Preferences) error {
	return updatePreferences(ctx, s, id, p)
}

// Forget implements Store; see SQLiteStore.Forget.
func (s *PostgresStore) Forget(ctx context.Context, email string) error {
	key := emailKey(email)
	return s.tx(ctx, func(tx pgx.Tx) error {
		sub, err := s.byKey(ctx, tx, key, true)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		if _, err := tx.Exec(ctx, `UPDATE subscriber_events SET reason = '' WHERE subscriber_id = $1`, sub.ID); err != nil {
			return fmt.Errorf("subscribers: forget: %w", err)
		}
		if err := s.event(ctx, tx, sub.ID, now, statusChange{From: sub.Status, To: forgottenStatus, Reason: "forgotten"}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM subscribers WHERE id = $1`, sub.ID); err != nil {
			return fmt.Errorf("subscribers: forget: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO suppressions (email_hash, reason, at) VALUES ($1, 'forgotten', $2)
			ON CONFLICT (email_hash) DO NOTHING`, HashEmail(sub.Email), now)
		if err != nil {
			return fmt.Errorf("subscribers: forget: %w", err)
		}
		return nil
	})
}

// Suppressed implements Store.
func (s *PostgresStore) Suppressed(ctx context.Context, email string) (bool, error) {
	sub, err := s.byKey(ctx, s.pool, emailKey(email), false)
	if err == nil {
		return sub.Status.Suppressed(), nil
	}
	if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	var found bool
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM suppressions WHERE email_hash = $1)`, HashEmail(email)).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("subscribers: suppressed: %w", err)
	}
	return found, nil
}

// Events implements Store.
func (s *PostgresStore) Events(ctx context.Context, id int64) ([]Event, error) {
	if _, err := s.byID(ctx, s.pool, id, false); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, at, from_status, to_status, reason FROM subscriber_events
		WHERE subscriber_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("subscribers: events of %d: %w", id, err)
	}
	defer rows.Close()
	var evs []Event
	for rows.Next() {
		e := Event{SubscriberID: id}
		if err := rows.Scan(&e.ID, &e.At, &e.From, &e.To, &e.Reason); err != nil {
			return nil, fmt.Errorf("subscribers: events of %d: %w", id, err)
		}
		e.At = e.At.UTC()
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subscribers: events of %d: %w", id, err)
	}
	return evs, nil
}

// List implements Store: id spans read ahead by two workers and handed to
// fn in order, as SQLiteStore.List.
func (s *PostgresStore) List(ctx context.Context, f Filter, fn func(*Subscriber) error) error {
	var maxID int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM subscribers`).Scan(&maxID); err != nil {
		return fmt.Errorf("subscribers: list: %w", err)
	}
	if maxID <= f.AfterID {
		return nil
	}
	q, args := listQuery(f, pgCols, true, func(n int) string { return fmt.Sprintf("$%d", n) })
	fetch := func(ctx context.Context, lo, hi int64) ([]*Subscriber, error) {
		rows, err := s.pool.Query(ctx, q, append(args[:len(args):len(args)], lo, hi)...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var page []*Subscriber
		for rows.Next() {
			sub, err := scanPG(rows)
			if err != nil {
				return nil, err
			}
			page = append(page, sub)
		}
		return page, rows.Err()
	}
	return walkSpans(ctx, f.AfterID, maxID, f.Limit, 2, fetch, fn)
}

// Counts implements Store.
func (s *PostgresStore) Counts(ctx context.Context) (map[Status]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, COUNT(*) FROM subscribers GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("subscribers: counts: %w", err)
	}
	defer rows.Close()
	counts := emptyCounts()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("subscribers: counts: %w", err)
		}
		counts[Status(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subscribers: counts: %w", err)
	}
	return counts, nil
}

// History implements Store.
func (s *PostgresStore) History(ctx context.Context, days int, now time.Time) ([]DayCount, error) {
	if days <= 0 {
		return nil, nil
	}
	start, end := historyWindow(days, now)
	const delta = `(CASE WHEN to_status = 'active' THEN 1 ELSE 0 END) - (CASE WHEN from_status = 'active' THEN 1 ELSE 0 END)`
	var base int64
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(SUM(`+delta+`), 0)::bigint FROM subscriber_events
		WHERE at < $1 AND (to_status = 'active' OR from_status = 'active')`, start).Scan(&base)
	if err != nil {
		return nil, fmt.Errorf("subscribers: history: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT floor(extract(epoch FROM at - $1::timestamptz) / 86400)::bigint AS day, SUM(`+delta+`)::bigint
		FROM subscriber_events WHERE at >= $1 AND at < $2 AND (to_status = 'active' OR from_status = 'active')
		GROUP BY day`, start, end)
	if err != nil {
		return nil, fmt.Errorf("subscribers: history: %w", err)
	}
	defer rows.Close()
	deltas := make([]int64, days)
	for rows.Next() {
		var day, d int64
		if err := rows.Scan(&day, &d); err != nil {
			return nil, fmt.Errorf("subscribers: history: %w", err)
		}
		if day >= 0 && day < int64(days) {
			deltas[day] += d
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subscribers: history: %w", err)
	}
	return historyDays(start, base, deltas), nil
}

// Import implements Store: one transaction per batch, the batch's stored
// rows locked FOR UPDATE, new subscribers, digests and events inserted
// with one unnest() statement each.
func (s *PostgresStore) Import(ctx context.Context, rows []ImportRow) (ImportCounts, error) {
	keys := make([]string, len(rows))
	zones := zoneCache{}
	var want []string
	for i := range rows {
		if k, err := checkImportRow(&rows[i], zones); err == nil {
			keys[i] = k
			want = append(want, k)
		}
	}
	var counts ImportCounts
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// An import is idempotent, so a server crash that loses the last
		// batches loses nothing a re-run does not restore; not waiting for
		// the WAL flush on each batch's commit makes a big import much
		// faster. (Unlike fsync=off this never risks corruption.)
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit TO OFF`); err != nil {
			return err
		}
		// A table that grew by a big import has stale statistics, and the
		// planner then reads the batch's addresses (= ANY of 2,000) with a
		// sequential scan per batch, which makes the import quadratic.
		// Only index lookups make sense here.
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan TO OFF`); err != nil {
			return err
		}
		now := time.Now().UTC()
		existing := map[string]*Subscriber{}
		rs, err := tx.Query(ctx, `SELECT `+pgCols+` FROM subscribers s WHERE s.email_key = ANY($1) FOR UPDATE`, want)
		if err != nil {
			return err
		}
		for rs.Next() {
			sub, err := scanPG(rs)
			if err != nil {
				rs.Close()
				return err
			}
			existing[strings.ToLower(sub.Email)] = sub
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		hashes := map[string]string{}
		var hs []string
		for _, k := range want {
			if existing[k] == nil {
				h := HashEmail(k)
				hashes[h] = k
				hs = append(hs, h)
			}
		}
		forgotten := map[string]bool{}
		if len(hs) > 0 {
			rs, err := tx.Query(ctx, `SELECT email_hash FROM suppressions WHERE email_hash = ANY($1)`, hs)
			if err != nil {
				return err
			}
			for rs.Next() {
				var h string
				if err := rs.Scan(&h); err != nil {
					rs.Close()
					return err
				}
				forgotten[hashes[h]] = true
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return err
			}
		}
		plan := planImport(rows, keys, existing, forgotten, now)
		counts = plan.Counts
		if err := s.insertMany(ctx, tx, plan.Inserts, now, &counts); err != nil {
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

// insertMany inserts new subscribers with one unnest() statement. A row
// another process inserted meanwhile conflicts, is skipped and counts as
// unchanged.
func (s *PostgresStore) insertMany(ctx context.Context, tx pgx.Tx, subs []*Subscriber, now time.Time, counts *ImportCounts) error {
	if len(subs) == 0 {
		return nil
	}
	n := len(subs)
	var (
		email, key, name, status, digests, tags, tz = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		confirmed, unsub                            = make([]*time.Time, n), make([]*time.Time, n)
	)
	byKey := make(map[string]*Subscriber, n)
	for i, sub := range subs {
		email[i], key[i], name[i], status[i] = sub.Email, strings.ToLower(sub.Email), sub.Name, string(sub.Status)
		digests[i], tags[i], tz[i] = joinList(sub.Digests), joinList(sub.Tags), sub.Timezone
		confirmed[i], unsub[i] = pgTime(sub.ConfirmedAt), pgTime(sub.UnsubscribedAt)
		byKey[key[i]] = sub
	}
	rows, err := tx.Query(ctx, `INSERT INTO subscribers (email, email_key, name, status, digests, tags, timezone, source,
		created_at, updated_at, confirmed_at, unsubscribed_at)
		SELECT e, k, n, st, d, t, z, 'import', $8, $8, c, u
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $9::timestamptz[], $10::timestamptz[])
			AS x(e, k, n, st, d, t, z, c, u)
		ON CONFLICT (email_key) DO NOTHING
		RETURNING id, email_key`, email, key, name, status, digests, tags, tz, now, confirmed, unsub)
	if err != nil {
		return err
	}
	inserted := 0
	for rows.Next() {
		var id int64
		var k string
		if err := rows.Scan(&id, &k); err != nil {
			rows.Close()
			return err
		}
		byKey[k].ID = id
		inserted++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	counts.Added -= n - inserted
	counts.Unchanged += n - inserted
	var dIDs, eIDs []int64
	var dNames, eStatus []string
	for _, sub := range subs {
		if sub.ID == 0 {
			continue
		}
		for _, d := range sub.Digests {
			dIDs, dNames = append(dIDs, sub.ID), append(dNames, d)
		}
		eIDs, eStatus = append(eIDs, sub.ID), append(eStatus, string(sub.Status))
	}
	if len(dIDs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO subscriber_digests (digest, subscriber_id) SELECT * FROM unnest($1::text[], $2::bigint[])`, dNames, dIDs); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, `INSERT INTO subscriber_events (subscriber_id, at, to_status, reason)
		SELECT i, $2, st, 'import' FROM unnest($1::bigint[], $3::text[]) AS x(i, st)`, eIDs, now, eStatus)
	return err
}
