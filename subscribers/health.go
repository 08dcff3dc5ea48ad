package subscribers

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// PingWrite implements Store: it rewrites the single row of health_probe in
// a committed transaction, so a read-only file (or a read-only open) and a
// full disk both fail it.
func (s *SQLiteStore) PingWrite(ctx context.Context) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO health_probe (id, checked_at) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`, time.Now().UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("subscribers: write probe sqlite: %w", err)
	}
	return nil
}

// PingWrite implements Store: it rewrites the single row of health_probe,
// which fails on a standby, under default_transaction_read_only and when
// the server cannot write its WAL.
func (s *PostgresStore) PingWrite(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO health_probe (id, checked_at) VALUES (1, now())
		ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`)
	if err != nil {
		return fmt.Errorf("subscribers: write probe postgres: %w", err)
	}
	return nil
}
