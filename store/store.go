// Package store keeps subscribers and digest editions in SQLite (the
// embedded default, pure Go) or PostgreSQL (several processes sharing one
// database). One implementation over database/sql serves both; a small
// dialect value, and a few methods branching on it, carry what differs.
//
// Every method is safe for concurrent use. Methods return
// subscribers.ErrNotFound for unknown ids, addresses and editions.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"briefcast/config"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver: no cgo
)

// DB is the store: one *sql.DB and the dialect of its database.
type DB struct {
	db *sql.DB
	d  *dialect

	// wmu serialises this process's write transactions on SQLite, which
	// allows one writer at a time: queueing on a mutex is fairer and faster
	// than spinning in the busy handler. Another process sharing the file
	// waits on busy_timeout (see sqliteDSN).
	wmu sync.Mutex

	stmts sqliteStmts // the SQLite delivery statements
}

// ErrSchemaTooNew is returned by Open for a database migrated by a newer
// binary.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// Open opens the store for driver ("sqlite" or "postgres") at dsn (a file
// path or file: URI, or a PostgreSQL URL) and applies any pending
// migrations.
func Open(ctx context.Context, driver, dsn string) (*DB, error) {
	var (
		db  *sql.DB
		d   *dialect
		err error
	)
	switch driver {
	case "sqlite":
		db, err = openSQLite(dsn)
		d = sqliteDialect
	case "postgres":
		db, err = openPostgres(dsn)
		d = postgresDialect
	default:
		return nil, fmt.Errorf("store: unknown store driver %q (want \"sqlite\" or \"postgres\")", driver)
	}
	if err != nil {
		return nil, err
	}
	s := &DB{db: db, d: d}
	if err = s.migrate(ctx); err == nil && !d.postgres {
		err = s.prepareSQLite(ctx)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// sqliteDSN turns a path (or a file: URI) into a DSN whose pragmas every
// pooled connection runs on connect:
//   - journal_mode(WAL): readers and the writer never block each other.
//   - synchronous(NORMAL): in WAL mode a commit survives a crash of the
//     process (so no one is mailed twice); only a power cut can lose the
//     last commits, and it is much faster than FULL.
//   - foreign_keys(1): forgetting a subscriber relies on ON DELETE.
//   - busy_timeout(10000): wait up to 10 s for another process's write.
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

func openSQLite(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("store: sqlite: empty database path")
	}
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	if config.SQLiteFile(path) == "" {
		// Every connection to :memory: is a separate database.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

func openPostgres(url string) (*sql.DB, error) {
	if url == "" {
		return nil, errors.New("store: postgres: empty database URL")
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx errors can echo the URL, password included.
		return nil, errors.New("store: postgres: malformed database URL")
	}
	db := stdlib.OpenDB(*cfg)
	// Idle connections are kept so that each keeps its prepared statements.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.d.name, err)
	}
	return nil
}

// PingWrite checks that the database takes writes by rewriting the row of
// health_probe: a read-only file or server or a full disk fail it where
// Ping succeeds. Run it at most every second or so.
func (s *DB) PingWrite(ctx context.Context) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO health_probe (id, checked_at) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`), s.d.t(time.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: write probe %s: %w", s.d.name, err)
	}
	return nil
}

// Close releases the database.
func (s *DB) Close() error { return s.db.Close() }

// writeTx runs fn in one write transaction, committing when fn returns nil.
// Every write goes through it, for the write mutex on SQLite.
func (s *DB) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if !s.d.postgres {
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	return commitTx(ctx, s.db, fn)
}

// commitTx runs fn in a transaction on c, committing when fn returns nil.
func commitTx(ctx context.Context, c interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}, fn func(tx *sql.Tx) error) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// each runs query, with ? placeholders, and calls scan for every row; an
// error from scan stops it and is returned.
func (s *DB) each(ctx context.Context, scan func(*sql.Rows) error, query string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, s.d.q(query), args...)
	return scanAll(rows, err, scan)
}

// scanAll calls scan for every row of rows, the result of a query that
// failed when err is set, and closes them.
func scanAll(rows *sql.Rows, err error, scan func(*sql.Rows) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// column returns the one text column of query's rows.
func (s *DB) column(ctx context.Context, query string, args ...any) ([]string, error) {
	var out []string
	err := s.each(ctx, func(rows *sql.Rows) error {
		var v string
		err := rows.Scan(&v)
		out = append(out, v)
		return err
	}, query, args...)
	return out, err
}

// set returns query's one text column as a set.
func (s *DB) set(ctx context.Context, query string, args ...any) (map[string]bool, error) {
	vs, err := s.column(ctx, query, args...)
	set := make(map[string]bool, len(vs))
	for _, v := range vs {
		set[v] = true
	}
	return set, err
}

// counts returns the rows of a query selecting a text key and a count.
func (s *DB) counts(ctx context.Context, query string, args ...any) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.each(ctx, func(rows *sql.Rows) error {
		var k string
		var n int64
		err := rows.Scan(&k, &n)
		out[k] = n
		return err
	}, query, args...)
	return out, err
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
