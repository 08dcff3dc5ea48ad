package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"briefcast/store"
	"briefcast/subscribers"
)

// oldSQLiteDB writes a database at the schema of version 2 (before ids
// were AUTOINCREMENT and rows had token keys): three subscribers, the
// newest of them (id 4) already forgotten, so only its anonymous events
// are left, with digests, events and deliveries pointing at the others.
func oldSQLiteDB(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
	for v, name := range []string{"001_subscribers.sql", "002_editions.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", "sqlite", name))
		if err != nil {
			t.Fatal(err)
		}
		exec(string(b))
		exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, v+1, name)
	}
	for _, id := range []int{1, 2, 3} {
		exec(`INSERT INTO subscribers (id, email, email_key, name, status, digests, created_at, updated_at)
			VALUES (?, ?, ?, 'Old', 'active', 'daily', 1, 1)`, id, "p"+string(rune('0'+id))+"@example.com", "p"+string(rune('0'+id))+"@example.com")
		exec(`INSERT INTO subscriber_digests (digest, subscriber_id) VALUES ('daily', ?)`, id)
		exec(`INSERT INTO subscriber_events (subscriber_id, at, to_status, reason) VALUES (?, 1, 'active', 'import')`, id)
	}
	// Subscriber 4, forgotten: two anonymous events, nothing else.
	exec(`INSERT INTO subscriber_events (subscriber_id, at, to_status) VALUES (NULL, 2, 'active')`)
	exec(`INSERT INTO subscriber_events (subscriber_id, at, from_status, to_status) VALUES (NULL, 3, 'active', 'forgotten')`)
	exec(`INSERT INTO editions (id, digest, key, cutoff, created_at) VALUES (1, 'daily', 'k1', 1, 1)`)
	for _, id := range []int{1, 2, 3} {
		exec(`INSERT INTO deliveries (edition_id, subscriber_id, state, updated_at) VALUES (1, ?, 'sent', 1)`, id)
	}
}

// TestSQLiteMigrateTokenKeys opens a database of the old schema: every row,
// digest, event and delivery survives the rebuild, every subscriber gets
// its own token key, foreign keys still hold (and are enforced again), and
// no id ever handed out, the forgotten subscriber's included, is given out
// again.
func TestSQLiteMigrateTokenKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	oldSQLiteDB(t, path)
	st, err := store.Open(ctx, "sqlite", path)
	if err != nil {
		t.Fatalf("open old database: %v", err)
	}
	defer st.Close()

	var keys [][]byte
	for id := int64(1); id <= 3; id++ {
		s, err := st.Get(ctx, id)
		if err != nil {
			t.Fatalf("Get(%d) after the migration: %v", id, err)
		}
		if s.Name != "Old" || len(s.Digests) != 1 || len(s.TokenKey) != 16 {
			t.Errorf("subscriber %d after the migration: %+v", id, s)
		}
		for _, k := range keys {
			if bytes.Equal(k, s.TokenKey) {
				t.Errorf("subscriber %d shares a token key", id)
			}
		}
		keys = append(keys, s.TokenKey)
		if evs, err := st.Events(ctx, id); err != nil || len(evs) != 1 {
			t.Errorf("events of %d: %v, %v", id, evs, err)
		}
	}
	p, err := st.Progress(ctx, 1)
	if err != nil || p.Sent != 3 {
		t.Errorf("deliveries after the migration: %+v, %v", p, err)
	}
	var subs []string
	st.List(ctx, subscribers.Filter{Digest: "daily"}, func(s *subscribers.Subscriber) error {
		subs = append(subs, s.Email)
		return nil
	})
	if len(subs) != 3 {
		t.Errorf("subscribers of daily after the migration: %v", subs)
	}

	// New subscribers, by each path, number after every id ever given out.
	s, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: "new@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID <= 4 {
		t.Errorf("new subscriber got id %d, want above 4 (the forgotten subscriber's)", s.ID)
	}
	if _, err := st.Import(ctx, []subscribers.ImportRow{{Line: 2, Email: "imp@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if imp, err := st.GetByEmail(ctx, "imp@example.com"); err != nil || imp.ID <= s.ID || len(imp.TokenKey) != 16 {
		t.Errorf("imported subscriber: %+v, %v", imp, err)
	}

	// Foreign keys are on again: forgetting sets the subscriber of their
	// delivery NULL (ON DELETE SET NULL, migration 005); the row stays.
	if err := st.Forget(ctx, "p1@example.com"); err != nil {
		t.Fatal(err)
	}
	if p, err := st.Progress(ctx, 1); err != nil || p.Total() != 3 {
		t.Errorf("deliveries after forgetting one subscriber: %+v, %v", p, err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var orphans int
	if err := db.QueryRow(`SELECT count(*) FROM deliveries WHERE subscriber_id IS NULL`).Scan(&orphans); err != nil || orphans != 1 {
		t.Errorf("deliveries without a subscriber after Forget: %d, %v; want 1", orphans, err)
	}
	rows, err := db.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign_key_check finds dangling rows")
	}
	rows.Close()
	var ddl string
	if err := db.QueryRow(`SELECT sql FROM sqlite_schema WHERE name = 'subscriber_digests'`).Scan(&ddl); err != nil || !bytes.Contains([]byte(ddl), []byte("REFERENCES subscribers")) {
		t.Errorf("subscriber_digests now reads %q, %v", ddl, err)
	}
}
