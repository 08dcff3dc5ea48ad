package subscribers

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// sqliteRow selects a subscriber as seven columns: the six integers, then
// every text field in ONE value, joined by char 31 (unit separator): the
// validated fields first (none may hold a control character, see
// checkLine, NormalizeEmail, CleanDigests, CleanTags), and consent_text,
// the only free text, last, where it takes the rest of the value. The
// pure-Go driver spends most of a streamed row on per-column work (a type
// and a value call, each behind a lock, and a Go string per text column);
// joining the nine text columns in SQLite costs far less.
const sqliteRow = `s.id, s.created_at, s.updated_at, s.consent_at, s.confirmed_at, s.unsubscribed_at,
	concat_ws(char(31), s.status, s.source, s.timezone, s.digests, s.tags, s.email, s.name, s.consent_ip, s.consent_text)`

// sqliteRowCols is how many columns sqliteRow selects, sqliteRowTexts how
// many fields its last column joins.
const (
	sqliteRowCols  = 7
	sqliteRowTexts = 9
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanSQLite(r scanner) (*Subscriber, error) {
	var v [sqliteRowCols]any
	if err := r.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
		return nil, err
	}
	var dv [sqliteRowCols]driver.Value
	for i := range v {
		dv[i] = v[i]
	}
	var s Subscriber
	if err := parseSQLiteRow(dv[:], &s, nil); err != nil {
		return nil, err
	}
	return &s, nil
}

// parseSQLiteRow fills s from the values of one sqliteRow. The strings of s
// share the memory of the joined text value. lists, when not nil, is spare
// room for the Digests and Tags slices (each capped, so an append by the
// caller never runs into the next subscriber's).
func parseSQLiteRow(v []driver.Value, s *Subscriber, lists *[]string) error {
	var row string
	switch t := v[sqliteRowCols-1].(type) {
	case string:
		row = t
	case []byte:
		row = string(t)
	default:
		return fmt.Errorf("subscribers: stored row: got %T, want text", t)
	}
	var f [sqliteRowTexts]string
	for i := range sqliteRowTexts - 1 {
		j := strings.IndexByte(row, 31)
		if j < 0 {
			return fmt.Errorf("subscribers: stored row has %d text fields, want %d", i+1, sqliteRowTexts)
		}
		f[i], row = row[:j], row[j+1:]
	}
	f[sqliteRowTexts-1] = row
	id, ok := v[0].(int64)
	if !ok {
		return fmt.Errorf("subscribers: stored row: id is %T", v[0])
	}
	s.ID = id
	s.CreatedAt, s.UpdatedAt = anyMicros(v[1]), anyMicros(v[2])
	s.ConsentAt, s.ConfirmedAt, s.UnsubscribedAt = anyMicros(v[3]), anyMicros(v[4]), anyMicros(v[5])
	s.Status, s.Source, s.Timezone = Status(f[0]), Source(f[1]), f[2]
	s.Digests, s.Tags = splitInto(f[3], lists), splitInto(f[4], lists)
	s.Email, s.Name, s.ConsentIP, s.ConsentText = f[5], f[6], f[7], f[8]
	return nil
}

// anyMicros decodes a time column scanned into an any: NULL (nil) is the
// zero time.
func anyMicros(v driver.Value) time.Time {
	if n, ok := v.(int64); ok {
		return time.UnixMicro(n).UTC()
	}
	return time.Time{}
}

// splitInto is splitList carving its result out of *spare when there is
// room (spare nil: a new slice).
func splitInto(s string, spare *[]string) []string {
	if s == "" {
		return nil
	}
	n := strings.Count(s, ",") + 1
	if spare == nil || cap(*spare)-len(*spare) < n {
		return strings.Split(s, ",")
	}
	b := *spare
	at := len(b)
	for range n - 1 {
		i := strings.IndexByte(s, ',')
		b = append(b, s[:i])
		s = s[i+1:]
	}
	b = append(b, s)
	*spare = b
	return b[at : at+n : at+n]
}

