package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"briefcast/editions"
	"briefcast/store"
	"briefcast/subscribers"
)

func testDepthRoundTrip(t *testing.T, st *store.DB) {
	ctx := context.Background()
	s := mustCreate(t, st, &subscribers.Subscriber{Email: "depth@example.com", Digests: []string{"daily", "weekly"},
		Depths: map[string]string{"weekly": subscribers.DepthDigest}})
	if got := mustGet(t, st, s.Email).Depths; len(got) != 1 || got["weekly"] != "digest" {
		t.Fatalf("depths after Create = %v, want weekly=digest", got)
	}
	p := subscribers.Preferences{Digests: []string{"daily", "weekly"},
		Depths: map[string]string{"daily": subscribers.DepthDigest, "weekly": ""}}
	if err := st.UpdatePreferences(ctx, s.ID, p); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, st, s.Email)
	if len(got.Depths) != 1 || got.Depths["daily"] != "digest" {
		t.Errorf("depths after UpdatePreferences = %v, want daily=digest only (weekly back to its default)", got.Depths)
	}
	bad := subscribers.Preferences{Digests: []string{"daily"}, Depths: map[string]string{"daily": "everything"}}
	if err := st.UpdatePreferences(ctx, s.ID, bad); err == nil {
		t.Error("accepted the unknown depth \"everything\"")
	}
	if got := mustGet(t, st, s.Email); got.Depths["daily"] != "digest" {
		t.Errorf("a refused update changed the depths to %v", got.Depths)
	}
}

func testDepthAtClaim(t *testing.T, st *store.DB) {
	ctx := context.Background()
	ids := mustSubscribers(t, st, edSub{"deep@example.org", subscribers.Active, []string{"daily"}},
		edSub{"plain@example.org", subscribers.Active, []string{"daily"}})
	if err := st.UpdatePreferences(ctx, ids["deep@example.org"], subscribers.Preferences{Digests: []string{"daily"},
		Depths: map[string]string{"daily": subscribers.DepthDigest}}); err != nil {
		t.Fatal(err)
	}
	e := mustEdition(t, st, "daily", "d1", 0, "a1")
	got := map[string]string{}
	for _, d := range mustClaim(t, st, e.ID, "w", 10, edT0.Add(time.Hour)) {
		got[d.Subscriber.Email] = d.Subscriber.Depths["daily"]
	}
	if got["deep@example.org"] != "digest" || got["plain@example.org"] != "" || len(got) != 2 {
		t.Errorf("claimed depths = %v, want deep=digest and plain=\"\" (the default)", got)
	}
}

// pauseOne creates two active subscribers of daily and pauses one of them
// until until; it returns the paused one's id.
func pauseOne(t *testing.T, st *store.DB, until time.Time) int64 {
	t.Helper()
	ids := mustSubscribers(t, st, edSub{"paused@example.org", subscribers.Active, []string{"daily"}},
		edSub{"reading@example.org", subscribers.Active, []string{"daily"}})
	id := ids["paused@example.org"]
	if err := st.UpdatePreferences(context.Background(), id, subscribers.Preferences{Digests: []string{"daily"},
		Timezone: "Europe/Paris", PausedUntil: until}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, st, "paused@example.org").PausedUntil; !got.Equal(until) {
		t.Fatalf("PausedUntil = %v, want %v", got, until)
	}
	return id
}

func recipients(t *testing.T, st *store.DB, e *editions.Edition) []string {
	t.Helper()
	return emails(mustClaim(t, st, e.ID, "w", 10, e.Cutoff.Add(time.Minute)))
}

func testPauseSkipsEdition(t *testing.T, st *store.DB) {
	until := edT0.Add(14 * 24 * time.Hour)
	pauseOne(t, st, until)
	before := mustEdition(t, st, "daily", "before", 24, "a1")
	if got := recipients(t, st, before); len(got) != 1 || got[0] != "reading@example.org" {
		t.Errorf("edition cut off before the pause ends went to %v, want only reading@", got)
	}
	after := mustEdition(t, st, "daily", "after", 15*24, "a2")
	if got := recipients(t, st, after); len(got) != 2 {
		t.Errorf("edition cut off after the pause ended went to %v, want both", got)
	}
}

func testPauseSkipsWave(t *testing.T, st *store.DB) {
	ctx := context.Background()
	until := edT0.Add(7 * 24 * time.Hour)
	pauseOne(t, st, until)
	wave := func(key string, cutoff time.Time) *editions.Edition {
		e := &editions.Edition{Digest: "daily", Key: key, Cutoff: cutoff, Articles: []string{"w-" + key}, Zones: []string{"Europe/Paris"}}
		if err := st.CreateWave(ctx, e, time.Hour); err != nil {
			t.Fatalf("CreateWave(%s): %v", key, err)
		}
		return e
	}
	if got := recipients(t, st, wave("w1", edT0.Add(24*time.Hour))); len(got) != 1 || got[0] != "reading@example.org" {
		t.Errorf("wave before the pause ends went to %v, want only reading@", got)
	}
	if got := recipients(t, st, wave("w2", until)); len(got) != 2 {
		t.Errorf("wave cut off when the pause ends went to %v, want both", got)
	}
}

func testUpdatePreferences(t *testing.T, st *store.DB) {
	ctx := context.Background()
	s := mustCreate(t, st, &subscribers.Subscriber{Email: "pref@example.com", Digests: []string{"daily"}})
	p := subscribers.Preferences{Digests: []string{"weekly", "daily", "weekly"}, Tags: []string{" space "}, Timezone: "America/Chicago"}
	if err := st.UpdatePreferences(ctx, s.ID, p); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Get(ctx, s.ID)
	want := subscribers.Preferences{Digests: []string{"weekly", "daily"}, Tags: []string{"space"}, Timezone: "America/Chicago"}
	if diff := cmp.Diff(want, subscribers.Preferences{Digests: got.Digests, Tags: got.Tags, Timezone: got.Timezone}); diff != "" {
		t.Errorf("preferences (-want +got):\n%s", diff)
	}
	if err := st.UpdatePreferences(ctx, s.ID, subscribers.Preferences{Timezone: "Nowhere/Land"}); err == nil {
		t.Error("accepted an unknown time zone")
	}
	if err := st.UpdatePreferences(ctx, s.ID, subscribers.Preferences{}); err != nil {
		t.Fatal(err)
	}
	got, _ = st.Get(ctx, s.ID)
	if got.Digests != nil || got.Tags != nil || got.Timezone != "" {
		t.Errorf("cleared preferences = %+v", got)
	}
}
