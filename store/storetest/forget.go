package storetest

import (
	"context"
	"errors"
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
