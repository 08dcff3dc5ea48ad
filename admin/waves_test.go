package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"briefcast/config"
	"briefcast/digest"
	"briefcast/editions"
	"briefcast/store"
	"briefcast/subscribers"
	"briefcast/templates"
)

// digestPlanner plans the waves of real config digests, as the daemon does.
type digestPlanner map[string]config.Digest

func (p digestPlanner) LocalDigests() []string { return []string{"local"} }

func (p digestPlanner) PlanWaves(name string, zones []string, from, to time.Time) []PlannedWave {
	waves, _ := digest.Waves(p[name], zones, from, to)
	out := make([]PlannedWave, len(waves))
	for i, w := range waves {
		out[i] = PlannedWave{At: w.At, Zones: w.Zones}
	}
	return out
}

// TestPageWaves: /admin/ shows, for a local-time digest, the waves of the
// last 24 hours with their delivery progress and the waves due in the
// next 24 hours with the subscribers their zones hold.
func TestPageWaves(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "briefcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for email, zone := range map[string]string{"ada@example.org": "Asia/Tokyo", "kim@example.org": "Asia/Seoul",
		"bob@example.org": "", "eve@example.org": "Europe/London"} {
		if _, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{Email: email, Digests: []string{"local"}, Timezone: zone,
			Active: true, Source: subscribers.SourceImport, ConsentAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	wave := func(at time.Time, sent string, zones ...string) {
		t.Helper()
		e := &editions.Edition{Digest: "local", Key: digest.EditionKey(at), Cutoff: at, Zones: zones, Articles: []string{"a1"}}
		if err := st.CreateWave(ctx, e, time.Hour); err != nil {
			t.Fatal(err)
		}
		ds, err := st.ClaimDeliveries(ctx, e.ID, "test", 10, at, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var res []editions.Result
		for _, d := range ds {
			if d.Subscriber.Email == sent {
				res = append(res, editions.Result{DeliveryID: d.ID, SubscriberID: d.Subscriber.ID, State: editions.DeliverySent, Attempts: 1, At: at})
			}
		}
		if err := st.RecordResults(ctx, res); err != nil {
			t.Fatal(err)
		}
		if err := st.ReleaseClaims(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		if len(res) == len(ds) {
			if _, err := st.FinishEdition(ctx, e.ID, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	wave(time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC), "eve@example.org", "Europe/London") // two days ago: not shown
	wave(time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC), "ada@example.org", "Asia/Seoul", "Asia/Tokyo")
	wave(time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), "eve@example.org", "Europe/London")

	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	planner := digestPlanner{"local": {Name: "local", Schedule: "0 7 * * *", Location: ny, SendAt: config.SendAtSubscriber}}
	h, err := New(st, nil, templates.Embedded(), token, log, WithWaves(planner))
	if err != nil {
		t.Fatal(err)
	}
	h.Now = func() time.Time { return time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC) }
	req := httptest.NewRequest("GET", "/admin/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	start := strings.Index(body, "<h3>local</h3>")
	if start < 0 {
		t.Fatalf("page has no waves section for the digest:\n%s", body)
	}
	section := body[start:]
	section = section[:strings.Index(section, "</table>")]
	want := []string{
		"Wave Edition Zones Delivery Recipients Sent Skipped Failed Pending State",
		"2026-11-24 22:00 UTC 20261124T2200Z Asia/Seoul, Asia/Tokyo 50% 2 1 0 0 1 sending",
		"2026-11-25 07:00 UTC 20261125T0700Z Europe/London 100% 1 1 0 0 0 finished",
		"2026-11-25 12:00 UTC – digest zone – 1 – – – – due",
		"2026-11-25 22:00 UTC – Asia/Seoul, Asia/Tokyo – 2 – – – – due",
		"2026-11-26 07:00 UTC – Europe/London – 1 – – – – due",
	}
	if diff := cmp.Diff(want, tableRows(section)); diff != "" {
		t.Errorf("waves table (-want +got):\n%s", diff)
	}
}

// tableRows is the text of each <tr> of an HTML table, cells joined by
// single spaces.
func tableRows(html string) []string {
	tags := regexp.MustCompile(`<[^>]*>`)
	var rows []string
	for _, tr := range strings.Split(html, "<tr")[1:] {
		text := tags.ReplaceAllString("<tr"+tr, " ")
		rows = append(rows, strings.Join(strings.Fields(text), " "))
	}
	return rows
}
