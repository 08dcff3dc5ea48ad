package store_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"

	"briefcast/store"
	"briefcast/store/storetest"
)

// TestSQLitePingWrite opens a migrated file again read-only (mode=ro, which
// SQLite enforces itself, so it holds even for root, unlike chmod): Ping
// still answers, PingWrite must not.
func TestSQLitePingWrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	rw, err := store.Open(ctx, "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.PingWrite(ctx); err != nil {
		t.Errorf("writable store: PingWrite = %v, want nil", err)
	}
	if err := rw.PingWrite(ctx); err != nil {
		t.Errorf("writable store, second probe: PingWrite = %v, want nil", err)
	}
	ro, err := store.Open(ctx, "sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatalf("open read-only: %v", err)
	}
	defer ro.Close()
	if err := ro.Ping(ctx); err != nil {
		t.Errorf("read-only store: Ping = %v, want nil", err)
	}
	if err := ro.PingWrite(ctx); err == nil {
		t.Error("read-only store: PingWrite = nil, want an error")
	}
	rw.Close()
}

// TestPostgresPingWrite opens a second store on the same schema with
// default_transaction_read_only on, as on a standby or a database an
// operator has put in read-only mode.
func TestPostgresPingWrite(t *testing.T) {
	ctx := context.Background()
	u := storetest.PostgresURL(t)
	rw, err := store.Open(ctx, "postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if err := rw.PingWrite(ctx); err != nil {
		t.Errorf("writable store: PingWrite = %v, want nil", err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("default_transaction_read_only", "on")
	pu.RawQuery = q.Encode()
	ro, err := store.Open(ctx, "postgres", pu.String())
	if err != nil {
		t.Fatalf("open read-only: %v", err)
	}
	defer ro.Close()
	if err := ro.Ping(ctx); err != nil {
		t.Errorf("read-only store: Ping = %v, want nil", err)
	}
	if err := ro.PingWrite(ctx); err == nil {
		t.Error("read-only store: PingWrite = nil, want an error")
	}
}
