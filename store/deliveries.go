package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"briefcast/editions"
	"briefcast/subscribers"
)

// The delivery queue: one row per recipient of an edition. Senders claim
// due rows under a lease and record many results in one transaction; each
// step is atomic, so no two senders ever hold the same delivery.

// ClaimDeliveries leases to owner until now+lease up to limit due
// deliveries of the edition (queued, or retrying with NextAttempt <= now)
// that nobody else leases, with their subscriber's current details: due
// retries first, longest-waiting first, then queued ones in id order.
// Those whose subscriber no longer gets the digest are cancelled instead.
// Fewer than limit, even none, can come back while others hold leases:
// only Progress says whether the edition is done.
func (s *DB) ClaimDeliveries(ctx context.Context, editionID int64, owner string, limit int, now time.Time, lease time.Duration) ([]editions.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	claim := s.claimSQLite
	if s.d.postgres {
		claim = s.claimPostgres
	}
	out, err := claim(ctx, editionID, owner, limit, now.UTC(), now.Add(lease).UTC())
	if err == nil && len(out) == 0 {
		_, err = s.Edition(ctx, editionID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim deliveries of edition %d: %w", editionID, err)
	}
	return out, nil
}

// claimRounds runs claim rounds, each for what is still wanted, until
// limit deliveries are leased or a round cancels none: only cancelled rows
// can hide more due work behind them.
func claimRounds(limit int, round func(n int) ([]editions.Delivery, []int64, error)) ([]editions.Delivery, error) {
	var out []editions.Delivery
	for len(out) < limit {
		batch, cancelled, err := round(limit - len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, batch...)
		if len(cancelled) == 0 {
			break
		}
	}
	return out, nil
}

// ReleaseClaims drops every lease on the edition's deliveries, for a
// single-instance store starting after a crash. Leases of a dead process on
// PostgreSQL simply expire instead.
func (s *DB) ReleaseClaims(ctx context.Context, editionID int64) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.d.q(`UPDATE deliveries SET leased_by = NULL, lease_until = NULL
			WHERE edition_id = ? AND state IN ('queued', 'retrying') AND leased_by IS NOT NULL`), editionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: release claims of edition %d: %w", editionID, err)
	}
	return nil
}

// RecordResults writes the outcome of many deliveries in one transaction
// and clears their leases. A result whose Bounce is set also marks its
// subscriber bounced (as SetStatus, the reply as the reason). A result for
// a delivery no longer queued or retrying (another sender finished it
// after this one's lease expired) is ignored: a send is never undone.
func (s *DB) RecordResults(ctx context.Context, results []editions.Result) error {
	if len(results) == 0 {
		return nil
	}
	for _, r := range results {
		if err := checkResult(r); err != nil {
			return err
		}
	}
	record := s.recordSQLite
	if s.d.postgres {
		record = s.recordPostgres
	}
	if err := record(ctx, results); err != nil {
		return fmt.Errorf("store: record %d results: %w", len(results), err)
	}
	return nil
}

// bounce marks the subscribers of bounced results Bounced in tx, locking
// them before deliveries, in the order Forget does, so the two never
// deadlock on PostgreSQL.
func (s *DB) bounce(ctx context.Context, tx *sql.Tx, results []editions.Result) error {
	for _, r := range results {
		if !r.Bounce {
			continue
		}
		err := s.setStatusTx(ctx, tx, r.SubscriberID, subscribers.Bounced, r.LastReply, resultAt(r))
		if errors.Is(err, subscribers.ErrNotFound) {
			continue // forgotten meanwhile
		}
		if err != nil {
			return fmt.Errorf("bounce subscriber %d: %w", r.SubscriberID, err)
		}
	}
	return nil
}

