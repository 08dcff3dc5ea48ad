package subscribers_test

import (
	"context"
	"testing"
	"time"

	"briefcast/subscribers"
	"briefcast/subscribers/storetest"
)

// TestFreeTextRoundTrip stores the one free-text field with the characters
// most likely to confuse a row encoding (the SQLite store joins text
// columns with the unit separator) and reads it back through Get,
// GetByEmail and List.
func TestFreeTextRoundTrip(t *testing.T) {
	ctx := context.Background()
	text := "I agree.\x1fSecond part\x1e, \"quoted\", émoji 📰, line\nbreak"
	for name, open := range map[string]func(*testing.T) subscribers.Store{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
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
