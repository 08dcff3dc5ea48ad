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

// SentArticles returns the ids of every article already included in an
// edition of digest.
func (s *DB) SentArticles(ctx context.Context, digest string) (map[string]bool, error) {
	sent, err := s.set(ctx, `SELECT article_id FROM edition_articles WHERE digest = ?`, digest)
	if err != nil {
		return nil, fmt.Errorf("store: sent articles of %s: %w", digest, err)
	}
	return sent, nil
}

// analyzeMin is the edition size from which CreateEdition refreshes
// PostgreSQL's statistics of deliveries.
const analyzeMin = 1000

// CreateEdition records a new edition, its articles and one queued
// delivery for every active subscriber of e.Digest, all in one
// transaction. It sets e.ID, e.CreatedAt (kept when the caller set it) and
// e.Recipients, and rounds e.Cutoff to microseconds. An edition with the
// same (Digest, Key) gives editions.ErrExists, so several processes racing
// for one scheduled time create it exactly once (on PostgreSQL the second
// waits on the first's unique-index entry). An article already in another
// edition of the digest also fails it. The deliveries are written by one
// INSERT ... SELECT over subscriber_digests: a million recipients cost one
// statement, not a million.
func (s *DB) CreateEdition(ctx context.Context, e *editions.Edition) error {
	if err := checkEdition(e); err != nil {
		return err
	}
	created := editionCreatedAt(e)
	d := s.d
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, d.q(`INSERT INTO editions (digest, key, cutoff, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (digest, key) DO NOTHING RETURNING id`),
			e.Digest, e.Key, d.t(e.Cutoff), d.t(created)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return editions.ErrExists
		}
		if err != nil {
			return err
		}
		for i, a := range e.Articles {
			if _, err := tx.ExecContext(ctx, d.q(`INSERT INTO edition_articles (edition_id, digest, article_id, position) VALUES (?, ?, ?, ?)`),
				id, e.Digest, a, i); err != nil {
				if isUnique(err) {
					return fmt.Errorf("article %q is already in an edition of this digest: %w", a, err)
				}
				return err
			}
		}
		res, err := tx.ExecContext(ctx, d.q(`INSERT INTO deliveries (edition_id, subscriber_id, state, updated_at)
			SELECT ?, d.subscriber_id, 'queued', ?
			  FROM subscriber_digests d JOIN subscribers s ON s.id = d.subscriber_id
			 WHERE d.digest = ? AND s.status = 'active' AND `+notPaused+`
			 ORDER BY d.subscriber_id`), id, d.t(created), e.Digest, d.t(e.Cutoff))
		if err != nil {
			return err
		}
		return s.setRecipients(ctx, tx, e, id, created, res)
	})
	if errors.Is(err, editions.ErrExists) {
		return fmt.Errorf("store: edition %s/%s: %w", e.Digest, e.Key, err)
	}
	if err != nil {
		return fmt.Errorf("store: create edition %s/%s: %w", e.Digest, e.Key, err)
	}
	if d.postgres && e.Recipients >= analyzeMin {
		// The planner knows nothing yet of the rows just added: with the
		// statistics from before (or none), the claims of a large new
		// edition read and sort its whole queue instead of walking
		// deliveries_claim, until autovacuum analyzes the table a minute or
		// so later. SKIP_LOCKED: a vacuum running on the table is not
		// waited for. A failure only costs speed.
		_, _ = s.db.ExecContext(ctx, `ANALYZE (SKIP_LOCKED) deliveries`)
	}
	return nil
}

// notPaused is the condition, on subscribers s, that leaves out of an
// edition (or a wave) the subscribers paused past its cut-off, bound as
// the next argument.
const notPaused = `(s.paused_until IS NULL OR s.paused_until <= ?)`

const editionCols = `id, digest, key, cutoff, created_at, finished_at, recipients, zones`

// editionList runs a query selecting editionCols and loads each edition's
// articles.
func (s *DB) editionList(ctx context.Context, query string, args ...any) ([]*editions.Edition, error) {
	var es []*editions.Edition
	err := s.each(ctx, func(rows *sql.Rows) error {
		var e editions.Edition
		var cutoff, created, finished timeCol
		var zones string
		if err := rows.Scan(&e.ID, &e.Digest, &e.Key, &cutoff, &created, &finished, &e.Recipients, &zones); err != nil {
			return err
		}
		e.Cutoff, e.CreatedAt, e.FinishedAt = cutoff.T, created.T, finished.T
		e.Zones = decodeZones(zones)
		es = append(es, &e)
		return nil
	}, query, args...)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.Articles, err = s.editionArticles(ctx, e.ID); err != nil {
			return nil, err
		}
	}
	return es, nil
}

