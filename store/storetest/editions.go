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

	"briefcast/editions"
	"briefcast/store"
	"briefcast/subscribers"
)

// edT0 is the fixed clock of the edition tests.
var edT0 = time.Date(2025, 11, 23, 12, 0, 0, 0, time.UTC)

// RunEditions runs the conformance suite for the digest-edition half of a
// Store: editions, their articles, and the delivery queue. open must return
// a new, empty store each time it is called.
func RunEditions(t *testing.T, open func(t *testing.T) *store.DB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st *store.DB)
	}{
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := open(t)
			tt.fn(t, st)
		})
	}
}

// edSub describes a subscriber to create for an edition test.
type edSub struct {
	email   string
	status  subscribers.Status
	digests []string
}

// mustSubscribers creates subs through the Store's own subscriber methods
// and returns their ids by address.
func mustSubscribers(t *testing.T, st *store.DB, subs ...edSub) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	ids := map[string]int64{}
	for _, s := range subs {
		sub, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{
			Email:    s.email,
			Name:     "Reader " + strings.SplitN(s.email, "@", 2)[0],
			Digests:  s.digests,
			Tags:     []string{"energy", "markets"},
			Timezone: "Europe/Paris",
			Active:   s.status != subscribers.Pending,
			Source:   subscribers.SourceCLI,
		})
		if err != nil {
			t.Fatalf("Subscribe(%s): %v", s.email, err)
		}
		if s.status != subscribers.Pending && s.status != subscribers.Active {
			if err := st.SetStatus(ctx, sub.ID, s.status, "test"); err != nil {
				t.Fatalf("SetStatus(%s, %s): %v", s.email, s.status, err)
			}
		}
		ids[s.email] = sub.ID
	}
	return ids
}

