package storetest

import (
	"context"
	"errors"
	"fmt"
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
