package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"briefcast/editions"
	"briefcast/store"
	"briefcast/subscribers"
)

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
