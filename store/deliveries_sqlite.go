package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"briefcast/editions"
	"briefcast/subscribers"
)

// sqliteClaimSelect picks the next due deliveries of one edition, up to
// ?3, as claimRows reads them. Each half walks deliveries_claim in index
// order, so a claim never sorts the queue.
const sqliteClaimSelect = `SELECT d.id, d.state, d.attempts, d.last_reply, d.next_attempt,
       s.id, s.email, s.name, s.tags, s.timezone, s.token_key, s.depths,
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

// sqliteRecordResult writes the result of one delivery.
const sqliteRecordResult = `UPDATE deliveries
	SET state = ?, attempts = ?, last_reply = ?, next_attempt = ?, leased_by = NULL, lease_until = NULL, updated_at = ?
	WHERE id = ? AND state IN ('queued', 'retrying')`

// sqliteStmts are the statements of the delivery hot path on SQLite,
// prepared when the store opens: the modernc driver keeps no statement
// cache, and parsing them on every claim and group commit costs much of
// the CPU time.
type sqliteStmts struct{ claim, lease, cancel, record *sql.Stmt }

// prepareSQLite prepares the store's delivery statements.
func (s *DB) prepareSQLite(ctx context.Context) error {
	for st, q := range map[**sql.Stmt]string{
		&s.stmts.claim: sqliteClaimSelect,
		&s.stmts.lease: `UPDATE deliveries SET leased_by = ?, lease_until = ? WHERE id IN (` + s.d.idList + `)`,
		&s.stmts.cancel: `UPDATE deliveries SET state = 'cancelled', leased_by = NULL, lease_until = NULL, updated_at = ?
			WHERE id IN (` + s.d.idList + `)`,
		&s.stmts.record: sqliteRecordResult,
	} {
		var err error
		if *st, err = s.db.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("store: prepare delivery statements: %w", err)
		}
	}
	return nil
}

// claimSQLite is ClaimDeliveries on SQLite: one write transaction that
// selects candidates, cancels those no longer wanted and leases the rest.
func (s *DB) claimSQLite(ctx context.Context, editionID int64, owner string, limit int, now, until time.Time) ([]editions.Delivery, error) {
	st := &s.stmts
	nowUS, untilUS := now.UnixMicro(), until.UnixMicro()
	var out []editions.Delivery
	err := s.writeTx(ctx, func(tx *sql.Tx) (err error) {
		out, err = claimRounds(limit, func(n int) ([]editions.Delivery, []int64, error) {
			rows, err := tx.StmtContext(ctx, st.claim).QueryContext(ctx, editionID, nowUS, n)
			batch, cancel, err := claimRows(editionID, rows, err)
			if err == nil && len(cancel) > 0 {
				_, err = tx.StmtContext(ctx, st.cancel).ExecContext(ctx, nowUS, jsonIDs(cancel))
			}
			if err == nil && len(batch) > 0 {
				ids := make([]int64, len(batch))
				for i, d := range batch {
					ids[i] = d.ID
				}
				_, err = tx.StmtContext(ctx, st.lease).ExecContext(ctx, owner, untilUS, jsonIDs(ids))
			}
			return batch, cancel, err
		})
		return err
	})
	return out, err
}

// claimRows reads the rows of a claim query (the delivery, its
// subscriber's current details and whether they still get the digest)
// into the deliveries to lease and the ids of those to cancel.
func claimRows(editionID int64, rows *sql.Rows, err error) ([]editions.Delivery, []int64, error) {
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		batch  []editions.Delivery
		cancel []int64
	)
	for rows.Next() {
		var (
			d                   = editions.Delivery{EditionID: editionID}
			state, tags, depths string
			next                timeCol
			stillGetsIt         bool
		)
		if err := rows.Scan(&d.ID, &state, &d.Attempts, &d.LastReply, &next,
			&d.Subscriber.ID, &d.Subscriber.Email, &d.Subscriber.Name, &tags, &d.Subscriber.Timezone, &d.Subscriber.TokenKey, &depths, &stillGetsIt); err != nil {
			return nil, nil, err
		}
		if !stillGetsIt {
			cancel = append(cancel, d.ID)
			continue
		}
		d.State, d.NextAttempt = editions.DeliveryState(state), next.T
		d.Subscriber.Tags = subscribers.SplitList(tags)
		d.Subscriber.Depths = subscribers.SplitDepths(depths)
		d.Subscriber.Status = subscribers.Active
		batch = append(batch, d)
	}
	return batch, cancel, rows.Err()
}

// recordSQLite is RecordResults on SQLite: one prepared UPDATE per result,
// which costs less CPU than one UPDATE ... FROM json_each over the batch.
func (s *DB) recordSQLite(ctx context.Context, results []editions.Result) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		rec := tx.StmtContext(ctx, s.stmts.record)
		for _, r := range results {
			at := resultAt(r)
			if _, err := rec.ExecContext(ctx, string(r.State), r.Attempts, r.LastReply, s.d.t(resultNext(r, at)), at.UnixMicro(), r.DeliveryID); err != nil {
				return err
			}
		}
		return s.bounce(ctx, tx, results)
	})
}