// sqlQuerier is a *sql.DB or *sql.Tx.
type sqlQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *SQLiteStore) byKey(ctx context.Context, q sqlQuerier, key string) (*Subscriber, error) {
	sub, err := scanSQLite(q.QueryRowContext(ctx, `SELECT `+sqliteRow+` FROM subscribers s WHERE s.email_key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("subscribers: get by address: %w", err)
	}
	return sub, nil
}

func (s *SQLiteStore) byID(ctx context.Context, q sqlQuerier, id int64) (*Subscriber, error) {
	sub, err := scanSQLite(q.QueryRowContext(ctx, `SELECT `+sqliteRow+` FROM subscribers s WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("subscribers: get %d: %w", id, err)
	}
	return sub, nil
}

// insert writes a new subscriber and its digests, setting sub.ID, or gives
// ErrExists.
func (s *SQLiteStore) insert(ctx context.Context, tx *sql.Tx, sub *Subscriber) error {
	err := tx.QueryRowContext(ctx, `INSERT INTO subscribers (email, email_key, name, status, digests, tags, timezone, source,
		consent_at, consent_ip, consent_text, created_at, updated_at, confirmed_at, unsubscribed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (email_key) DO NOTHING RETURNING id`,
		sub.Email, strings.ToLower(sub.Email), sub.Name, sub.Status, joinList(sub.Digests), joinList(sub.Tags), sub.Timezone, sub.Source,
		sqlMicros(sub.ConsentAt), sub.ConsentIP, sub.ConsentText, sub.CreatedAt.UnixMicro(), sub.UpdatedAt.UnixMicro(),
		sqlMicros(sub.ConfirmedAt), sqlMicros(sub.UnsubscribedAt)).Scan(&sub.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("subscribers: insert: %w", err)
	}
	return s.setDigests(ctx, tx, sub.ID, sub.Digests, false)
}

// update rewrites every mutable field of sub.
func (s *SQLiteStore) update(ctx context.Context, tx *sql.Tx, sub *Subscriber, digestsChanged bool) error {
	_, err := tx.ExecContext(ctx, `UPDATE subscribers SET name = ?, status = ?, digests = ?, tags = ?, timezone = ?,
		consent_at = ?, consent_ip = ?, consent_text = ?, updated_at = ?, confirmed_at = ?, unsubscribed_at = ?
		WHERE id = ?`,
		sub.Name, sub.Status, joinList(sub.Digests), joinList(sub.Tags), sub.Timezone,
		sqlMicros(sub.ConsentAt), sub.ConsentIP, sub.ConsentText, sub.UpdatedAt.UnixMicro(),
		sqlMicros(sub.ConfirmedAt), sqlMicros(sub.UnsubscribedAt), sub.ID)
	if err != nil {
		return fmt.Errorf("subscribers: update %d: %w", sub.ID, err)
	}
	if digestsChanged {
		return s.setDigests(ctx, tx, sub.ID, sub.Digests, true)
	}
	return nil
}

func (s *SQLiteStore) setDigests(ctx context.Context, tx *sql.Tx, id int64, digests []string, replace bool) error {
	if replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriber_digests WHERE subscriber_id = ?`, id); err != nil {
			return fmt.Errorf("subscribers: digests of %d: %w", id, err)
		}
	}
	for _, d := range digests {
		if _, err := tx.ExecContext(ctx, `INSERT INTO subscriber_digests (digest, subscriber_id) VALUES (?, ?)`, d, id); err != nil {
			return fmt.Errorf("subscribers: digests of %d: %w", id, err)
		}
	}
	return nil
}

func (s *SQLiteStore) event(ctx context.Context, tx *sql.Tx, id int64, at time.Time, c statusChange) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO subscriber_events (subscriber_id, at, from_status, to_status, reason) VALUES (?, ?, ?, ?, ?)`,
		id, at.UnixMicro(), c.From, c.To, c.Reason)
	if err != nil {
		return fmt.Errorf("subscribers: event of %d: %w", id, err)
	}
	return nil
}