// Progress counts an edition's deliveries by state; queued or retrying
// ones that are leased (until their result is recorded or the lease is
// released) are counted as InFlight instead.
func (s *DB) Progress(ctx context.Context, editionID int64) (editions.Progress, error) {
	var p editions.Progress
	err := s.db.QueryRowContext(ctx, s.d.q(`SELECT
		count(CASE WHEN state = 'queued' AND leased_by IS NULL THEN 1 END),
		count(CASE WHEN state IN ('queued', 'retrying') AND leased_by IS NOT NULL THEN 1 END),
		count(CASE WHEN state = 'sent' THEN 1 END),
		count(CASE WHEN state = 'retrying' AND leased_by IS NULL THEN 1 END),
		count(CASE WHEN state = 'failed' THEN 1 END),
		count(CASE WHEN state = 'cancelled' THEN 1 END),
		count(CASE WHEN state = 'skipped' THEN 1 END)
		FROM deliveries WHERE edition_id = ?`), editionID).Scan(&p.Queued, &p.InFlight, &p.Sent, &p.Retrying, &p.Failed, &p.Cancelled, &p.Skipped)
	if err != nil {
		return p, fmt.Errorf("store: progress of edition %d: %w", editionID, err)
	}
	return p, nil
}

// Failures lists up to limit (all when limit <= 0) failed or retrying
// deliveries of an edition in id order, with their last reply. The
// delivery of a forgotten subscriber has a zero Subscriber.
func (s *DB) Failures(ctx context.Context, editionID int64, limit int) ([]editions.Delivery, error) {
	var out []editions.Delivery
	err := s.each(ctx, func(rows *sql.Rows) error {
		d := editions.Delivery{EditionID: editionID}
		var (
			state, tags, status string
			next                timeCol
		)
		if err := rows.Scan(&d.ID, &state, &d.Attempts, &d.LastReply, &next,
			&d.Subscriber.ID, &d.Subscriber.Email, &d.Subscriber.Name, &tags, &d.Subscriber.Timezone, &status); err != nil {
			return err
		}
		d.State, d.NextAttempt, d.Subscriber.Status = editions.DeliveryState(state), next.T, subscribers.Status(status)
		d.Subscriber.Tags = subscribers.SplitList(tags)
		out = append(out, d)
		return nil
	}, `SELECT d.id, d.state, d.attempts, d.last_reply, d.next_attempt,
		       COALESCE(s.id, 0), COALESCE(s.email, ''), COALESCE(s.name, ''), COALESCE(s.tags, ''),
		       COALESCE(s.timezone, ''), COALESCE(s.status, '')
		  FROM deliveries d LEFT JOIN subscribers s ON s.id = d.subscriber_id
		 WHERE d.edition_id = ? AND d.state IN ('failed', 'retrying')
		 ORDER BY d.id LIMIT ?`, editionID, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("store: failures of edition %d: %w", editionID, err)
	}
	return out, nil
}

// FinishEdition marks the edition done at now when nothing is left to
// send; it reports whether the edition is done.
func (s *DB) FinishEdition(ctx context.Context, editionID int64, now time.Time) (bool, error) {
	var done bool
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.d.q(`UPDATE editions SET finished_at = ? WHERE id = ? AND finished_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM deliveries WHERE edition_id = editions.id AND state IN ('queued', 'retrying'))`), s.d.t(now), editionID)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, s.d.q(`SELECT finished_at IS NOT NULL FROM editions WHERE id = ?`), editionID).Scan(&done)
		if errors.Is(err, sql.ErrNoRows) {
			return subscribers.ErrNotFound
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: finish edition %d: %w", editionID, err)
	}
	return done, nil
}

// QueueSize counts the deliveries, over every unfinished edition, that are
// queued or retrying.
func (s *DB) QueueSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries
		WHERE edition_id IN (SELECT id FROM editions WHERE finished_at IS NULL)
		  AND state IN ('queued', 'retrying')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: queue size: %w", err)
	}
	return n, nil
}

// checkResult rejects a result RecordResults cannot record.
func checkResult(r editions.Result) error {
	switch r.State {
	case editions.DeliverySent, editions.DeliveryRetrying, editions.DeliveryFailed, editions.DeliverySkipped:
		return nil
	}
	return fmt.Errorf("store: record result of delivery %d: state %q is not sent, retrying, failed or skipped", r.DeliveryID, r.State)
}

// resultAt is when a result happened: r.At, or now when unset.
func resultAt(r editions.Result) time.Time {
	if r.At.IsZero() {
		return time.Now().UTC()
	}
	return r.At.UTC()
}

// resultNext is the next attempt time to store: a retrying delivery
// without one is due at once (a NULL would never come due).
func resultNext(r editions.Result, at time.Time) time.Time {
	if r.State == editions.DeliveryRetrying && r.NextAttempt.IsZero() {
		return at
	}
	return r.NextAttempt
}
