package subscribers

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver: no cgo
)

// SQLiteStore is the embedded Store, one SQLite file in WAL mode.
type SQLiteStore struct {
	db *sql.DB

	// wmu serialises this process's write transactions. SQLite allows one
	// writer at a time; queueing on a mutex is fairer and faster than
	// letting every writer spin in the busy handler. Transactions still
	// start with BEGIN IMMEDIATE (see sqliteDSN), so a second process
	// sharing the file waits on busy_timeout instead of failing with
	// SQLITE_BUSY when a read transaction tries to upgrade.
	wmu sync.Mutex

	// edStmts holds the delivery statements, prepared on first use (see
	// editions_sqlite.go).
	edStmts sqliteEditionStmts
}

var _ Store = (*SQLiteStore)(nil)

// sqliteDSN turns a path (or a file: URI) into a DSN whose pragmas every
// pooled connection runs on connect:
//   - journal_mode(WAL): readers never block the writer and vice versa, so
//     the web server, the digest sender and the CLI can share the file.
//   - synchronous(NORMAL): in WAL mode a commit is durable against a crash
//     of the process (what the digest sender needs to never mail anyone
//     twice); only a power cut can lose the last commits, and it is much
//     faster than FULL because it does not fsync on every commit.
//   - foreign_keys(1): SQLite leaves foreign keys off by default; we rely
//     on ON DELETE CASCADE / SET NULL when a subscriber is forgotten.
//   - busy_timeout(10000): another process holding the write lock makes us
//     wait up to 10 s instead of failing at once.
//   - _txlock=immediate: every transaction takes the write lock at BEGIN, so
//     two writers never deadlock upgrading from a read lock.
func sqliteDSN(path string) string {
	const params = "_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	if path == ":memory:" {
		return "file::memory:?" + params
	}
	if strings.HasPrefix(path, "file:") {
		if strings.Contains(path, "?") {
			return path + "&" + params
		}
		return path + "?" + params
	}
	return "file:" + path + "?" + params
}

// OpenSQLite opens (creating if needed) the SQLite database at path, a file
// path or a file: URI, and applies pending migrations.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	if path == "" {
		return nil, errors.New("subscribers: sqlite: empty database path")
	}
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("subscribers: open sqlite: %w", err)
	}
	if path == ":memory:" || strings.Contains(path, "mode=memory") {
		// Every connection to :memory: is a separate database.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &SQLiteStore{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Ping implements Store.
func (s *SQLiteStore) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("subscribers: ping sqlite: %w", err)
	}
	return nil
}

// Close implements Store.
func (s *SQLiteStore) Close() error { return s.db.Close() }

// writeTx runs fn in one write transaction (BEGIN IMMEDIATE), committing
// when fn returns nil. Every write of the SQLite store goes through it.
func (s *SQLiteStore) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("subscribers: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("subscribers: commit: %w", err)
	}
	return nil
}

// rebuildTx is writeTx with foreign key enforcement off, for a migration
// that rebuilds a table other tables reference: dropping the old table
// must not cascade. The pragma cannot change inside a transaction, so it
// is set on one connection around it; PRAGMA foreign_key_check must find
// nothing before the commit.
func (s *SQLiteStore) rebuildTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("subscribers: connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return fmt.Errorf("subscribers: foreign keys off: %w", err)
	}
	defer func() {
		// A pooled connection must never keep foreign keys off: if they
		// cannot be turned back on, the connection is thrown away.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("subscribers: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := foreignKeyCheck(ctx, tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("subscribers: commit: %w", err)
	}
	return nil
}

// foreignKeyCheck fails when any row references a missing parent.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fkid int64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return fmt.Errorf("foreign key check: %w", err)
		}
		return fmt.Errorf("foreign key check: row %d of %s references a missing row of %s", rowid.Int64, table, parent)
	}
	return rows.Err()
}

// migrate applies every embedded migration newer than the database, each
// in its own IMMEDIATE transaction (which also keeps two processes opening
// the file at once from applying one twice).
func (s *SQLiteStore) migrate(ctx context.Context) error {
	ms, err := loadMigrations("sqlite")
	if err != nil {
		return err
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	// Up to date: no write transaction, so a read-only open still works
	// (PingWrite then reports it).
	var current int
	if s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current) == nil && current == latest {
		return nil
	}
	if err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL)`)
		return err
	}); err != nil {
		return fmt.Errorf("subscribers: migrate sqlite: %w", err)
	}
	for _, m := range ms {
		run := s.writeTx
		if m.ForeignKeysOff {
			run = s.rebuildTx
		}
		err := run(ctx, func(tx *sql.Tx) error {
			var current int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
				return err
			}
			if current > latest {
				return tooNew(current, latest)
			}
			if current >= m.Version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply %s: %w", m.Name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, time.Now().UnixMicro())
			return err
		})
		if errors.Is(err, ErrSchemaTooNew) {
			return err
		}
		if err != nil {
			return fmt.Errorf("subscribers: migrate sqlite: %w", err)
		}
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("subscribers: migrate sqlite: %w", err)
	}
	if current > latest {
		return tooNew(current, latest)
	}
	return nil
}

// sqlMicros encodes t as the stores' SQLite time: unix microseconds, NULL
// for the zero time.
func sqlMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros decodes a SQLite time column.
func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}
