package site

import (
	"bytes"
	"flag"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/feeds"
	"briefcast/links"
	"briefcast/templates"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testBase = "https://example.org/news/"

func testConfig() *config.Config {
	cfg := config.Defaults()
	cfg.Site.Title = "The Test Brief"
	cfg.Site.Description = "Layered explainers"
	cfg.Site.BaseURL = testBase
	cfg.Site.Author = "The Desk <desk@example.org>"
	cfg.Feeds.Items = 2
	cfg.Feeds.Depths = nil // the depth feeds have their own tests (depth_test.go)
	cfg.Digests = []config.Digest{{Name: "daily", Title: "The Daily Brief"}, {Name: "weekly", Title: "Weekly & More"}}
	return cfg
}

// testArticles are three fixed articles: one with every tier, one with a
// take only, and an older one that only the archive lists.
func testArticles() []*articles.Article {
	pub := time.Date(2025, 2, 23, 9, 36, 0, 0, time.UTC)
	return []*articles.Article{
		articles.WithTiers(&articles.Article{
			Path: "tides.md", ID: "urn:uuid:7b0c1a52-2f6e-5d1a-9a57-0f1f3c2e5b11",
			Title: "Harbor towns plan for higher tides", Slug: "harbor-towns-plan-for-higher-tides",
			Published: pub, Updated: pub.Add(26 * time.Hour),
			Tags:   []string{"climate", "coasts"},
			Author: "Ada Marsh <ada@example.org>",
			Take: []articles.Bullet{
				{Text: "Three harbor towns agreed a shared flood plan.", HTML: "Three harbor towns agreed a <strong>shared</strong> flood plan."},
				{Text: "The plan raises sea walls by half a metre.", HTML: `The plan raises <a href="../walls/">sea walls</a> by half a metre.`},
				{Text: "Work starts next spring.", HTML: "Work starts next spring."},
			},
		}, articles.Tiers{
			Digest: articles.Digest{
				Sections: []articles.Section{{Title: "Essential Context", Paragraphs: []string{"Tides have risen steadily."}, HTML: "<p>Tides have risen steadily.</p>"}},
				Players:  []articles.Player{{Name: "Harbor Council", Role: "coordinates the plan"}, {Name: "Port Authority", Role: "pays for the walls"}},
				Numbers:  []articles.Number{{Figure: "0.5 m", Meaning: "added wall height"}, {Figure: "3", Meaning: "towns in the plan"}},
				Line:     8,
			},
			Full: articles.Full{
				Sections: []articles.Section{
					{Title: "The Catalyst", Paragraphs: []string{"A winter storm flooded two quays."}, HTML: `<p>A winter storm flooded <img src="quay.png" alt="quay"> two quays.</p>`},
					{Title: "Outside Impact", Paragraphs: []string{"Insurers are watching & waiting."}},
				},
				DataPoints: []articles.DataPoint{{Date: "1953", Event: "the great flood"}, {Date: "2024", Event: "the storm"}},
				Closing:    []string{"The towns will review the plan in five years."},
				Line:       20,
			},
		}),
		{
			Path: "bees.txt", ID: "urn:uuid:0d4f9a3e-8c61-5b7e-b1a0-6a9f2e4d7c33",
			Title: "Urban beekeeping grows", Slug: "urban-beekeeping-grows",
			Published: pub.Add(-48 * time.Hour), Updated: pub.Add(-48 * time.Hour),
			Tags:   []string{"nature"},
			Author: "Ben Hive",
			Take:   []articles.Bullet{{Text: "City rooftops now host more hives.", HTML: "City rooftops now host more hives."}},
		},
		{
			Path: "old.md", ID: "urn:uuid:5e0f9a3e-8c61-5b7e-b1a0-6a9f2e4d7c44",
			Title: "An older note on rivers", Slug: "older-note-on-rivers",
			Published: pub.Add(-480 * time.Hour), Updated: pub.Add(-480 * time.Hour),
			Tags: []string{"nature", "climate"},
			Take: []articles.Bullet{{Text: "Rivers carry less silt than before.", HTML: "Rivers carry less silt than before."}},
		},
	}
}

// optionsOf is what the daemon makes of cfg (daemon.SiteOptions, which
// this package's tests cannot import).
func optionsOf(cfg *config.Config) Options {
	o := Options{
		BaseURL: cfg.Site.BaseURL, Title: cfg.Site.Title, Description: cfg.Site.Description,
		Language: cfg.Site.Language, Author: cfg.Site.Author, ContentDir: cfg.Site.ContentDir,
		Slugs: cfg.Site.Slugs, PageSize: cfg.Site.PageSize,
		FeedItems: cfg.Feeds.Items, FeedContent: cfg.Feeds.Content, FeedDepths: cfg.Feeds.Depths,
	}
	for _, d := range cfg.Digests {
		o.Digests = append(o.Digests, Digest{Name: d.Name, Title: d.Title, Archived: d.Archived(), Location: d.Location})
	}
	return o
}

func mustBuild(t testing.TB, cfg *config.Config, arts []*articles.Article) *Site {
	t.Helper()
	s, err := Build(optionsOf(cfg), arts, templates.Embedded())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return s
}

func mustFile(t testing.TB, s *Site, path string) string {
	t.Helper()
	f, ok := s.Files[path]
	if !ok {
		t.Fatalf("no file %s; have %v", path, sortedPaths(s))
	}
	return string(f.Body)
}

func sortedPaths(s *Site) []string {
	var ps []string
	for p := range s.Files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

func TestLayout(t *testing.T) {
	s := mustBuild(t, testConfig(), testArticles())
	want := []string{
		"/404.html", "/assets/style.css", "/atom.xml", "/feed.json", "/feed.xml", "/index.html",
		"/favicon.ico", "/favicon.svg", "/robots.txt", "/sitemap.xml",
		"/articles/harbor-towns-plan-for-higher-tides/index.html",
		"/articles/older-note-on-rivers/index.html",
		"/articles/urban-beekeeping-grows/index.html",
		"/tags/index.html",
	}
	for _, tag := range []string{"climate", "coasts", "nature"} {
		for _, f := range []string{"index.html", "feed.xml", "atom.xml", "feed.json"} {
			want = append(want, "/tags/"+tag+"/"+f)
		}
	}
	sort.Strings(want)
	if got := sortedPaths(s); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("files:\ngot  %q\nwant %q", got, want)
	}
	if len(s.Feeds) != 12 {
		t.Errorf("got %d feeds, want 12: %v", len(s.Feeds), s.Feeds)
	}
	for p, f := range s.Files {
		if f.Path != p || f.ContentType == "" || len(f.Body) == 0 {
			t.Errorf("%s: bad file %+v", p, f.ContentType)
		}
	}
	if got, want := s.Files["/articles/harbor-towns-plan-for-higher-tides/index.html"].Modified, testArticles()[0].Updated; !got.Equal(want) {
		t.Errorf("article Modified: got %v, want %v", got, want)
	}
	if got, want := s.Files["/tags/nature/feed.xml"].Modified, testArticles()[1].Updated; !got.Equal(want) {
		t.Errorf("tag feed Modified: got %v, want %v", got, want)
	}
}

func TestArticlePageGolden(t *testing.T) {
	s := mustBuild(t, testConfig(), testArticles())
	got := s.Files["/articles/harbor-towns-plan-for-higher-tides/index.html"].Body
	golden := filepath.Join("testdata", "article.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("article page differs from %s (run with -update if intended):\n%s", golden, got)
	}
}

func TestArticlePageStructure(t *testing.T) {
	page := mustFile(t, mustBuild(t, testConfig(), testArticles()), "/articles/harbor-towns-plan-for-higher-tides/index.html")
	for _, want := range []string{
		`id="take"`, `id="digest"`, `id="full-depth"`,
		`<dl class="players">`, `<dt>Harbor Council</dt> <dd>coordinates the plan</dd>`,
		`<table class="numbers">`, `<tr><th scope="row">0.5 m</th> <td>added wall height</td></tr>`,
		`<ol class="timeline">`, `<span class="when">1953</span> <span class="what">the great flood</span>`,
		`<p>Insurers are watching &amp; waiting.</p>`,
		`<p class="closing">The towns will review the plan in five years.</p>`,
		`href="https://example.org/news/articles/walls/"`,
		`src="https://example.org/news/articles/harbor-towns-plan-for-higher-tides/quay.png"`,
		`<p class="kicker"><a href="/news/tags/climate/">climate</a> · <a href="/news/tags/coasts/">coasts</a></p>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("article page lacks %q", want)
		}
	}
	// A take-only article has no empty digest or full-depth sections.
	bees := mustFile(t, mustBuild(t, testConfig(), testArticles()), "/articles/urban-beekeeping-grows/index.html")
	if !strings.Contains(bees, `id="take"`) || strings.Contains(bees, `id="digest"`) || strings.Contains(bees, `id="full-depth"`) {
		t.Errorf("take-only article page has the wrong sections:\n%s", bees)
	}
}

var (
	linkTagRE = regexp.MustCompile(`<link\b[^>]*>`)
	altRE     = regexp.MustCompile(`<link rel="alternate" type="([^"]+)" title="[^"]*" href="([^"]+)">`)
	resRE     = regexp.MustCompile(`(?i)<(?:link|script|img|iframe|source|video|audio)\b[^>]*\b(?:href|src)\s*=\s*"([^"]*)"`)
)

