package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"briefcast/editions"
	"briefcast/subscribers"
)

// RecordBounce takes one bounce report in one transaction: it stores it,
// finds the subscriber (by the return path's ids, else by the recipient)
// and applies subscribers.PlanBounce. A report whose key was taken before
// changes nothing (Duplicate); one about nobody on the list is stored
// without a subscriber.
func (s *DB) RecordBounce(ctx context.Context, b subscribers.Bounce, softLimit int) (subscribers.BounceOutcome, error) {
	var out subscribers.BounceOutcome
	if strings.TrimSpace(b.Key) == "" {
		return out, errors.New("store: record bounce: no key")
	}
	if !b.Kind.Valid() {
		return out, fmt.Errorf("store: record bounce: unknown kind %q", b.Kind)
	}
	if b.At.IsZero() {
		b.At = time.Now()
	}
	b.At = b.At.UTC()
	err := s.writeTx(ctx, func(tx *sql.Tx) error { return s.recordBounceTx(ctx, tx, b, softLimit, &out) })
	if err != nil {
		return subscribers.BounceOutcome{}, fmt.Errorf("store: record bounce: %w", err)
	}
	return out, nil
}

func (s *DB) recordBounceTx(ctx context.Context, tx *sql.Tx, b subscribers.Bounce, softLimit int, out *subscribers.BounceOutcome) error {
	// The subscriber is locked before the bounce row is inserted: the
	// insert's foreign key takes a share lock on it, and two reports
	// upgrading that lock at once would deadlock on PostgreSQL.
	sub, err := s.bouncedSubscriber(ctx, tx, b)
	if err != nil {
		return err
	}
	var subID, edID any
	if sub != nil {
		subID, out.SubscriberID, out.From, out.To = sub.ID, sub.ID, sub.Status, sub.Status
	}
	if b.EditionID > 0 {
		err := tx.QueryRowContext(ctx, s.d.q(`SELECT digest FROM editions WHERE id = ?`), b.EditionID).Scan(&out.Digest)
		switch {
		case err == nil:
			edID = b.EditionID
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("edition %d: %w", b.EditionID, err)
		}
	}
	res, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO bounces (subscriber_id, edition_id, kind, status, reason, source, event_key, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_key) DO NOTHING`),
		subID, edID, string(b.Kind), clipText(b.Status, 32), clipText(b.Reason, 1000), clipText(b.Source, 32), eventKey(b.Key), s.d.t(b.At))
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		out.Duplicate = true
		return nil
	}
	if sub == nil {
		return nil
	}
	if b.Kind == subscribers.BounceSoft {
		if out.SoftCount, err = s.softBounces(ctx, tx, sub.ID); err != nil {
			return err
		}
	}
	var reason string
	out.To, reason = subscribers.PlanBounce(sub.Status, b, out.SoftCount, softLimit)
	return s.moveStatus(ctx, tx, sub, out.To, reason, b.At)
}

// bouncedSubscriber finds and locks the subscriber a report is about, or
// returns nil. A return path naming a subscriber since forgotten matches
// nobody, even when someone else now has the address.
func (s *DB) bouncedSubscriber(ctx context.Context, tx *sql.Tx, b subscribers.Bounce) (*subscribers.Subscriber, error) {
	var sub *subscribers.Subscriber
	var err error
	switch rcpt := strings.Trim(strings.TrimSpace(b.Recipient), "<>"); {
	case b.SubscriberID > 0:
		sub, err = s.byID(ctx, tx, b.SubscriberID)
	case rcpt != "":
		sub, err = s.byKey(ctx, tx, subscribers.EmailKey(rcpt))
	}
	if errors.Is(err, subscribers.ErrNotFound) {
		return nil, nil
	}
	return sub, err
}

// softBounces counts the editions soft-bounced for subscriber id since
// the last delivery sent to them that nothing bounced, ordered by when the
// message went out, so a late report counts in its place. A soft bounce
// without an edition counts on its own, at the time it came.
func (s *DB) softBounces(ctx context.Context, tx *sql.Tx, id int64) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, s.d.q(`SELECT COUNT(DISTINCT COALESCE(b.edition_id, -b.id)) FROM bounces b
		LEFT JOIN deliveries d ON d.edition_id = b.edition_id AND d.subscriber_id = b.subscriber_id
		WHERE b.subscriber_id = ? AND b.kind = 'soft' AND NOT EXISTS (
			SELECT 1 FROM deliveries sent WHERE sent.subscriber_id = ? AND sent.state = 'sent'
			   AND sent.updated_at >= COALESCE(d.updated_at, b.at) AND NOT EXISTS (
				SELECT 1 FROM bounces sb WHERE sb.subscriber_id = sent.subscriber_id AND sb.edition_id = sent.edition_id
				   AND sb.kind IN ('hard', 'soft')))`), id, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("soft bounces of %d: %w", id, err)
	}
	return n, nil
}

// BounceCounts counts the reports about one edition by kind, each
// subscriber once per kind (a report about nobody on the list counts on
// its own).
func (s *DB) BounceCounts(ctx context.Context, editionID int64) (editions.BounceCounts, error) {
	n, err := s.counts(ctx, `SELECT kind, COUNT(DISTINCT COALESCE(subscriber_id, -id)) FROM bounces
		WHERE edition_id = ? GROUP BY kind`, editionID)
	if err != nil {
		return editions.BounceCounts{}, fmt.Errorf("store: bounce counts of edition %d: %w", editionID, err)
	}
	return editions.BounceCounts{Hard: n[string(subscribers.BounceHard)], Soft: n[string(subscribers.BounceSoft)],
		Complaints: n[string(subscribers.BounceComplaint)]}, nil
}

// eventKey is the stored form of a report's key: a hash, so the table
// keeps no address (provider keys hold the recipient's).
func eventKey(k string) string {
	h := sha256.Sum256([]byte(k))
	return hex.EncodeToString(h[:])
}

// clipText cuts s to at most n bytes on a character boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
