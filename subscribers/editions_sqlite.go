package subscribers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The digest-edition half of the SQLite store. Every write goes through
// writeTx (BEGIN IMMEDIATE under the store's write mutex), so a claim, a
// batch of results and an edition are each one atomic step, and two
// goroutines of this process never lease the same delivery.

// SentArticles implements Store.
func (s *SQLiteStore) SentArticles(ctx context.Context, digest string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT article_id FROM edition_articles WHERE digest = ?`, digest)
	if err != nil {
		return nil, fmt.Errorf("subscribers: sent articles of %s: %w", digest, err)
	}
	defer rows.Close()
	sent := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("subscribers: sent articles of %s: %w", digest, err)
		}
		sent[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subscribers: sent articles of %s: %w", digest, err)
	}
	return sent, nil
}

// CreateEdition implements Store. The deliveries are written by one
// INSERT ... SELECT over subscriber_digests, so a million recipients cost one
// statement, not a million.
func (s *SQLiteStore) CreateEdition(ctx context.Context, e *Edition) error {
	if err := checkEdition(e); err != nil {
		return err
	}
	created := editionCreatedAt(e)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO editions (digest, key, cutoff, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (digest, key) DO NOTHING RETURNING id`,
			e.Digest, e.Key, e.Cutoff.UnixMicro(), created.UnixMicro()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrEditionExists
		}
		if err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO edition_articles (edition_id, digest, article_id, position) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i, a := range e.Articles {
			if _, err := ins.ExecContext(ctx, id, e.Digest, a, i); err != nil {
				if isSQLiteUnique(err) {
					return fmt.Errorf("article %q is already in an edition of this digest", a)
				}
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO deliveries (edition_id, subscriber_id, state, updated_at)
			SELECT ?, d.subscriber_id, 'queued', ?
			  FROM subscriber_digests d JOIN subscribers s ON s.id = d.subscriber_id
			 WHERE d.digest = ? AND s.status = 'active'
			 ORDER BY d.subscriber_id`, id, created.UnixMicro(), e.Digest)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE editions SET recipients = ? WHERE id = ?`, n, id); err != nil {
			return err
		}
		e.ID, e.CreatedAt, e.Recipients, e.FinishedAt = id, created, n, time.Time{}
		return nil
	})
	if errors.Is(err, ErrEditionExists) {
		return fmt.Errorf("subscribers: edition %s/%s: %w", e.Digest, e.Key, err)
	}
	if err != nil {
		return fmt.Errorf("subscribers: create edition %s/%s: %w", e.Digest, e.Key, err)
	}
	return nil
}

// isSQLiteUnique reports whether err is a UNIQUE constraint violation.
func isSQLiteUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

const sqliteEditionCols = `id, digest, key, cutoff, created_at, finished_at, recipients`

// editionOne runs a query for at most one edition row and loads its
// articles; ErrNotFound when there is none.
func (s *SQLiteStore) editionOne(ctx context.Context, query string, args ...any) (*Edition, error) {
	es, err := s.editionList(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, ErrNotFound
	}
	return es[0], nil
}

// editionList runs a query selecting sqliteEditionCols and loads each
// edition's articles.
func (s *SQLiteStore) editionList(ctx context.Context, query string, args ...any) ([]*Edition, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var es []*Edition
	for rows.Next() {
		var e Edition
		var cutoff, created, finished sql.NullInt64
		if err := rows.Scan(&e.ID, &e.Digest, &e.Key, &cutoff, &created, &finished, &e.Recipients); err != nil {
			rows.Close()
			return nil, err
		}
		e.Cutoff, e.CreatedAt, e.FinishedAt = fromMicros(cutoff), fromMicros(created), fromMicros(finished)
		es = append(es, &e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.Articles, err = s.editionArticles(ctx, e.ID); err != nil {
			return nil, err
		}
	}
	return es, nil
}

// editionArticles returns an edition's article ids in their stored order.
func (s *SQLiteStore) editionArticles(ctx context.Context, id int64) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT article_id FROM edition_articles WHERE edition_id = ? ORDER BY position`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, rows.Err()
}

// Edition implements Store.
func (s *SQLiteStore) Edition(ctx context.Context, id int64) (*Edition, error) {
	e, err := s.editionOne(ctx, `SELECT `+sqliteEditionCols+` FROM editions WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("subscribers: edition %d: %w", id, err)
	}
	return e, nil
}

