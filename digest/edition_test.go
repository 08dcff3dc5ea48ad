package digest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/editions"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func art(id string, published time.Time, tags ...string) *articles.Article {
	return &articles.Article{ID: id, Slug: id, Title: "Title " + id, Published: published, Tags: tags,
		Take: []articles.Bullet{{Text: "A point about " + id + "."}}}
}

func ids(arts []*articles.Article) []string {
	out := []string{}
	for _, a := range arts {
		out = append(out, a.ID)
	}
	return out
}

func TestPlan(t *testing.T) {
	day := time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)
	daily := config.Digest{Name: "daily", Schedule: "0 7 * * *", Location: time.UTC}
	prevEdition := &editions.Edition{Digest: "daily", Key: EditionKey(day.AddDate(0, 0, -1)), Cutoff: day.AddDate(0, 0, -1)}
	withTags := daily
	withTags.Tags = []string{"Energy", "markets"}
	capped := daily
	capped.MaxItems = 2

	tests := []struct {
		name string
		d    config.Digest
		arts []*articles.Article
		sent map[string]bool
		prev *editions.Edition
		want []string
	}{
		{
			name: "first edition takes the newest max_items however old",
			d:    capped,
			arts: []*articles.Article{
				art("future", day.Add(time.Minute)),
				art("month-old", day.AddDate(0, -1, 0)),
				art("year-old", day.AddDate(-1, 0, 0)),
				art("week-old", day.AddDate(0, 0, -7)),
			},
			want: []string{"week-old", "month-old"},
		},
		{
			name: "first edition still keeps only tagged articles",
			d:    withTags,
			arts: []*articles.Article{
				art("sport", day.AddDate(0, 0, -1), "sport"),
				art("old-energy", day.AddDate(0, -2, 0), "energy"),
			},
			want: []string{"old-energy"},
		},
		{
			name: "first edition skips what was sent and what is after the cut-off",
			d:    daily,
			arts: []*articles.Article{
				art("future", day.Add(time.Minute)),
				art("at-cutoff", day),
				art("sent", day.Add(-time.Hour)),
				art("old", day.AddDate(0, 0, -30)),
			},
			sent: map[string]bool{"sent": true},
			want: []string{"at-cutoff", "old"},
		},
		{
			name: "an article already sent is never sent again",
			d:    daily,
			arts: []*articles.Article{art("a", day.Add(-time.Hour)), art("b", day.Add(-2*time.Hour))},
			sent: map[string]bool{"a": true},
			prev: prevEdition,
			want: []string{"b"},
		},
		{
			name: "a late article with an earlier date goes out next time",
			d:    daily,
			arts: []*articles.Article{
				art("new", day.Add(-time.Hour)),
				art("late", day.AddDate(0, 0, -2)),          // before the previous cut-off, never sent
				art("sent-before", day.AddDate(0, 0, -2)),   // went out in an earlier edition
				art("archive", day.AddDate(-1, 0, 0)),       // far older than the grace window
				art("edge-of-grace", day.AddDate(0, 0, -8)), // exactly 7 days before the previous cut-off
			},
			sent: map[string]bool{"sent-before": true},
			prev: prevEdition,
			want: []string{"new", "late"},
		},
		{
			name: "digest tags keep only matching articles",
			d:    withTags,
			arts: []*articles.Article{
				art("energy", day.Add(-time.Hour), "energy"),
				art("sport", day.Add(-2*time.Hour), "sport"),
				art("both", day.Add(-3*time.Hour), "sport", "markets"),
				art("untagged", day.Add(-4*time.Hour)),
			},
			want: []string{"energy", "both"},
		},
		{
			name: "max_items keeps the newest",
			d:    capped,
			arts: []*articles.Article{
				art("c", day.Add(-3*time.Hour)),
				art("a", day.Add(-1*time.Hour)),
				art("b", day.Add(-2*time.Hour)),
			},
			want: []string{"a", "b"},
		},
		{
			name: "nothing new gives an empty plan",
			d:    daily,
			arts: []*articles.Article{art("a", day.Add(-time.Hour))},
			sent: map[string]bool{"a": true},
			prev: prevEdition,
			want: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan(tt.d, tt.arts, tt.sent, tt.prev, day)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("Plan ids (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlanConsecutive runs a week of daily editions over articles arriving
// at random times, some late: every article goes out exactly once.
func TestPlanConsecutive(t *testing.T) {
	d := config.Digest{Name: "daily", Schedule: "0 7 * * *", Location: time.UTC, MaxItems: 50}
	start := time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC)
	type arrival struct {
		a  *articles.Article
		at time.Time // when the file appears
	}
	var all []arrival
	for i := range 40 {
		pub := start.Add(time.Duration(i) * 3 * time.Hour)
		at := pub
		if i%7 == 3 {
			at = pub.Add(50 * time.Hour) // dropped in two days late
		}
		all = append(all, arrival{art(string(rune('a'+i%26))+string(rune('a'+i/26)), pub), at})
	}
	sent := map[string]bool{}
	count := map[string]int{}
	var prev *editions.Edition
	for day := 1; day <= 10; day++ {
		cutoff := start.AddDate(0, 0, day)
		var visible []*articles.Article
		for _, x := range all {
			if !x.at.After(cutoff) {
				visible = append(visible, x.a)
			}
		}
		got, err := Plan(d, visible, sent, prev, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range got {
			sent[a.ID] = true
			count[a.ID]++
		}
		prev = &editions.Edition{Cutoff: cutoff}
	}
	for _, x := range all {
		if count[x.a.ID] != 1 {
			t.Errorf("article %s published %s went out %d times, want 1", x.a.ID, x.a.Published, count[x.a.ID])
		}
	}
}

func TestPeriod(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	tests := []struct {
		name     string
		schedule string
		loc      *time.Location
		at       time.Time
		want     time.Duration
	}{
		{"daily", "0 7 * * *", time.UTC, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), 24 * time.Hour},
		{"daily between runs", "0 7 * * *", time.UTC, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), 24 * time.Hour},
		{"weekly", "0 7 * * 1", time.UTC, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), 7 * 24 * time.Hour},
		{"every 6h", "@every 6h", time.UTC, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), 6 * time.Hour},
		{"quarter hourly", "*/15 * * * *", time.UTC, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), 15 * time.Minute},
		{"monthly", "0 7 1 * *", time.UTC, time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC), 31 * 24 * time.Hour},
		{"autumn day is 25h", "0 7 * * *", ny, time.Date(2026, 11, 1, 7, 0, 0, 0, ny), 25 * time.Hour},
		{"yearly, late in the year", "@yearly", time.UTC, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), 365 * 24 * time.Hour},
		{"yearly in a leap year", "@yearly", time.UTC, time.Date(2028, 6, 1, 0, 0, 0, 0, time.UTC), 365 * 24 * time.Hour},
		{"yearly after a leap year", "@yearly", time.UTC, time.Date(2029, 3, 1, 0, 0, 0, 0, time.UTC), 366 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Period(config.Digest{Name: "x", Schedule: tt.schedule, Location: tt.loc}, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Period = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestEditionKey(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 25, 7, 0, 0, 0, ny), "20261125T1200Z"},
		{time.Date(2026, 11, 25, 7, 0, 0, 999, ny), "20261125T1200Z"},
		{time.Date(2026, 11, 25, 7, 0, 30, 0, ny), "20261125T120030Z"},
		{time.Date(2026, 11, 25, 7, 0, 30, 5e8, time.UTC), "20261125T070030Z"},
	}
	for _, tt := range tests {
		if got := EditionKey(tt.at); got != tt.want {
			t.Errorf("EditionKey(%s) = %q, want %q", tt.at, got, tt.want)
		}
	}
}
