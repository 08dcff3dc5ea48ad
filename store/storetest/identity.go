package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"briefcast/store"
	"briefcast/subscribers"
)

// testForgetNeverReusesID: a forgotten subscriber's id and token key never
// come back, whether the next subscriber signs up, is created, is
// imported, or is the same person asking again. Links are signed with the
// id and the key, so either coming back would let the forgotten person's
// links act on someone else.
func testForgetNeverReusesID(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustCreate(t, st, &subscribers.Subscriber{Email: "older@example.com", Status: subscribers.Active})
	seen := map[int64]string{}
	var keys [][]byte
	remember := func(s *subscribers.Subscriber) {
		t.Helper()
		if prev, ok := seen[s.ID]; ok {
			t.Fatalf("%s got id %d, which %s had", s.Email, s.ID, prev)
		}
		seen[s.ID] = s.Email
		if len(s.TokenKey) < 16 {
			t.Fatalf("%s has token key %x, want 16 random bytes", s.Email, s.TokenKey)
		}
		for _, k := range keys {
			if bytes.Equal(k, s.TokenKey) {
				t.Fatalf("%s has the token key of an earlier subscriber", s.Email)
			}
		}
		keys = append(keys, s.TokenKey)
	}
	forgetNewest := func(email string) {
		t.Helper()
		if err := st.Forget(ctx, email); err != nil {
			t.Fatalf("Forget(%s): %v", email, err)
		}
	}
	signUp := func(email string) *subscribers.Subscriber {
		t.Helper()
		s, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: email, Digests: []string{"daily"}})
		if err != nil {
			t.Fatalf("Subscribe(%s): %v", email, err)
		}
		stored := mustGet(t, st, email)
		if !bytes.Equal(stored.TokenKey, s.TokenKey) {
			t.Fatalf("Subscribe returned token key %x, stored %x", s.TokenKey, stored.TokenKey)
		}
		remember(stored)
		return stored
	}

	signUp("victim@example.com")
	forgetNewest("victim@example.com")
	signUp("stranger@example.com")
	forgetNewest("stranger@example.com")
	remember(mustCreate(t, st, &subscribers.Subscriber{Email: "created@example.com"}))
	forgetNewest("created@example.com")
	mustImport(t, st, []subscribers.ImportRow{{Line: 2, Email: "imported@example.com"}, {Line: 3, Email: "imported2@example.com"}})
	remember(mustGet(t, st, "imported@example.com"))
	remember(mustGet(t, st, "imported2@example.com"))
	forgetNewest("imported2@example.com")
	// The forgotten person comes back: a new row, a new key.
	back := signUp("victim@example.com")
	if _, err := st.Get(ctx, back.ID); err != nil {
		t.Fatal(err)
	}
	for id, email := range seen {
		if email == "victim@example.com" && id != back.ID {
			if _, err := st.Get(ctx, id); !errors.Is(err, subscribers.ErrNotFound) {
				t.Errorf("the forgotten row %d is still there: %v", id, err)
			}
		}
	}
}

