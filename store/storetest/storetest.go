// Package storetest is the one conformance suite every *store.DB
// passes. The SQLite store runs it always, the PostgreSQL store whenever
// BRIEFCAST_TEST_POSTGRES names a server; dialect differences (case
// folding, upserts, locking) are exactly what it is here to catch.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"briefcast/store"
	"briefcast/subscribers"
)

// Run runs every subtest, each on a fresh store from open.
func Run(t *testing.T, open func(t *testing.T) *store.DB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st *store.DB)
	}{
		{"CaseInsensitiveUnique", testCaseInsensitive},
		{"IDN", testIDN},
		{"CreateAndGet", testCreateAndGet},
		{"NotFound", testNotFound},
		{"ConcurrentWriters", testConcurrentWriters},
		{"KeysetStreaming", testKeysetStreaming},
		{"ListFilters", testListFilters},
		{"SubscribeOutcomes", testSubscribeOutcomes},
		{"SetStatusEvents", testSetStatusEvents},
		{"Suppression", testSuppression},
		{"Forget", testForget},
		{"Import", testImport},
		{"ImportSuppressed", testImportSuppressed},
		{"UpdatePreferences", testUpdatePreferences},
		{"Counts", testCounts},
		{"History", testHistory},
		{"ForgetNeverReusesID", testForgetNeverReusesID},
		{"AddressLookAlikes", testAddressLookAlikes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
	RunEditions(t, open)
	RunBounces(t, open)
	RunPreferences(t, open)
}

func mustCreate(t *testing.T, st *store.DB, s *subscribers.Subscriber) *subscribers.Subscriber {
	t.Helper()
	if err := st.Create(context.Background(), s, "test"); err != nil {
		t.Fatalf("Create(%s): %v", s.Email, err)
	}
	return s
}

func mustGet(t *testing.T, st *store.DB, email string) *subscribers.Subscriber {
	t.Helper()
	s, err := st.GetByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("GetByEmail(%s): %v", email, err)
	}
	return s
}

