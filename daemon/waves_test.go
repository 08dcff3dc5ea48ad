package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"briefcast/digest"
	"briefcast/editions"
	"briefcast/scheduler"
	"briefcast/store"
	"briefcast/subscribers"
)

const localDigest = `[[digests]]
name = "local"
schedule = "0 7 * * *"
timezone = "America/New_York"
send_at = "subscriber"
catch_up = "3h"
`

// sentWave records a wave of local as already sent to everyone in it, as
// a daemon that ran before would have left it.
func sentWave(t *testing.T, st *store.DB, at time.Time, zones ...string) {
	t.Helper()
	ctx := context.Background()
	e := &editions.Edition{Digest: "local", Key: digest.EditionKey(at), Cutoff: at, Zones: zones, Articles: []string{"older-story"}}
	if err := st.CreateWave(ctx, e, time.Hour); err != nil {
		t.Fatal(err)
	}
	ds, err := st.ClaimDeliveries(ctx, e.ID, "before", 10, at, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	res := make([]editions.Result, len(ds))
	for i, d := range ds {
		res[i] = editions.Result{DeliveryID: d.ID, SubscriberID: d.Subscriber.ID, State: editions.DeliverySent, Attempts: 1, At: at}
	}
	if err := st.RecordResults(ctx, res); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishEdition(ctx, e.ID, at); err != nil {
		t.Fatal(err)
	}
}

// messagesTo counts the outbox's messages per recipient address.
func messagesTo(t *testing.T, dir string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, m := range outbox(t, filepath.Join(dir, "data", "outbox")) {
		for _, line := range strings.Split(m, "\r\n") {
			if to, ok := strings.CutPrefix(line, "To: "); ok {
				got[strings.Trim(to, "<> ")]++
				break
			}
		}
	}
	return got
}

// TestWaveCatchUpAndSchedule: a daemon started an hour after London's 07:00
// wave (within catch_up = 3h) sends that wave once on start, but not
// Tokyo's, ten hours past; when its clock reaches Tokyo's 07:00 it sends
// Tokyo's wave, and nobody gets a message twice.
func TestWaveCatchUpAndSchedule(t *testing.T) {
	e := mustEnv(t)
	s := defaults
	s.digests = localDigest
	e.write(t, s)
	article := "+++\ntitle = \"Night Ferry Returns\"\ndate = 2026-11-25T06:30:00Z\n+++\n\n## Instant Insight\n\n- The night ferry runs again.\n"
	if err := os.WriteFile(filepath.Join(e.dir, "content", "lights.md"), []byte(article), 0o644); err != nil {
		t.Fatal(err)
	}
	// Published before Tokyo's missed wave: that wave would have carried
	// it, had it been caught up.
	earlier := strings.NewReplacer("Night Ferry Returns", "Market Hall Reopens", "2026-11-25T06:30:00Z", "2026-11-24T20:00:00Z").Replace(article)
	if err := os.WriteFile(filepath.Join(e.dir, "content", "market.md"), []byte(earlier), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := e.load()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := os.MkdirAll(filepath.Dir(cfg.Store.DSN), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN)
	if err != nil {
		t.Fatal(err)
	}
	for addr, zone := range map[string]string{"ada@example.org": "Asia/Tokyo", "eve@example.org": "Europe/London"} {
		if _, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: addr, Digests: []string{"local"}, Timezone: zone,
			Active: true, Source: subscribers.SourceImport, ConsentAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	// Each zone's last wave before the daemon stopped.
	sentWave(t, st, time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC), "Asia/Tokyo")
	sentWave(t, st, time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC), "Europe/London")
	st.Close()

	clock := scheduler.NewFakeClock(time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC))
	o := e.options()
	o.Clock, o.Now = clock, clock.Now
	d := e.mustDaemon(t, o)
	if err := d.start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			mustStop(t, d)
		}
	}()
	waitUntil(t, "London's missed wave sent", func() bool { return messagesTo(t, e.dir)["eve@example.org"] == 1 })
	// The rebuild, the digest's own zone (its job and its resume poller),
	// Tokyo and London: every loop past its catch-up and waiting.
	clock.BlockUntil(5)
	clock.Set(time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC))
	waitUntil(t, "Tokyo's wave sent", func() bool { return messagesTo(t, e.dir)["ada@example.org"] == 1 })
	clock.BlockUntil(5)
	mustStop(t, d)
	stopped = true

	if got := messagesTo(t, e.dir); got["eve@example.org"] != 1 || got["ada@example.org"] != 1 || len(got) != 2 {
		t.Errorf("messages per recipient %v, want one each for ada and eve", got)
	}
	st, err = store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waves, err := st.Waves(ctx, "local", time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range waves {
		if w.Progress.Total() > 0 {
			got = append(got, w.Edition.Key+" "+strings.Join(w.Edition.Zones, ","))
		}
	}
	want := "20261125T0700Z Europe/London|20261125T2200Z Asia/Tokyo"
	if strings.Join(got, "|") != want {
		t.Errorf("waves with recipients since the stop: %q, want %q (Tokyo's of 2026-11-24 22:00 was past catch_up)", strings.Join(got, "|"), want)
	}
}
