package subscribers

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// txn is one write transaction of a store, in the store's SQL dialect: the
// steps that Create, Subscribe, SetStatus and UpdatePreferences are made
// of, so that both stores share those methods' logic. A row read through a
// txn stays the transaction's until it ends (FOR UPDATE on PostgreSQL;
// SQLite's write transactions run one at a time).
type txn interface {
	byID(ctx context.Context, id int64) (*Subscriber, error)
	byKey(ctx context.Context, key string) (*Subscriber, error)
	// insert writes a new subscriber and its digests, setting sub.ID, or
	// gives ErrExists.
	insert(ctx context.Context, sub *Subscriber) error
	// update rewrites every mutable field of sub.
	update(ctx context.Context, sub *Subscriber, digestsChanged bool) error
	// unsuppress lifts the suppression of a forgotten address.
	unsuppress(ctx context.Context, email string) error
	event(ctx context.Context, id int64, at time.Time, c statusChange) error
}

// newTokenKey draws the token key of a new subscriber (see
// Subscriber.TokenKey): 16 bytes from crypto/rand.
func newTokenKey() ([]byte, error) {
	k := make([]byte, 16)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("subscribers: token key: %w", err)
	}
	return k, nil
}

// txStore runs fn in one write transaction, committed when fn returns nil.
type txStore interface {
	inTx(ctx context.Context, fn func(txn) error) error
}

// create implements Store.Create for both stores. Creating a forgotten address
// lifts its suppression: the person is back.
func create(ctx context.Context, st txStore, sub *Subscriber, reason string) error {
	if err := checkSubscriber(sub); err != nil {
		return err
	}
	now := time.Now().UTC()
	stampCreate(sub, now)
	return st.inTx(ctx, func(tx txn) error {
		if err := tx.insert(ctx, sub); err != nil {
			return err
		}
		if err := tx.unsuppress(ctx, sub.Email); err != nil {
			return fmt.Errorf("subscribers: create: %w", err)
		}
		return tx.event(ctx, sub.ID, now, statusChange{To: sub.Status, Reason: reason})
	})
}

// subscribe implements Store.Subscribe for both stores. Two sign-ups of one
// new address racing each other (PostgreSQL): the loser's insert conflicts
// and it retries as an update.
func subscribe(ctx context.Context, st txStore, req SubscribeRequest) (*Subscriber, Outcome, error) {
	if err := req.Validate(); err != nil {
		return nil, "", err
	}
	for attempt := 0; ; attempt++ {
		var (
			out     *Subscriber
			outcome Outcome
		)
		err := st.inTx(ctx, func(tx txn) error {
			now := time.Now().UTC()
			old, err := tx.byKey(ctx, strings.ToLower(req.Email))
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			var ev *statusChange
			out, outcome, ev = planSubscribe(old, req, now)
			if outcome == Unchanged || outcome == StillPending {
				return nil
			}
			if old == nil {
				if err := tx.unsuppress(ctx, req.Email); err != nil {
					return fmt.Errorf("subscribers: subscribe: %w", err)
				}
				err = tx.insert(ctx, out)
			} else {
				err = tx.update(ctx, out, joinList(old.Digests) != joinList(out.Digests))
			}
			if err != nil {
				return err
			}
			if ev != nil {
				return tx.event(ctx, out.ID, now, *ev)
			}
			return nil
		})
		if errors.Is(err, ErrExists) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return out, outcome, nil
	}
}

// setStatus implements Store.SetStatus for both stores.
func setStatus(ctx context.Context, st txStore, id int64, to Status, reason string) error {
	if !to.Valid() {
		return fmt.Errorf("subscribers: unknown status %q", to)
	}
	return st.inTx(ctx, func(tx txn) error {
		sub, err := tx.byID(ctx, id)
		if err != nil {
			return err
		}
		if sub.Status == to {
			return nil
		}
		now := time.Now().UTC()
		from := sub.Status
		applyStatus(sub, to, now)
		if err := tx.update(ctx, sub, false); err != nil {
			return err
		}
		return tx.event(ctx, id, now, statusChange{From: from, To: to, Reason: reason})
	})
}

// updatePreferences implements Store.UpdatePreferences for both stores.
func updatePreferences(ctx context.Context, st txStore, id int64, p Preferences) error {
	if err := checkPreferences(&p); err != nil {
		return err
	}
	return st.inTx(ctx, func(tx txn) error {
		sub, err := tx.byID(ctx, id)
		if err != nil {
			return err
		}
		changed := joinList(sub.Digests) != joinList(p.Digests)
		sub.Digests, sub.Tags, sub.Timezone, sub.UpdatedAt = p.Digests, p.Tags, p.Timezone, time.Now().UTC()
		return tx.update(ctx, sub, changed)
	})
}

// sqliteTxn is a txn of the SQLite store.
type sqliteTxn struct {
	s  *SQLiteStore
	tx *sql.Tx
}

func (s *SQLiteStore) inTx(ctx context.Context, fn func(txn) error) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error { return fn(sqliteTxn{s, tx}) })
}

func (t sqliteTxn) byID(ctx context.Context, id int64) (*Subscriber, error) {
	return t.s.byID(ctx, t.tx, id)
}

func (t sqliteTxn) byKey(ctx context.Context, key string) (*Subscriber, error) {
	return t.s.byKey(ctx, t.tx, key)
}

func (t sqliteTxn) insert(ctx context.Context, sub *Subscriber) error {
	return t.s.insert(ctx, t.tx, sub)
}

func (t sqliteTxn) update(ctx context.Context, sub *Subscriber, digestsChanged bool) error {
	return t.s.update(ctx, t.tx, sub, digestsChanged)
}

func (t sqliteTxn) unsuppress(ctx context.Context, email string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM suppressions WHERE email_hash = ?`, HashEmail(email))
	return err
}

func (t sqliteTxn) event(ctx context.Context, id int64, at time.Time, c statusChange) error {
	return t.s.event(ctx, t.tx, id, at, c)
}

// pgTxn is a txn of the PostgreSQL store.
type pgTxn struct {
	s  *PostgresStore
	tx pgx.Tx
}

func (s *PostgresStore) inTx(ctx context.Context, fn func(txn) error) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return fn(pgTxn{s, tx}) })
}

func (t pgTxn) byID(ctx context.Context, id int64) (*Subscriber, error) {
	return t.s.byID(ctx, t.tx, id, true)
}

func (t pgTxn) byKey(ctx context.Context, key string) (*Subscriber, error) {
	return t.s.byKey(ctx, t.tx, key, true)
}

func (t pgTxn) insert(ctx context.Context, sub *Subscriber) error {
	return t.s.insert(ctx, t.tx, sub)
}

func (t pgTxn) update(ctx context.Context, sub *Subscriber, digestsChanged bool) error {
	return t.s.update(ctx, t.tx, sub, digestsChanged)
}

func (t pgTxn) unsuppress(ctx context.Context, email string) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM suppressions WHERE email_hash = $1`, HashEmail(email))
	return err
}

func (t pgTxn) event(ctx context.Context, id int64, at time.Time, c statusChange) error {
	return t.s.event(ctx, t.tx, id, at, c)
}