// editionOne runs a query for at most one edition; ErrNotFound when none.
func (s *DB) editionOne(ctx context.Context, query string, args ...any) (*editions.Edition, error) {
	es, err := s.editionList(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, subscribers.ErrNotFound
	}
	return es[0], nil
}

// editionArticles returns an edition's article ids in their stored order.
func (s *DB) editionArticles(ctx context.Context, id int64) ([]string, error) {
	return s.column(ctx, `SELECT article_id FROM edition_articles WHERE edition_id = ? ORDER BY position`, id)
}

// Edition returns one edition by id.
func (s *DB) Edition(ctx context.Context, id int64) (*editions.Edition, error) {
	e, err := s.editionOne(ctx, `SELECT `+editionCols+` FROM editions WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("store: edition %d: %w", id, err)
	}
	return e, nil
}

// EditionByKey returns the edition of digest with key, or ErrNotFound.
func (s *DB) EditionByKey(ctx context.Context, digest, key string) (*editions.Edition, error) {
	e, err := s.editionOne(ctx, `SELECT `+editionCols+` FROM editions WHERE digest = ? AND key = ?`, digest, key)
	if err != nil {
		return nil, fmt.Errorf("store: edition %s/%s: %w", digest, key, err)
	}
	return e, nil
}

// LatestEdition returns the newest edition of digest by Cutoff, or
// ErrNotFound when there is none.
func (s *DB) LatestEdition(ctx context.Context, digest string) (*editions.Edition, error) {
	e, err := s.editionOne(ctx, `SELECT `+editionCols+` FROM editions WHERE digest = ?
		ORDER BY cutoff DESC, id DESC LIMIT 1`, digest)
	if err != nil {
		return nil, fmt.Errorf("store: latest edition of %s: %w", digest, err)
	}
	return e, nil
}

// UnfinishedEdition returns the oldest edition of digest (by Cutoff) that
// FinishEdition has not yet marked done, or ErrNotFound.
func (s *DB) UnfinishedEdition(ctx context.Context, digest string) (*editions.Edition, error) {
	e, err := s.editionOne(ctx, `SELECT `+editionCols+` FROM editions
		WHERE digest = ? AND finished_at IS NULL ORDER BY cutoff, id LIMIT 1`, digest)
	if err != nil {
		return nil, fmt.Errorf("store: unfinished edition of %s: %w", digest, err)
	}
	return e, nil
}

// Editions returns the newest editions (of digest, or of every digest when
// digest is ""), newest (by Cutoff) first, at most limit (all when limit <=
// 0).
func (s *DB) Editions(ctx context.Context, digest string, limit int) ([]*editions.Edition, error) {
	lim := noLimit
	if limit > 0 {
		lim = int64(limit)
	}
	es, err := s.editionList(ctx, `SELECT `+editionCols+` FROM editions
		WHERE ? = '' OR digest = ? ORDER BY cutoff DESC, id DESC LIMIT ?`, digest, digest, lim)
	if err != nil {
		return nil, fmt.Errorf("store: editions: %w", err)
	}
	return es, nil
}

// checkEdition rejects an edition CreateEdition cannot record, and rounds
// its cutoff down to the microseconds both databases keep, so e reads back
// equal.
func checkEdition(e *editions.Edition) error {
	switch {
	case e == nil:
		return errors.New("store: create edition: nil edition")
	case e.Digest == "" || e.Key == "":
		return errors.New("store: create edition: digest and key are required")
	case e.Cutoff.IsZero():
		return fmt.Errorf("store: create edition %s/%s: cutoff is required", e.Digest, e.Key)
	}
	e.Cutoff = e.Cutoff.UTC().Truncate(time.Microsecond)
	return nil
}

// editionCreatedAt is the creation time CreateEdition records: e.CreatedAt
// when the caller set it (a scheduler with its own clock), else now, at the
// microsecond precision both databases keep.
func editionCreatedAt(e *editions.Edition) time.Time {
	t := e.CreatedAt
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}
