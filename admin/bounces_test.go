package admin

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"briefcast/editions"
	"briefcast/store"
	"briefcast/subscribers"
)

// sendAll marks every delivery of the store's one edition sent and returns
// the edition.
func sendAll(t *testing.T, st *store.DB) *editions.Edition {
	t.Helper()
	ctx := context.Background()
	es, err := st.Editions(ctx, "daily", 1)
	if err != nil || len(es) != 1 {
		t.Fatalf("editions %v (%v)", es, err)
	}
	now := time.Now()
	ds, err := st.ClaimDeliveries(ctx, es[0].ID, "test", 10, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var rs []editions.Result
	for _, d := range ds {
		rs = append(rs, editions.Result{DeliveryID: d.ID, SubscriberID: d.Subscriber.ID, State: editions.DeliverySent, Attempts: 1, At: now})
	}
	if err := st.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if p, err := st.Progress(ctx, es[0].ID); err != nil || p.Sent != 2 {
		t.Fatalf("progress %+v (%v), want 2 sent", p, err)
	}
	return es[0]
}

func pageBody(t *testing.T, h *Handler) string {
	t.Helper()
	req := httptest.NewRequest("GET", "/admin/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// TestPageBounceRates: the editions table shows each edition's hard and
// soft bounces and complaints with their share of the messages sent, and
// a rate past its limit is marked and listed as a warning.
func TestPageBounceRates(t *testing.T) {
	st := mustStore(t)
	ed := sendAll(t, st)
	h := mustHandler(t, st, token)

	body := pageBody(t, h)
	for _, want := range []string{"<th class=\"num\" title=\"hard bounces, share of sent (warning over 2%)\">Hard bounces</th>", "Soft bounces", "Complaints",
		`<td class="num">0 <span class="muted">(0.00%)</span></td>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page without bounces lacks %q", want)
		}
	}
	if strings.Contains(body, "Warning:") || strings.Contains(body, `class="num warn"`) {
		t.Errorf("page warns with no bounce at all")
	}

	ctx := context.Background()
	for _, b := range []subscribers.Bounce{
		{Key: "k1", Kind: subscribers.BounceSoft, EditionID: ed.ID, Recipient: "ada@example.org"},
		{Key: "k2", Kind: subscribers.BounceComplaint, EditionID: ed.ID, Recipient: "bob@example.org"},
	} {
		if _, err := st.RecordBounce(ctx, b, 0); err != nil {
			t.Fatal(err)
		}
	}
	body = pageBody(t, h)
	for _, want := range []string{
		`<td class="num">0 <span class="muted">(0.00%)</span></td>`,  // hard: none
		`<td class="num">1 <span class="muted">(50.00%)</span></td>`, // soft: no limit
		`<td class="num warn">1 <span>(50.00%)</span></td>`,          // complaints: over 0.1 %
		"<strong>Warning:</strong> daily <code>20261125T1200Z</code>: complaint rate 50.00% is over 0.1%",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "hard-bounce rate") {
		t.Errorf("page warns of hard bounces with none")
	}
}
