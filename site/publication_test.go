package site

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"briefcast/articles"
)

// manyArticles are n take-only articles, one a day, newest last.
func manyArticles(n int) []*articles.Article {
	pub := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	out := make([]*articles.Article, n)
	for i := range out {
		d := pub.AddDate(0, 0, i)
		out[i] = &articles.Article{
			Path: fmt.Sprintf("a%02d.md", i), Title: fmt.Sprintf("Brief number %02d", i), Slug: fmt.Sprintf("brief-%02d", i),
			Published: d, Updated: d, Tags: []string{"all"},
			Take: []articles.Bullet{{Text: fmt.Sprintf("Take of brief %02d.", i)}},
		}
	}
	return out
}

func TestListingsPaginated(t *testing.T) {
	cfg := testConfig()
	cfg.Site.PageSize = 4
	s := mustBuild(t, cfg, manyArticles(10))
	for _, tt := range []struct {
		path, first, last, prev, next string
	}{
		{"/index.html", "brief-09", "brief-06", "", "/news/page/2/"},
		{"/page/2/index.html", "brief-05", "brief-02", "/news/", "/news/page/3/"},
		{"/page/3/index.html", "brief-01", "brief-00", "/news/page/2/", ""},
		{"/tags/all/index.html", "brief-09", "brief-06", "", "/news/tags/all/page/2/"},
		{"/tags/all/page/3/index.html", "brief-01", "brief-00", "/news/tags/all/page/2/", ""},
	} {
		page := mustFile(t, s, tt.path)
		if n := strings.Count(page, `<li class="card">`); n != min(4, strings.Count(page, "Take of brief")) || n == 0 {
			t.Errorf("%s: %d cards", tt.path, n)
		}
		if !strings.Contains(page, "/articles/"+tt.first+"/") || !strings.Contains(page, "/articles/"+tt.last+"/") {
			t.Errorf("%s does not list %s to %s", tt.path, tt.first, tt.last)
		}
		for rel, want := range map[string]string{"prev": tt.prev, "next": tt.next} {
			link := `<link rel="` + rel + `" href="` + want + `">`
			anchor := `<a rel="` + rel + `" href="` + want + `">`
			if want == "" {
				if strings.Contains(page, `rel="`+rel+`"`) {
					t.Errorf("%s has rel=%s at an end", tt.path, rel)
				}
			} else if !strings.Contains(page, link) || !strings.Contains(page, anchor) {
				t.Errorf("%s lacks rel=%s to %s", tt.path, rel, want)
			}
		}
	}
	if _, ok := s.Files["/page/4/index.html"]; ok {
		t.Error("a fourth page of ten articles at four a page")
	}
	if strings.Contains(mustFile(t, s, "/index.html"), "brief-05") {
		t.Error("the first page lists an article of the second")
	}
}

func TestSitemapRobotsFavicon(t *testing.T) {
	cfg := testConfig()
	cfg.Site.PageSize = 4
	s := mustBuild(t, cfg, manyArticles(5))
	var sm struct {
		URLs []struct {
			Loc     string `xml:"loc"`
			LastMod string `xml:"lastmod"`
		} `xml:"url"`
	}
	if err := xml.Unmarshal([]byte(mustFile(t, s, "/sitemap.xml")), &sm); err != nil {
		t.Fatal(err)
	}
	locs := map[string]bool{}
	for _, u := range sm.URLs {
		locs[u.Loc] = true
	}
	for _, want := range []string{testBase, testBase + "page/2/", testBase + "tags/", testBase + "tags/all/", testBase + "tags/all/page/2/", testBase + "articles/brief-03/"} {
		if !locs[want] {
			t.Errorf("sitemap lacks %s", want)
		}
	}
	if len(sm.URLs) != 2+1+2+5 {
		t.Errorf("sitemap has %d URLs, want 10", len(sm.URLs))
	}
	if robots := mustFile(t, s, "/robots.txt"); !strings.Contains(robots, "Sitemap: "+testBase+"sitemap.xml") {
		t.Errorf("robots.txt: %q", robots)
	}
	ico := s.Files["/favicon.ico"]
	if ico == nil || ico.ContentType != "image/x-icon" || !bytes.HasPrefix(ico.Body, []byte{0, 0, 1, 0, 1, 0}) {
		t.Fatalf("favicon.ico missing or not an icon")
	}
	if _, err := png.Decode(bytes.NewReader(ico.Body[22:])); err != nil {
		t.Errorf("favicon.ico holds no PNG: %v", err)
	}
	if !strings.Contains(mustFile(t, s, "/favicon.svg"), "<svg") {
		t.Error("favicon.svg is not an SVG")
	}
	if !strings.Contains(mustFile(t, s, "/index.html"), `<link rel="icon" href="/news/favicon.ico"`) {
		t.Error("pages do not link the favicon")
	}
}

