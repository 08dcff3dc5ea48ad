package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered files, NNN_name.sql, applied in numeric order,
// each in its own transaction, and recorded in schema_migrations.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migration is one embedded schema step.
type migration struct {
	Version int
	Name    string
	SQL     string
}

// foreignKeysOff starts the file of a SQLite migration that rebuilds a
// table others reference, so it runs with foreign keys off (see rebuildTx).
const foreignKeysOff = "-- briefcast: foreign_keys off\n"

// loadMigrations reads the migrations of one dialect ("sqlite" or
// "postgres"), sorted by version.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if !ok || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("store: migration %s: name must be NNN_name.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %s: bad version number", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("store: migrations %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", name, err)
		}
		ms = append(ms, migration{Version: v, Name: name, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.Version - b.Version })
	return ms, nil
}

// migrationLockID is the pg_advisory_xact_lock key that serialises
// migrations of processes starting at once on PostgreSQL.
const migrationLockID = 0x62726566 // "bref"

// migrate applies every embedded migration newer than the database, each
// in its own transaction, and records it in schema_migrations.
func (s *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.d.name)
	if err != nil {
		return err
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	// Up to date: no write transaction, so a read-only file or server
	// still opens (PingWrite then reports it).
	var current int
	if s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current) == nil && current == latest {
		return nil
	}
	for i := range ms {
		if err := s.migrateStep(ctx, &ms[i], latest); err != nil {
			return err
		}
	}
	// A newer binary may have migrated the database meanwhile.
	return s.migrateStep(ctx, nil, latest)
}

// migrateStep applies m (nil: only checks the version) in one transaction
// unless the database already has it.
func (s *DB) migrateStep(ctx context.Context, m *migration, latest int) error {
	run := s.writeTx
	if m != nil && strings.HasPrefix(m.SQL, foreignKeysOff) && !s.d.postgres {
		run = s.rebuildTx
	}
	err := run(ctx, func(tx *sql.Tx) error {
		appliedAt := "INTEGER"
		if s.d.postgres {
			appliedAt = "timestamptz"
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockID)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at `+appliedAt+` NOT NULL)`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if current > latest {
			return fmt.Errorf("%w: the database is at schema version %d but this binary knows only up to version %d; upgrade briefcast",
				ErrSchemaTooNew, current, latest)
		}
		if m == nil || current >= m.Version {
			return nil
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("apply %s: %w", m.Name, err)
		}
		_, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.Version, m.Name, s.d.t(time.Now()))
		return err
	})
	if err != nil && !errors.Is(err, ErrSchemaTooNew) {
		return fmt.Errorf("store: migrate %s: %w", s.d.name, err)
	}
	return err
}

// rebuildTx is writeTx with foreign keys off, for a SQLite migration that
// rebuilds a table others reference: dropping the old table must not
// cascade. The pragma cannot change inside a transaction, so it is set on
// one connection around it, and checked before the commit.
func (s *DB) rebuildTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return fmt.Errorf("store: foreign keys off: %w", err)
	}
	defer func() {
		// A pooled connection must never keep foreign keys off: if they
		// cannot be turned back on, the connection is thrown away.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return commitTx(ctx, conn, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return foreignKeyCheck(ctx, tx)
	})
}

// foreignKeyCheck fails when any row references a missing parent.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	var (
		table, parent string
		rowid         sql.NullInt64
		fkid          int64
	)
	err := tx.QueryRowContext(ctx, `PRAGMA foreign_key_check`).Scan(&table, &rowid, &parent, &fkid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	return fmt.Errorf("foreign key check: row %d of %s references a missing row of %s", rowid.Int64, table, parent)
}