// LatestEdition implements Store.
func (s *SQLiteStore) LatestEdition(ctx context.Context, digest string) (*Edition, error) {
	e, err := s.editionOne(ctx, `SELECT `+sqliteEditionCols+` FROM editions WHERE digest = ?
		ORDER BY cutoff DESC, id DESC LIMIT 1`, digest)
	if err != nil {
		return nil, fmt.Errorf("subscribers: latest edition of %s: %w", digest, err)
	}
	return e, nil
}

// UnfinishedEdition implements Store.
func (s *SQLiteStore) UnfinishedEdition(ctx context.Context, digest string) (*Edition, error) {
	e, err := s.editionOne(ctx, `SELECT `+sqliteEditionCols+` FROM editions
		WHERE digest = ? AND finished_at IS NULL ORDER BY cutoff, id LIMIT 1`, digest)
	if err != nil {
		return nil, fmt.Errorf("subscribers: unfinished edition of %s: %w", digest, err)
	}
	return e, nil
}

// Editions implements Store.
func (s *SQLiteStore) Editions(ctx context.Context, digest string, limit int) ([]*Edition, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	es, err := s.editionList(ctx, `SELECT `+sqliteEditionCols+` FROM editions
		WHERE ? = '' OR digest = ? ORDER BY cutoff DESC, id DESC LIMIT ?`, digest, digest, limit)
	if err != nil {
		return nil, fmt.Errorf("subscribers: editions: %w", err)
	}
	return es, nil
}

// sqliteClaimSelect picks the next due deliveries of one edition, up to
// ?3, with the subscriber's current details and whether they still get the
// digest. Each half walks deliveries_claim in index order, so a claim never
// sorts the queue: retrying rows by next_attempt (the longest-waiting
// first), then queued rows by id (their next_attempt is NULL). A claim is
// at most three prepared statements whatever its size: this one, the lease
// and a rare cancel.
const sqliteClaimSelect = `SELECT d.id, d.state, d.attempts, d.last_reply, d.next_attempt,
       s.id, s.email, s.name, s.tags, s.timezone, s.token_key,
       s.status = 'active' AND EXISTS (SELECT 1 FROM subscriber_digests sd
                                        WHERE sd.digest = e.digest AND sd.subscriber_id = s.id)
  FROM (SELECT * FROM (SELECT 0 AS k, id FROM deliveries
                        WHERE edition_id = ?1 AND state = 'retrying' AND next_attempt <= ?2
                          AND (lease_until IS NULL OR lease_until < ?2)
                        ORDER BY next_attempt, id LIMIT ?3)
        UNION ALL
        SELECT * FROM (SELECT 1 AS k, id FROM deliveries
                        WHERE edition_id = ?1 AND state = 'queued'
                          AND (lease_until IS NULL OR lease_until < ?2)
                        ORDER BY next_attempt, id LIMIT ?3)
        LIMIT ?3) c
  JOIN deliveries d ON d.id = c.id
  JOIN subscribers s ON s.id = d.subscriber_id
  JOIN editions e ON e.id = d.edition_id
 ORDER BY c.k, d.next_attempt, d.id`

// sqliteEditionStmts are the statements of the delivery hot path,
// prepared once per store: the modernc driver keeps no statement cache, and
// parsing them on every claim and every group commit cost about a quarter
// of the store's CPU time. database/sql prepares each one again, once, on
// every pooled connection a transaction runs on (Tx.StmtContext reuses it
// afterwards), and closes them all with the database.
type sqliteEditionStmts struct {
	once                         sync.Once
	err                          error
	claim, lease, cancel, record *sql.Stmt
}