// Create implements Store. Creating a forgotten address lifts its
// suppression: the person is back.
func (s *SQLiteStore) Create(ctx context.Context, sub *Subscriber, reason string) error {
	if err := checkSubscriber(sub); err != nil {
		return err
	}
	now := time.Now().UTC()
	stampCreate(sub, now)
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := s.insert(ctx, tx, sub); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM suppressions WHERE email_hash = ?`, HashEmail(sub.Email)); err != nil {
			return fmt.Errorf("subscribers: create: %w", err)
		}
		return s.event(ctx, tx, sub.ID, now, statusChange{To: sub.Status, Reason: reason})
	})
}

// Get implements Store.
func (s *SQLiteStore) Get(ctx context.Context, id int64) (*Subscriber, error) {
	return s.byID(ctx, s.db, id)
}

// GetByEmail implements Store.
func (s *SQLiteStore) GetByEmail(ctx context.Context, email string) (*Subscriber, error) {
	return s.byKey(ctx, s.db, emailKey(email))
}

// Subscribe implements Store.
func (s *SQLiteStore) Subscribe(ctx context.Context, req SubscribeRequest) (*Subscriber, Outcome, error) {
	if err := checkRequest(&req); err != nil {
		return nil, "", err
	}
	var (
		out     *Subscriber
		outcome Outcome
	)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		now := time.Now().UTC()
		old, err := s.byKey(ctx, tx, strings.ToLower(req.Email))
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		var ev *statusChange
		out, outcome, ev = planSubscribe(old, req, now)
		if old == nil {
			if _, err := tx.ExecContext(ctx, `DELETE FROM suppressions WHERE email_hash = ?`, HashEmail(req.Email)); err != nil {
				return fmt.Errorf("subscribers: subscribe: %w", err)
			}
			err = s.insert(ctx, tx, out)
		} else {
			err = s.update(ctx, tx, out, joinList(old.Digests) != joinList(out.Digests))
		}
		if err != nil {
			return err
		}
		if ev != nil {
			return s.event(ctx, tx, out.ID, now, *ev)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, outcome, nil
}

// SetStatus implements Store.
func (s *SQLiteStore) SetStatus(ctx context.Context, id int64, to Status, reason string) error {
	if !to.Valid() {
		return fmt.Errorf("subscribers: unknown status %q", to)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		sub, err := s.byID(ctx, tx, id)
		if err != nil {
			return err
		}
		if sub.Status == to {
			return nil
		}
		now := time.Now().UTC()
		from := sub.Status
		applyStatus(sub, to, now)
		if err := s.update(ctx, tx, sub, false); err != nil {
			return err
		}
		return s.event(ctx, tx, id, now, statusChange{From: from, To: to, Reason: reason})
	})
}

// UpdatePreferences implements Store.
func (s *SQLiteStore) UpdatePreferences(ctx context.Context, id int64, p Preferences) error {
	if err := checkPreferences(&p); err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		sub, err := s.byID(ctx, tx, id)
		if err != nil {
			return err
		}
		changed := joinList(sub.Digests) != joinList(p.Digests)
		sub.Digests, sub.Tags, sub.Timezone, sub.UpdatedAt = p.Digests, p.Tags, p.Timezone, time.Now().UTC()
		return s.update(ctx, tx, sub, changed)
	})
}

// Forget implements Store. The subscriber row and its digests go; its
// events stay, anonymous (subscriber_id NULL, reasons blanked since a
// bounce reply can quote the address), with a last event to "forgotten" so
// History still adds up.
func (s *SQLiteStore) Forget(ctx context.Context, email string) error {
	key := emailKey(email)
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		sub, err := s.byKey(ctx, tx, key)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE subscriber_events SET reason = '' WHERE subscriber_id = ?`, sub.ID); err != nil {
			return fmt.Errorf("subscribers: forget: %w", err)
		}
		if err := s.event(ctx, tx, sub.ID, now, statusChange{From: sub.Status, To: forgottenStatus, Reason: "forgotten"}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscribers WHERE id = ?`, sub.ID); err != nil {
			return fmt.Errorf("subscribers: forget: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO suppressions (email_hash, reason, at) VALUES (?, 'forgotten', ?)
			ON CONFLICT (email_hash) DO NOTHING`, HashEmail(sub.Email), now.UnixMicro())
		if err != nil {
			return fmt.Errorf("subscribers: forget: %w", err)
		}
		return nil
	})
}

