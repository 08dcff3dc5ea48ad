package subscribers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The digest-edition half of the PostgreSQL store. Several processes may
// share one edition: claims lock rows with FOR UPDATE SKIP LOCKED, so no
// two senders ever lease the same delivery, and each claim and each batch
// of results is a single statement (one round trip) unless a bounce needs
// a subscriber changed too.

// SentArticles implements Store.
func (s *PostgresStore) SentArticles(ctx context.Context, digest string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT article_id FROM edition_articles WHERE digest = $1`, digest)
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
// statement, not a million. Two processes creating the same (digest, key)
// at once: the second waits on the first's unique-index entry and, once
// that commits, gets ErrEditionExists.
func (s *PostgresStore) CreateEdition(ctx context.Context, e *Edition) error {
	if err := checkEdition(e); err != nil {
		return err
	}
	created := editionCreatedAt(e)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO editions (digest, key, cutoff, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (digest, key) DO NOTHING RETURNING id`,
			e.Digest, e.Key, e.Cutoff.UTC(), created).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrEditionExists
		}
		if err != nil {
			return err
		}
		articles := e.Articles
		if articles == nil {
			articles = []string{}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO edition_articles (edition_id, digest, article_id, position)
			SELECT $1, $2, a.id, a.n - 1 FROM unnest($3::text[]) WITH ORDINALITY AS a(id, n)`,
			id, e.Digest, articles); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" {
				return fmt.Errorf("an article is already in an edition of this digest (%s): %w", pe.Detail, err)
			}
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO deliveries (edition_id, subscriber_id, state, updated_at)
			SELECT $1, d.subscriber_id, 'queued', $2
			  FROM subscriber_digests d JOIN subscribers s ON s.id = d.subscriber_id
			 WHERE d.digest = $3 AND s.status = 'active'
			 ORDER BY d.subscriber_id`, id, created, e.Digest)
		if err != nil {
			return err
		}
		n := tag.RowsAffected()
		if _, err := tx.Exec(ctx, `UPDATE editions SET recipients = $1 WHERE id = $2`, n, id); err != nil {
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
	// The planner knows nothing yet of the rows just added: with the
	// statistics from before (or none), the claims of a large new edition
	// read and sort its whole queue (about 100 ms a claim at 100,000
	// recipients) instead of walking deliveries_claim, until autovacuum
	// analyzes the table a minute or so later. SKIP_LOCKED: a vacuum
	// running on the table is not waited for. A failure only costs speed.
	if e.Recipients >= analyzeMin {
		_, _ = s.pool.Exec(ctx, `ANALYZE (SKIP_LOCKED) deliveries`)
	}
	return nil
}

// analyzeMin is the edition size from which CreateEdition refreshes the
// planner's statistics of deliveries.
const analyzeMin = 1000

// pgEditionCols selects an edition with its articles in stored order.
const pgEditionCols = `e.id, e.digest, e.key, e.cutoff, e.created_at, e.finished_at, e.recipients,
	ARRAY(SELECT a.article_id FROM edition_articles a WHERE a.edition_id = e.id ORDER BY a.position)`

// editionList runs a query selecting pgEditionCols.
func (s *PostgresStore) editionList(ctx context.Context, query string, args ...any) ([]*Edition, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var es []*Edition
	for rows.Next() {
		var e Edition
		var cutoff, created, finished *time.Time
		if err := rows.Scan(&e.ID, &e.Digest, &e.Key, &cutoff, &created, &finished, &e.Recipients, &e.Articles); err != nil {
			return nil, err
		}
		e.Cutoff, e.CreatedAt, e.FinishedAt = fromPG(cutoff), fromPG(created), fromPG(finished)
		if len(e.Articles) == 0 {
			e.Articles = nil
		}
		es = append(es, &e)
	}
	return es, rows.Err()
}

// editionOne runs a query for at most one edition; ErrNotFound when none.
func (s *PostgresStore) editionOne(ctx context.Context, query string, args ...any) (*Edition, error) {
	es, err := s.editionList(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, ErrNotFound
	}
	return es[0], nil
}