// mustActive imports n active subscribers of digest (one batch, which is
// far quicker than n sign-ups) and returns their ids in order.
func mustActive(t *testing.T, st *store.DB, digest string, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	rows := make([]subscribers.ImportRow, n)
	for i := range rows {
		rows[i] = subscribers.ImportRow{Line: i + 1, Email: fmt.Sprintf("r%04d@example.org", i), Name: "Reader",
			Digests: []string{digest}, Tags: []string{"energy"}, Status: subscribers.Active}
	}
	if c, err := st.Import(ctx, rows); err != nil || c.Added != n {
		t.Fatalf("Import of %d active subscribers: %+v, %v", n, c, err)
	}
	var ids []int64
	err := st.List(ctx, subscribers.Filter{Status: subscribers.Active, Digest: digest}, func(s *subscribers.Subscriber) error {
		ids = append(ids, s.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return ids
}

// mustEdition creates an edition of digest with key and cutoff edT0+hours.
func mustEdition(t *testing.T, st *store.DB, digest, key string, hours int, articles ...string) *editions.Edition {
	t.Helper()
	e := &editions.Edition{Digest: digest, Key: key, Cutoff: edT0.Add(time.Duration(hours) * time.Hour), Articles: articles}
	if err := st.CreateEdition(context.Background(), e); err != nil {
		t.Fatalf("CreateEdition(%s/%s): %v", digest, key, err)
	}
	return e
}

// mustClaim claims up to limit deliveries.
func mustClaim(t *testing.T, st *store.DB, ed int64, owner string, limit int, now time.Time) []editions.Delivery {
	t.Helper()
	ds, err := st.ClaimDeliveries(context.Background(), ed, owner, limit, now, time.Minute)
	if err != nil {
		t.Fatalf("ClaimDeliveries(%d, %s): %v", ed, owner, err)
	}
	return ds
}

// mustRecord records results.
func mustRecord(t *testing.T, st *store.DB, rs ...editions.Result) {
	t.Helper()
	if err := st.RecordResults(context.Background(), rs); err != nil {
		t.Fatalf("RecordResults: %v", err)
	}
}

// mustProgress returns an edition's progress.
func mustProgress(t *testing.T, st *store.DB, ed int64) editions.Progress {
	t.Helper()
	p, err := st.Progress(context.Background(), ed)
	if err != nil {
		t.Fatalf("Progress(%d): %v", ed, err)
	}
	return p
}

// sent is a successful result for d at now.
func sent(d editions.Delivery, now time.Time) editions.Result {
	return editions.Result{DeliveryID: d.ID, SubscriberID: d.Subscriber.ID, State: editions.DeliverySent,
		Attempts: d.Attempts + 1, LastReply: "250 2.0.0 OK", At: now}
}

// emails returns the sorted addresses of ds.
func emails(ds []editions.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Subscriber.Email)
	}
	sort.Strings(out)
	return out
}

// deliveryIDs returns the ids of ds.
func deliveryIDs(ds []editions.Delivery) map[int64]bool {
	out := map[int64]bool{}
	for _, d := range ds {
		out[d.ID] = true
	}
	return out
}

func testCreateEditionRecipients(t *testing.T, st *store.DB) {
	ctx := context.Background()
	ids := mustSubscribers(t, st,
		edSub{"ann@example.org", subscribers.Active, []string{"daily"}},
		edSub{"bob@example.org", subscribers.Active, []string{"daily", "weekly"}},
		edSub{"cat@example.org", subscribers.Pending, []string{"daily"}},
		edSub{"dan@example.org", subscribers.Unsubscribed, []string{"daily"}},
		edSub{"eve@example.org", subscribers.Active, []string{"weekly"}},
		edSub{"fay@example.org", subscribers.Bounced, []string{"daily"}},
		edSub{"gus@example.org", subscribers.Complained, []string{"daily"}},
	)
	tests := []struct {
		digest string
		want   []string
	}{
		{"daily", []string{"ann@example.org", "bob@example.org"}},
		{"weekly", []string{"bob@example.org", "eve@example.org"}},
		{"monthly", nil},
	}
	for _, tt := range tests {
		t.Run(tt.digest, func(t *testing.T) {
			e := mustEdition(t, st, tt.digest, "k1", 0, tt.digest+"-a", tt.digest+"-b")
			if e.ID == 0 || e.CreatedAt.IsZero() {
				t.Fatalf("CreateEdition left ID %d, CreatedAt %v unset", e.ID, e.CreatedAt)
			}
			if e.Recipients != int64(len(tt.want)) {
				t.Errorf("Recipients = %d, want %d", e.Recipients, len(tt.want))
			}
			got, err := st.Edition(ctx, e.ID)
			if err != nil {
				t.Fatalf("Edition: %v", err)
			}
			if diff := cmp.Diff(e, got); diff != "" {
				t.Errorf("Edition differs from what CreateEdition set (-created +read):\n%s", diff)
			}
			ds := mustClaim(t, st, e.ID, "a", 100, edT0)
			if diff := cmp.Diff(tt.want, emails(ds)); diff != "" {
				t.Errorf("recipients (-want +got):\n%s", diff)
			}
			for _, d := range ds {
				want := subscribers.Subscriber{ID: ids[d.Subscriber.Email], Email: d.Subscriber.Email,
					Name: "Reader " + strings.SplitN(d.Subscriber.Email, "@", 2)[0], Status: subscribers.Active,
					Tags: []string{"energy", "markets"}, Timezone: "Europe/Paris"}
				// The token key comes along, for the links in the digest.
				if stored, err := st.Get(ctx, d.Subscriber.ID); err != nil || len(stored.TokenKey) < 16 {
					t.Errorf("Get(%d) = token key %x, %v", d.Subscriber.ID, stored.TokenKey, err)
				} else {
					want.TokenKey = stored.TokenKey
				}
				if diff := cmp.Diff(want, d.Subscriber); diff != "" {
					t.Errorf("claimed subscriber (-want +got):\n%s", diff)
				}
				if d.State != editions.DeliveryQueued || d.Attempts != 0 || d.EditionID != e.ID {
					t.Errorf("claimed delivery = state %s, attempts %d, edition %d; want queued, 0, %d", d.State, d.Attempts, d.EditionID, e.ID)
				}
			}
		})
	}
}

func testEditionKeyUnique(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustActive(t, st, "daily", 2)
	first := mustEdition(t, st, "daily", "20251123T1200Z", 0, "a1")
	err := st.CreateEdition(ctx, &editions.Edition{Digest: "daily", Key: "20251123T1200Z", Cutoff: edT0, Articles: []string{"a2"}})
	if !errors.Is(err, editions.ErrExists) {
		t.Fatalf("second CreateEdition with the same key: got %v, want ErrEditionExists", err)
	}
	// The loser wrote nothing: not its article, not its deliveries.
	sentArts, err := st.SentArticles(ctx, "daily")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{"a1": true}, sentArts); diff != "" {
		t.Errorf("SentArticles after the refused edition (-want +got):\n%s", diff)
	}
	if p := mustProgress(t, st, first.ID); p.Total() != 2 {
		t.Errorf("first edition has %d deliveries, want 2", p.Total())
	}
	// The same key in another digest is another edition.
	mustEdition(t, st, "weekly", "20251123T1200Z", 0, "a1")
}

