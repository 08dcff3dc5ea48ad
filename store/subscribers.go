package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"briefcast/subscribers"
)

// subscriberCols are the columns scanSubscriber reads.
const subscriberCols = `s.id, s.email, s.name, s.status, s.digests, s.tags, s.timezone, s.source,
	s.consent_at, s.consent_ip, s.consent_text, s.created_at, s.updated_at, s.confirmed_at, s.unsubscribed_at, s.token_key, s.depths, s.paused_until`

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanSubscriber(r rowScanner) (*subscribers.Subscriber, error) {
	var (
		s                                subscribers.Subscriber
		status, source, digests, tags    string
		depths                           string
		consent, created, updated, confd timeCol
		unsub, paused                    timeCol
	)
	if err := r.Scan(&s.ID, &s.Email, &s.Name, &status, &digests, &tags, &s.Timezone, &source,
		&consent, &s.ConsentIP, &s.ConsentText, &created, &updated, &confd, &unsub, &s.TokenKey, &depths, &paused); err != nil {
		return nil, err
	}
	s.Depths, s.PausedUntil = subscribers.SplitDepths(depths), paused.T
	s.Status, s.Source = subscribers.Status(status), subscribers.Source(source)
	s.Digests, s.Tags = subscribers.SplitList(digests), subscribers.SplitList(tags)
	s.ConsentAt, s.CreatedAt, s.UpdatedAt, s.ConfirmedAt, s.UnsubscribedAt = consent.T, created.T, updated.T, confd.T, unsub.T
	return &s, nil
}

// one reads the subscriber matching where, or ErrNotFound. Inside a write
// transaction the row is locked until it ends (FOR UPDATE on PostgreSQL;
// SQLite's write transactions run one at a time).
func (s *DB) one(ctx context.Context, q querier, where string, arg any) (*subscribers.Subscriber, error) {
	query := `SELECT ` + subscriberCols + ` FROM subscribers s WHERE ` + where
	if _, inTx := q.(*sql.Tx); inTx {
		query += s.d.forUpdate
	}
	sub, err := scanSubscriber(q.QueryRowContext(ctx, s.d.q(query), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, subscribers.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get subscriber: %w", err)
	}
	return sub, nil
}

func (s *DB) byID(ctx context.Context, q querier, id int64) (*subscribers.Subscriber, error) {
	return s.one(ctx, q, `s.id = ?`, id)
}

func (s *DB) byKey(ctx context.Context, q querier, key string) (*subscribers.Subscriber, error) {
	return s.one(ctx, q, `s.email_key = ?`, key)
}

// insert writes a new subscriber and its digests, setting sub.ID and
// sub.TokenKey (16 bytes from crypto/rand), or gives ErrExists. A
// forgotten address created again loses its suppression.
func (s *DB) insert(ctx context.Context, tx *sql.Tx, sub *subscribers.Subscriber) error {
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("store: token key: %w", err)
	}
	err := tx.QueryRowContext(ctx, s.d.q(`INSERT INTO subscribers (email, email_key, source, created_at, token_key, `+subscriberFields+`)
		VALUES (`+placeholders(18)+`) ON CONFLICT (email_key) DO NOTHING RETURNING id`),
		s.d.fieldValues(sub, sub.Email, strings.ToLower(sub.Email), string(sub.Source), s.d.t(sub.CreatedAt), key)...).Scan(&sub.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return subscribers.ErrExists
	}
	if err != nil {
		return fmt.Errorf("store: insert subscriber: %w", err)
	}
	sub.TokenKey = key
	if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM suppressions WHERE email_hash = ?`), subscribers.HashEmail(sub.Email)); err != nil {
		return fmt.Errorf("store: unsuppress: %w", err)
	}
	return s.setDigests(ctx, tx, sub.ID, sub.Digests)
}

// subscriberFields are the columns of a subscriber that change, as
// fieldValues gives them.
const subscriberFields = `name, status, digests, tags, timezone, consent_at, consent_ip, consent_text,
	updated_at, confirmed_at, unsubscribed_at, depths, paused_until`

// fieldValues appends sub's values for subscriberFields to args.
func (d *dialect) fieldValues(sub *subscribers.Subscriber, args ...any) []any {
	return append(args, sub.Name, string(sub.Status), subscribers.JoinList(sub.Digests), subscribers.JoinList(sub.Tags), sub.Timezone,
		d.t(sub.ConsentAt), sub.ConsentIP, sub.ConsentText, d.t(sub.UpdatedAt), d.t(sub.ConfirmedAt), d.t(sub.UnsubscribedAt),
		subscribers.JoinDepths(sub.Depths), d.t(sub.PausedUntil))
}

// update rewrites every mutable field of sub.
func (s *DB) update(ctx context.Context, tx *sql.Tx, sub *subscribers.Subscriber, digestsChanged bool) error {
	_, err := tx.ExecContext(ctx, s.d.q(`UPDATE subscribers SET (`+subscriberFields+`) = (`+placeholders(13)+`) WHERE id = ?`),
		append(s.d.fieldValues(sub), sub.ID)...)
	if err != nil {
		return fmt.Errorf("store: update subscriber %d: %w", sub.ID, err)
	}
	if digestsChanged {
		return s.setDigests(ctx, tx, sub.ID, sub.Digests)
	}
	return nil
}

// setDigests replaces the subscriber_digests rows of one subscriber.
func (s *DB) setDigests(ctx context.Context, tx *sql.Tx, id int64, digests []string) error {
	if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM subscriber_digests WHERE subscriber_id = ?`), id); err != nil {
		return fmt.Errorf("store: digests of %d: %w", id, err)
	}
	for _, name := range digests {
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO subscriber_digests (digest, subscriber_id) VALUES (?, ?)`), name, id); err != nil {
			return fmt.Errorf("store: digests of %d: %w", id, err)
		}
	}
	return nil
}

// event appends one change to a subscriber's history.
func (s *DB) event(ctx context.Context, tx *sql.Tx, id int64, at time.Time, c subscribers.Change) error {
	_, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO subscriber_events (subscriber_id, at, from_status, to_status, reason) VALUES (?, ?, ?, ?, ?)`),
		id, s.d.t(at), string(c.From), string(c.To), c.Reason)
	if err != nil {
		return fmt.Errorf("store: event of %d: %w", id, err)
	}
	return nil
}