// stmts returns the store's prepared delivery statements, preparing them on
// first use.
func (s *SQLiteStore) stmts() (*sqliteEditionStmts, error) {
	st := &s.edStmts
	st.once.Do(func() {
		// Not the caller's context: a cancelled first caller must not
		// leave the store without statements for good.
		ctx := context.Background()
		prepare := func(q string) *sql.Stmt {
			if st.err != nil {
				return nil
			}
			var stmt *sql.Stmt
			stmt, st.err = s.db.PrepareContext(ctx, q)
			return stmt
		}
		st.claim = prepare(sqliteClaimSelect)
		st.lease = prepare(`UPDATE deliveries SET leased_by = ?, lease_until = ?
			WHERE id IN (SELECT value FROM json_each(?))`)
		st.cancel = prepare(`UPDATE deliveries
			SET state = 'cancelled', leased_by = NULL, lease_until = NULL, updated_at = ?
			WHERE id IN (SELECT value FROM json_each(?))`)
		st.record = prepare(sqliteRecordResults)
		if st.err != nil {
			st.err = fmt.Errorf("subscribers: prepare delivery statements: %w", st.err)
		}
	})
	return st, st.err
}

// ClaimDeliveries implements Store.
func (s *SQLiteStore) ClaimDeliveries(ctx context.Context, editionID int64, owner string, limit int, now time.Time, lease time.Duration) ([]Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	st, err := s.stmts()
	if err != nil {
		return nil, err
	}
	var out []Delivery
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		nowUS, untilUS := now.UnixMicro(), now.Add(lease).UnixMicro()
		for len(out) < limit {
			batch, cancel, err := sqliteClaimCandidates(ctx, tx.StmtContext(ctx, st.claim), editionID, nowUS, limit-len(out))
			if err != nil {
				return err
			}
			if len(cancel) > 0 {
				if _, err := tx.StmtContext(ctx, st.cancel).ExecContext(ctx, nowUS, jsonIDs(cancel)); err != nil {
					return err
				}
			}
			if len(batch) > 0 {
				ids := make([]int64, len(batch))
				for i := range batch {
					ids[i] = batch[i].ID
					batch[i].EditionID = editionID
				}
				if _, err := tx.StmtContext(ctx, st.lease).ExecContext(ctx, owner, untilUS, jsonIDs(ids)); err != nil {
					return err
				}
				out = append(out, batch...)
			}
			// Only cancelled rows can hide more due work behind them.
			if len(cancel) == 0 {
				break
			}
		}
		if len(out) == 0 {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM editions WHERE id = ?`, editionID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("subscribers: claim deliveries of edition %d: %w", editionID, err)
	}
	return out, nil
}

// jsonIDs encodes ids as a JSON array for json_each.
func jsonIDs(ids []int64) string {
	b := make([]byte, 0, len(ids)*8+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// sqliteClaimCandidates runs the claim query and splits its rows into the
// deliveries to lease and the ids to cancel.
func sqliteClaimCandidates(ctx context.Context, claim *sql.Stmt, editionID, now int64, limit int) ([]Delivery, []int64, error) {
	rows, err := claim.QueryContext(ctx, editionID, now, limit)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		batch  []Delivery
		cancel []int64
	)
	for rows.Next() {
		var (
			d          Delivery
			next       sql.NullInt64
			tags       string
			stillGetIt bool
		)
		if err := rows.Scan(&d.ID, &d.State, &d.Attempts, &d.LastReply, &next,
			&d.Subscriber.ID, &d.Subscriber.Email, &d.Subscriber.Name, &tags, &d.Subscriber.Timezone, &d.Subscriber.TokenKey, &stillGetIt); err != nil {
			return nil, nil, err
		}
		if !stillGetIt {
			cancel = append(cancel, d.ID)
			continue
		}
		d.NextAttempt = fromMicros(next)
		d.Subscriber.Tags = splitList(tags)
		d.Subscriber.Status = Active
		batch = append(batch, d)
	}
	return batch, cancel, rows.Err()
}

// ReleaseClaims implements Store.
func (s *SQLiteStore) ReleaseClaims(ctx context.Context, editionID int64) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE deliveries SET leased_by = NULL, lease_until = NULL
			WHERE edition_id = ? AND state IN ('queued', 'retrying') AND leased_by IS NOT NULL`, editionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("subscribers: release claims of edition %d: %w", editionID, err)
	}
	return nil
}