// testAddressLookAlikes: an address spelt with a compatibility or
// invisible character is refused rather than landing on the row of the
// address it imitates, and a second sign-up of a stored address changes
// neither its spelling nor anything its owner chose.
func testAddressLookAlikes(t *testing.T, st *store.DB) {
	ctx := context.Background()
	kevin, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: "kevin@example.com", Name: "Kevin",
		Digests: []string{"daily"}, Timezone: "Europe/London"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\u212Aevin@example.com", "ke\u200Bvin@example.com", "kevin\u202E@example.com",
		"\u0130nfo@example.com", "\uFF4Bevin@example.com", "kevin@exampl\u212A.com"} {
		if _, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: bad, Name: "Mallory"}); err == nil {
			t.Errorf("Subscribe(%+q) accepted", bad)
		}
		if err := st.Create(ctx, &subscribers.Subscriber{Email: bad}, "test"); err == nil {
			t.Errorf("Create(%+q) accepted", bad)
		}
		if c := mustImport(t, st, []subscribers.ImportRow{{Line: 2, Email: bad, Name: "Mallory"}}); c.Rejected != 1 {
			t.Errorf("Import(%+q) = %+v, want rejected", bad, c)
		}
	}
	got, out, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: "KEVIN@example.com", Name: "Mallory",
		Digests: []string{"weekly"}, Tags: []string{"x"}, Timezone: "Asia/Tokyo", ConsentIP: "203.0.113.9"})
	if err != nil || out != subscribers.StillPending {
		t.Fatalf("second sign-up: %v, %v; want still pending", out, err)
	}
	stored := mustGet(t, st, "kevin@example.com")
	if got.Email != "kevin@example.com" || stored.Email != "kevin@example.com" || stored.Name != "Kevin" ||
		len(stored.Digests) != 1 || stored.Digests[0] != "daily" || stored.Tags != nil || stored.Timezone != "Europe/London" ||
		stored.ConsentIP != "" || stored.ID != kevin.ID || !bytes.Equal(stored.TokenKey, kevin.TokenKey) {
		t.Errorf("after a second sign-up: returned %q, stored %+v", got.Email, stored)
	}
	// Invisible characters are dropped from names.
	s, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: "ann@example.com", Name: "\u202EAnn\u200B Lee\u2066"})
	if err != nil || s.Name != "Ann Lee" || mustGet(t, st, "ann@example.com").Name != "Ann Lee" {
		t.Errorf("name stored as %+q, %v; want \"Ann Lee\"", s.Name, err)
	}
	mustImport(t, st, []subscribers.ImportRow{{Line: 2, Email: "bo@example.com", Name: "B\u200Do\uFEFF"}})
	if n := mustGet(t, st, "bo@example.com").Name; n != "B\u200Do" {
		t.Errorf("imported name %+q, want %+q (a joiner is kept, the byte order mark dropped)", n, "B\u200Do")
	}
}

func testCaseInsensitive(t *testing.T, st *store.DB) {
	ctx := context.Background()
	s := mustCreate(t, st, &subscribers.Subscriber{Email: "Ann@Example.com", Status: subscribers.Active})
	if s.ID == 0 || s.CreatedAt.IsZero() || s.UpdatedAt.IsZero() {
		t.Fatalf("Create did not set ID and times: %+v", s)
	}
	err := st.Create(ctx, &subscribers.Subscriber{Email: "ann@EXAMPLE.com"}, "test")
	if !errors.Is(err, subscribers.ErrExists) {
		t.Fatalf("second Create in other case: got %v, want ErrExists", err)
	}
	for _, e := range []string{"ann@example.com", "ANN@EXAMPLE.COM", " Ann@example.COM "} {
		got := mustGet(t, st, e)
		if got.ID != s.ID || got.Email != "Ann@example.com" {
			t.Errorf("GetByEmail(%q) = %d %q, want %d %q", e, got.ID, got.Email, s.ID, "Ann@example.com")
		}
	}
	// Non-ASCII letters fold too (SQLite's NOCASE would not).
	mustCreate(t, st, &subscribers.Subscriber{Email: "ÉLODIE@example.com"})
	if err := st.Create(ctx, &subscribers.Subscriber{Email: "élodie@example.com"}, "test"); !errors.Is(err, subscribers.ErrExists) {
		t.Errorf("Create non-ASCII other case: got %v, want ErrExists", err)
	}
	_, out, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: "ANN@example.com", Source: subscribers.SourceForm})
	if err != nil || out != subscribers.Unchanged {
		t.Errorf("Subscribe other case: got %v, %v; want unchanged", out, err)
	}
	counts, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if total := sum(counts); total != 2 {
		t.Errorf("got %d subscribers, want 2", total)
	}
}

func testIDN(t *testing.T, st *store.DB) {
	s := mustCreate(t, st, &subscribers.Subscriber{Email: "Jo@Bücher.Example"})
	if want := "Jo@xn--bcher-kva.example"; s.Email != want {
		t.Errorf("stored %q, want %q", s.Email, want)
	}
	for _, e := range []string{"jo@bücher.example", "JO@XN--BCHER-KVA.EXAMPLE"} {
		if got := mustGet(t, st, e); got.ID != s.ID {
			t.Errorf("GetByEmail(%q) = %d, want %d", e, got.ID, s.ID)
		}
	}
}
