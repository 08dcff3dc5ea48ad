package site

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"briefcast/articles"
	"briefcast/feeds"
)

// spilledCorpus is an incCorpus served from its folder whose articles keep
// their tiers in a spill file, as the daemon keeps them.
func spilledCorpus(t *testing.T) *incCorpus {
	c := newIncCorpus(t).served()
	sp, err := articles.NewSpill(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c.opts = articles.Options{Spill: sp}
	return c
}

// deepArticle is incArticle with full-depth text of its own, to find on
// its page and in the feeds.
func deepArticle(title string, day int) string {
	return incArticle(title, day, "t") + fmt.Sprintf("\n### The Big Picture\nDeep text of %s.\n", title)
}

// After an edit, the pages of the edited article's neighbours are made
// again from tiers read back from the spill: they still carry their full
// depth, as a full build shows it.
func TestNeighbourKeepsFullDepth(t *testing.T) {
	c := spilledCorpus(t)
	for i := range 5 {
		c.write(fmt.Sprintf("a%d.md", i), deepArticle(fmt.Sprintf("Story %d", i), i))
	}
	c.start()
	before := c.site.Files["/articles/story-1/index.html"].Stored
	c.write("a2.md", deepArticle("Story 2 renamed", 2)) // checks every file against a full build
	for _, n := range []int{1, 3} {
		p := fmt.Sprintf("/articles/story-%d/index.html", n)
		if n == 1 && c.site.Files[p].Stored.ETag == before.ETag {
			t.Fatalf("%s: the neighbour's page was not made again", p)
		}
		page, err := os.ReadFile(filepath.Join(c.out, p))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("Deep text of Story %d.", n); !strings.Contains(string(page), want) || !strings.Contains(string(page), "Story 2 renamed") {
			t.Errorf("%s: lacks its full depth (%q) or the new neighbour's title", p, want)
		}
	}
}

// With feeds.content = "full", a feed made again after an edit carries
// the full depth of every item, each read back from the spill.
func TestFullFeedAfterEdit(t *testing.T) {
	c := spilledCorpus(t)
	c.cfg.Feeds.Content = feeds.ContentFull
	c.cfg.Feeds.Items = 4
	for i := range 5 {
		c.write(fmt.Sprintf("a%d.md", i), deepArticle(fmt.Sprintf("Story %d", i), i))
	}
	c.start()
	c.write("a3.md", deepArticle("Story 3 revised", 3))
	for _, p := range []string{"/feed.xml", "/full/feed.xml"} {
		f := c.site.Files[p]
		if f == nil || f.Body == nil {
			t.Fatalf("%s: not kept in memory", p)
		}
		for _, title := range []string{"Story 4", "Story 3 revised", "Story 2", "Story 1"} {
			if want := "Deep text of " + title + "."; !strings.Contains(string(f.Body), want) {
				t.Errorf("%s lacks %q", p, want)
			}
		}
	}
}