// Create inserts a new subscriber (see subscribers.PrepareNew) with a
// creation event, setting its ID, TokenKey and times. An address taken in
// any case gives ErrExists; a forgotten one may be created again.
func (s *DB) Create(ctx context.Context, sub *subscribers.Subscriber, reason string) error {
	now := time.Now().UTC()
	if err := subscribers.PrepareNew(sub, now); err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := s.insert(ctx, tx, sub); err != nil {
			return err
		}
		return s.event(ctx, tx, sub.ID, now, subscribers.Change{To: sub.Status, Reason: reason})
	})
}

// Get returns the subscriber with id.
func (s *DB) Get(ctx context.Context, id int64) (*subscribers.Subscriber, error) {
	return s.byID(ctx, s.db, id)
}

// GetByEmail returns the subscriber with this address, in any case.
func (s *DB) GetByEmail(ctx context.Context, email string) (*subscribers.Subscriber, error) {
	return s.byKey(ctx, s.db, subscribers.EmailKey(email))
}

// Subscribe checks req (SubscribeRequest.Validate), writes what
// subscribers.PlanSubscribe decides and returns what is stored. Of two
// sign-ups of one new address racing on PostgreSQL, the loser retries as
// an update.
func (s *DB) Subscribe(ctx context.Context, req subscribers.SubscribeRequest) (*subscribers.Subscriber, subscribers.Outcome, error) {
	if err := req.Validate(); err != nil {
		return nil, "", err
	}
	for attempt := 0; ; attempt++ {
		var (
			out     *subscribers.Subscriber
			outcome subscribers.Outcome
		)
		err := s.writeTx(ctx, func(tx *sql.Tx) error {
			now := time.Now().UTC()
			old, err := s.byKey(ctx, tx, strings.ToLower(req.Email))
			if err != nil && !errors.Is(err, subscribers.ErrNotFound) {
				return err
			}
			var ev *subscribers.Change
			out, outcome, ev = subscribers.PlanSubscribe(old, req, now)
			if outcome == subscribers.Unchanged || outcome == subscribers.StillPending {
				return nil
			}
			if old == nil {
				err = s.insert(ctx, tx, out)
			} else {
				err = s.update(ctx, tx, out, subscribers.JoinList(old.Digests) != subscribers.JoinList(out.Digests))
			}
			if err != nil {
				return err
			}
			if ev != nil {
				return s.event(ctx, tx, out.ID, now, *ev)
			}
			return nil
		})
		if errors.Is(err, subscribers.ErrExists) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return out, outcome, nil
	}
}

// SetStatus moves a subscriber to status to with an event (see
// subscribers.ApplyStatus); setting the status it has does nothing.
func (s *DB) SetStatus(ctx context.Context, id int64, to subscribers.Status, reason string) error {
	if !to.Valid() {
		return fmt.Errorf("store: unknown status %q", to)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		return s.setStatusTx(ctx, tx, id, to, reason, time.Now().UTC())
	})
}

// setStatusTx is SetStatus inside tx.
func (s *DB) setStatusTx(ctx context.Context, tx *sql.Tx, id int64, to subscribers.Status, reason string, now time.Time) error {
	sub, err := s.byID(ctx, tx, id)
	if err != nil {
		return err
	}
	return s.moveStatus(ctx, tx, sub, to, reason, now)
}

