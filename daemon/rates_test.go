package daemon

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"briefcast/editions"
	"briefcast/subscribers"
)

// TestEditionRatesMetric: the metrics carry the bounce and complaint rates
// of each digest's newest edition, as shares of its sent messages.
func TestEditionRatesMetric(t *testing.T) {
	_, d := bounceEnv(t)
	ctx := context.Background()
	mustActiveSubscriber(t, d, "ann@example.org")
	mustActiveSubscriber(t, d, "bob@example.org")
	st := d.store.(interface {
		CreateEdition(context.Context, *editions.Edition) error
		ClaimDeliveries(context.Context, int64, string, int, time.Time, time.Duration) ([]editions.Delivery, error)
		RecordResults(context.Context, []editions.Result) error
		RecordBounce(context.Context, subscribers.Bounce, int) (subscribers.BounceOutcome, error)
	})
	e := &editions.Edition{Digest: "daily", Key: "20261125T1200Z", Cutoff: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Articles: []string{"a1"}}
	if err := st.CreateEdition(ctx, e); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ds, err := st.ClaimDeliveries(ctx, e.ID, "test", 10, now, time.Minute)
	if err != nil || len(ds) != 2 {
		t.Fatalf("claimed %d (%v), want 2", len(ds), err)
	}
	var rs []editions.Result
	for _, dl := range ds {
		rs = append(rs, editions.Result{DeliveryID: dl.ID, SubscriberID: dl.Subscriber.ID, State: editions.DeliverySent, Attempts: 1, At: now})
	}
	if err := st.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordBounce(ctx, subscribers.Bounce{Key: "c1", Kind: subscribers.BounceComplaint, EditionID: e.ID, Recipient: "bob@example.org"}, 3); err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	d.m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`briefcast_edition_bounce_rate{digest="daily",edition="20261125T1200Z",kind="complaint"} 0.5`,
		`briefcast_edition_bounce_rate{digest="daily",edition="20261125T1200Z",kind="hard"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
