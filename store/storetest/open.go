package storetest

import (
	"briefcast/store"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the variable holding the URL of a PostgreSQL server the
// tests may create databases on.
const PostgresEnv = "BRIEFCAST_TEST_POSTGRES"

// SQLite opens a store on a new file in t.TempDir(), closed at cleanup.
func SQLite(t *testing.T) *store.DB {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "briefcast.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Postgres opens a store on a fresh database (see PostgresURL), closed at
// cleanup. It skips the test when BRIEFCAST_TEST_POSTGRES is unset.
func Postgres(t *testing.T) *store.DB {
	t.Helper()
	u := PostgresURL(t)
	st, err := store.Open(context.Background(), "postgres", u)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	// Registered after PostgresURL's cleanup, so it runs before the drop.
	t.Cleanup(func() { st.Close() })
	return st
}

// PostgresURL creates a fresh, empty schema briefcast_test_<random> in the
// database named by BRIEFCAST_TEST_POSTGRES, drops it (CASCADE) at cleanup,
// and returns a URL whose connections use only that schema (search_path).
// It skips the test when the variable is unset.
//
// A schema rather than a whole database per call: CREATE DATABASE copies a
// template and fsyncs it, 1-2 s each, which over the suite's few dozen
// subtests would be over a minute; a schema is as isolated for the store
// (every object it makes, schema_migrations included, lives in it) and takes
// milliseconds. CI already gives each run a fresh database.
func PostgresURL(t *testing.T) string {
	t.Helper()
	return PostgresURLTB(t)
}

// PostgresURLTB is PostgresURL for benchmarks and other testing.TB users.
func PostgresURLTB(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("%s is not set: skipping PostgreSQL (set it to a server URL such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL", PostgresEnv)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "briefcast_test_" + hex.EncodeToString(b[:])
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", PostgresEnv, err)
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE SCHEMA " + pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if err := exec("DROP SCHEMA IF EXISTS " + pgx.Identifier{name}.Sanitize() + " CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}
