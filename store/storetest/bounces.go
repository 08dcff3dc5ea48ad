package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"briefcast/editions"
	"briefcast/store"
	"briefcast/subscribers"
)

// mustSentEdition creates edition key of digest "daily" (cutoff edT0 plus
// hours) and records it sent to every active subscriber at that time.
func mustSentEdition(t *testing.T, st *store.DB, key string, hours int) *editions.Edition {
	t.Helper()
	e := mustEdition(t, st, "daily", key, hours, "article-"+key)
	now := e.Cutoff.Add(time.Minute)
	var rs []editions.Result
	for _, d := range mustClaim(t, st, e.ID, "sender", 100, now) {
		rs = append(rs, sent(d, now))
	}
	mustRecord(t, st, rs...)
	return e
}

func mustBounce(t *testing.T, st *store.DB, b subscribers.Bounce) subscribers.BounceOutcome {
	t.Helper()
	if b.At.IsZero() {
		b.At = edT0.Add(1000 * time.Hour)
	}
	out, err := st.RecordBounce(context.Background(), b, 3)
	if err != nil {
		t.Fatalf("RecordBounce(%+v): %v", b, err)
	}
	return out
}

func mustStatus(t *testing.T, st *store.DB, id int64, want subscribers.Status) {
	t.Helper()
	sub, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%d): %v", id, err)
	}
	if sub.Status != want {
		t.Fatalf("subscriber %d is %s, want %s", id, sub.Status, want)
	}
}

func mustEvents(t *testing.T, st *store.DB, id int64) []subscribers.Event {
	t.Helper()
	evs, err := st.Events(context.Background(), id)
	if err != nil {
		t.Fatalf("Events(%d): %v", id, err)
	}
	return evs
}

func mustCounts(t *testing.T, st *store.DB, ed int64) editions.BounceCounts {
	t.Helper()
	c, err := st.BounceCounts(context.Background(), ed)
	if err != nil {
		t.Fatalf("BounceCounts(%d): %v", ed, err)
	}
	return c
}

func testHardBounce(t *testing.T, st *store.DB) {
	ids := mustSubscribers(t, st, edSub{"ann@example.org", subscribers.Active, []string{"daily"}},
		edSub{"bob@example.org", subscribers.Active, []string{"daily"}})
	e := mustSentEdition(t, st, "e1", 0)
	out := mustBounce(t, st, subscribers.Bounce{Key: "k1", Kind: subscribers.BounceHard, EditionID: e.ID,
		SubscriberID: ids["ann@example.org"], Recipient: "ann@example.org", Status: "5.1.1",
		Reason: "550 5.1.1 <ann@example.org>: user unknown", Source: "smtp"})
	if out.Duplicate || out.SubscriberID != ids["ann@example.org"] || out.Digest != "daily" ||
		out.From != subscribers.Active || out.To != subscribers.Bounced {
		t.Fatalf("outcome %+v, want ann active -> bounced on daily", out)
	}
	mustStatus(t, st, ids["ann@example.org"], subscribers.Bounced)
	mustStatus(t, st, ids["bob@example.org"], subscribers.Active)
	evs := mustEvents(t, st, ids["ann@example.org"])
	last := evs[len(evs)-1]
	if last.To != subscribers.Bounced || !strings.Contains(last.Reason, "5.1.1") || !strings.Contains(last.Reason, "user unknown") {
		t.Errorf("last event %+v, want bounced with the status and diagnostic", last)
	}
	if c := mustCounts(t, st, e.ID); c != (editions.BounceCounts{Hard: 1}) {
		t.Errorf("counts %+v, want 1 hard", c)
	}
	// Suppressed: the next edition does not queue them.
	e2 := mustEdition(t, st, "daily", "e2", 24, "x")
	if e2.Recipients != 1 {
		t.Errorf("next edition has %d recipients, want 1", e2.Recipients)
	}
}

func testHardBounceByAddress(t *testing.T, st *store.DB) {
	ids := mustSubscribers(t, st, edSub{"Carl@Example.org", subscribers.Active, []string{"daily"}})
	out := mustBounce(t, st, subscribers.Bounce{Key: "k", Kind: subscribers.BounceHard, Recipient: "<carl@EXAMPLE.org>", Status: "5.1.1"})
	if out.SubscriberID != ids["Carl@Example.org"] || out.To != subscribers.Bounced || out.Digest != "" {
		t.Fatalf("outcome %+v, want carl bounced", out)
	}
	mustStatus(t, st, ids["Carl@Example.org"], subscribers.Bounced)
}

