// Package storetest is the one conformance suite every *store.DB
// passes. The SQLite store runs it always, the PostgreSQL store whenever
// BRIEFCAST_TEST_POSTGRES names a server; dialect differences (case
// folding, upserts, locking) are exactly what it is here to catch.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"briefcast/store"
	"briefcast/subscribers"
)

// Run runs every subtest, each on a fresh store from open (a new, empty
// store each time it is called).
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
		// Editions, their articles and the delivery queue.
		{"CreateEditionRecipients", testCreateEditionRecipients},
		{"EditionKeyUnique", testEditionKeyUnique},
		{"EditionKeyRace", testEditionKeyRace},
		{"ArticleOncePerDigest", testArticleOncePerDigest},
		{"ClaimsDoNotOverlap", testClaimsDoNotOverlap},
		{"ExpiredLeaseReclaimed", testExpiredLeaseReclaimed},
		{"ReleaseClaims", testReleaseClaims},
		{"RetryingNotDue", testRetryingNotDue},
		{"CancelAtClaim", testCancelAtClaim},
		{"RecordResults", testRecordResults},
		{"ProgressAndFinish", testProgressAndFinish},
		{"EditionOrdering", testEditionOrdering},
		{"EditionByKey", testEditionByKey},
		{"QueueSize", testQueueSize},
		{"ForgetKeepsDeliveryCounts", testForgetKeepsDeliveryCounts},
		{"ConcurrentClaimers", testConcurrentClaimers},
		// RecordBounce and BounceCounts: the policy of hard bounces, soft
		// bounces in a row and complaints; a report taken twice changes
		// nothing.
		{"HardBounce", testHardBounce},
		{"HardBounceByAddress", testHardBounceByAddress},
		{"Complaint", testComplaint},
		{"BounceTwice", testBounceTwice},
		{"BounceUnknownAddress", testBounceUnknownAddress},
		{"SoftLimit", testSoftLimit},
		{"SoftResetByDelivery", testSoftResetByDelivery},
		{"SoftLateReports", testSoftLateReports},
		{"BounceForgotten", testBounceForgotten},
		// A subscriber's depth per digest and pause.
		{"DepthRoundTrip", testDepthRoundTrip},
		{"DepthAtClaim", testDepthAtClaim},
		{"PauseSkipsEdition", testPauseSkipsEdition},
		{"PauseSkipsWave", testPauseSkipsWave},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
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

func sum(m map[subscribers.Status]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
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
