package digest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"briefcast/articles"
	"briefcast/editions"
	"briefcast/email/smtptest"
)

func TestRunResumesAndSkipsEmpty(t *testing.T) {
	var refuse sync.Map // rcpt -> true while refused
	f := newFixture(t, 12, smtptest.Options{Fault: func(fp smtptest.FaultPoint) *smtp.SMTPError {
		if _, ok := refuse.Load(strings.ToLower(fp.Rcpt)); ok && fp.Stage == "rcpt" {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"}
		}
		return nil
	}})
	for _, s := range f.subs[:4] {
		refuse.Store(s.Email, true)
	}
	ctx := context.Background()
	d := f.cfg.Digests[0]
	s := f.sender(t)
	s.NoWait = true
	s.BackoffBase, s.BackoffMax, s.RetryMaxAge = time.Hour, time.Hour, 24*time.Hour
	first, err := s.Run(ctx, d, testArticles(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if first.Done || first.Progress.Retrying != 4 || first.Progress.Sent != 8 {
		t.Fatalf("first run: done=%v progress %+v, want 8 sent and 4 retrying", first.Done, first.Progress)
	}
	refuse.Clear()

	// A later run resumes that edition, even with a new article about.
	s2 := f.sender(t)
	s2.Now = func() time.Time { return time.Now().Add(2 * time.Hour) } // the retries are due
	s2.RetryMaxAge = 24 * time.Hour
	arts := append(testArticles(), art("late-news", cutoff.Add(20*time.Hour)))
	second, err := s2.Run(ctx, d, arts, cutoff.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !second.Resumed || second.Edition.ID != first.Edition.ID {
		t.Fatalf("second run did not resume edition %d: %+v", first.Edition.ID, second)
	}
	f.check(t, second, want{})

	// The next run starts the next edition with only the new article.
	third, err := s2.Run(ctx, d, arts, cutoff.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !third.Created || third.Edition.ID == first.Edition.ID || !slices.Equal(third.Edition.Articles, []string{"late-news"}) {
		t.Fatalf("third run: %+v, want a new edition of late-news", third)
	}
	// Nothing new: with skip_empty no edition at all.
	fourth, err := s2.Run(ctx, d, arts, cutoff.AddDate(0, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	if fourth.Edition != nil {
		t.Errorf("fourth run made edition %s, want none", fourth.Edition.Key)
	}
	es, err := f.store.Editions(ctx, d.Name, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 {
		t.Errorf("%d editions, want 2", len(es))
	}
}

// TestDeliverCancel stops a send part-way: it returns the context's error,
// leaves nothing leased, and the next run finishes with no duplicate.
func TestDeliverCancel(t *testing.T) {
	f := newFixture(t, 60, smtptest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := f.sender(t)
	var once sync.Once
	s.OnResult = func(r editions.Result) {
		if r.State == editions.DeliverySent {
			once.Do(cancel)
		}
	}
	d := f.cfg.Digests[0]
	rep, err := s.Run(ctx, d, testArticles(), cutoff)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if rep.Progress.InFlight != 0 || rep.Done || rep.Progress.Sent == 0 || rep.Progress.Sent == int64(len(f.subs)) {
		t.Errorf("after cancel: progress %+v done=%v, want some sent, none in flight", rep.Progress, rep.Done)
	}
	s.OnResult = nil
	s.SingleInstance = false // the release must not depend on ReleaseClaims
	rep, err = s.Run(context.Background(), d, testArticles(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, rep, want{})
}

// TestDeliverStoreGone checks that a store failing mid-way ends Deliver
// with an error instead of a hang.
func TestDeliverStoreGone(t *testing.T) {
	f := newFixture(t, 5, smtptest.Options{})
	ctx := context.Background()
	e := &editions.Edition{Digest: "daily", Key: EditionKey(cutoff), Cutoff: cutoff, Articles: []string{"grid-upgrade"}}
	if err := f.store.CreateEdition(ctx, e); err != nil {
		t.Fatal(err)
	}
	s := f.sender(t)
	s.SingleInstance = false
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	arts := map[string]*articles.Article{}
	for _, a := range testArticles() {
		arts[a.ID] = a
	}
	if _, err := s.Deliver(ctx, f.cfg.Digests[0], e, arts); err == nil {
		t.Fatal("Deliver on a closed store succeeded")
	}
	if n := f.srv.Count(); n != 0 {
		t.Errorf("%d messages sent with no store to record them", n)
	}
}
