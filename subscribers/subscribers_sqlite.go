package subscribers

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sqliteRows selects the subscribers a query matches as ONE row of
// seventeen text columns, one per field, each joining the field's values
// row after row: by char 31 (unit separator) for the integers (a NULL
// time as an empty value) and for the validated text fields (none may
// hold a control character, see checkLine, NormalizeEmail, CleanDigests,
// CleanTags) and for the token key in hex; consent_text, the only free
// text, is cut by the byte lengths in the column before it. All are NULL when nothing
// matches. The pure-Go driver spends far more on each row and column it
// hands over (a step, then a type and a value call per column, each
// behind a lock, and a Go value) than SQLite spends appending a value to
// an aggregate, which allocates nothing per row. The separator is a
// literal rather than char(31): SQLite would copy a computed constant
// into place for every value.
var sqliteRows = strings.ReplaceAll(`group_concat(s.id, char(31)), group_concat(s.created_at, char(31)), group_concat(s.updated_at, char(31)),
	group_concat(ifnull(s.consent_at, ''), char(31)), group_concat(ifnull(s.confirmed_at, ''), char(31)),
	group_concat(ifnull(s.unsubscribed_at, ''), char(31)),
	group_concat(s.status, char(31)), group_concat(s.source, char(31)), group_concat(s.timezone, char(31)),
	group_concat(s.digests, char(31)), group_concat(s.tags, char(31)), group_concat(s.email, char(31)),
	group_concat(s.name, char(31)), group_concat(s.consent_ip, char(31)), group_concat(hex(s.token_key), char(31)),
	group_concat(octet_length(s.consent_text), char(31)), group_concat(s.consent_text, '')`, "char(31)", "'\x1f'")

// sqliteCols is how many columns sqliteRows selects.
const sqliteCols = 17

// scanSQLite decodes the row of a query selecting sqliteRows.
func scanSQLite(r *sql.Row) ([]*Subscriber, error) {
	var (
		v    [sqliteCols]sql.NullString
		dest [sqliteCols]any
	)
	for i := range v {
		dest[i] = &v[i]
	}
	if err := r.Scan(dest[:]...); err != nil {
		return nil, err
	}
	if !v[0].Valid {
		return nil, nil
	}
	var c [sqliteCols]string
	for i := range v {
		c[i] = v[i].String
	}
	return parseSQLiteRows(c)
}

// parseSQLiteRows decodes the columns of sqliteRows, in id order: without
// ORDER BY, group_concat joins the rows in the order SQLite reads them,
// which is id order for every query here (subscribers is clustered on id,
// subscriber_digests on (digest, subscriber_id)), but should a plan ever
// read them otherwise, they are sorted. The Subscribers, their Digests and
// Tags slices, and their strings share a few allocations of the whole
// query: whoever keeps one keeps all of them.
func parseSQLiteRows(c [sqliteCols]string) ([]*Subscriber, error) {
	n := strings.Count(c[0], "\x1f") + 1
	subs := make([]Subscriber, n)
	page := make([]*Subscriber, n)
	lists := make([]string, 0, 2*n+strings.Count(c[9], ",")+strings.Count(c[10], ","))
	keys := make([]byte, 0, len(c[14])/2)
	sorted := true
	for k := range subs {
		// f: id, created_at, updated_at, consent_at, confirmed_at,
		// unsubscribed_at, status, source, timezone, digests, tags, email,
		// name, consent_ip, token_key and the length of consent_text (in
		// c[16]).
		var f [sqliteCols - 1]string
		for i := range f {
			j := strings.IndexByte(c[i], 31)
			if (j < 0) != (k == n-1) {
				return nil, fmt.Errorf("subscribers: stored rows: column %d does not hold %d values", i+1, n)
			}
			if j < 0 {
				f[i] = c[i]
			} else {
				f[i], c[i] = c[i][:j], c[i][j+1:]
			}
		}
		var num [6]int64
		for i := range num {
			if f[i] == "" && i >= 3 { // a NULL time
				continue
			}
			var err error
			if num[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
				return nil, fmt.Errorf("subscribers: stored rows: column %d: %w", i+1, err)
			}
		}
		size, err := strconv.Atoi(f[15])
		if err != nil || size < 0 || size > len(c[16]) {
			return nil, fmt.Errorf("subscribers: stored rows: bad consent text length %q", f[15])
		}
		s := &subs[k]
		s.ID = num[0]
		s.CreatedAt, s.UpdatedAt = time.UnixMicro(num[1]).UTC(), time.UnixMicro(num[2]).UTC()
		s.ConsentAt, s.ConfirmedAt, s.UnsubscribedAt = nullMicros(f[3], num[3]), nullMicros(f[4], num[4]), nullMicros(f[5], num[5])
		s.Status, s.Source, s.Timezone = Status(f[6]), Source(f[7]), f[8]
		s.Digests, s.Tags = splitInto(f[9], &lists), splitInto(f[10], &lists)
		s.Email, s.Name, s.ConsentIP = f[11], f[12], f[13]
		at := len(keys)
		if keys, err = hex.AppendDecode(keys, []byte(f[14])); err != nil {
			return nil, fmt.Errorf("subscribers: stored rows: token key: %w", err)
		}
		s.TokenKey = keys[at:len(keys):len(keys)]
		s.ConsentText, c[16] = c[16][:size], c[16][size:]
		if k > 0 && page[k-1].ID >= s.ID {
			sorted = false
		}
		page[k] = s
	}
	if c[16] != "" {
		return nil, errors.New("subscribers: stored rows: consent texts longer than their lengths")
	}
	if !sorted {
		slices.SortFunc(page, func(a, b *Subscriber) int { return cmp.Compare(a.ID, b.ID) })
	}
	return page, nil
}

