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

// SentArticles returns the ids of the articles already in an edition of
// digest.
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
// delivery per active subscriber of e.Digest in one transaction, setting
// e.ID, e.CreatedAt (unless set) and e.Recipients. An edition with the same
// (Digest, Key) gives editions.ErrExists, so racing processes create it
// once; an article already in an edition of the digest fails it too.
func (s *DB) CreateEdition(ctx context.Context, e *editions.Edition) error {
	return s.createEdition(ctx, e, false, 0)
}

// createEdition is CreateEdition, or CreateWave when wave is set.
func (s *DB) createEdition(ctx context.Context, e *editions.Edition, wave bool, gap time.Duration) error {
	created, err := checkEdition(e)
	if err != nil {
		return err
	}
	what := "edition"
	if wave {
		if !e.Wave() {
			return fmt.Errorf("store: create wave %s/%s: no zones", e.Digest, e.Key)
		}
		what = "wave"
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error { return s.insertEdition(ctx, tx, e, created, wave, gap) })
	if errors.Is(err, editions.ErrExists) {
		return fmt.Errorf("store: %s %s/%s: %w", what, e.Digest, e.Key, err)
	}
	if err != nil {
		return fmt.Errorf("store: create %s %s/%s: %w", what, e.Digest, e.Key, err)
	}
	if s.d.postgres && e.Recipients >= analyzeMin {
		// Until autovacuum analyzes the new rows, the claims of a large
		// edition would sort its whole queue instead of walking
		// deliveries_claim. A failure only costs speed.
		_, _ = s.db.ExecContext(ctx, `ANALYZE (SKIP_LOCKED) deliveries`)
	}
	return nil
}

// insertEdition writes the edition (or wave) e, its articles and its
// deliveries (one INSERT ... SELECT), and fills e from the row written.
func (s *DB) insertEdition(ctx context.Context, tx *sql.Tx, e *editions.Edition, created time.Time, wave bool, gap time.Duration) error {
	d := s.d
	zones, waveCol := "", 0
	if wave {
		zones, waveCol = encodeZones(e.Zones), 1
	}
	var id int64
	err := tx.QueryRowContext(ctx, d.q(`INSERT INTO editions (digest, key, cutoff, created_at, zones)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest, key) DO NOTHING RETURNING id`),
		e.Digest, e.Key, d.t(e.Cutoff), d.t(created), zones).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return editions.ErrExists
	}
	if err != nil {
		return err
	}
	for i, a := range e.Articles {
		if _, err := tx.ExecContext(ctx, d.q(`INSERT INTO edition_articles (edition_id, digest, article_id, position, wave) VALUES (?, ?, ?, ?, ?)`),
			id, e.Digest, a, i, waveCol); err != nil {
			if isUnique(err) {
				return fmt.Errorf("article %q is already in an edition of this digest: %w", a, err)
			}
			return err
		}
	}
	args := []any{id, d.t(created), e.Digest, d.t(e.Cutoff)}
	var inWave string
	if wave {
		inWave = ` AND s.timezone IN (` + placeholders(len(e.Zones)) + `)
		   AND NOT EXISTS (SELECT 1 FROM deliveries p JOIN editions pe ON pe.id = p.edition_id
		        WHERE p.subscriber_id = d.subscriber_id AND pe.digest = ? AND pe.id <> ?
		          AND pe.cutoff > ? AND pe.cutoff < ? AND p.state IN ('queued', 'sent', 'retrying'))`
		for _, z := range e.Zones {
			args = append(args, z)
		}
		args = append(args, e.Digest, id, d.t(e.Cutoff.Add(-gap)), d.t(e.Cutoff.Add(gap)))
	}
	res, err := tx.ExecContext(ctx, d.q(`INSERT INTO deliveries (edition_id, subscriber_id, state, updated_at)
		SELECT ?, d.subscriber_id, 'queued', ?
		  FROM subscriber_digests d JOIN subscribers s ON s.id = d.subscriber_id
		 WHERE d.digest = ? AND s.status = 'active' AND (s.paused_until IS NULL OR s.paused_until <= ?)`+inWave+`
		 ORDER BY d.subscriber_id`), args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, d.q(`UPDATE editions SET recipients = ? WHERE id = ?`), n, id); err != nil {
		return err
	}
	e.ID, e.CreatedAt, e.Recipients, e.FinishedAt = id, created, n, time.Time{}
	return nil
}

