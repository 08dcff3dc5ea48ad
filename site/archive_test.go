package site

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"briefcast/editions"
	"briefcast/templates"

	"github.com/mmcdole/gofeed"
)

// testEditions are n finished editions of daily, one a day, newest first;
// the newest lists the two newest test articles and one deleted since.
func testEditions(n int) []*editions.Edition {
	arts := testArticles()
	var out []*editions.Edition
	day := time.Date(2025, 2, 24, 7, 0, 0, 0, time.UTC)
	for i := range n {
		cut := day.Add(-time.Duration(i) * 24 * time.Hour)
		e := &editions.Edition{
			Digest: "daily", Key: cut.Format("20060102T1504Z"), Cutoff: cut,
			FinishedAt: cut.Add(time.Hour), Articles: []string{arts[2].ID},
		}
		if i == 0 {
			e.Articles = []string{arts[0].ID, "urn:deleted", arts[1].ID}
		}
		out = append(out, e)
	}
	// Not finished yet, and of a private digest: neither is published.
	out = append(out, &editions.Edition{Digest: "daily", Key: "sending", Cutoff: day.Add(time.Hour), Articles: []string{arts[0].ID}})
	out = append(out, &editions.Edition{Digest: "weekly", Key: "private", Cutoff: day, FinishedAt: day, Articles: []string{arts[0].ID}})
	return out
}

func archiveConfigSite(t *testing.T, n int) *Site {
	t.Helper()
	cfg := testConfig()
	private := false
	cfg.Digests[1].Archive = &private
	arts := testArticles()
	arts[1].Language = "fr" // not the site's: its text gets lang="fr"
	arts[0].Language = "EN" // the site's: no lang of its own
	s, err := BuildWithArchive(optionsOf(cfg), arts, templates.Embedded(), testEditions(n))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestArchiveGolden(t *testing.T) {
	s := archiveConfigSite(t, 2)
	for path, golden := range map[string]string{
		"/digests/daily/index.html":                "archive-list.golden",
		"/digests/daily/20250224T0700Z/index.html": "archive-edition.golden",
	} {
		got := mustFile(t, s, path)
		file := filepath.Join("testdata", golden)
		if *update {
			if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s (run with -update if intended):\n%s", path, file, got)
		}
	}
	ed := mustFile(t, s, "/digests/daily/20250224T0700Z/index.html")
	if !strings.Contains(ed, "Harbor towns plan for higher tides") || !strings.Contains(ed, "Urban beekeeping grows") ||
		!strings.Contains(ed, "<strong>shared</strong>") {
		t.Error("edition page lacks its articles' titles or takes")
	}
	// An edition still being sent is published already: its messages link
	// to it. A private digest is never published.
	if _, ok := s.Files["/digests/daily/sending/index.html"]; !ok {
		t.Error("the edition being sent is not published")
	}
	for _, p := range []string{"/digests/weekly/index.html", "/digests/weekly/private/index.html"} {
		if _, ok := s.Files[p]; ok {
			t.Errorf("%s is published", p)
		}
	}
}

func TestArchivePagination(t *testing.T) {
	s := archiveConfigSite(t, ArchivePerPage+3)
	first := mustFile(t, s, "/digests/daily/index.html")
	second := mustFile(t, s, "/digests/daily/page/2/index.html")
	if !strings.Contains(first, `rel="next" href="/news/digests/daily/page/2/"`) || strings.Contains(first, `rel="prev"`) {
		t.Error("page 1 does not link to page 2 only")
	}
	if !strings.Contains(second, `rel="prev" href="/news/digests/daily/"`) || strings.Contains(second, `rel="next"`) {
		t.Error("page 2 does not link back to page 1 only")
	}
	if n := strings.Count(first, `<li><a href="/news/digests/daily/2025`); n != ArchivePerPage {
		t.Errorf("page 1 lists %d editions, want %d", n, ArchivePerPage)
	}
	if strings.Index(first, "24 February 2025") > strings.Index(first, "23 February 2025") {
		t.Error("page 1 is not newest first")
	}
}

func TestArchiveFeeds(t *testing.T) {
	s := archiveConfigSite(t, 3)
	for _, name := range []string{"feed.xml", "atom.xml", "feed.json"} {
		path := "/digests/daily/" + name
		f, err := gofeed.NewParser().ParseString(mustFile(t, s, path))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		// testConfig has [feeds] items = 2.
		if len(f.Items) != 2 || f.Title != "The Daily Brief" {
			t.Fatalf("%s: %d items, title %q", path, len(f.Items), f.Title)
		}
		it := f.Items[0]
		if it.Link != "https://example.org/news/digests/daily/20250224T0700Z/" {
			t.Errorf("%s: newest item links to %q", path, it.Link)
		}
		if !strings.Contains(it.Description+it.Content, "Harbor towns plan for higher tides") {
			t.Errorf("%s: newest item does not list its articles: %q", path, it.Description)
		}
	}
	found := false
	for _, p := range s.Feeds {
		found = found || p == "/digests/daily/atom.xml"
	}
	if !found {
		t.Errorf("Site.Feeds (pinged to the hub) lacks the archive feeds: %v", s.Feeds)
	}
	if !strings.Contains(mustFile(t, s, "/digests/daily/index.html"), `<link rel="alternate" type="application/atom+xml" title="The Daily Brief (Atom)" href="https://example.org/news/digests/daily/atom.xml">`) {
		t.Error("the archive page does not advertise its feeds")
	}
}
