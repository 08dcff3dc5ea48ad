package feeds

import (
	"bytes"
	"encoding/json"
	"testing"
)

// copied copies items, so that a second render shares nothing with the
// first.
func copied(items []*Item) []*Item {
	out := make([]*Item, len(items))
	for i, it := range items {
		c := *it
		c.Tags = append([]string(nil), it.Tags...)
		out[i] = &c
	}
	return out
}

// TestRenderStable checks that a feed is the same bytes every time it is
// rendered from equal items (so rebuilds change nothing), that each item
// lands in the feed once whatever its neighbours and order, and that
// channel text shaped like the feed's own closing tags cannot break its
// structure.
func TestRenderStable(t *testing.T) {
	items := mustItems(t, append(sampleArticles(), hostileArticle()), ContentFull)
	if len(items) < 3 {
		t.Fatalf("need at least 3 items, have %d", len(items))
	}
	tagged := testChannel()
	tagged.Dir = "tags/x/"
	tagged.Title = `{"id": "x"}` + "\n    }]"
	tagged.Description = "</channel>\n</feed>"
	reversed := []*Item{items[2], items[0], items[1]}
	cases := []struct {
		name  string
		ch    Channel
		items []*Item
	}{
		{"all", testChannel(), items},
		{"all again", testChannel(), items},
		{"subset in another channel", tagged, items[1:]},
		{"reordered", tagged, reversed},
		{"one", testChannel(), items[:1]},
		{"none", tagged, nil},
	}
	for _, f := range formats {
		for _, c := range cases {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				got, err := f.render(c.ch, c.items)
				if err != nil {
					t.Fatal(err)
				}
				want, err := f.render(c.ch, copied(c.items))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("a second render differs:\n%s\n---\n%s", got, want)
				}
				if f.name != "json" {
					mustWellFormed(t, got)
					return
				}
				var doc struct {
					Title string            `json:"title"`
					Items []json.RawMessage `json:"items"`
				}
				if err := json.Unmarshal(got, &doc); err != nil {
					t.Fatal(err)
				}
				if len(doc.Items) != len(c.items) || doc.Title != XMLSafe(c.ch.Title) {
					t.Errorf("got %d items and title %q, want %d and %q", len(doc.Items), doc.Title, len(c.items), XMLSafe(c.ch.Title))
				}
			})
		}
	}
}
