package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"briefcast/store"
	"briefcast/store/storetest"
	"briefcast/subscribers"
)

// TestFreeTextRoundTrip stores the one free-text field with the characters
// most likely to confuse a row encoding (the SQLite store joins text
// columns with the unit separator) and reads it back through Get,
// GetByEmail and List.
func TestFreeTextRoundTrip(t *testing.T) {
	ctx := context.Background()
	text := "I agree.\x1fSecond part\x1e, \"quoted\", émoji 📰, line\nbreak"
	for name, open := range map[string]func(*testing.T) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			s, _, err := st.Subscribe(ctx, subscribers.SubscribeRequest{
				Email: "round@example.org", Name: "Round Trip", Digests: []string{"daily"},
				Tags: []string{"science"}, Timezone: "Europe/Paris", Source: subscribers.SourceForm,
				ConsentAt: time.Unix(1700000000, 0), ConsentIP: "192.0.2.7", ConsentText: text,
			})
			if err != nil {
				t.Fatal(err)
			}
			check := func(how string, got *subscribers.Subscriber) {
				t.Helper()
				if got.ConsentText != text || got.Name != "Round Trip" || got.ConsentIP != "192.0.2.7" ||
					got.Timezone != "Europe/Paris" || len(got.Digests) != 1 || got.Digests[0] != "daily" ||
					len(got.Tags) != 1 || got.Tags[0] != "science" {
					t.Errorf("%s: got %+v", how, got)
				}
			}
			byID, err := st.Get(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			check("Get", byID)
			byEmail, err := st.GetByEmail(ctx, "ROUND@example.org")
			if err != nil {
				t.Fatal(err)
			}
			check("GetByEmail", byEmail)
			n := 0
			err = st.List(ctx, subscribers.Filter{}, func(got *subscribers.Subscriber) error {
				n++
				check("List", got)
				return nil
			})
			if err != nil || n != 1 {
				t.Fatalf("List: %d rows, %v", n, err)
			}
		})
	}
}

// TestListRoundTrip lists several subscribers whose free text and optional
// fields differ (empty, only separators, set and unset times) and checks
// that List gives each exactly what Get gives, in id order: the SQLite
// store reads a whole span of rows as one joined value.
func TestListRoundTrip(t *testing.T) {
	ctx := context.Background()
	texts := []string{"\x1f", "", "I agree.\x1fSecond\x1e part", "\x1e\x1e", "", "plain, 📰"}
	for name, open := range map[string]func(*testing.T) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			var ids []int64
			for i, text := range texts {
				req := subscribers.SubscribeRequest{
					Email: fmt.Sprintf("list%d@example.org", i), Digests: []string{"daily"}, Source: subscribers.SourceForm,
					ConsentText: text, Active: i%2 == 0,
				}
				if i%3 == 0 {
					req.Name, req.Tags, req.Timezone = fmt.Sprintf("Name %d", i), []string{"a", "b"}, "Asia/Tokyo"
					req.Digests = append(req.Digests, "weekly")
					req.ConsentAt, req.ConsentIP = time.Unix(1700000000+int64(i), 0), "192.0.2.1"
				}
				s, _, err := st.Subscribe(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, s.ID)
			}
			var got []*subscribers.Subscriber
			err := st.List(ctx, subscribers.Filter{Digest: "daily"}, func(s *subscribers.Subscriber) error {
				got = append(got, s)
				return nil
			})
			if err != nil || len(got) != len(texts) {
				t.Fatalf("List: %d rows, %v", len(got), err)
			}
			for i, s := range got {
				want, err := st.Get(ctx, ids[i])
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(s, want) || s.ConsentText != texts[i] {
					t.Errorf("List row %d:\n got %+v\nwant %+v", i, s, want)
				}
			}
		})
	}
}