func TestEveryPage(t *testing.T) {
	s := mustBuild(t, testConfig(), testArticles())
	for p, f := range s.Files {
		if f.ContentType != HTMLType {
			continue
		}
		t.Run(p, func(t *testing.T) {
			page := string(f.Body)
			alts := altRE.FindAllStringSubmatch(page, -1)
			wantAlts := []string{testBase + "feed.xml", testBase + "atom.xml", testBase + "feed.json"}
			if strings.HasPrefix(p, "/tags/") && p != "/tags/index.html" {
				dir := strings.TrimSuffix(strings.TrimPrefix(p, "/"), "index.html")
				wantAlts = append(wantAlts, testBase+dir+"feed.xml", testBase+dir+"atom.xml", testBase+dir+"feed.json")
			}
			var gotAlts []string
			for _, m := range alts {
				gotAlts = append(gotAlts, m[2])
			}
			if strings.Join(gotAlts, " ") != strings.Join(wantAlts, " ") {
				t.Errorf("autodiscovery links: got %q, want %q", gotAlts, wantAlts)
			}
			for _, m := range resRE.FindAllStringSubmatch(page, -1) {
				u := html.UnescapeString(m[1])
				if (strings.HasPrefix(u, "http:") || strings.HasPrefix(u, "https:") || strings.HasPrefix(u, "//")) && !strings.HasPrefix(u, testBase) {
					t.Errorf("external resource %q", u)
				}
			}
			if len(linkTagRE.FindAllString(page, -1)) < 4 {
				t.Errorf("head has too few links")
			}
			for _, want := range []string{
				`<link rel="stylesheet" href="/news/assets/style.css">`,
				`<form class="subscribe" method="post" action="https://example.org/news/subscribe">`,
				`name="email" type="email" required`,
				`name="name" type="text"`,
				`<input type="checkbox" name="digest" value="daily" checked> The Daily Brief`,
				`<input type="checkbox" name="digest" value="weekly"> Weekly &amp; More`,
				`name="website" type="text" tabindex="-1"`,
				`<button type="submit">Subscribe</button>`,
				`<a href="/news/feed.xml" type="application/rss+xml">RSS</a>`,
				`<html lang="en">`,
			} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(strings.ToLower(page), "<script") {
				t.Errorf("page has a script element")
			}
		})
	}
}