func testComplaint(t *testing.T, st *store.DB) {
	ids := mustSubscribers(t, st, edSub{"dee@example.org", subscribers.Active, []string{"daily"}})
	e := mustSentEdition(t, st, "e1", 0)
	out := mustBounce(t, st, subscribers.Bounce{Key: "c", Kind: subscribers.BounceComplaint, EditionID: e.ID,
		SubscriberID: ids["dee@example.org"], Reason: "abuse report", Source: "ses"})
	if out.To != subscribers.Complained {
		t.Fatalf("outcome %+v, want complained", out)
	}
	mustStatus(t, st, ids["dee@example.org"], subscribers.Complained)
	if c := mustCounts(t, st, e.ID); c != (editions.BounceCounts{Complaints: 1}) {
		t.Errorf("counts %+v, want 1 complaint", c)
	}
	// A hard bounce afterwards does not turn a complaint into a bounce.
	mustBounce(t, st, subscribers.Bounce{Key: "h", Kind: subscribers.BounceHard, SubscriberID: ids["dee@example.org"]})
	mustStatus(t, st, ids["dee@example.org"], subscribers.Complained)
}

func testBounceTwice(t *testing.T, st *store.DB) {
	ids := mustSubscribers(t, st, edSub{"eve@example.org", subscribers.Active, []string{"daily"}})
	id := ids["eve@example.org"]
	e := mustSentEdition(t, st, "e1", 0)
	b := subscribers.Bounce{Key: "ses\x00m1\x00eve@example.org", Kind: subscribers.BounceComplaint, EditionID: e.ID, SubscriberID: id}
	mustBounce(t, st, b)
	evs := len(mustEvents(t, st, id))
	// The person signs up again; the old report comes once more.
	if err := st.SetStatus(context.Background(), id, subscribers.Active, "resubscribed"); err != nil {
		t.Fatal(err)
	}
	out := mustBounce(t, st, b)
	if !out.Duplicate || out.Changed() {
		t.Fatalf("second copy: %+v, want a duplicate changing nothing", out)
	}
	mustStatus(t, st, id, subscribers.Active)
	if n := len(mustEvents(t, st, id)); n != evs+1 {
		t.Errorf("%d events, want %d (only the resubscription)", n, evs+1)
	}
	if c := mustCounts(t, st, e.ID); c.Complaints != 1 {
		t.Errorf("counts %+v, want 1 complaint", c)
	}
}

func testBounceUnknownAddress(t *testing.T, st *store.DB) {
	mustSubscribers(t, st, edSub{"fay@example.org", subscribers.Active, []string{"daily"}})
	out := mustBounce(t, st, subscribers.Bounce{Key: "u", Kind: subscribers.BounceHard, Recipient: "nobody@example.org"})
	if out.Duplicate || out.SubscriberID != 0 || out.Changed() {
		t.Fatalf("outcome %+v, want stored about nobody", out)
	}
	if out := mustBounce(t, st, subscribers.Bounce{Key: "u", Kind: subscribers.BounceHard, Recipient: "nobody@example.org"}); !out.Duplicate {
		t.Fatalf("second copy %+v, want a duplicate: the first was stored", out)
	}
	if _, err := st.RecordBounce(context.Background(), subscribers.Bounce{Kind: subscribers.BounceHard}, 3); err == nil {
		t.Error("RecordBounce without a key succeeded")
	}
}

// softOn records a soft bounce of subscriber id on edition e.
func softOn(t *testing.T, st *store.DB, e *editions.Edition, id int64) subscribers.BounceOutcome {
	t.Helper()
	return mustBounce(t, st, subscribers.Bounce{Key: fmt.Sprintf("soft-%d-%d", e.ID, id), Kind: subscribers.BounceSoft,
		EditionID: e.ID, SubscriberID: id, Status: "4.2.2", Reason: "mailbox full", At: e.Cutoff.Add(time.Hour)})
}

