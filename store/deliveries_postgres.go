package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"briefcast/editions"
)

// postgresClaim locks the next due deliveries of one edition (FOR UPDATE
// SKIP LOCKED passes over rows another claim holds), cancels those whose
// subscriber no longer gets the digest and leases the rest, in one
// statement; every candidate comes back, as claimRows reads it. Each half
// walks deliveries_claim in index order, so a claim never sorts the queue.
// The subscriber is looked up per candidate (LATERAL ... LIMIT 1, which
// the planner cannot turn into a join), so no step joins whole tables.
// The limit is written into the text (%[1]d): with LIMIT $n a cached
// generic plan turns every join into a hash join over all subscribers.
const postgresClaim = `WITH r AS (
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
    SELECT c.id, c.k, s.id AS sid, s.email, s.name, s.tags, s.timezone, s.token_key, s.depths,
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
              chk.sid, chk.email, chk.name, chk.tags, chk.timezone, chk.token_key, chk.depths
)
SELECT id, state, attempts, last_reply, next_attempt, sid, email, name, tags, timezone, token_key, depths, ok FROM (
    SELECT id, k, state, attempts, last_reply, next_attempt, sid, email, name, tags, timezone, token_key, depths, true AS ok FROM leased
    UNION ALL
    SELECT id, k, '', 0, '', NULL, 0, '', '', '', '', NULL, '', false FROM cancelled
) u ORDER BY k, next_attempt, id`

// claimPostgres is ClaimDeliveries on PostgreSQL.
func (s *DB) claimPostgres(ctx context.Context, editionID int64, owner string, limit int, now, until time.Time) ([]editions.Delivery, error) {
	return claimRounds(limit, func(n int) ([]editions.Delivery, []int64, error) {
		rows, err := s.db.QueryContext(ctx, fmt.Sprintf(postgresClaim, n), editionID, now, owner, until)
		return claimRows(editionID, rows, err)
	})
}

// postgresRecordResults writes a batch of results from parallel arrays in
// one statement.
const postgresRecordResults = `UPDATE deliveries d
   SET state = r.state, attempts = r.attempts, last_reply = r.last_reply, next_attempt = r.next_attempt,
       leased_by = NULL, lease_until = NULL, updated_at = r.at
  FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::text[], $5::timestamptz[], $6::timestamptz[])
       AS r(id, state, attempts, last_reply, next_attempt, at)
 WHERE d.id = r.id AND d.state IN ('queued', 'retrying')`

// recordPostgres is RecordResults on PostgreSQL: one statement, plus the
// bounced subscribers first when there are any.
func (s *DB) recordPostgres(ctx context.Context, results []editions.Result) error {
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
		at := resultAt(r)
		ids[i], states[i], attempts[i], replies[i] = r.DeliveryID, string(r.State), int32(r.Attempts), r.LastReply
		if next := resultNext(r, at); !next.IsZero() {
			next = next.UTC()
			nexts[i] = &next
		}
		ats[i] = at
		bounces = bounces || r.Bounce
	}
	if !bounces {
		_, err := s.db.ExecContext(ctx, postgresRecordResults, ids, states, attempts, replies, nexts, ats)
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := s.bounce(ctx, tx, results); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, postgresRecordResults, ids, states, attempts, replies, nexts, ats)
		return err
	})
}