// nullMicros decodes a nullable time field of sqliteRows: empty (NULL) is
// the zero time.
func nullMicros(field string, n int64) time.Time {
	if field == "" {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

// splitInto is splitList carving its result out of *spare when there is
// room.
func splitInto(s string, spare *[]string) []string {
	if s == "" {
		return nil
	}
	n := strings.Count(s, ",") + 1
	if cap(*spare)-len(*spare) < n {
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
	subs, err := scanSQLite(q.QueryRowContext(ctx, `SELECT `+sqliteRows+` FROM subscribers s WHERE s.email_key = ?`, key))
	if err != nil {
		return nil, fmt.Errorf("subscribers: get by address: %w", err)
	}
	if len(subs) == 0 {
		return nil, ErrNotFound
	}
	return subs[0], nil
}

func (s *SQLiteStore) byID(ctx context.Context, q sqlQuerier, id int64) (*Subscriber, error) {
	subs, err := scanSQLite(q.QueryRowContext(ctx, `SELECT `+sqliteRows+` FROM subscribers s WHERE s.id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("subscribers: get %d: %w", id, err)
	}
	if len(subs) == 0 {
		return nil, ErrNotFound
	}
	return subs[0], nil
}

// insert writes a new subscriber and its digests, setting sub.ID, or gives
// ErrExists.
func (s *SQLiteStore) insert(ctx context.Context, tx *sql.Tx, sub *Subscriber) error {
	key, err := newTokenKey()
	if err != nil {
		return err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO subscribers (email, email_key, name, status, digests, tags, timezone, source,
		consent_at, consent_ip, consent_text, created_at, updated_at, confirmed_at, unsubscribed_at, token_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (email_key) DO NOTHING RETURNING id`,
		sub.Email, strings.ToLower(sub.Email), sub.Name, sub.Status, joinList(sub.Digests), joinList(sub.Tags), sub.Timezone, sub.Source,
		sqlMicros(sub.ConsentAt), sub.ConsentIP, sub.ConsentText, sub.CreatedAt.UnixMicro(), sub.UpdatedAt.UnixMicro(),
		sqlMicros(sub.ConfirmedAt), sqlMicros(sub.UnsubscribedAt), key).Scan(&sub.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("subscribers: insert: %w", err)
	}
	sub.TokenKey = key
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

// Create implements Store; see create.
func (s *SQLiteStore) Create(ctx context.Context, sub *Subscriber, reason string) error {
	return create(ctx, s, sub, reason)
}

// Get implements Store.
func (s *SQLiteStore) Get(ctx context.Context, id int64) (*Subscriber, error) {
	return s.byID(ctx, s.db, id)
}

// GetByEmail implements Store.
func (s *SQLiteStore) GetByEmail(ctx context.Context, email string) (*Subscriber, error) {
	return s.byKey(ctx, s.db, emailKey(email))
}

// Subscribe implements Store; see subscribe.
func (s *SQLiteStore) Subscribe(ctx context.Context, req SubscribeRequest) (*Subscriber, Outcome, error) {
	return subscribe(ctx, s, req)
}

// SetStatus implements Store.
func (s *SQLiteStore) SetStatus(ctx context.Context, id int64, to Status, reason string) error {
	return setStatus(ctx, s, id, to, reason)
}

// UpdatePreferences implements Store.
func (s *SQLiteStore) UpdatePreferences(ctx context.Context, id int64, p Preferences) error {
	return updatePreferences(ctx, s, id, p)
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
// memory. The pure-Go driver is CPU-bound handing over rows and columns,
// so each span comes back as one row (see sqliteRows), and the two
// workers nearly double the rows per second on two cores. Queries are
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
	q, args := listQuery(f, sqliteRows, false, func(int) string { return "?" })
	fetch := func(ctx context.Context, lo, hi int64) ([]*Subscriber, error) {
		return scanSQLite(s.db.QueryRowContext(ctx, q, append(args[:len(args):len(args)], lo, hi)...))
	}
	return walkSpans(ctx, f.AfterID, maxID, f.Limit, 2, fetch, fn)
}

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