// moveStatus moves sub, read inside tx, to status to at now and appends an
// event with reason; a subscriber already in status to is left alone.
func (s *DB) moveStatus(ctx context.Context, tx *sql.Tx, sub *subscribers.Subscriber, to subscribers.Status, reason string, now time.Time) error {
	if sub.Status == to {
		return nil
	}
	from := sub.Status
	subscribers.ApplyStatus(sub, to, now)
	if err := s.update(ctx, tx, sub, false); err != nil {
		return err
	}
	return s.event(ctx, tx, sub.ID, now, subscribers.Change{From: from, To: to, Reason: reason})
}

// UpdatePreferences replaces the digests, tags, timezone, depths and
// pause.
func (s *DB) UpdatePreferences(ctx context.Context, id int64, p subscribers.Preferences) error {
	if err := subscribers.CheckPreferences(&p); err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		sub, err := s.byID(ctx, tx, id)
		if err != nil {
			return err
		}
		changed := subscribers.JoinList(sub.Digests) != subscribers.JoinList(p.Digests)
		sub.Digests, sub.Tags, sub.Timezone, sub.UpdatedAt = p.Digests, p.Tags, p.Timezone, time.Now().UTC()
		sub.Depths, sub.PausedUntil = p.Depths, p.PausedUntil
		return s.update(ctx, tx, sub, changed)
	})
}

// Forget erases the address for an erasure request, keeping a one-way hash
// in the suppression list so no import mails it again. The subscriber row
// goes; its events stay, anonymous and with reasons blanked (a bounce reply
// can quote the address), ending in "forgotten" so History adds up.
func (s *DB) Forget(ctx context.Context, email string) error {
	key := subscribers.EmailKey(email)
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		// byKey locks the subscriber row first, as a bounce recorded by a
		// sender does, so the two never deadlock on PostgreSQL.
		sub, err := s.byKey(ctx, tx, key)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		exec := func(query string, args ...any) error {
			if _, err := tx.ExecContext(ctx, s.d.q(query), args...); err != nil {
				return fmt.Errorf("store: forget: %w", err)
			}
			return nil
		}
		if err := exec(`UPDATE subscriber_events SET reason = '' WHERE subscriber_id = ?`, sub.ID); err != nil {
			return err
		}
		if err := s.event(ctx, tx, sub.ID, now, subscribers.Change{From: sub.Status, To: subscribers.ForgottenStatus, Reason: "forgotten"}); err != nil {
			return err
		}
		// Deliveries stay (subscriber_id NULL), so an edition's counts
		// never change; what was still to send is cancelled and the
		// replies are blanked.
		if err := exec(`UPDATE deliveries
			SET state = CASE WHEN state IN ('queued', 'retrying') THEN 'cancelled' ELSE state END,
			    next_attempt = CASE WHEN state IN ('queued', 'retrying') THEN NULL ELSE next_attempt END,
			    last_reply = '', leased_by = NULL, lease_until = NULL, updated_at = ?
			WHERE subscriber_id = ?`, s.d.t(now), sub.ID); err != nil {
			return err
		}
		if err := exec(`DELETE FROM subscribers WHERE id = ?`, sub.ID); err != nil {
			return err
		}
		return exec(`INSERT INTO suppressions (email_hash, reason, at) VALUES (?, 'forgotten', ?)
			ON CONFLICT (email_hash) DO NOTHING`, subscribers.HashEmail(sub.Email), s.d.t(now))
	})
}

// Suppressed reports whether the address must not be mailed: its status
// is suppressed, or it was forgotten.
func (s *DB) Suppressed(ctx context.Context, email string) (bool, error) {
	var status string
	var forgotten bool
	err := s.db.QueryRowContext(ctx, s.d.q(`SELECT COALESCE((SELECT status FROM subscribers WHERE email_key = ?), ''),
		EXISTS (SELECT 1 FROM suppressions WHERE email_hash = ?)`), subscribers.EmailKey(email), subscribers.HashEmail(email)).Scan(&status, &forgotten)
	if err != nil {
		return false, fmt.Errorf("store: suppressed: %w", err)
	}
	if status != "" {
		return subscribers.Status(status).Suppressed(), nil
	}
	return forgotten, nil
}

// Events returns a subscriber's status history, oldest first.
func (s *DB) Events(ctx context.Context, id int64) ([]subscribers.Event, error) {
	if _, err := s.byID(ctx, s.db, id); err != nil {
		return nil, err
	}
	var evs []subscribers.Event
	err := s.each(ctx, func(rows *sql.Rows) error {
		e := subscribers.Event{SubscriberID: id}
		var at timeCol
		var from, to string
		if err := rows.Scan(&e.ID, &at, &from, &to, &e.Reason); err != nil {
			return err
		}
		e.At, e.From, e.To = at.T, subscribers.Status(from), subscribers.Status(to)
		evs = append(evs, e)
		return nil
	}, `SELECT id, at, from_status, to_status, reason FROM subscriber_events WHERE subscriber_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("store: events of %d: %w", id, err)
	}
	return evs, nil
}