const editionCols = `id, digest, key, cutoff, created_at, finished_at, recipients, zones`

// editionList reads the editions matching where (the query's text after
// FROM editions) and each edition's articles.
func (s *DB) editionList(ctx context.Context, where string, args ...any) ([]*editions.Edition, error) {
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
	}, `SELECT `+editionCols+` FROM editions `+where, args...)
	for _, e := range es {
		if err != nil {
			break
		}
		e.Articles, err = s.column(ctx, `SELECT article_id FROM edition_articles WHERE edition_id = ? ORDER BY position`, e.ID)
	}
	return es, err
}

// editionOne reads the first edition editionList finds, or ErrNotFound;
// what names it in the error.
func (s *DB) editionOne(ctx context.Context, what, where string, args ...any) (*editions.Edition, error) {
	es, err := s.editionList(ctx, where, args...)
	if err == nil && len(es) == 0 {
		err = subscribers.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return es[0], nil
}

// Edition returns one edition by id.
func (s *DB) Edition(ctx context.Context, id int64) (*editions.Edition, error) {
	return s.editionOne(ctx, fmt.Sprintf("edition %d", id), `WHERE id = ?`, id)
}

// EditionByKey returns the edition of digest with key, or ErrNotFound.
func (s *DB) EditionByKey(ctx context.Context, digest, key string) (*editions.Edition, error) {
	return s.editionOne(ctx, "edition "+digest+"/"+key, `WHERE digest = ? AND key = ?`, digest, key)
}

// LatestEdition returns the newest edition of digest by Cutoff, or
// ErrNotFound when there is none.
func (s *DB) LatestEdition(ctx context.Context, digest string) (*editions.Edition, error) {
	return s.editionOne(ctx, "latest edition of "+digest, `WHERE digest = ? ORDER BY cutoff DESC, id DESC LIMIT 1`, digest)
}

// UnfinishedEdition returns the oldest edition of digest (by Cutoff) that
// FinishEdition has not yet marked done, or ErrNotFound.
func (s *DB) UnfinishedEdition(ctx context.Context, digest string) (*editions.Edition, error) {
	return s.editionOne(ctx, "unfinished edition of "+digest,
		`WHERE digest = ? AND finished_at IS NULL ORDER BY cutoff, id LIMIT 1`, digest)
}

// Editions returns up to limit (all when <= 0) editions of digest (of all
// when ""), newest (by Cutoff) first.
func (s *DB) Editions(ctx context.Context, digest string, limit int) ([]*editions.Edition, error) {
	es, err := s.editionList(ctx, `WHERE ? = '' OR digest = ? ORDER BY cutoff DESC, id DESC LIMIT ?`, digest, digest, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("store: editions: %w", err)
	}
	return es, nil
}

// checkEdition rejects an edition CreateEdition cannot record, rounds its
// cutoff to the microseconds both databases keep, and returns its creation
// time (e.CreatedAt, else now), rounded the same way.
func checkEdition(e *editions.Edition) (time.Time, error) {
	switch {
	case e == nil:
		return time.Time{}, errors.New("store: create edition: nil edition")
	case e.Digest == "" || e.Key == "":
		return time.Time{}, errors.New("store: create edition: digest and key are required")
	case e.Cutoff.IsZero():
		return time.Time{}, fmt.Errorf("store: create edition %s/%s: cutoff is required", e.Digest, e.Key)
	}
	e.Cutoff = e.Cutoff.UTC().Truncate(time.Microsecond)
	created := e.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	return created.UTC().Truncate(time.Microsecond), nil
}
