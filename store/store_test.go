package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"briefcast/store"
	"briefcast/store/storetest"
)

func TestSQLiteStore(t *testing.T) {
	storetest.Run(t, storetest.SQLite)
}

func TestPostgresStore(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("%s is not set: skipping PostgreSQL", storetest.PostgresEnv)
	}
	storetest.Run(t, storetest.Postgres)
}

func TestOpenUnknownDriver(t *testing.T) {
	if _, err := store.Open(context.Background(), "mysql", "x"); err == nil || !strings.Contains(err.Error(), "mysql") {
		t.Errorf("got %v, want an error naming the driver", err)
	}
}

func TestSQLiteMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	for range 3 {
		st, err := store.Open(ctx, "sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, max int
	if err := db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	want := store.SchemaVersion("sqlite")
	if n != want || max != want {
		t.Errorf("schema_migrations has %d rows up to %d, want %d up to %d", n, max, want, want)
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', 0)`, want+5); err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(ctx, "sqlite", path)
	checkTooNew(t, err, want+5, want)
}

func checkTooNew(t *testing.T, err error, db, binary int) {
	t.Helper()
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("open newer schema: got %v, want ErrSchemaTooNew", err)
	}
	for _, v := range []string{fmt.Sprint("version ", db), fmt.Sprint("version ", binary)} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("message %q does not name %q", err, v)
		}
	}
}

func TestPostgresMigrations(t *testing.T) {
	ctx := context.Background()
	url := storetest.PostgresURL(t)
	// Several processes starting at once must apply each migration once.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := store.Open(ctx, "postgres", url)
			if err == nil {
				st.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, max int
	if err := conn.QueryRow(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	want := store.SchemaVersion("postgres")
	if n != want || max != want {
		t.Errorf("schema_migrations has %d rows up to %d, want %d up to %d", n, max, want, want)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future.sql', now())`, want+5); err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(ctx, "postgres", url)
	checkTooNew(t, err, want+5, want)
}