func TestIndexAndTags(t *testing.T) {
	s := mustBuild(t, testConfig(), testArticles())
	index := mustFile(t, s, "/index.html")
	for _, want := range []string{
		`<a href="/news/articles/harbor-towns-plan-for-higher-tides/">Harbor towns plan for higher tides</a>`,
		`<li>Three harbor towns agreed a <strong>shared</strong> flood plan.</li>`,
		`<li>City rooftops now host more hives.</li>`,
		`<a href="/news/articles/older-note-on-rivers/">An older note on rivers</a>`,
	} {
		if !strings.Contains(index, want) {
			t.Errorf("index lacks %q", want)
		}
	}
	if !strings.Contains(index, `<a href="/news/articles/harbor-towns-plan-for-higher-tides/#full-depth">Full Depth`) {
		t.Errorf("index lacks the full-depth link of a full article")
	}
	if strings.Contains(index, `/news/articles/urban-beekeeping-grows/#`) {
		t.Errorf("index links to tiers a take-only article does not have")
	}
	nature := mustFile(t, s, "/tags/nature/index.html")
	if !strings.Contains(nature, "Urban beekeeping grows") || !strings.Contains(nature, "An older note on rivers") || strings.Contains(nature, "Harbor towns") {
		t.Errorf("nature tag page lists the wrong articles:\n%s", nature)
	}
	tags := mustFile(t, s, "/tags/index.html")
	for _, tag := range []string{"climate", "coasts", "nature"} {
		if !strings.Contains(tags, `href="/news/tags/`+tag+`/">`+tag+`</a>`) {
			t.Errorf("tags index lacks %s", tag)
		}
	}
}