func mustImport(t *testing.T, st *store.DB, rows []subscribers.ImportRow) subscribers.ImportCounts {
	t.Helper()
	c, err := st.Import(context.Background(), rows)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return c
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

func sum(m map[subscribers.Status]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
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

func testCreateAndGet(t *testing.T, st *store.DB) {
	ctx := context.Background()
	consent := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)
	in := &subscribers.Subscriber{
		Email: "kim@example.org", Name: "Kim Example", Status: subscribers.Active,
		Digests: []string{"daily", "weekly"}, Tags: []string{"science", "space"}, Timezone: "Europe/Paris",
		Source: subscribers.SourceForm, ConsentAt: consent, ConsentIP: "192.0.2.7", ConsentText: "Yes, send me the brief.",
	}
	mustCreate(t, st, in)
	got, err := st.Get(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *in
	want.ConsentAt = consent.Truncate(time.Microsecond)
	want.CreatedAt = in.CreatedAt.Truncate(time.Microsecond).UTC()
	want.UpdatedAt = in.UpdatedAt.Truncate(time.Microsecond).UTC()
	want.ConfirmedAt = got.ConfirmedAt // set by the store
	if got.ConfirmedAt.IsZero() {
		t.Error("an active subscriber has no ConfirmedAt")
	}
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	if err := st.Create(ctx, &subscribers.Subscriber{Email: "not an address"}, "test"); err == nil {
		t.Error("Create accepted an invalid address")
	}
	if err := st.Create(ctx, &subscribers.Subscriber{Email: "x@example.org", Status: "gone"}, "test"); err == nil {
		t.Error("Create accepted an unknown status")
	}
	if err := st.Create(ctx, &subscribers.Subscriber{Email: "y@example.org", Digests: []string{"Bad Name"}}, "test"); err == nil {
		t.Error("Create accepted a bad digest name")
	}
}

func testNotFound(t *testing.T, st *store.DB) {
	ctx := context.Background()
	if _, err := st.Get(ctx, 424242); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("Get: got %v, want ErrNotFound", err)
	}
	if _, err := st.GetByEmail(ctx, "nobody@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("GetByEmail: got %v, want ErrNotFound", err)
	}
	if err := st.SetStatus(ctx, 424242, subscribers.Active, "x"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("SetStatus: got %v, want ErrNotFound", err)
	}
	if err := st.UpdatePreferences(ctx, 424242, subscribers.Preferences{}); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("UpdatePreferences: got %v, want ErrNotFound", err)
	}
	if err := st.Forget(ctx, "nobody@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("Forget: got %v, want ErrNotFound", err)
	}
	if _, err := st.Events(ctx, 424242); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("Events: got %v, want ErrNotFound", err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testConcurrentWriters(t *testing.T, st *store.DB) {
	ctx := context.Background()
	const workers = 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*4)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Everyone signs up the same address, in different cases...
			email := "Shared@Example.com"
			if i%2 == 1 {
				email = "shared@EXAMPLE.COM"
			}
			if _, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: email, Source: subscribers.SourceForm, Active: i%3 == 0}); err != nil {
				errs <- fmt.Errorf("subscribe shared: %w", err)
			}
			// ...creates one of their own...
			own := &subscribers.Subscriber{Email: fmt.Sprintf("worker%d@example.com", i), Status: subscribers.Active}
			if err := st.Create(ctx, own, "test"); err != nil {
				errs <- fmt.Errorf("create own: %w", err)
				return
			}
			// ...races a Create on another common one...
			if err := st.Create(ctx, &subscribers.Subscriber{Email: "race@example.com"}, "test"); err != nil && !errors.Is(err, subscribers.ErrExists) {
				errs <- fmt.Errorf("create race: %w", err)
			}
			// ...and imports a small batch that overlaps everyone else's.
			if _, err := st.Import(ctx, []subscribers.ImportRow{
				{Email: fmt.Sprintf("imp%d@example.com", i%5), Digests: []string{"daily"}},
				{Email: fmt.Sprintf("own%d@example.com", i)},
			}); err != nil {
				errs <- fmt.Errorf("import: %w", err)
			}
			if err := st.SetStatus(ctx, own.ID, subscribers.Unsubscribed, "test"); err != nil {
				errs <- fmt.Errorf("set status: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	n := 0
	if err := st.List(ctx, subscribers.Filter{}, func(s *subscribers.Subscriber) error {
		n++
		key := fmt.Sprint(len(s.Email), s.Email)
		if seen[key] {
			t.Errorf("duplicate subscriber %s", s.Email)
		}
		seen[key] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// shared + 20 own + race + 5 imp + 20 own-imports
	if want := 1 + workers + 1 + 5 + workers; n != want {
		t.Errorf("got %d subscribers, want %d", n, want)
	}
}

func importRows(n int, digest string) []subscribers.ImportRow {
	rows := make([]subscribers.ImportRow, n)
	for i := range rows {
		rows[i] = subscribers.ImportRow{Line: i + 2, Email: fmt.Sprintf("reader%05d@example.net", i), Digests: []string{digest}}
	}
	return rows
}

func testKeysetStreaming(t *testing.T, st *store.DB) {
	ctx := context.Background()
	const total = 2500
	c := mustImport(t, st, importRows(total, "daily"))
	if c.Added != total {
		t.Fatalf("imported %+v, want %d added", c, total)
	}
	var ids []int64
	after := int64(0)
	for pages := 0; ; pages++ {
		if pages > total {
			t.Fatal("List never ends")
		}
		got := 0
		err := st.List(ctx, subscribers.Filter{AfterID: after, Limit: 700}, func(s *subscribers.Subscriber) error {
			ids = append(ids, s.ID)
			after = s.ID
			got++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got > 700 {
			t.Fatalf("page of %d rows, limit 700", got)
		}
		if got == 0 {
			break
		}
	}
	if len(ids) != total {
		t.Fatalf("streamed %d rows, want %d", len(ids), total)
	}
	if !sort.SliceIsSorted(ids, func(i, j int) bool { return ids[i] < ids[j] }) {
		t.Error("rows not in id order")
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			t.Fatalf("id %d seen twice", ids[i])
		}
	}
	// An error from fn stops the walk and comes back.
	stop := errors.New("stop")
	n := 0
	err := st.List(ctx, subscribers.Filter{}, func(*subscribers.Subscriber) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("List after fn error: got %v after %d rows, want stop after 3", err, n)
	}
}

func listEmails(t *testing.T, st *store.DB, f subscribers.Filter) []string {
	t.Helper()
	var out []string
	if err := st.List(context.Background(), f, func(s *subscribers.Subscriber) error {
		out = append(out, s.Email)
		return nil
	}); err != nil {
		t.Fatalf("List(%+v): %v", f, err)
	}
	return out
}

func testListFilters(t *testing.T, st *store.DB) {
	ctx := context.Background()
	a := mustCreate(t, st, &subscribers.Subscriber{Email: "a@example.com", Status: subscribers.Active, Digests: []string{"daily"}})
	mustCreate(t, st, &subscribers.Subscriber{Email: "b@example.com", Status: subscribers.Pending, Digests: []string{"daily", "weekly"}})
	mustCreate(t, st, &subscribers.Subscriber{Email: "c@example.com", Status: subscribers.Active, Digests: []string{"weekly"}})
	mustCreate(t, st, &subscribers.Subscriber{Email: "d@example.com", Status: subscribers.Active})
	tests := []struct {
		name string
		f    subscribers.Filter
		want []string
	}{
		{"all", subscribers.Filter{}, []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"}},
		{"active", subscribers.Filter{Status: subscribers.Active}, []string{"a@example.com", "c@example.com", "d@example.com"}},
		{"daily", subscribers.Filter{Digest: "daily"}, []string{"a@example.com", "b@example.com"}},
		{"active weekly", subscribers.Filter{Digest: "weekly", Status: subscribers.Active}, []string{"c@example.com"}},
		{"after a", subscribers.Filter{AfterID: a.ID, Limit: 2}, []string{"b@example.com", "c@example.com"}},
		{"none", subscribers.Filter{Digest: "monthly"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, listEmails(t, st, tt.f)); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}
	// Changing digests moves a subscriber between digest lists.
	if err := st.UpdatePreferences(ctx, a.ID, subscribers.Preferences{Digests: []string{"weekly"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b@example.com"}, listEmails(t, st, subscribers.Filter{Digest: "daily"})); diff != "" {
		t.Errorf("daily after change (-want +got):\n%s", diff)
	}
}

// testSubscribeOutcomes: a sign-up creates a new address, brings back a
// suppressed one with the new choices, and leaves a pending or active
// subscriber's stored spelling and choices alone.
func testSubscribeOutcomes(t *testing.T, st *store.DB) {
	ctx := context.Background()
	tests := []struct {
		from        subscribers.Status // "" = new address
		active      bool
		wantOutcome subscribers.Outcome
		wantStatus  subscribers.Status
		wantNew     bool // the request's name, digests, tags and zone are stored
	}{
		{"", false, subscribers.Created, subscribers.Pending, true},
		{"", true, subscribers.Created, subscribers.Active, true},
		{subscribers.Pending, false, subscribers.StillPending, subscribers.Pending, false},
		{subscribers.Pending, true, subscribers.Refreshed, subscribers.Active, false},
		{subscribers.Active, false, subscribers.Unchanged, subscribers.Active, false},
		{subscribers.Active, true, subscribers.Unchanged, subscribers.Active, false},
		{subscribers.Unsubscribed, false, subscribers.Refreshed, subscribers.Pending, true},
		{subscribers.Unsubscribed, true, subscribers.Refreshed, subscribers.Active, true},
		{subscribers.Bounced, false, subscribers.Refreshed, subscribers.Pending, true},
		{subscribers.Complained, true, subscribers.Refreshed, subscribers.Active, true},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s active=%v", tt.from, tt.active), func(t *testing.T) {
			email := fmt.Sprintf("Sub%d@example.com", i)
			var before *subscribers.Subscriber
			if tt.from != "" {
				before = mustCreate(t, st, &subscribers.Subscriber{Email: email, Name: "Old Name", Status: tt.from,
					Digests: []string{"daily"}, Timezone: "Europe/Oslo"})
			}
			consent := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
			got, out, err := st.Subscribe(ctx, subscribers.SubscribeRequest{
				Email: strings.ToUpper(email), Name: "New Name", Digests: []string{"weekly"}, Tags: []string{"space"}, Timezone: "Asia/Tokyo",
				Active: tt.active, Source: subscribers.SourceForm, ConsentAt: consent, ConsentIP: "198.51.100.1", ConsentText: "ok",
			})
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.wantOutcome || got.Status != tt.wantStatus {
				t.Errorf("got %s/%s, want %s/%s", out, got.Status, tt.wantOutcome, tt.wantStatus)
			}
			stored := mustGet(t, st, email)
			if stored.Status != tt.wantStatus || stored.ID != got.ID {
				t.Errorf("stored %d/%s, want %d/%s", stored.ID, stored.Status, got.ID, tt.wantStatus)
			}
			wantEmail := email
			if before == nil {
				wantEmail = strings.ToUpper(email[:len(email)-len("@example.com")]) + "@example.com"
			}
			if stored.Email != wantEmail || got.Email != wantEmail {
				t.Errorf("address stored as %q, returned as %q; want %q", stored.Email, got.Email, wantEmail)
			}
			want := subscribers.Preferences{Digests: []string{"daily"}, Timezone: "Europe/Oslo"}
			wantName := "Old Name"
			if tt.wantNew {
				want = subscribers.Preferences{Digests: []string{"weekly"}, Tags: []string{"space"}, Timezone: "Asia/Tokyo"}
				wantName = "New Name"
			}
			gotPrefs := subscribers.Preferences{Digests: stored.Digests, Tags: stored.Tags, Timezone: stored.Timezone}
			if diff := cmp.Diff(want, gotPrefs); diff != "" || stored.Name != wantName {
				t.Errorf("name %q (want %q); preferences (-want +got):\n%s", stored.Name, wantName, diff)
			}
			if !tt.wantNew && tt.wantOutcome != subscribers.Refreshed && !stored.ConsentAt.IsZero() {
				t.Errorf("consent of a subscriber already there replaced: %v", stored.ConsentAt)
			}
			if tt.wantStatus == subscribers.Active && stored.ConfirmedAt.IsZero() {
				t.Error("active without ConfirmedAt")
			}
			if !stored.UnsubscribedAt.IsZero() {
				t.Error("UnsubscribedAt kept after subscribing again")
			}
			if sup, err := st.Suppressed(ctx, email); err != nil || sup {
				t.Errorf("Suppressed after subscribe = %v, %v; want false", sup, err)
			}
		})
	}
}

func testSetStatusEvents(t *testing.T, st *store.DB) {
	ctx := context.Background()
	s := mustCreate(t, st, &subscribers.Subscriber{Email: "ev@example.com"})
	steps := []struct {
		to     subscribers.Status
		reason string
	}{
		{subscribers.Active, "confirmed"},
		{subscribers.Active, "again"}, // no change, no event
		{subscribers.Unsubscribed, "link"},
		{subscribers.Active, "cli"},
		{subscribers.Bounced, "550 5.1.1"},
	}
	for _, step := range steps {
		if err := st.SetStatus(ctx, s.ID, step.to, step.reason); err != nil {
			t.Fatalf("SetStatus(%s): %v", step.to, err)
		}
		got, err := st.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != step.to {
			t.Errorf("status %s, want %s", got.Status, step.to)
		}
		if step.to == subscribers.Unsubscribed && got.UnsubscribedAt.IsZero() {
			t.Error("UnsubscribedAt not set")
		}
		if step.to == subscribers.Active && got.ConfirmedAt.IsZero() {
			t.Error("ConfirmedAt not set")
		}
	}
	if err := st.SetStatus(ctx, s.ID, "nonsense", "x"); err == nil {
		t.Error("SetStatus accepted an unknown status")
	}
	evs, err := st.Events(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	type tr struct {
		From, To subscribers.Status
		Reason   string
	}
	var got []tr
	for i, e := range evs {
		got = append(got, tr{e.From, e.To, e.Reason})
		if e.SubscriberID != s.ID || e.At.IsZero() || (i > 0 && e.At.Before(evs[i-1].At)) {
			t.Errorf("event %d: %+v", i, e)
		}
	}
	want := []tr{
		{"", subscribers.Pending, "test"},
		{subscribers.Pending, subscribers.Active, "confirmed"},
		{subscribers.Active, subscribers.Unsubscribed, "link"},
		{subscribers.Unsubscribed, subscribers.Active, "cli"},
		{subscribers.Active, subscribers.Bounced, "550 5.1.1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func testSuppression(t *testing.T, st *store.DB) {
	ctx := context.Background()
	for _, status := range []subscribers.Status{subscribers.Pending, subscribers.Active, subscribers.Unsubscribed, subscribers.Bounced, subscribers.Complained} {
		email := string(status) + "@example.com"
		mustCreate(t, st, &subscribers.Subscriber{Email: email, Status: status})
		got, err := st.Suppressed(ctx, strings.ToUpper(email))
		if err != nil {
			t.Fatal(err)
		}
		if got != status.Suppressed() {
			t.Errorf("Suppressed(%s) = %v, want %v", status, got, status.Suppressed())
		}
	}
	if got, err := st.Suppressed(ctx, "stranger@example.com"); err != nil || got {
		t.Errorf("Suppressed(unknown) = %v, %v; want false", got, err)
	}
}

func testForget(t *testing.T, st *store.DB) {
	ctx := context.Background()
	s := mustCreate(t, st, &subscribers.Subscriber{Email: "Gone@Example.com", Name: "Private Person", Status: subscribers.Active, Digests: []string{"daily"}})
	if err := st.SetStatus(ctx, s.ID, subscribers.Bounced, "550 no such user gone@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := st.Forget(ctx, "gone@EXAMPLE.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetByEmail(ctx, "gone@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("GetByEmail after Forget: got %v, want ErrNotFound", err)
	}
	if _, err := st.Get(ctx, s.ID); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("Get after Forget: got %v, want ErrNotFound", err)
	}
	if got := listEmails(t, st, subscribers.Filter{Digest: "daily"}); len(got) != 0 {
		t.Errorf("forgotten subscriber still listed: %v", got)
	}
	if sup, err := st.Suppressed(ctx, "GONE@example.com"); err != nil || !sup {
		t.Errorf("Suppressed after Forget = %v, %v; want true", sup, err)
	}
	// An import never brings the address back, whatever the row says.
	c := mustImport(t, st, []subscribers.ImportRow{{Email: "gone@example.com", Status: subscribers.Active}})
	if c != (subscribers.ImportCounts{Suppressed: 1}) {
		t.Errorf("import of forgotten address: %+v, want 1 suppressed", c)
	}
	if _, err := st.GetByEmail(ctx, "gone@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("import re-created a forgotten address: %v", err)
	}
	if err := st.Forget(ctx, "gone@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("second Forget: got %v, want ErrNotFound", err)
	}
	// The person subscribing again is allowed, and lifts the suppression.
	_, out, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: "gone@example.com", Source: subscribers.SourceForm})
	if err != nil || out != subscribers.Created {
		t.Fatalf("Subscribe after Forget: %v, %v; want created", out, err)
	}
	if sup, err := st.Suppressed(ctx, "gone@example.com"); err != nil || sup {
		t.Errorf("Suppressed after subscribing again = %v, %v; want false", sup, err)
	}
	back := mustGet(t, st, "gone@example.com")
	if back.Name != "" || back.Status != subscribers.Pending {
		t.Errorf("old data came back: %+v", back)
	}
	evs, err := st.Events(ctx, back.ID)
	if err != nil || len(evs) != 1 {
		t.Errorf("events of the new subscriber: %v, %v; want only its creation", evs, err)
	}
}

func testImport(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustCreate(t, st, &subscribers.Subscriber{Email: "old@example.com", Name: "Old", Status: subscribers.Pending, Digests: []string{"weekly"}, Timezone: "UTC"})
	rows := []subscribers.ImportRow{
		{Line: 2, Email: "new1@example.com", Name: "One", Digests: []string{"daily"}, Tags: []string{"a", "b"}, Timezone: "Europe/Berlin"},
		{Line: 3, Email: "New2@Example.COM", Status: subscribers.Pending},
		{Line: 4, Email: "OLD@example.com", Name: "Older"},           // name changes, rest kept
		{Line: 5, Email: "not-an-address"},                           // rejected
		{Line: 6, Email: "new1@EXAMPLE.com"},                         // duplicate in batch: rejected
		{Line: 7, Email: "tz@example.com", Timezone: "Mars/Olympus"}, // rejected
	}
	c := mustImport(t, st, rows)
	if want := (subscribers.ImportCounts{Added: 2, Updated: 1, Rejected: 3}); c != want {
		t.Errorf("first import: got %+v, want %+v", c, want)
	}
	n1 := mustGet(t, st, "new1@example.com")
	if n1.Status != subscribers.Active || n1.Source != subscribers.SourceImport || n1.Name != "One" ||
		!cmp.Equal(n1.Digests, []string{"daily"}) || !cmp.Equal(n1.Tags, []string{"a", "b"}) || n1.Timezone != "Europe/Berlin" {
		t.Errorf("new1 = %+v", n1)
	}
	if n2 := mustGet(t, st, "new2@example.com"); n2.Status != subscribers.Pending || n2.Email != "New2@example.com" {
		t.Errorf("new2 = %+v", n2)
	}
	old := mustGet(t, st, "old@example.com")
	if old.Name != "Older" || old.Status != subscribers.Pending || !cmp.Equal(old.Digests, []string{"weekly"}) || old.Timezone != "UTC" {
		t.Errorf("old = %+v", old)
	}
	evs, err := st.Events(ctx, n1.ID)
	if err != nil || len(evs) != 1 || evs[0].Reason != "import" || evs[0].To != subscribers.Active {
		t.Errorf("events of an imported subscriber: %+v, %v", evs, err)
	}
	before := old.UpdatedAt
	// The same batch again changes nothing.
	c = mustImport(t, st, rows)
	if want := (subscribers.ImportCounts{Unchanged: 3, Rejected: 3}); c != want {
		t.Errorf("second import: got %+v, want %+v", c, want)
	}
	if again := mustGet(t, st, "old@example.com"); !again.UpdatedAt.Equal(before) {
		t.Error("an unchanged row was written")
	}
	// Explicit changes apply, with an event for the status.
	c = mustImport(t, st, []subscribers.ImportRow{
		{Email: "old@example.com", Status: subscribers.Active, Digests: []string{"daily", "weekly"}},
		{Email: "new1@example.com", Tags: []string{}}, // empty list: keep
	})
	if want := (subscribers.ImportCounts{Updated: 1, Unchanged: 1}); c != want {
		t.Errorf("third import: got %+v, want %+v", c, want)
	}
	old = mustGet(t, st, "old@example.com")
	if old.Status != subscribers.Active || !cmp.Equal(old.Digests, []string{"daily", "weekly"}) {
		t.Errorf("old after update = %+v", old)
	}
	if got := listEmails(t, st, subscribers.Filter{Digest: "daily", Status: subscribers.Active}); !cmp.Equal(got, []string{"old@example.com", "new1@example.com"}) {
		t.Errorf("active daily = %v", got)
	}
	evs, _ = st.Events(ctx, old.ID)
	if last := evs[len(evs)-1]; last.From != subscribers.Pending || last.To != subscribers.Active || last.Reason != "import" {
		t.Errorf("last event %+v", last)
	}
	if c := mustImport(t, st, nil); c != (subscribers.ImportCounts{}) {
		t.Errorf("empty import: %+v", c)
	}
}

func testImportSuppressed(t *testing.T, st *store.DB) {
	for _, status := range []subscribers.Status{subscribers.Unsubscribed, subscribers.Bounced, subscribers.Complained} {
		t.Run(string(status), func(t *testing.T) {
			email := "sup-" + string(status) + "@example.com"
			mustCreate(t, st, &subscribers.Subscriber{Email: email, Status: status})
			c := mustImport(t, st, []subscribers.ImportRow{{Email: email, Status: subscribers.Active}})
			if c != (subscribers.ImportCounts{Suppressed: 1}) {
				t.Errorf("status-only row: %+v, want 1 suppressed", c)
			}
			c = mustImport(t, st, []subscribers.ImportRow{{Email: email, Name: "Renamed", Status: subscribers.Active}})
			if c != (subscribers.ImportCounts{Suppressed: 1}) {
				t.Errorf("row with a new name: %+v, want 1 suppressed", c)
			}
			if got := mustGet(t, st, email); got.Status != status || got.Name != "Renamed" {
				t.Errorf("got %s %q, want %s \"Renamed\"", got.Status, got.Name, status)
			}
			// A row that leaves the status alone (or repeats it) is an
			// ordinary update.
			c = mustImport(t, st, []subscribers.ImportRow{{Email: email, Name: "Again", Status: status}})
			if c != (subscribers.ImportCounts{Updated: 1}) {
				t.Errorf("row keeping the status: %+v, want 1 updated", c)
			}
		})
	}
}

func testUpdatePreferences(t *testing.T, st *store.DB) {
	ctx := context.Background()
	s := mustCreate(t, st, &subscribers.Subscriber{Email: "pref@example.com", Digests: []string{"daily"}})
	p := subscribers.Preferences{Digests: []string{"weekly", "daily", "weekly"}, Tags: []string{" space "}, Timezone: "America/Chicago"}
	if err := st.UpdatePreferences(ctx, s.ID, p); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Get(ctx, s.ID)
	want := subscribers.Preferences{Digests: []string{"weekly", "daily"}, Tags: []string{"space"}, Timezone: "America/Chicago"}
	if diff := cmp.Diff(want, subscribers.Preferences{Digests: got.Digests, Tags: got.Tags, Timezone: got.Timezone}); diff != "" {
		t.Errorf("preferences (-want +got):\n%s", diff)
	}
	if err := st.UpdatePreferences(ctx, s.ID, subscribers.Preferences{Timezone: "Nowhere/Land"}); err == nil {
		t.Error("accepted an unknown time zone")
	}
	if err := st.UpdatePreferences(ctx, s.ID, subscribers.Preferences{}); err != nil {
		t.Fatal(err)
	}
	got, _ = st.Get(ctx, s.ID)
	if got.Digests != nil || got.Tags != nil || got.Timezone != "" {
		t.Errorf("cleared preferences = %+v", got)
	}
}

func testCounts(t *testing.T, st *store.DB) {
	ctx := context.Background()
	got, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum(got) != 0 {
		t.Errorf("empty store counts %v", got)
	}
	statuses := []subscribers.Status{subscribers.Active, subscribers.Active, subscribers.Pending, subscribers.Bounced}
	for i, s := range statuses {
		mustCreate(t, st, &subscribers.Subscriber{Email: fmt.Sprintf("c%d@example.com", i), Status: s})
	}
	got, err = st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[subscribers.Status]int64{subscribers.Active: 2, subscribers.Pending: 1, subscribers.Bounced: 1, subscribers.Unsubscribed: 0, subscribers.Complained: 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func testHistory(t *testing.T, st *store.DB) {
	ctx := context.Background()
	a := mustCreate(t, st, &subscribers.Subscriber{Email: "h1@example.com", Status: subscribers.Active})
	mustCreate(t, st, &subscribers.Subscriber{Email: "h2@example.com", Status: subscribers.Active})
	p := mustCreate(t, st, &subscribers.Subscriber{Email: "h3@example.com", Status: subscribers.Pending})
	mustImport(t, st, []subscribers.ImportRow{{Email: "h4@example.com"}, {Email: "h5@example.com", Status: subscribers.Pending}})
	if err := st.SetStatus(ctx, p.ID, subscribers.Active, "confirmed"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetStatus(ctx, a.ID, subscribers.Unsubscribed, "link"); err != nil {
		t.Fatal(err)
	}
	if err := st.Forget(ctx, "h2@example.com"); err != nil {
		t.Fatal(err)
	}
	// Active now: h3, h4.
	now := time.Now().UTC()
	tomorrow := now.Add(24 * time.Hour)
	got, err := st.History(ctx, 3, tomorrow)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	want := []subscribers.DayCount{
		{Day: today.AddDate(0, 0, -1), Active: 0},
		{Day: today, Active: 2},
		{Day: today.AddDate(0, 0, 1), Active: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	if got, err := st.History(ctx, 0, now); err != nil || len(got) != 0 {
		t.Errorf("History(0) = %v, %v", got, err)
	}
}
