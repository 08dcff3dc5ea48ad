package site

import (
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"
)

// Every depth feed parses, and its items carry exactly the tiers down to
// its depth.
func TestDepthFeeds(t *testing.T) {
	cfg := testConfig()
	cfg.Feeds.Depths = []string{"take", "digest", "full"}
	s := mustBuild(t, cfg, testArticles())
	const digestMark, fullMark = `id="digest"`, `id="full-depth"`
	for _, tt := range []struct {
		depth              string
		hasDigest, hasFull bool
	}{{"take", false, false}, {"digest", true, false}, {"full", true, true}} {
		for _, name := range []string{"feed.xml", "atom.xml", "feed.json"} {
			path := "/" + tt.depth + "/" + name
			f, err := gofeed.NewParser().ParseString(mustFile(t, s, path))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if len(f.Items) != cfg.Feeds.Items || !strings.Contains(f.Title, "The Test Brief") {
				t.Errorf("%s: %d items, title %q", path, len(f.Items), f.Title)
			}
			var it *gofeed.Item
			for _, i := range f.Items {
				if strings.Contains(i.Link, "harbor-towns") {
					it = i
				}
			}
			if it == nil {
				t.Fatalf("%s: no item of the article with every tier", path)
			}
			content := it.Content + it.Description
			if !strings.Contains(content, "shared") {
				t.Errorf("%s: item lacks the take", path)
			}
			if got := strings.Contains(content, digestMark); got != tt.hasDigest {
				t.Errorf("%s: digest tier present = %v, want %v", path, got, tt.hasDigest)
			}
			if got := strings.Contains(content, fullMark); got != tt.hasFull {
				t.Errorf("%s: full tier present = %v, want %v", path, got, tt.hasFull)
			}
		}
	}
	// Every page advertises them, with titles that say the depth.
	page := mustFile(t, s, "/index.html")
	for _, want := range []string{
		`href="https://example.org/news/digest/atom.xml"`,
		`title="The Test Brief, 2-minute digests (RSS)"`,
		`title="The Test Brief, full depth (JSON Feed)"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index has no %s", want)
		}
	}
	if !strings.Contains(mustFile(t, s, "/take/feed.xml"), "<ttl>60</ttl>") {
		t.Error("depth RSS has no <ttl>")
	}
}

func TestNoDepthFeeds(t *testing.T) {
	cfg := testConfig()
	cfg.Feeds.Depths = []string{}
	s := mustBuild(t, cfg, testArticles())
	if _, ok := s.Files["/take/feed.xml"]; ok {
		t.Error("depths = [] still writes /take/feed.xml")
	}
}
