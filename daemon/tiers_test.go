package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"briefcast/subscribers"
)

// TestDigestAtDepthAfterRestart: after a restart (a new load, its tiers in
// a new spill file), a subscriber who chose the 2-minute digest gets the
// article's digest text in the mail, read back from the spill.
func TestDigestAtDepthAfterRestart(t *testing.T) {
	e := mustEnv(t)
	first := e.mustDaemon(t, e.options())
	first.close()
	d := e.mustDaemon(t, e.options())
	sub := mustActiveSubscriber(t, d, "reader@example.org")
	if err := d.store.(interface {
		UpdatePreferences(context.Context, int64, subscribers.Preferences) error
	}).UpdatePreferences(context.Background(), sub.ID, subscribers.Preferences{
		Digests: []string{"daily"}, Depths: map[string]string{"daily": subscribers.DepthDigest},
	}); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	if err := d.runDigest(context.Background(), d.Config().Digests[0], cutoff); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, m := range outbox(t, d.Config().DataDir) {
		if !strings.Contains(m, "reader@example.org") || !strings.Contains(m, "Harbour Lights") {
			continue
		}
		found = true
		text := strings.NewReplacer("=\r\n", "", "=\n", "").Replace(m)
		if !strings.Contains(text, "The work was done at night.") {
			t.Errorf("the digest mail lacks the article's 2-minute digest:\n%s", m)
		}
	}
	if !found {
		t.Fatalf("no digest mail to the reader; logs:\n%s", e.logs.String())
	}
}