// Edition implements Store.
func (s *PostgresStore) Edition(ctx context.Context, id int64) (*Edition, error) {
	e, err := s.editionOne(ctx, `SELECT `+pgEditionCols+` FROM editions e WHERE e.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("subscribers: edition %d: %w", id, err)
	}
	return e, nil
}

// LatestEdition implements Store.
func (s *PostgresStore) LatestEdition(ctx context.Context, digest string) (*Edition, error) {
	e, err := s.editionOne(ctx, `SELECT `+pgEditionCols+` FROM editions e WHERE e.digest = $1
		ORDER BY e.cutoff DESC, e.id DESC LIMIT 1`, digest)
	if err != nil {
		return nil, fmt.Errorf("subscribers: latest edition of %s: %w", digest, err)
	}
	return e, nil
}

// UnfinishedEdition implements Store.
func (s *PostgresStore) UnfinishedEdition(ctx context.Context, digest string) (*Edition, error) {
	e, err := s.editionOne(ctx, `SELECT `+pgEditionCols+` FROM editions e
		WHERE e.digest = $1 AND e.finished_at IS NULL ORDER BY e.cutoff, e.id LIMIT 1`, digest)
	if err != nil {
		return nil, fmt.Errorf("subscribers: unfinished edition of %s: %w", digest, err)
	}
	return e, nil
}

// Editions implements Store.
func (s *PostgresStore) Editions(ctx context.Context, digest string, limit int) ([]*Edition, error) {
	var lim *int // NULL: no limit
	if limit > 0 {
		lim = &limit
	}
	es, err := s.editionList(ctx, `SELECT `+pgEditionCols+` FROM editions e
		WHERE $1 = '' OR e.digest = $1 ORDER BY e.cutoff DESC, e.id DESC LIMIT $2`, digest, lim)
	if err != nil {
		return nil, fmt.Errorf("subscribers: editions: %w", err)
	}
	return es, nil
}

// pgClaim locks the next due deliveries of one edition, cancels those whose
// subscriber no longer gets the digest and leases the rest, all in one
// statement (one round trip). Retrying rows come first, by next_attempt
// (the longest-waiting first), then queued rows by id, each walking
// deliveries_claim in index order so a claim never sorts the queue. Every
// candidate comes back: ok=false for a cancelled one, with the subscriber's
// details for a leased one.
//
// The subscriber and its digest are looked up per candidate (LATERAL ...
// LIMIT 1, which the planner cannot turn into a join) and carried through
// the UPDATE's RETURNING, so no step joins whole tables: with a hash join
// over every subscriber, or a join of the two CTEs that the planner
// believed to hold one row each, a claim of 1,024 took 120 ms instead of
// 20.
//
// The limit is written into the text (%[1]d, an int) rather than bound:
// with LIMIT $n a cached generic plan guesses a tenth of the table and
// turns every join into a hash join over all subscribers. pgx caches one
// prepared statement per distinct limit.
const pgClaim = `WITH r AS (
    SELECT d.id, d.subscriber_id, 0 AS k FROM deliveries d
     WHERE d.edition_id = $1 AND d.state = 'retrying' AND d.next_attempt <= $2
       AND (d.lease_until IS NULL OR d.lease_until < $2)
     ORDER BY d.next_attempt, d.id LIMIT %[1]d
       FOR UPDATE SKIP LOCKED
), q AS (
    SELECT d.id, d.subscriber_id, 1 AS k FROM deliveries d
     WHERE d.edition_id = $1 AND d.state = 'queued'
       AND (d.lease_until IS NULL OR d.lease_until < $2)
     ORDER BY d.next_attempt, d.id LIMIT %[1]d
       FOR UPDATE SKIP LOCKED
), cand AS (
    SELECT * FROM (SELECT * FROM r UNION ALL SELECT * FROM q) u ORDER BY k, id LIMIT %[1]d
), chk AS (
    SELECT c.id, c.k, s.id AS sid, s.email, s.name, s.tags, s.timezone, s.token_key,
           s.status = 'active' AND sd.ok IS NOT NULL AS ok
      FROM cand c
     CROSS JOIN LATERAL (SELECT * FROM subscribers s WHERE s.id = c.subscriber_id LIMIT 1) s
      LEFT JOIN LATERAL (SELECT true AS ok FROM subscriber_digests sd
                          WHERE sd.digest = (SELECT digest FROM editions WHERE id = $1)
                            AND sd.subscriber_id = c.subscriber_id LIMIT 1) sd ON true
), cancelled AS (
    UPDATE deliveries d SET state = 'cancelled', leased_by = NULL, lease_until = NULL, updated_at = $2
      FROM chk WHERE d.id = chk.id AND NOT chk.ok
    RETURNING d.id, chk.k
), leased AS (
    UPDATE deliveries d SET leased_by = $3, lease_until = $4
      FROM chk WHERE d.id = chk.id AND chk.ok
    RETURNING d.id, chk.k, d.state, d.attempts, d.last_reply, d.next_attempt,
              chk.sid, chk.email, chk.name, chk.tags, chk.timezone, chk.token_key
)
SELECT id, ok, state, attempts, last_reply, next_attempt, sid, email, name, tags, timezone, token_key FROM (
    SELECT id, k, true AS ok, state, attempts, last_reply, next_attempt, sid, email, name, tags, timezone, token_key FROM leased
    UNION ALL
    SELECT id, k, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM cancelled
) u ORDER BY k, next_attempt, id`

// ClaimDeliveries implements Store.
func (s *PostgresStore) ClaimDeliveries(ctx context.Context, editionID int64, owner string, limit int, now time.Time, lease time.Duration) ([]Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []Delivery
	now = now.UTC()
	until := now.Add(lease)
	for len(out) < limit {
		q := fmt.Sprintf(pgClaim, limit-len(out))
		batch, cancelled, err := s.claimOnce(ctx, q, editionID, owner, now, until)
		if err != nil {
			return nil, fmt.Errorf("subscribers: claim deliveries of edition %d: %w", editionID, err)
		}
		out = append(out, batch...)
		// Only cancelled rows can hide more due work behind them.
		if cancelled == 0 {
			break
		}
	}
	if len(out) == 0 {
		if _, err := s.Edition(ctx, editionID); err != nil {
			return nil, fmt.Errorf("subscribers: claim deliveries: %w", err)
		}
	}
	return out, nil
}

// claimOnce runs one claim statement, returning the leased deliveries and
// the number cancelled.
func (s *PostgresStore) claimOnce(ctx context.Context, q string, editionID int64, owner string, now, until time.Time) ([]Delivery, int, error) {
	rows, err := s.pool.Query(ctx, q, editionID, now, owner, until)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var (
		out       []Delivery
		cancelled int
	)
	for rows.Next() {
		var (
			id                      int64
			ok                      bool
			state, reply            *string
			attempts                *int
			next                    *time.Time
			subID                   *int64
			email, name, tags, zone *string
			key                     []byte
		)
		if err := rows.Scan(&id, &ok, &state, &attempts, &reply, &next, &subID, &email, &name, &tags, &zone, &key); err != nil {
			return nil, 0, err
		}
		if !ok {
			cancelled++
			continue
		}
		if state == nil || subID == nil {
			continue // changed under us by another statement; not leased
		}
		d := Delivery{ID: id, EditionID: editionID, State: DeliveryState(*state), NextAttempt: fromPG(next)}
		d.Attempts, d.LastReply = *attempts, *reply
		d.Subscriber = Subscriber{ID: *subID, Email: *email, Name: *name, Tags: splitList(*tags), Timezone: *zone, Status: Active, TokenKey: key}
		out = append(out, d)
	}
	return out, cancelled, rows.Err()
}

// ReleaseClaims implements Store.
func (s *PostgresStore) ReleaseClaims(ctx context.Context, editionID int64) error {
	if _, err := s.pool.Exec(ctx, `UPDATE deliveries SET leased_by = NULL, lease_until = NULL
		WHERE edition_id = $1 AND state IN ('queued', 'retrying') AND leased_by IS NOT NULL`, editionID); err != nil {
		return fmt.Errorf("subscribers: release claims of edition %d: %w", editionID, err)
	}
	return nil
}

// pgRecordResults writes a whole batch of results from parallel arrays in
// one statement. A delivery already in a final state (another sender
// recorded it after this one's lease expired) is left alone, so a late
// retry never undoes a send.
const pgRecordResults = `UPDATE deliveries d
   SET state = r.state, attempts = r.attempts, last_reply = r.last_reply, next_attempt = r.next_attempt,
       leased_by = NULL, lease_until = NULL, updated_at = r.at
  FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::text[], $5::timestamptz[], $6::timestamptz[])
       AS r(id, state, attempts, last_reply, next_attempt, at)
 WHERE d.id = r.id AND d.state IN ('queued', 'retrying')`

// RecordResults implements Store.
func (s *PostgresStore) RecordResults(ctx context.Context, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	n := len(results)
	var (
		ids      = make([]int64, n)
		states   = make([]string, n)
		attempts = make([]int32, n)
		replies  = make([]string, n)
		nexts    = make([]*time.Time, n)
		ats      = make([]time.Time, n)
		bounces  bool
	)
	for i, r := range results {
		if err := checkResult(r); err != nil {
			return err
		}
		at := resultAt(r)
		ids[i], states[i], attempts[i], replies[i] = r.DeliveryID, string(r.State), int32(r.Attempts), r.LastReply
		nexts[i], ats[i] = pgTime(resultNext(r, at)), at
		bounces = bounces || r.Bounce
	}
	var err error
	if !bounces {
		_, err = s.pool.Exec(ctx, pgRecordResults, ids, states, attempts, replies, nexts, ats)
	} else {
		// Subscribers are locked before deliveries, the order in which
		// Forget's cascade takes them, so the two never deadlock.
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			for i, r := range results {
				if !r.Bounce {
					continue
				}
				// Exactly what SetStatus does, inside this transaction.
				sub, err := s.byID(ctx, tx, r.SubscriberID, true)
				if errors.Is(err, ErrNotFound) {
					continue // forgotten meanwhile
				}
				if err != nil {
					return fmt.Errorf("bounce subscriber %d: %w", r.SubscriberID, err)
				}
				if sub.Status == Bounced {
					continue
				}
				from := sub.Status
				applyStatus(sub, Bounced, ats[i])
				if err := s.update(ctx, tx, sub, false); err != nil {
					return err
				}
				if err := s.event(ctx, tx, sub.ID, ats[i], statusChange{From: from, To: Bounced, Reason: r.LastReply}); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, pgRecordResults, ids, states, attempts, replies, nexts, ats)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("subscribers: record %d results: %w", n, err)
	}
	return nil
}

// Progress implements Store.
func (s *PostgresStore) Progress(ctx context.Context, editionID int64) (Progress, error) {
	var p Progress
	err := s.countStates(ctx, `SELECT state, count(*) FROM deliveries WHERE edition_id = $1 GROUP BY state`, editionID, &p, 1)
	if err == nil {
		err = s.countStates(ctx, `SELECT state, count(*) FROM deliveries
			WHERE edition_id = $1 AND state IN ('queued', 'retrying') AND leased_by IS NOT NULL
			GROUP BY state`, editionID, &p, -1)
	}
	if err != nil {
		return Progress{}, fmt.Errorf("subscribers: progress of edition %d: %w", editionID, err)
	}
	return p, nil
}

// countStates adds sign times each (state, count) row to p.
func (s *PostgresStore) countStates(ctx context.Context, q string, editionID int64, p *Progress, sign int64) error {
	rows, err := s.pool.Query(ctx, q, editionID)
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
func (s *PostgresStore) Failures(ctx context.Context, editionID int64, limit int) ([]Delivery, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `SELECT d.id, d.state, d.attempts, d.last_reply, d.next_attempt,
		       s.id, s.email, s.name, s.tags, s.timezone, s.status
		  FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
		 WHERE d.edition_id = $1 AND d.state IN ('failed', 'retrying')
		 ORDER BY d.id LIMIT $2`, editionID, lim)
	if err != nil {
		return nil, fmt.Errorf("subscribers: failures of edition %d: %w", editionID, err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d := Delivery{EditionID: editionID}
		var (
			state, tags, status string
			next                *time.Time
		)
		if err := rows.Scan(&d.ID, &state, &d.Attempts, &d.LastReply, &next,
			&d.Subscriber.ID, &d.Subscriber.Email, &d.Subscriber.Name, &tags, &d.Subscriber.Timezone, &status); err != nil {
			return nil, fmt.Errorf("subscribers: failures of edition %d: %w", editionID, err)
		}
		d.State, d.NextAttempt, d.Subscriber.Status = DeliveryState(state), fromPG(next), Status(status)
		d.Subscriber.Tags = splitList(tags)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subscribers: failures of edition %d: %w", editionID, err)
	}
	return out, nil
}

// FinishEdition implements Store.
func (s *PostgresStore) FinishEdition(ctx context.Context, editionID int64, now time.Time) (bool, error) {
	var done bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var finished *time.Time
		if err := tx.QueryRow(ctx, `SELECT finished_at FROM editions WHERE id = $1 FOR UPDATE`, editionID).Scan(&finished); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if finished != nil {
			done = true
			return nil
		}
		var left bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries
			WHERE edition_id = $1 AND state IN ('queued', 'retrying'))`, editionID).Scan(&left); err != nil {
			return err
		}
		if left {
			return nil
		}
		done = true
		_, err := tx.Exec(ctx, `UPDATE editions SET finished_at = $1 WHERE id = $2`, now.UTC(), editionID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("subscribers: finish edition %d: %w", editionID, err)
	}
	return done, nil
}

// QueueSize implements Store.
func (s *PostgresStore) QueueSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries
		WHERE edition_id IN (SELECT id FROM editions WHERE finished_at IS NULL)
		  AND state IN ('queued', 'retrying')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("subscribers: queue size: %w", err)
	}
	return n, nil
}