func testEditionKeyRace(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustActive(t, st, "daily", 20)
	const racers = 6
	var (
		wg            sync.WaitGroup
		mu            sync.Mutex
		wins, refused int
		other         []error
	)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := &editions.Edition{Digest: "daily", Key: "race", Cutoff: edT0, Articles: []string{fmt.Sprintf("a%d", i)}}
			err := st.CreateEdition(ctx, e)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, editions.ErrExists):
				refused++
			default:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || refused != racers-1 || len(other) > 0 {
		t.Fatalf("racing CreateEdition: %d created, %d refused, other errors %v; want 1, %d, none", wins, refused, other, racers-1)
	}
	es, err := st.Editions(ctx, "daily", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Recipients != 20 || len(es[0].Articles) != 1 {
		t.Fatalf("after the race: %d editions (want 1 with 20 recipients and 1 article): %+v", len(es), es)
	}
	if p := mustProgress(t, st, es[0].ID); p.Queued != 20 || p.Total() != 20 {
		t.Errorf("progress after the race = %+v, want 20 queued", p)
	}
}

func testArticleOncePerDigest(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustActive(t, st, "daily", 3)
	first := mustEdition(t, st, "daily", "k1", 0, "x", "y")
	err := st.CreateEdition(ctx, &editions.Edition{Digest: "daily", Key: "k2", Cutoff: edT0.Add(time.Hour), Articles: []string{"z", "x"}})
	if err == nil || errors.Is(err, editions.ErrExists) {
		t.Fatalf("edition repeating article x: got %v, want a failure other than ErrEditionExists", err)
	}
	// Nothing of the failed edition remains.
	latest, err := st.LatestEdition(ctx, "daily")
	if err != nil {
		t.Fatal(err)
	}
	if latest.ID != first.ID {
		t.Errorf("LatestEdition = %d, want the first edition %d", latest.ID, first.ID)
	}
	if q, err := st.QueueSize(ctx); err != nil || q != 3 {
		t.Errorf("QueueSize = %d, %v; want 3 (the failed edition queued nothing)", q, err)
	}
	// The same key works once the repeat is dropped, and other digests may
	// carry the article.
	mustEdition(t, st, "daily", "k2", 1, "z")
	mustEdition(t, st, "weekly", "k1", 1, "x", "z")

	tests := []struct {
		digest string
		want   map[string]bool
	}{
		{"daily", map[string]bool{"x": true, "y": true, "z": true}},
		{"weekly", map[string]bool{"x": true, "z": true}},
		{"never", map[string]bool{}},
	}
	for _, tt := range tests {
		got, err := st.SentArticles(ctx, tt.digest)
		if err != nil {
			t.Fatalf("SentArticles(%s): %v", tt.digest, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("SentArticles(%s) (-want +got):\n%s", tt.digest, diff)
		}
	}
}

func testClaimsDoNotOverlap(t *testing.T, st *store.DB) {
	mustActive(t, st, "daily", 10)
	e := mustEdition(t, st, "daily", "k", 0)
	a := mustClaim(t, st, e.ID, "a", 4, edT0)
	b := mustClaim(t, st, e.ID, "b", 10, edT0)
	c := mustClaim(t, st, e.ID, "c", 10, edT0.Add(30*time.Second))
	if len(a) != 4 || len(b) != 6 || len(c) != 0 {
		t.Fatalf("claims got %d, %d, %d deliveries; want 4, 6, 0", len(a), len(b), len(c))
	}
	all := deliveryIDs(append(a, b...))
	if len(all) != 10 {
		t.Errorf("claims overlap: %d distinct deliveries in 10 claimed", len(all))
	}
	if p := mustProgress(t, st, e.ID); p.InFlight != 10 || p.Queued != 0 {
		t.Errorf("progress with everything leased = %+v, want 10 in flight", p)
	}
}

func testExpiredLeaseReclaimed(t *testing.T, st *store.DB) {
	mustActive(t, st, "daily", 5)
	e := mustEdition(t, st, "daily", "k", 0)
	a := mustClaim(t, st, e.ID, "a", 3, edT0)
	// Leases last a minute: a's is still held at +59s (b gets the other
	// two until +1m59s) and free at +90s.
	if got := mustClaim(t, st, e.ID, "b", 10, edT0.Add(59*time.Second)); len(got) != 2 {
		t.Fatalf("claim before expiry got %d, want the 2 never claimed", len(got))
	}
	got := mustClaim(t, st, e.ID, "c", 10, edT0.Add(90*time.Second))
	if diff := cmp.Diff(deliveryIDs(a), deliveryIDs(got)); diff != "" {
		t.Errorf("after expiry, claim got other deliveries than a's (-a +got):\n%s", diff)
	}
}

func testReleaseClaims(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustActive(t, st, "daily", 4)
	e := mustEdition(t, st, "daily", "k", 0)
	a := mustClaim(t, st, e.ID, "a", 10, edT0)
	if len(a) != 4 {
		t.Fatalf("claim got %d, want 4", len(a))
	}
	if err := st.ReleaseClaims(ctx, e.ID); err != nil {
		t.Fatalf("ReleaseClaims: %v", err)
	}
	if p := mustProgress(t, st, e.ID); p.InFlight != 0 || p.Queued != 4 {
		t.Errorf("progress after ReleaseClaims = %+v, want 4 queued", p)
	}
	if got := mustClaim(t, st, e.ID, "b", 10, edT0); len(got) != 4 {
		t.Errorf("claim after ReleaseClaims got %d, want 4", len(got))
	}
}

func testRetryingNotDue(t *testing.T, st *store.DB) {
	mustActive(t, st, "daily", 3)
	e := mustEdition(t, st, "daily", "k", 0)
	ds := mustClaim(t, st, e.ID, "a", 10, edT0)
	if len(ds) != 3 {
		t.Fatalf("claim got %d, want 3", len(ds))
	}
	retry := edT0.Add(time.Hour)
	mustRecord(t, st,
		sent(ds[0], edT0),
		editions.Result{DeliveryID: ds[1].ID, SubscriberID: ds[1].Subscriber.ID, State: editions.DeliveryRetrying,
			Attempts: 1, LastReply: "451 4.3.0 try later", NextAttempt: retry, At: edT0},
		editions.Result{DeliveryID: ds[2].ID, SubscriberID: ds[2].Subscriber.ID, State: editions.DeliveryRetrying,
			Attempts: 2, LastReply: "421 4.7.0 busy", NextAttempt: retry.Add(time.Hour), At: edT0},
	)
	tests := []struct {
		name string
		now  time.Time
		want []int64
	}{
		{"not due", retry.Add(-time.Second), nil},
		{"first due", retry, []int64{ds[1].ID}},
		// An hour later the first one's lease has expired too: both are
		// due, the longest-waiting first.
		{"both due", retry.Add(time.Hour), []int64{ds[1].ID, ds[2].ID}},
	}
	for _, tt := range tests {
		got := mustClaim(t, st, e.ID, "b", 10, tt.now)
		var ids []int64
		for _, d := range got {
			ids = append(ids, d.ID)
			if d.State != editions.DeliveryRetrying || d.Attempts == 0 || d.LastReply == "" || d.NextAttempt.IsZero() {
				t.Errorf("%s: claimed retry = %+v, want its state, attempts, reply and next attempt", tt.name, d)
			}
		}
		if diff := cmp.Diff(tt.want, ids); diff != "" {
			t.Errorf("%s: claimed (-want +got):\n%s", tt.name, diff)
		}
	}
	if p := mustProgress(t, st, e.ID); p.Sent != 1 || p.InFlight != 2 || p.Retrying != 0 {
		t.Errorf("progress = %+v, want 1 sent and 2 in flight", p)
	}
}

func testCancelAtClaim(t *testing.T, st *store.DB) {
	ctx := context.Background()
	ids := mustSubscribers(t, st,
		edSub{"ann@example.org", subscribers.Active, []string{"daily"}},
		edSub{"bob@example.org", subscribers.Active, []string{"daily", "weekly"}},
		edSub{"cat@example.org", subscribers.Active, []string{"daily"}},
		edSub{"dan@example.org", subscribers.Active, []string{"daily"}},
	)
	e := mustEdition(t, st, "daily", "k", 0)
	// After the edition was created, ann unsubscribes and bob drops daily:
	// the first two deliveries in claim order are no longer wanted.
	if err := st.SetStatus(ctx, ids["ann@example.org"], subscribers.Unsubscribed, "link"); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdatePreferences(ctx, ids["bob@example.org"], subscribers.Preferences{Digests: []string{"weekly"}}); err != nil {
		t.Fatal(err)
	}
	got := mustClaim(t, st, e.ID, "a", 1, edT0)
	if diff := cmp.Diff([]string{"cat@example.org"}, emails(got)); diff != "" {
		t.Errorf("claim of 1 behind two cancelled (-want +got):\n%s", diff)
	}
	got = mustClaim(t, st, e.ID, "a", 10, edT0)
	if diff := cmp.Diff([]string{"dan@example.org"}, emails(got)); diff != "" {
		t.Errorf("second claim (-want +got):\n%s", diff)
	}
	if p := mustProgress(t, st, e.ID); p.Cancelled != 2 || p.InFlight != 2 || p.Total() != 4 {
		t.Errorf("progress = %+v, want 2 cancelled and 2 in flight", p)
	}
}

func testRecordResults(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustActive(t, st, "daily", 5)
	e := mustEdition(t, st, "daily", "k", 0)
	ds := mustClaim(t, st, e.ID, "a", 10, edT0)
	if len(ds) != 5 {
		t.Fatalf("claim got %d, want 5", len(ds))
	}
	at := edT0.Add(time.Minute)
	bounceReply := "550 5.1.1 mailbox unknown"
	results := []editions.Result{
		sent(ds[0], at),
		{DeliveryID: ds[1].ID, SubscriberID: ds[1].Subscriber.ID, State: editions.DeliveryRetrying, Attempts: 1,
			LastReply: "451 4.3.0 later", NextAttempt: at.Add(5 * time.Minute), At: at},
		{DeliveryID: ds[2].ID, SubscriberID: ds[2].Subscriber.ID, State: editions.DeliveryFailed, Attempts: 1,
			LastReply: "554 5.7.1 rejected", At: at},
		{DeliveryID: ds[3].ID, SubscriberID: ds[3].Subscriber.ID, State: editions.DeliveryFailed, Attempts: 1,
			LastReply: bounceReply, At: at, Bounce: true},
		{DeliveryID: ds[4].ID, SubscriberID: ds[4].Subscriber.ID, State: editions.DeliverySkipped, At: at},
	}
	mustRecord(t, st, results...)
	want := editions.Progress{Sent: 1, Retrying: 1, Failed: 2, Skipped: 1}
	if diff := cmp.Diff(want, mustProgress(t, st, e.ID)); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}

	fails, err := st.Failures(ctx, e.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var gotFails []string
	for _, f := range fails {
		gotFails = append(gotFails, fmt.Sprintf("%d %s %d %s", f.Subscriber.ID, f.State, f.Attempts, f.LastReply))
	}
	wantFails := []string{
		fmt.Sprintf("%d retrying 1 451 4.3.0 later", ds[1].Subscriber.ID),
		fmt.Sprintf("%d failed 1 554 5.7.1 rejected", ds[2].Subscriber.ID),
		fmt.Sprintf("%d failed 1 %s", ds[3].Subscriber.ID, bounceReply),
	}
	sort.Strings(gotFails)
	sort.Strings(wantFails)
	if diff := cmp.Diff(wantFails, gotFails); diff != "" {
		t.Errorf("Failures (-want +got):\n%s", diff)
	}
	if fails, err := st.Failures(ctx, e.ID, 1); err != nil || len(fails) != 1 {
		t.Errorf("Failures(limit 1) = %d, %v; want 1", len(fails), err)
	}

	// The hard bounce marked its subscriber bounced, with the reply as the
	// reason; the plain failure did not.
	bounced, err := st.Get(ctx, ds[3].Subscriber.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bounced.Status != subscribers.Bounced {
		t.Errorf("bounced subscriber status = %s, want bounced", bounced.Status)
	}
	evs, err := st.Events(ctx, bounced.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.From != subscribers.Active || last.To != subscribers.Bounced || last.Reason != bounceReply {
		t.Errorf("last event = %s -> %s (%q), want active -> bounced (%q)", last.From, last.To, last.Reason, bounceReply)
	}
	if other, err := st.Get(ctx, ds[2].Subscriber.ID); err != nil || other.Status != subscribers.Active {
		t.Errorf("failed (not bounced) subscriber = %v, %v; want still active", other, err)
	}

	// A late result for a delivery another sender already finished (its
	// lease had expired) does not undo the send; a second bounce of the
	// same subscriber records nothing more.
	late := results[0]
	late.State, late.LastReply = editions.DeliveryRetrying, "421 late"
	again := results[3]
	mustRecord(t, st, late, again)
	if diff := cmp.Diff(want, mustProgress(t, st, e.ID)); diff != "" {
		t.Errorf("progress after late results (-want +got):\n%s", diff)
	}
	if evs2, err := st.Events(ctx, bounced.ID); err != nil || len(evs2) != len(evs) {
		t.Errorf("events after a repeated bounce: %d, %v; want %d", len(evs2), err, len(evs))
	}
	if err := st.RecordResults(ctx, []editions.Result{{DeliveryID: ds[0].ID, State: editions.DeliveryQueued}}); err == nil {
		t.Error("RecordResults accepted state queued")
	}
}

func testProgressAndFinish(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustActive(t, st, "daily", 3)
	older := mustEdition(t, st, "daily", "k1", 0)
	newer := mustEdition(t, st, "daily", "k2", 24)

	finish := func(id int64, now time.Time) bool {
		t.Helper()
		done, err := st.FinishEdition(ctx, id, now)
		if err != nil {
			t.Fatalf("FinishEdition(%d): %v", id, err)
		}
		return done
	}
	unfinished := func() int64 {
		t.Helper()
		e, err := st.UnfinishedEdition(ctx, "daily")
		if errors.Is(err, subscribers.ErrNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return e.ID
	}

	if got := unfinished(); got != older.ID {
		t.Errorf("UnfinishedEdition = %d, want the older %d", got, older.ID)
	}
	if finish(older.ID, edT0) {
		t.Error("FinishEdition with 3 queued reported done")
	}
	ds := mustClaim(t, st, older.ID, "a", 10, edT0)
	if p := mustProgress(t, st, older.ID); p.InFlight != 3 || p.Done() {
		t.Errorf("progress while leased = %+v, want 3 in flight, not done", p)
	}
	if finish(older.ID, edT0) {
		t.Error("FinishEdition with 3 in flight reported done")
	}
	for _, d := range ds {
		mustRecord(t, st, sent(d, edT0))
	}
	doneAt := edT0.Add(2 * time.Minute)
	if !finish(older.ID, doneAt) {
		t.Fatal("FinishEdition with everything sent reported not done")
	}
	if !finish(older.ID, doneAt.Add(time.Hour)) {
		t.Error("FinishEdition on a finished edition reported not done")
	}
	got, err := st.Edition(ctx, older.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.FinishedAt.Equal(doneAt) {
		t.Errorf("FinishedAt = %v, want the first finish time %v", got.FinishedAt, doneAt)
	}
	if got := unfinished(); got != newer.ID {
		t.Errorf("UnfinishedEdition = %d, want the newer %d", got, newer.ID)
	}
	for _, d := range mustClaim(t, st, newer.ID, "a", 10, edT0) {
		mustRecord(t, st, editions.Result{DeliveryID: d.ID, SubscriberID: d.Subscriber.ID, State: editions.DeliveryFailed,
			Attempts: 1, LastReply: "550 no", At: edT0})
	}
	if !finish(newer.ID, doneAt) {
		t.Error("FinishEdition with everything failed reported not done")
	}
	if got := unfinished(); got != 0 {
		t.Errorf("UnfinishedEdition = %d, want ErrNotFound", got)
	}
	if _, err := st.FinishEdition(ctx, newer.ID+100, doneAt); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("FinishEdition(unknown) = %v, want ErrNotFound", err)
	}
	// An edition nobody receives is done at once.
	empty := mustEdition(t, st, "nobody", "k", 0)
	if !finish(empty.ID, doneAt) {
		t.Error("FinishEdition of an edition without recipients reported not done")
	}
}

func testEditionOrdering(t *testing.T, st *store.DB) {
	ctx := context.Background()
	if _, err := st.LatestEdition(ctx, "daily"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("LatestEdition with none = %v, want ErrNotFound", err)
	}
	if _, err := st.UnfinishedEdition(ctx, "daily"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("UnfinishedEdition with none = %v, want ErrNotFound", err)
	}
	if _, err := st.Edition(ctx, 12345); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("Edition(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := st.ClaimDeliveries(ctx, 12345, "a", 10, edT0, time.Minute); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("ClaimDeliveries(unknown edition) = %v, want ErrNotFound", err)
	}
	// Created out of cutoff order, on purpose.
	mid := mustEdition(t, st, "daily", "mid", 24, "m")
	last := mustEdition(t, st, "daily", "last", 48, "l2", "l1")
	first := mustEdition(t, st, "daily", "first", 0, "f")
	other := mustEdition(t, st, "weekly", "w", 36)

	latest, err := st.LatestEdition(ctx, "daily")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(last, latest); diff != "" {
		t.Errorf("LatestEdition (-want +got):\n%s", diff)
	}
	if got, err := st.UnfinishedEdition(ctx, "daily"); err != nil || got.ID != first.ID {
		t.Errorf("UnfinishedEdition = %v, %v; want the earliest cutoff %d", got, err, first.ID)
	}
	keys := func(es []*editions.Edition) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Key)
		}
		return out
	}
	tests := []struct {
		digest string
		limit  int
		want   []string
	}{
		{"daily", 0, []string{"last", "mid", "first"}},
		{"daily", 2, []string{"last", "mid"}},
		{"", 0, []string{"last", "w", "mid", "first"}},
		{"", 1, []string{"last"}},
		{"weekly", 5, []string{"w"}},
		{"monthly", 5, nil},
	}
	for _, tt := range tests {
		es, err := st.Editions(ctx, tt.digest, tt.limit)
		if err != nil {
			t.Fatalf("Editions(%q, %d): %v", tt.digest, tt.limit, err)
		}
		if diff := cmp.Diff(tt.want, keys(es)); diff != "" {
			t.Errorf("Editions(%q, %d) (-want +got):\n%s", tt.digest, tt.limit, diff)
		}
	}
	all, err := st.Editions(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*editions.Edition{last, other, mid, first}, all); diff != "" {
		t.Errorf("Editions returns other fields than CreateEdition set (-want +got):\n%s", diff)
	}
}

func testQueueSize(t *testing.T, st *store.DB) {
	ctx := context.Background()
	queue := func() int64 {
		t.Helper()
		n, err := st.QueueSize(ctx)
		if err != nil {
			t.Fatalf("QueueSize: %v", err)
		}
		return n
	}
	if got := queue(); got != 0 {
		t.Errorf("QueueSize of an empty store = %d, want 0", got)
	}
	mustActive(t, st, "daily", 3)
	mustSubscribers(t, st, edSub{"w1@example.org", subscribers.Active, []string{"weekly"}},
		edSub{"w2@example.org", subscribers.Active, []string{"weekly"}})
	d := mustEdition(t, st, "daily", "k", 0)
	w := mustEdition(t, st, "weekly", "k", 0)
	if got := queue(); got != 5 {
		t.Errorf("QueueSize = %d, want 5", got)
	}
	ds := mustClaim(t, st, d.ID, "a", 10, edT0)
	if got := queue(); got != 5 {
		t.Errorf("QueueSize with leases = %d, want 5 (leased ones are still to send)", got)
	}
	mustRecord(t, st, sent(ds[0], edT0), editions.Result{DeliveryID: ds[1].ID, SubscriberID: ds[1].Subscriber.ID,
		State: editions.DeliveryRetrying, Attempts: 1, NextAttempt: edT0.Add(time.Minute), At: edT0})
	if got := queue(); got != 4 {
		t.Errorf("QueueSize after one sent = %d, want 4", got)
	}
	for _, x := range mustClaim(t, st, w.ID, "a", 10, edT0) {
		mustRecord(t, st, sent(x, edT0))
	}
	if done, err := st.FinishEdition(ctx, w.ID, edT0); err != nil || !done {
		t.Fatalf("FinishEdition(weekly) = %v, %v", done, err)
	}
	if got := queue(); got != 2 {
		t.Errorf("QueueSize after the weekly finished = %d, want 2", got)
	}
}

func testConcurrentClaimers(t *testing.T, st *store.DB) {
	const n = 300
	mustActive(t, st, "daily", n)
	e := mustEdition(t, st, "daily", "k", 0)
	counts := DrainConcurrently(t, []*store.DB{st}, e.ID, 8, 7)
	if len(counts) != n {
		t.Errorf("%d distinct deliveries claimed, want %d", len(counts), n)
	}
	for id, c := range counts {
		if c != 1 {
			t.Errorf("delivery %d claimed %d times", id, c)
		}
	}
	if p := mustProgress(t, st, e.ID); p.Sent != n || !p.Done() {
		t.Errorf("progress after draining = %+v, want %d sent", p, n)
	}
}

// DrainConcurrently runs workers goroutines per store, each claiming batch
// deliveries of the edition at a time and recording them sent until a claim
// comes back empty, and returns how many times each delivery was claimed.
// Stores may be separate instances on one database, as several processes
// would be.
func DrainConcurrently(t *testing.T, stores []*store.DB, editionID int64, workers, batch int) map[int64]int {
	t.Helper()
	ctx := context.Background()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int64]int{}
		errs   []error
	)
	for si, st := range stores {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("store%d-worker%d", si, w)
				for {
					ds, err := st.ClaimDeliveries(ctx, editionID, owner, batch, edT0, time.Hour)
					if err == nil && len(ds) > 0 {
						rs := make([]editions.Result, len(ds))
						for i, d := range ds {
							rs[i] = sent(d, edT0)
						}
						err = st.RecordResults(ctx, rs)
					}
					mu.Lock()
					for _, d := range ds {
						counts[d.ID]++
					}
					if err != nil {
						errs = append(errs, err)
					}
					mu.Unlock()
					if err != nil || len(ds) == 0 {
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	for _, err := range errs {
		t.Errorf("concurrent claim/record: %v", err)
	}
	return counts
}

// testEditionByKey: one edition is found by its digest and key, however
// many newer editions there are, and a key of another digest is not.
func testEditionByKey(t *testing.T, st *store.DB) {
	ctx := context.Background()
	want := mustEdition(t, st, "daily", "old", 1, "a1")
	for i := range 60 {
		mustEdition(t, st, "daily", fmt.Sprintf("k%02d", i), 2+i)
	}
	mustEdition(t, st, "weekly", "only-weekly", 3)
	got, err := st.EditionByKey(ctx, "daily", "old")
	if err != nil {
		t.Fatalf("EditionByKey(daily, old): %v", err)
	}
	if got.ID != want.ID || got.Key != "old" || len(got.Articles) != 1 || got.Articles[0] != "a1" {
		t.Errorf("EditionByKey(daily, old) = %+v, want edition %d with article a1", got, want.ID)
	}
	if _, err := st.EditionByKey(ctx, "daily", "only-weekly"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("EditionByKey(daily, only-weekly): got %v, want ErrNotFound", err)
	}
}