// sqliteRecordResults writes the result of one delivery.
const sqliteRecordResults = `UPDATE deliveries
	SET state = ?, attempts = ?, last_reply = ?, next_attempt = ?, leased_by = NULL, lease_until = NULL, updated_at = ?
	WHERE id = ? AND state IN ('queued', 'retrying')`

// RecordResults implements Store. The batch is one transaction running
// one prepared UPDATE per result: once the statement is not parsed again,
// that costs less CPU than one UPDATE ... FROM json_each over the whole
// batch, which decodes the JSON once per column and row. A delivery already
// in a final state (another sender recorded it after this one's lease
// expired) is left alone, so a late retry never undoes a send.
func (s *SQLiteStore) RecordResults(ctx context.Context, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	for _, r := range results {
		if err := checkResult(r); err != nil {
			return err
		}
	}
	st, err := s.stmts()
	if err != nil {
		return err
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		rec := tx.StmtContext(ctx, st.record)
		for _, r := range results {
			at := resultAt(r)
			if _, err := rec.ExecContext(ctx, string(r.State), r.Attempts, r.LastReply, sqlMicros(resultNext(r, at)), at.UnixMicro(), r.DeliveryID); err != nil {
				return err
			}
		}
		for _, r := range results {
			if !r.Bounce {
				continue
			}
			// Exactly what SetStatus does, inside this transaction.
			sub, err := s.byID(ctx, tx, r.SubscriberID)
			if errors.Is(err, ErrNotFound) {
				continue // forgotten meanwhile
			}
			if err != nil {
				return fmt.Errorf("bounce subscriber %d: %w", r.SubscriberID, err)
			}
			if sub.Status == Bounced {
				continue
			}
			at, from := resultAt(r), sub.Status
			applyStatus(sub, Bounced, at)
			if err := s.update(ctx, tx, sub, false); err != nil {
				return err
			}
			if err := s.event(ctx, tx, sub.ID, at, statusChange{From: from, To: Bounced, Reason: r.LastReply}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("subscribers: record %d results: %w", len(results), err)
	}
	return nil
}

// Progress implements Store.
func (s *SQLiteStore) Progress(ctx context.Context, editionID int64) (Progress, error) {
	var p Progress
	err := sqliteCountStates(ctx, s.db, `SELECT state, count(*) FROM deliveries WHERE edition_id = ? GROUP BY state`, editionID, &p, 1)
	if err == nil {
		err = sqliteCountStates(ctx, s.db, `SELECT state, count(*) FROM deliveries
			WHERE edition_id = ? AND state IN ('queued', 'retrying') AND leased_by IS NOT NULL
			GROUP BY state`, editionID, &p, -1)
	}
	if err != nil {
		return Progress{}, fmt.Errorf("subscribers: progress of edition %d: %w", editionID, err)
	}
	return p, nil
}

// sqliteCountStates adds sign times each (state, count) row to p; leased
// rows are moved from their state to InFlight.
func sqliteCountStates(ctx context.Context, db *sql.DB, q string, editionID int64, p *Progress, sign int64) error {
	rows, err := db.QueryContext(ctx, q, editionID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		addProgress(p, DeliveryState(st), sign*n)
	}
	return rows.Err()
}

// Failures implements Store.
func (s *SQLiteStore) Failures(ctx context.Context, editionID int64, limit int) ([]Delivery, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT d.id, d.state, d.attempts, d.last_reply, d.next_attempt,
		       s.id, s.email, s.name, s.tags, s.timezone, s.status
		  FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
		 WHERE d.edition_id = ? AND d.state IN ('failed', 'retrying')
		 ORDER BY d.id LIMIT ?`, editionID, limit)
	if err != nil {
		return nil, fmt.Errorf("subscribers: failures of edition %d: %w", editionID, err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d := Delivery{EditionID: editionID}
		var next sql.NullInt64
		var tags string
		if err := rows.Scan(&d.ID, &d.State, &d.Attempts, &d.LastReply, &next,
			&d.Subscriber.ID, &d.Subscriber.Email, &d.Subscriber.Name, &tags, &d.Subscriber.Timezone, &d.Subscriber.Status); err != nil {
			return nil, fmt.Errorf("subscribers: failures of edition %d: %w", editionID, err)
		}
		d.NextAttempt = fromMicros(next)
		d.Subscriber.Tags = splitList(tags)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subscribers: failures of edition %d: %w", editionID, err)
	}
	return out, nil
}

// FinishEdition implements Store.
func (s *SQLiteStore) FinishEdition(ctx context.Context, editionID int64, now time.Time) (bool, error) {
	var done bool
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var finished sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT finished_at FROM editions WHERE id = ?`, editionID).Scan(&finished); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if finished.Valid {
			done = true
			return nil
		}
		var left bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries
			WHERE edition_id = ? AND state IN ('queued', 'retrying'))`, editionID).Scan(&left); err != nil {
			return err
		}
		if left {
			return nil
		}
		done = true
		_, err := tx.ExecContext(ctx, `UPDATE editions SET finished_at = ? WHERE id = ?`, now.UnixMicro(), editionID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("subscribers: finish edition %d: %w", editionID, err)
	}
	return done, nil
}

// QueueSize implements Store.
func (s *SQLiteStore) QueueSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries
		WHERE edition_id IN (SELECT id FROM editions WHERE finished_at IS NULL)
		  AND state IN ('queued', 'retrying')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("subscribers: queue size: %w", err)
	}
	return n, nil
}

// Helpers shared by both stores' edition code.

// checkEdition rejects an edition CreateEdition cannot record, and rounds
// its cutoff down to the microseconds both databases keep, so e reads back
// equal.
func checkEdition(e *Edition) error {
	switch {
	case e == nil:
		return errors.New("subscribers: create edition: nil edition")
	case e.Digest == "" || e.Key == "":
		return errors.New("subscribers: create edition: digest and key are required")
	case e.Cutoff.IsZero():
		return fmt.Errorf("subscribers: create edition %s/%s: cutoff is required", e.Digest, e.Key)
	}
	e.Cutoff = e.Cutoff.UTC().Truncate(time.Microsecond)
	return nil
}

// editionCreatedAt is the creation time CreateEdition records: e.CreatedAt
// when the caller set it (a scheduler with its own clock), else now, at the
// microsecond precision both databases keep.
func editionCreatedAt(e *Edition) time.Time {
	t := e.CreatedAt
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// checkResult rejects a result RecordResults cannot record.
func checkResult(r Result) error {
	switch r.State {
	case DeliverySent, DeliveryRetrying, DeliveryFailed, DeliverySkipped:
		return nil
	}
	return fmt.Errorf("subscribers: record result of delivery %d: state %q is not sent, retrying, failed or skipped", r.DeliveryID, r.State)
}

// resultAt is when a result happened: r.At, or now when unset.
func resultAt(r Result) time.Time {
	if r.At.IsZero() {
		return time.Now().UTC()
	}
	return r.At.UTC()
}

// resultNext is the next attempt time to store: a retrying delivery
// without one is due at once (a NULL would never come due).
func resultNext(r Result, at time.Time) time.Time {
	if r.State == DeliveryRetrying && r.NextAttempt.IsZero() {
		return at
	}
	return r.NextAttempt
}

// addProgress adds n deliveries in state st to p; a negative n moves
// leased ones out of their state into InFlight.
func addProgress(p *Progress, st DeliveryState, n int64) {
	if n < 0 {
		p.InFlight -= n
	}
	switch st {
	case DeliveryQueued:
		p.Queued += n
	case DeliveryRetrying:
		p.Retrying += n
	case DeliverySent:
		p.Sent += n
	case DeliveryFailed:
		p.Failed += n
	case DeliveryCancelled:
		p.Cancelled += n
	case DeliverySkipped:
		p.Skipped += n
	}
}