// Suppressed implements Store.
func (s *SQLiteStore) Suppressed(ctx context.Context, email string) (bool, error) {
	sub, err := s.byKey(ctx, s.db, emailKey(email))
	if err == nil {
		return sub.Status.Suppressed(), nil
	}
	if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	var n int
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM suppressions WHERE email_hash = ?`, HashEmail(email)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("subscribers: suppressed: %w", err)
	}
	return n > 0, nil
}

// Events implements Store.
func (s *SQLiteStore) Events(ctx context.Context, id int64) ([]Event, error) {
	if _, err := s.byID(ctx, s.db, id); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, from_status, to_status, reason FROM subscriber_events
		WHERE subscriber_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("subscribers: events of %d: %w", id, err)
	}
	defer rows.Close()
	var evs []Event
	for rows.Next() {
		e := Event{SubscriberID: id}
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.From, &e.To, &e.Reason); err != nil {
			return nil, fmt.Errorf("subscribers: events of %d: %w", id, err)
		}
		e.At = time.UnixMicro(at).UTC()
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subscribers: events of %d: %w", id, err)
	}
	return evs, nil
}

// List implements Store. It walks the id range in fixed spans, each read
// by its own keyset query (id > lo AND id <= hi, never OFFSET). Two
// workers read spans ahead on two connections while fn runs, and pages
// are handed to fn strictly in id order; at most a few spans are held in
// memory. The pure-Go driver is CPU-bound converting columns, so this
// nearly doubles the rows per second on two cores. Each row is read as
// seven columns (see sqliteRow) through the driver's own interface (see
// rawQuery), and the Subscribers come out of shared blocks (see
// listSlab): together these halve the CPU time per row. Queries are
// closed before fn sees their rows, so fn may use the store, and a long
// walk never pins a read snapshot (which would stop WAL checkpoints).
func (s *SQLiteStore) List(ctx context.Context, f Filter, fn func(*Subscriber) error) error {
	var maxID int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM subscribers`).Scan(&maxID); err != nil {
		return fmt.Errorf("subscribers: list: %w", err)
	}
	if maxID <= f.AfterID {
		return nil
	}
	q, args := listQuery(f, sqliteRow, func(int) string { return "?" })
	fetch := func(ctx context.Context, lo, hi int64) ([]*Subscriber, error) {
		var page []*Subscriber
		err := s.rawQuery(ctx, q, append(args[:len(args):len(args)], lo, hi), func(next func() ([]driver.Value, error)) error {
			var (
				slab  []Subscriber
				lists []string
			)
			for {
				row, err := next()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
				// Subscribers and their Digests/Tags slices are carved out
				// of blocks of listSlab: a few large allocations instead of
				// several small ones per row. A caller that keeps one
				// pointer keeps its block alive, at most about 100 KB.
				if len(slab) == cap(slab) {
					slab = make([]Subscriber, 0, listSlab)
				}
				if cap(lists)-len(lists) < 16 {
					lists = make([]string, 0, 2*listSlab)
				}
				slab = slab[:len(slab)+1]
				sub := &slab[len(slab)-1]
				if err := parseSQLiteRow(row, sub, &lists); err != nil {
					return err
				}
				page = append(page, sub)
			}
		})
		return page, err
	}
	return walkSpans(ctx, f.AfterID, maxID, f.Limit, 2, fetch, fn)
}

// rawQuery runs a query on a pooled connection through the driver's own
// interface, and hands fn a function returning each row's values in turn
// (io.EOF after the last; the slice is reused). database/sql's Rows.Next
// and Scan lock, check and convert every value; skipping them is a
// noticeable share of a streamed row. args may be strings, Statuses and
// int64s.
func (s *SQLiteStore) rawQuery(ctx context.Context, query string, args []any, fn func(next func() ([]driver.Value, error)) error) error {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		if st, ok := a.(Status); ok {
			a = string(st)
		}
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T cannot query", dc)
		}
		rows, err := q.QueryContext(ctx, query, named)
		if err != nil {
			return err
		}
		dest := make([]driver.Value, len(rows.Columns()))
		err = fn(func() ([]driver.Value, error) {
			if err := rows.Next(dest); err != nil {
				return nil, err
			}
			return dest, nil
		})
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// listSlab is how many Subscribers List allocates at once.
const listSlab = 256

// Counts implements Store.
func (s *SQLiteStore) Counts(ctx context.Context) (map[Status]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM subscribers GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("subscribers: counts: %w", err)
	}
	defer rows.Close()
	counts := emptyCounts()
	for rows.Next() {
		var st Status
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("subscribers: counts: %w", err)
		}
		counts[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subscribers: counts: %w", err)
	}
	return counts, nil
}

// History implements Store.
func (s *SQLiteStore) History(ctx context.Context, days int, now time.Time) ([]DayCount, error) {
	if days <= 0 {
		return nil, nil
	}
	start, end := historyWindow(days, now)
	var base int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM((to_status = 'active') - (from_status = 'active')), 0)
		FROM subscriber_events WHERE at < ? AND (to_status = 'active' OR from_status = 'active')`, start.UnixMicro()).Scan(&base)
	if err != nil {
		return nil, fmt.Errorf("subscribers: history: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT (at - ?) / 86400000000, SUM((to_status = 'active') - (from_status = 'active'))
		FROM subscriber_events WHERE at >= ? AND at < ? AND (to_status = 'active' OR from_status = 'active')
		GROUP BY 1`, start.UnixMicro(), start.UnixMicro(), end.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("subscribers: history: %w", err)
	}
	defer rows.Close()
	deltas := make([]int64, days)
	for rows.Next() {
		var day, delta int64
		if err := rows.Scan(&day, &delta); err != nil {
			return nil, fmt.Errorf("subscribers: history: %w", err)
		}
		if day >= 0 && day < int64(days) {
			deltas[day] += delta
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subscribers: history: %w", err)
	}
	return historyDays(start, base, deltas), nil
}