func testSoftLimit(t *testing.T, st *store.DB) {
	ids := mustSubscribers(t, st, edSub{"gus@example.org", subscribers.Active, []string{"daily"}})
	id := ids["gus@example.org"]
	for i := 1; i <= 3; i++ {
		e := mustSentEdition(t, st, fmt.Sprintf("e%d", i), 24*i)
		out := softOn(t, st, e, id)
		if out.SoftCount != i {
			t.Fatalf("soft bounce %d: count %d, want %d", i, out.SoftCount, i)
		}
		// The same edition bouncing again is not a new one in the row.
		mustBounce(t, st, subscribers.Bounce{Key: fmt.Sprintf("again-%d", i), Kind: subscribers.BounceSoft, EditionID: e.ID, SubscriberID: id})
		want := subscribers.Active
		if i == 3 {
			want = subscribers.Bounced
		}
		mustStatus(t, st, id, want)
	}
	evs := mustEvents(t, st, id)
	if last := evs[len(evs)-1]; last.To != subscribers.Bounced || !strings.Contains(last.Reason, "4.2.2") || !strings.Contains(last.Reason, "mailbox full") {
		t.Errorf("last event %+v, want bounced with the status and diagnostic", last)
	}
}

func testSoftResetByDelivery(t *testing.T, st *store.DB) {
	ids := mustSubscribers(t, st, edSub{"hal@example.org", subscribers.Active, []string{"daily"}})
	id := ids["hal@example.org"]
	e1 := mustSentEdition(t, st, "e1", 24)
	softOn(t, st, e1, id)
	e2 := mustSentEdition(t, st, "e2", 48)
	softOn(t, st, e2, id)
	mustSentEdition(t, st, "e3", 72) // delivered: nothing came back
	e4 := mustSentEdition(t, st, "e4", 96)
	if out := softOn(t, st, e4, id); out.SoftCount != 1 || out.Changed() {
		t.Fatalf("after a delivery in between: %+v, want a count of 1 and no change", out)
	}
	e5 := mustSentEdition(t, st, "e5", 120)
	softOn(t, st, e5, id)
	mustStatus(t, st, id, subscribers.Active)
}

// testSoftLateReports: reports that come after the next edition went out
// still count in the order the editions were sent.
func testSoftLateReports(t *testing.T, st *store.DB) {
	ids := mustSubscribers(t, st, edSub{"ida@example.org", subscribers.Active, []string{"daily"}})
	id := ids["ida@example.org"]
	e1 := mustSentEdition(t, st, "e1", 24)
	e2 := mustSentEdition(t, st, "e2", 48)
	e3 := mustSentEdition(t, st, "e3", 72)
	softOn(t, st, e1, id)
	softOn(t, st, e2, id)
	mustStatus(t, st, id, subscribers.Active)
	if out := softOn(t, st, e3, id); out.SoftCount != 3 || out.To != subscribers.Bounced {
		t.Fatalf("third late report: %+v, want count 3 and bounced", out)
	}
}

func testBounceForgotten(t *testing.T, st *store.DB) {
	ids := mustSubscribers(t, st, edSub{"jo@example.org", subscribers.Active, []string{"daily"}})
	e := mustSentEdition(t, st, "e1", 0)
	mustBounce(t, st, subscribers.Bounce{Key: "a", Kind: subscribers.BounceHard, EditionID: e.ID, SubscriberID: ids["jo@example.org"]})
	if err := st.Forget(context.Background(), "jo@example.org"); err != nil {
		t.Fatal(err)
	}
	if c := mustCounts(t, st, e.ID); c.Hard != 1 {
		t.Errorf("counts after Forget %+v, want the hard bounce still counted", c)
	}
	// The same person signs up again; a late report about the old row
	// names nobody.
	again := mustSubscribers(t, st, edSub{"jo@example.org", subscribers.Active, []string{"daily"}})
	out := mustBounce(t, st, subscribers.Bounce{Key: "b", Kind: subscribers.BounceHard, EditionID: e.ID, SubscriberID: ids["jo@example.org"], Recipient: "jo@example.org"})
	if out.SubscriberID != 0 {
		t.Fatalf("report about a forgotten row: %+v, want nobody", out)
	}
	mustStatus(t, st, again["jo@example.org"], subscribers.Active)
}
