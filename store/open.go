package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"briefcast/config"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver: no cgo
)

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
