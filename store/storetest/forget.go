package storetest

import (
	"context"
	"strings"
	"testing"

	"briefcast/editions"
	"briefcast/store"
	"briefcast/subscribers"
)

// testForgetKeepsDeliveryCounts: forgetting recipients never changes the
// counts of an edition: the finished one still has its two recipients, one
// sent and one failed, with nothing left that names the person (the
// failure's reply quoted the address); what an unfinished edition still
// had to send to them is cancelled, so it can finish.
func testForgetKeepsDeliveryCounts(t *testing.T, st *store.DB) {
	ctx := context.Background()
	mustSubscribers(t, st,
		edSub{"ann@example.org", subscribers.Active, []string{"daily"}},
		edSub{"bob@example.org", subscribers.Active, []string{"daily"}},
		edSub{"cat@example.org", subscribers.Active, []string{"daily"}},
	)
	past := mustEdition(t, st, "daily", "past", 0)
	ds := mustClaim(t, st, past.ID, "a", 10, edT0)
	if len(ds) != 3 {
		t.Fatalf("claim got %d, want 3", len(ds))
	}
	for _, d := range ds {
		r := sent(d, edT0)
		if d.Subscriber.Email == "bob@example.org" {
			r.State, r.LastReply = editions.DeliveryFailed, "550 5.1.1 <bob@example.org>: no such user"
		}
		mustRecord(t, st, r)
	}
	if done, err := st.FinishEdition(ctx, past.ID, edT0); err != nil || !done {
		t.Fatalf("FinishEdition(past) = %v, %v", done, err)
	}
	before := mustProgress(t, st, past.ID)
	next := mustEdition(t, st, "daily", "next", 24)

	for _, addr := range []string{"ann@example.org", "bob@example.org"} {
		if err := st.Forget(ctx, addr); err != nil {
			t.Fatalf("Forget(%s): %v", addr, err)
		}
	}

	if after := mustProgress(t, st, past.ID); after != before || after.Total() != 3 || after.Sent != 2 || after.Failed != 1 {
		t.Errorf("finished edition after Forget = %+v, want it unchanged: %+v", after, before)
	}
	fails, err := st.Failures(ctx, past.ID, 10)
	if err != nil || len(fails) != 1 {
		t.Fatalf("Failures after Forget = %+v, %v; want bob's one row", fails, err)
	}
	if f := fails[0]; f.Subscriber.ID != 0 || f.Subscriber.Email != "" || strings.Contains(f.LastReply, "bob") || f.State != editions.DeliveryFailed {
		t.Errorf("forgotten failure = %+v, want a failed row naming nobody", f)
	}

	p := mustProgress(t, st, next.ID)
	if p.Total() != 3 || p.Cancelled != 2 || p.Queued != 1 {
		t.Errorf("unfinished edition after Forget = %+v, want 2 cancelled and cat's 1 queued", p)
	}
	left := mustClaim(t, st, next.ID, "b", 10, edT0.Add(24*60*60e9))
	if len(left) != 1 || left[0].Subscriber.Email != "cat@example.org" {
		t.Fatalf("claim after Forget = %v, want only cat", emails(left))
	}
	mustRecord(t, st, sent(left[0], edT0))
	if done, err := st.FinishEdition(ctx, next.ID, edT0); err != nil || !done {
		t.Errorf("FinishEdition(next) = %v, %v; want done", done, err)
	}

	// The same address may sign up again and get the next edition.
	mustSubscribers(t, st, edSub{"ann@example.org", subscribers.Active, []string{"daily"}})
	third := mustEdition(t, st, "daily", "third", 48)
	if p := mustProgress(t, st, third.ID); p.Total() != 2 {
		t.Errorf("edition after ann signed up again = %+v, want 2 recipients", p)
	}
}
