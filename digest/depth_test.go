package digest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"briefcast/articles"
	"briefcast/email/smtptest"
	"briefcast/subscribers"
)

// TestDeliverAtEachDepth: the subscriber who chose depth "digest" gets
// the articles' 2-minute digests; the others get the digest's default,
// the take.
func TestDeliverAtEachDepth(t *testing.T) {
	f := newFixture(t, 3, smtptest.Options{})
	ctx := context.Background()
	if err := f.store.UpdatePreferences(ctx, f.subs[1].ID, subscribers.Preferences{Digests: []string{"daily"},
		Depths: map[string]string{"daily": subscribers.DepthDigest}}); err != nil {
		t.Fatal(err)
	}
	arts := testArticles()
	for _, a := range arts {
		articles.WithTiers(a, articles.Tiers{Digest: articles.Digest{Numbers: []articles.Number{{Figure: "17", Meaning: "figure of " + a.ID}}}})
	}
	rep, err := f.sender(t).Run(ctx, f.cfg.Digests[0], arts, cutoff.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, rep, want{})
	for i, s := range f.subs {
		for _, m := range f.srv.Messages() {
			if !slices.Contains(m.To, s.Email) {
				continue
			}
			body := string(m.Data)
			if got := strings.Contains(body, "Key numbers") && strings.Contains(body, "figure of grid-upgrade"); got != (i == 1) {
				t.Errorf("subscriber %d's message has the key numbers: %v, want %v", i, got, i == 1)
			}
		}
	}
}