func TestArticleMetaBylineAndNeighbours(t *testing.T) {
	s := mustBuild(t, testConfig(), testArticles())
	bees := mustFile(t, s, "/articles/urban-beekeeping-grows/index.html")
	for _, want := range []string{
		`<meta name="description" content="City rooftops now host more hives.">`,
		`<meta property="og:title" content="Urban beekeeping grows">`,
		`<meta property="og:type" content="article">`,
		`<meta name="twitter:card" content="summary">`,
		`By <span class="author">Ben Hive</span>`,
		`<a rel="prev" href="/news/articles/harbor-towns-plan-for-higher-tides/">`,
		`<a rel="next" class="older" href="/news/articles/older-note-on-rivers/">`,
		`<p class="read-time">1 min read</p>`,
	} {
		if !strings.Contains(bees, want) {
			t.Errorf("article page lacks %q", want)
		}
	}
	// An article with no author of its own: the site's, without the address.
	rivers := mustFile(t, s, "/articles/older-note-on-rivers/index.html")
	if !strings.Contains(rivers, `By <span class="author">The Desk</span>`) || strings.Contains(rivers, "desk@example.org") {
		t.Errorf("byline of an article without author: %s", rivers)
	}
}

func TestReadingTime(t *testing.T) {
	for _, tt := range []struct {
		words int
		want  string
	}{{0, ""}, {1, "1 min read"}, {230, "1 min read"}, {231, "2 min read"}, {700, "4 min read"}} {
		if got := readingTime(tt.words); got != tt.want {
			t.Errorf("readingTime(%d) = %q, want %q", tt.words, got, tt.want)
		}
	}
	if n := articles.CountWords(`<p>Don't <em>stop</em> the well-known 2000 ships.</p>`); n != 6 {
		t.Errorf("CountWords: %d, want 6", n)
	}
	long := strings.Repeat("word ", 500)
	a := articles.WithTiers(&articles.Article{Take: []articles.Bullet{{Text: "Short."}}},
		articles.Tiers{Full: articles.Full{Sections: []articles.Section{{Title: "The Catalyst", Paragraphs: []string{long}}}}})
	if take, digest, full := tierTimes(a); take != "1 min read" || digest != "" || full != "3 min read" {
		t.Errorf("tierTimes: %q %q %q", take, digest, full)
	}
}

func TestLeadImageCopied(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "img"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "img", "tide.png"), []byte("\x89PNG fake"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret.png")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "img", "link.png")); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Site.ContentDir = dir
	arts := testArticles()
	arts[0].Image, arts[0].ImageAlt = "img/tide.png", "A quay at high tide"
	arts[1].Image = "img/link.png"
	arts[2].Image = "https://cdn.example.net/r.jpg"
	s := mustBuild(t, cfg, arts)
	f := s.Files["/articles/harbor-towns-plan-for-higher-tides/img/tide.png"]
	if f == nil || string(f.Body) != "\x89PNG fake" || f.ContentType != "image/png" {
		t.Fatalf("lead image not copied: %+v", f)
	}
	page := mustFile(t, s, "/articles/harbor-towns-plan-for-higher-tides/index.html")
	for _, want := range []string{
		`<img src="/news/articles/harbor-towns-plan-for-higher-tides/img/tide.png" alt="A quay at high tide">`,
		`<meta property="og:image" content="https://example.org/news/articles/harbor-towns-plan-for-higher-tides/img/tide.png">`,
		`<meta name="twitter:card" content="summary_large_image">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if _, ok := s.Files["/articles/urban-beekeeping-grows/img/link.png"]; ok {
		t.Error("a link to a file outside the content folder was published")
	}
	if bees := mustFile(t, s, "/articles/urban-beekeeping-grows/index.html"); strings.Contains(bees, "link.png") {
		t.Error("the page shows an image that was not published")
	}
	if len(s.Notes) != 1 || !strings.Contains(s.Notes[0], ": note: image img/link.png not published") {
		t.Errorf("notes: %q", s.Notes)
	}
	if rivers := mustFile(t, s, "/articles/older-note-on-rivers/index.html"); !strings.Contains(rivers, `<meta property="og:image" content="https://cdn.example.net/r.jpg">`) {
		t.Error("an absolute image URL is not the og:image")
	}
}

// TestTagURLsInAnyScript: a tag in a non-Latin script has its folder named
// in that script, and one escaped URL wherever the site names the folder:
// the sitemap, the page's canonical and og:url, its pager and its feeds.
func TestTagURLsInAnyScript(t *testing.T) {
	cfg := testConfig()
	cfg.Site.PageSize = 1
	arts := manyArticles(2)
	for _, a := range arts {
		a.Tags = []string{"経済"}
	}
	s := mustBuild(t, cfg, arts)
	const esc = "tags/%E7%B5%8C%E6%B8%88/"
	sitemap := mustFile(t, s, "/sitemap.xml")
	for _, want := range []string{testBase + esc, testBase + esc + "page/2/"} {
		if !strings.Contains(sitemap, "<loc>"+want+"</loc>") {
			t.Errorf("sitemap lacks %s:\n%s", want, sitemap)
		}
	}
	if strings.Contains(sitemap, "経済") {
		t.Error("the sitemap names the tag folder unescaped")
	}
	page := mustFile(t, s, "/tags/経済/index.html")
	for _, want := range []string{
		`rel="canonical" href="` + testBase + esc + `"`,
		`property="og:url" content="` + testBase + esc + `"`,
		`href="/news/` + esc + `page/2/"`,
		`href="` + testBase + esc + `feed.xml"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("tag page lacks %s", want)
		}
	}
	mustFile(t, s, "/tags/経済/page/2/index.html")
	if feed := mustFile(t, s, "/tags/経済/feed.xml"); !strings.Contains(feed, "<link>"+testBase+esc+"</link>") {
		t.Errorf("tag feed's link:\n%s", feed)
	}
}