func TestSiteFeeds(t *testing.T) {
	cfg := testConfig()
	s := mustBuild(t, cfg, testArticles())
	for _, p := range s.Feeds {
		t.Run(p, func(t *testing.T) {
			feed, err := gofeed.NewParser().ParseString(string(s.Files[p].Body))
			if err != nil {
				t.Fatalf("gofeed: %v", err)
			}
			if len(feed.Items) == 0 || len(feed.Items) > cfg.Feeds.Items {
				t.Errorf("got %d items, want 1..%d", len(feed.Items), cfg.Feeds.Items)
			}
			if !strings.HasPrefix(feed.FeedLink, testBase) || !strings.HasSuffix(testBase+strings.TrimPrefix(p, "/"), feed.FeedLink[len(testBase):]) {
				t.Errorf("self link %q does not match %s", feed.FeedLink, p)
			}
			for _, it := range feed.Items {
				if !strings.HasPrefix(it.Link, testBase+"articles/") {
					t.Errorf("item link %q is not under %s", it.Link, testBase)
				}
			}
		})
	}
	// The site feeds hold the newest [feeds] items articles, newest first.
	feed, err := gofeed.NewParser().ParseString(mustFile(t, s, "/feed.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(feed.Items) != 2 || feed.Items[0].Title != "Harbor towns plan for higher tides" || feed.Items[1].Title != "Urban beekeeping grows" {
		t.Errorf("site feed items: got %v", feed.Items)
	}
}

func TestBaseURLWithoutPath(t *testing.T) {
	cfg := testConfig()
	cfg.Site.BaseURL = "http://localhost:8080/"
	s := mustBuild(t, cfg, testArticles())
	index := mustFile(t, s, "/index.html")
	if !strings.Contains(index, `<link rel="stylesheet" href="/assets/style.css">`) || !strings.Contains(index, `href="/articles/urban-beekeeping-grows/"`) {
		t.Errorf("root-path links wrong:\n%s", index)
	}
}

func TestDeterministic(t *testing.T) {
	cfg := testConfig()
	a := mustBuild(t, cfg, testArticles())
	arts := testArticles()
	arts[0], arts[2] = arts[2], arts[0] // input order must not matter
	b := mustBuild(t, cfg, arts)
	if len(a.Files) != len(b.Files) {
		t.Fatalf("got %d and %d files", len(a.Files), len(b.Files))
	}
	for p, f := range a.Files {
		g, ok := b.Files[p]
		if !ok || !bytes.Equal(f.Body, g.Body) || !f.Modified.Equal(g.Modified) || f.ContentType != g.ContentType {
			t.Errorf("%s differs between two builds of the same content", p)
		}
	}
	// And on disk, file for file.
	d1, d2 := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	if err := a.Write(d1); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(d2); err != nil {
		t.Fatal(err)
	}
	if x, y := mustReadTree(t, d1), mustReadTree(t, d2); !equalTrees(x, y) {
		t.Errorf("written trees differ")
	}
}

func TestDuplicateSlug(t *testing.T) {
	arts := testArticles()
	arts[1].Slug = arts[0].Slug
	if _, err := Build(optionsOf(testConfig()), arts, templates.Embedded()); err == nil || !strings.Contains(err.Error(), arts[0].Slug) {
		t.Errorf("got %v, want a duplicate slug error", err)
	}
}

func TestMissingTemplate(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "article.html"), []byte(`{{define "content"}}{{.Nope}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(optionsOf(testConfig()), testArticles(), tmpl); err == nil || !strings.Contains(err.Error(), "article.html") {
		t.Errorf("got %v, want a template error naming article.html", err)
	}
}

func TestTagSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"energy", "energy"},
		{"north-sea", "north-sea"},
		{"&amp; < >", "amp"},
		{"Ünïcode Tag", "unicode-tag"},
		{"مرحبا", "مرحبا"},
		{"../../etc", "etc"},
	}
	for _, tt := range tests {
		got := TagSlug(tt.in)
		if !strings.HasPrefix(got, tt.want) || strings.ContainsAny(got, "/.& <>") {
			t.Errorf("TagSlug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if TagSlug("مرحبا") == TagSlug("שלום") {
		t.Errorf("two tags without ASCII share a slug")
	}
}

func TestURLHelpers(t *testing.T) {
	if got := ArticleURL("https://example.org/news/", "a"); got != "https://example.org/news/articles/a/" {
		t.Errorf("ArticleURL: got %q", got)
	}
	if got := FullDepthURL("https://example.org/news/", "a"); got != "https://example.org/news/articles/a/#full-depth" {
		t.Errorf("FullDepthURL: got %q", got)
	}
	if got := TagURL("https://example.org/", "nature"); got != "https://example.org/tags/nature/" {
		t.Errorf("TagURL: got %q", got)
	}
}

func mustReadTree(t testing.TB, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func equalTrees(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// ArticleURL is the absolute URL of an article page: base_url + "articles/<slug>/".
func ArticleURL(baseURL, slug string) string { return feeds.ArticleURL(baseURL, slug) }

// FullDepthURL is ArticleURL with "#full-depth", the anchor of the article's
// full-depth section.
func FullDepthURL(baseURL, slug string) string { return feeds.FullDepthURL(baseURL, slug) }

// TagSlug is the folder name of a tag under /tags/ in the default slug
// style (see articles.TagSlug).
func TagSlug(tag string) string { return articles.TagSlug(tag, "") }

// TagURL is the absolute URL of a tag's page.
func TagURL(baseURL, tag string) string { return links.New(baseURL).Tag(TagSlug(tag)) }

// Publish is PublishWithArchive without archives: Build and Write in one
// pass, every file written by the worker that rendered it.
func Publish(opts Options, arts []*articles.Article, tmpl fs.FS, dir string) (*Site, error) {
	return PublishWithArchive(opts, arts, tmpl, dir, nil)
}
