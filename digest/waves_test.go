package digest

import (
	"context"
	"strings"
	"testing"
	"time"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/email/smtptest"
	"briefcast/scheduler"
	"briefcast/store"
	"briefcast/store/storetest"
	"briefcast/subscribers"
)

func utcAt(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func localDigest(t *testing.T, spec, zone string) config.Digest {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return config.Digest{Name: "daily", Schedule: spec, Location: loc, SendAt: config.SendAtSubscriber, MaxItems: 10}
}

// TestWavesOrderAndDST: one wave per distinct UTC instant, UTC+14 first
// and UTC-12 last, and one run per zone on the days the clocks change in
// either direction, even for a wall time in the skipped or repeated hour.
func TestWavesOrderAndDST(t *testing.T) {
	d := localDigest(t, "0 7 * * *", "Europe/London")
	zones := []string{"Asia/Tokyo", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kolkata", "Asia/Seoul", ""}
	waves, errs := Waves(d, zones, utcAt("2026-11-24T12:00:00Z"), utcAt("2026-11-25T20:00:00Z"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, w := range waves {
		got = append(got, w.At.Format("02T15:04")+"="+strings.Join(w.Zones, "+"))
	}
	want := []string{
		"24T17:00=Pacific/Kiritimati", "24T19:00=Etc/GMT+12", "24T22:00=Asia/Seoul+Asia/Tokyo", "25T01:30=Asia/Kolkata",
		"25T07:00=", "25T12:00=America/New_York", "25T17:00=Pacific/Kiritimati", "25T19:00=Etc/GMT+12",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("waves\n got %v\nwant %v", got, want)
	}

	for _, c := range []struct{ spec, from, to, want string }{
		// New York springs forward on 2026-03-08: 02:30 does not exist
		// and runs once, at 03:00 EDT.
		{"30 2 * * *", "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z", "2026-03-08T07:00Z 2026-03-09T06:30Z"},
		// and falls back on 2026-11-01: 01:30 happens twice, runs once.
		{"30 1 * * *", "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z", "2026-11-01T05:30Z 2026-11-02T06:30Z"},
	} {
		d := localDigest(t, c.spec, "UTC")
		waves, _ := Waves(d, []string{"America/New_York"}, utcAt(c.from), utcAt(c.to))
		var got []string
		for _, w := range waves {
			if len(w.Zones) == 1 && w.Zones[0] == "America/New_York" {
				got = append(got, w.At.Format("2006-01-02T15:04Z"))
			}
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s in New York: runs %v, want %s", c.spec, got, c.want)
		}
	}
}

// TestPlanWaveLookBack: a wave takes what was published since that zone's
// previous local 07:00, so New York gets the article published after
// Tokyo's wave, and the last zone no longer gets the one from the day
// before.
func TestPlanWaveLookBack(t *testing.T) {
	d := localDigest(t, "0 7 * * *", "UTC")
	arts := []*articles.Article{art("x", utcAt("2026-11-24T14:00:00Z")), art("y", utcAt("2026-11-25T09:00:00Z"))}
	for _, c := range []struct {
		zone string
		at   string
		want string
	}{
		{"Asia/Tokyo", "2026-11-24T22:00:00Z", "x"},
		{"America/New_York", "2026-11-25T12:00:00Z", "y x"},
		{"Etc/GMT+12", "2026-11-25T19:00:00Z", "y"},
	} {
		picked, gap, err := PlanWave(d, arts, []string{c.zone}, utcAt(c.at))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ids(picked), " "); got != c.want {
			t.Errorf("%s: articles %q, want %q", c.zone, got, c.want)
		}
		if gap != 20*time.Hour {
			t.Errorf("%s: one-a-day gap %s, want 20h", c.zone, gap)
		}
	}
}

// zoneFixture is a wave fixture: subscribers of the daily digest, each in
// a zone ("" for none), on a real SQLite store and SMTP server.
func zoneFixture(t *testing.T, st *store.DB, zones map[string]string) (*fixture, map[string]int64) {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Options{})
	f := &fixture{cfg: mustConfig(t, srv.Port(), 2), store: st, srv: srv}
	f.cfg.Digests[0].SendAt = config.SendAtSubscriber
	var rows []subscribers.ImportRow
	for who, z := range zones {
		rows = append(rows, subscribers.ImportRow{Line: len(rows) + 1, Email: who + "@example.net", Digests: []string{"daily"},
			Timezone: z, Status: subscribers.Active})
	}
	if _, err := st.Import(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	err := st.List(context.Background(), subscribers.Filter{Digest: "daily"}, func(s *subscribers.Subscriber) error {
		ids[strings.TrimSuffix(s.Email, "@example.net")] = s.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, ids
}

// inbox lists, per recipient, the article titles of each message they got,
// in order.
func (f *fixture) inbox(arts []*articles.Article) map[string][]string {
	got := map[string][]string{}
	for _, m := range f.srv.Messages() {
		var in []string
		for _, a := range arts {
			if strings.Contains(string(m.Data), "Title "+a.ID) {
				in = append(in, a.ID)
			}
		}
		for _, to := range m.To {
			who := strings.TrimSuffix(strings.ToLower(to), "@example.net")
			got[who] = append(got[who], strings.Join(in, "+"))
		}
	}
	return got
}

// TestWaveDayInManyZones runs two whole days of waves, from the clock of
// the scheduler, for subscribers all round the world, one of whom moves
// from Tokyo to New York after Tokyo's wave: everyone gets one message a
// day at their own 07:00 with what is new for them, nobody gets an article
// twice, and nobody gets a message on a day with nothing new for them.
func TestWaveDayInManyZones(t *testing.T) {
	st := storetest.SQLite(t)
	zones := map[string]string{
		"kiri": "Pacific/Kiritimati", "tokyo": "Asia/Tokyo", "mover": "Asia/Tokyo", "delhi": "Asia/Kolkata",
		"london": "Europe/London", "plain": "", "ny": "America/New_York", "baker": "Etc/GMT+12",
	}
	f, ids := zoneFixture(t, st, zones)
	clock := scheduler.NewFakeClock(utcAt("2026-11-24T12:00:00Z"))
	s := f.sender(t)
	s.Now = clock.Now
	d := f.cfg.Digests[0]
	arts := []*articles.Article{
		art("x", utcAt("2026-11-24T14:00:00Z")), // before every zone's 07:00 on the 25th
		art("y", utcAt("2026-11-25T09:00:00Z")), // after Tokyo's, before New York's
		art("z", utcAt("2026-11-26T20:00:00Z")), // after every wave of the 26th: goes out the 27th
	}
	ctx := context.Background()
	end := utcAt("2026-11-27T20:00:00Z")
	moved := false
	for clock.Now().Before(end) {
		all, err := st.SubscriberZones(ctx, "daily")
		if err != nil {
			t.Fatal(err)
		}
		waves, _ := Waves(d, all, clock.Now(), end)
		if len(waves) == 0 {
			break
		}
		w := waves[0]
		clock.Set(w.At)
		// Only the articles published by now exist yet.
		var now []*articles.Article
		for _, a := range arts {
			if !a.Published.After(w.At) {
				now = append(now, a)
			}
		}
		if _, err := s.RunWave(ctx, d, now, w.At); err != nil {
			t.Fatalf("wave %s: %v", w.At, err)
		}
		if !moved && w.At.Equal(utcAt("2026-11-24T22:00:00Z")) {
			moved = true
			if err := st.UpdatePreferences(ctx, ids["mover"], subscribers.Preferences{Digests: []string{"daily"}, Timezone: "America/New_York"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := f.inbox(arts)
	// Each zone's 07:00 in UTC: kiri 17:00, baker 19:00, tokyo 22:00,
	// delhi 01:30, london and plain 07:00, ny 12:00. y (25th 09:00) is new
	// for Tokyo on the 25th but for New York already on the 25th; z (26th
	// 20:00) comes too late for kiri and baker on the 26th. The mover got
	// Tokyo's x on the 24th; New York's wave of the 25th comes 14 hours
	// later, the same local day, so they are not in it.
	want := map[string]string{
		"kiri": "x y z", "baker": "x y z", "tokyo": "x y z", "delhi": "x y z",
		"london": "x y z", "plain": "x y z", "ny": "x+y z", "mover": "x z",
	}
	for who := range zones {
		if g := strings.Join(got[who], " "); g != want[who] {
			t.Errorf("%s (%s) got %q, want %q", who, zones[who], g, want[who])
		}
	}
	seen := map[string]bool{}
	for who, msgs := range got {
		for _, m := range msgs {
			for _, a := range strings.Split(m, "+") {
				if seen[who+"/"+a] {
					t.Errorf("%s got article %s twice: %v", who, a, msgs)
				}
				seen[who+"/"+a] = true
			}
			if m == "" {
				t.Errorf("%s got a message with no article: %v", who, msgs)
			}
		}
	}
}
