package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"briefcast/digest"
	"briefcast/editions"
)

// TestDigestStatusWaves: `digest status` of a send_at = "subscriber"
// digest lists the waves of the last 24 hours with how far each got, and
// the waves due in the next 24 hours with their zones and subscribers.
func TestDigestStatusWaves(t *testing.T) {
	_, cfgPath, st := mustWaveStore(t)
	ctx := context.Background()
	// A wave of two days ago (out of range), the Asian wave of last night
	// with one of its two sent, and this morning's London wave, all sent.
	wave := func(at time.Time, send []string, zones ...string) {
		t.Helper()
		e := &editions.Edition{Digest: "daily", Key: digest.EditionKey(at), Cutoff: at, Zones: zones, Articles: []string{"harbour"}}
		if err := st.CreateWave(ctx, e, time.Hour); err != nil {
			t.Fatal(err)
		}
		ds, err := st.ClaimDeliveries(ctx, e.ID, "test", 10, at, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var res []editions.Result
		for _, d := range ds {
			state := editions.DeliveryQueued
			for _, s := range send {
				if d.Subscriber.Email == s {
					state = editions.DeliverySent
				}
			}
			if state == editions.DeliverySent {
				res = append(res, editions.Result{DeliveryID: d.ID, SubscriberID: d.Subscriber.ID, State: state, Attempts: 1, At: at})
			}
		}
		if err := st.RecordResults(ctx, res); err != nil {
			t.Fatal(err)
		}
		if err := st.ReleaseClaims(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		if len(send) == len(ds) {
			if _, err := st.FinishEdition(ctx, e.ID, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	wave(time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC), []string{"eve@example.org"}, "Europe/London")
	wave(time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC), []string{"ada@example.org"}, "Asia/Seoul", "Asia/Tokyo")
	wave(time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), []string{"eve@example.org"}, "Europe/London")
	st.Close()

	got := runAt(t, cfgPath, time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), commands["digest"].Run, "status", "daily")
	want := `
Waves, last 24 hours:
  2026-11-24 22:00 UTC  20261124T2200Z  1 sent, 0 skipped, 0 failed, 1 pending of 2  sending  Asia/Seoul 07:00 KST, Asia/Tokyo 07:00 JST
  2026-11-25 07:00 UTC  20261125T0700Z  1 sent, 0 skipped, 0 failed, 0 pending of 1  finished  Europe/London 07:00 GMT
Next waves, coming 24 hours:
  2026-11-25 12:00 UTC  due, 1 subscriber  America/New_York (digest zone) 07:00 EST
  2026-11-25 22:00 UTC  due, 2 subscribers  Asia/Seoul 07:00 KST, Asia/Tokyo 07:00 JST
  2026-11-26 07:00 UTC  due, 1 subscriber  Europe/London 07:00 GMT
`
	if !strings.HasSuffix(got, want) {
		t.Errorf("digest status lacks the waves; want the tail\n%s\ngot\n%s", want, got)
	}
	if !strings.HasPrefix(got, "digest daily edition 20261124T2200Z: sending\n") {
		t.Errorf("digest status does not start with the unfinished wave:\n%s", got)
	}
	if strings.Contains(got, "2026-11-23 07:00 UTC") {
		t.Errorf("digest status lists a wave older than 24 hours:\n%s", got)
	}
}
