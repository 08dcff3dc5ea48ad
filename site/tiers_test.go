package site

import (
	"html/template"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"briefcast/articles"
	"briefcast/templates"
)

// nastyArticle carries everything an escaper must get right.
func nastyArticle() *articles.Article {
	pub := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	nasty := `<script>alert("x")</script> & 'quotes' + plus \x00 nul עברית 🙂 ]]>`
	return articles.WithTiers(&articles.Article{
		Path: "nasty.md", ID: "urn:uuid:1", Title: "Title " + nasty, Slug: "café-ünïcode (x)",
		Published: pub, Updated: pub.Add(time.Hour),
		Tags:   []string{"a+b", "c&d", "ünï", `"q"`},
		Author: `Eve "E" <eve@example.org>`,
		Take:   []articles.Bullet{{Text: nasty, HTML: template.HTMLEscapeString(nasty)}},
	}, articles.Tiers{
		Digest: articles.Digest{
			Sections: []articles.Section{{Title: nasty, Paragraphs: []string{nasty}}},
			Players:  []articles.Player{{Name: nasty, Role: nasty}},
			Numbers:  []articles.Number{{Figure: "+5%", Meaning: nasty}},
		},
		Full: articles.Full{
			Sections:   []articles.Section{{Title: "T", HTML: "<p>x</p>"}},
			DataPoints: []articles.DataPoint{{Date: "<1990>", Event: nasty}},
			Closing:    []string{nasty, "second"},
		},
	})
}

var sectionRE = regexp.MustCompile(`(?s)<section id="(?:digest|full-depth)".*?</section>`)

// TestFeedItemsShowThePageTiers checks that, with [feeds] content = "full",
// each feed item carries its article's digest and full-depth sections
// byte for byte as the article page shows them, and its take as the page
// lists it: one set of fragments renders both.
func TestFeedItemsShowThePageTiers(t *testing.T) {
	cfg := testConfig()
	cfg.Feeds.Content = "full"
	arts := append(testArticles(), nastyArticle())
	s := mustBuild(t, cfg, arts)
	byLink := map[string]*gofeed.Item{}
	for _, p := range []string{"/feed.xml", "/atom.xml", "/feed.json"} {
		feed, err := gofeed.NewParser().ParseString(mustFile(t, s, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(feed.Items) != cfg.Feeds.Items {
			t.Fatalf("%s: %d items, want %d", p, len(feed.Items), cfg.Feeds.Items)
		}
		for _, it := range feed.Items {
			byLink[p+" "+it.Link] = it
		}
	}
	checked := 0
	for key, it := range byLink {
		link := key[strings.IndexByte(key, ' ')+1:]
		path, err := url.PathUnescape(strings.TrimPrefix(link, testBase))
		if err != nil {
			t.Fatal(err)
		}
		page := mustFile(t, s, "/"+path+"index.html")
		secs := sectionRE.FindAllString(page, -1)
		if len(secs) == 0 {
			continue
		}
		for _, sec := range secs {
			if !strings.Contains(it.Content, sec) {
				t.Errorf("%s: content lacks the page's section\n%s\ncontent:\n%s", key, sec, it.Content)
			}
		}
		take := regexp.MustCompile(`(?s)<ul class="take">.*?</ul>`).FindString(page)
		if take == "" || !strings.Contains(it.Content, take) {
			t.Errorf("%s: content lacks the page's take %q", key, take)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no feed item with a digest or full depth was checked")
	}
}

// TestTiersTemplateChangesPageAndFeed checks that an operator's tiers.html
// changes the article page and the feed items alike, and that one missing
// a fragment fails the build before any page is made.
func TestTiersTemplateChangesPageAndFeed(t *testing.T) {
	src, err := templates.Embedded().Open("tiers.html")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	orig := b.String()
	if !strings.Contains(orig, "The 2-Minute Digest") {
		t.Fatal("tiers.html has no digest heading to change")
	}
	changed := strings.Replace(orig, "The 2-Minute Digest", "Two minutes, in brief", 1)
	cfg := testConfig()
	cfg.Feeds.Content = "digest"
	s, err := Build(optionsOf(cfg), testArticles(), withTemplate(t, "tiers.html", changed))
	if err != nil {
		t.Fatal(err)
	}
	page := mustFile(t, s, "/articles/harbor-towns-plan-for-higher-tides/index.html")
	feed := mustFile(t, s, "/feed.xml")
	for name, body := range map[string]string{"page": page, "feed": feed} {
		if !strings.Contains(body, "Two minutes, in brief") || strings.Contains(body, "The 2-Minute Digest") {
			t.Errorf("%s does not show the changed tiers.html", name)
		}
	}
	broken := strings.Replace(orig, `{{define "tier-full"}}`, `{{define "tier-full-renamed"}}`, 1)
	if _, err := Build(optionsOf(cfg), testArticles(), withTemplate(t, "tiers.html", broken)); err == nil || !strings.Contains(err.Error(), `"tier-full"`) {
		t.Errorf("tiers.html without tier-full: got %v, want an error naming it", err)
	}
}

// TestHostileArticleEscaped checks that hostile text reaches the page and
// the feed only escaped.
func TestHostileArticleEscaped(t *testing.T) {
	cfg := testConfig()
	cfg.Feeds.Content = "full"
	cfg.Site.BaseURL = "https://example.org/a+b/c&d/%7Ex/"
	s, err := Build(optionsOf(cfg), []*articles.Article{nastyArticle()}, templates.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	for p, f := range s.Files {
		if strings.HasPrefix(f.ContentType, "image/") {
			continue
		}
		if strings.Contains(string(f.Body), "<script>") || strings.Contains(string(f.Body), "\x00") {
			t.Errorf("%s: unescaped script or NUL", p)
		}
	}
	feed, err := gofeed.NewParser().ParseString(mustFile(t, s, "/feed.xml"))
	if err != nil || len(feed.Items) != 1 {
		t.Fatalf("feed: %v, %d items", err, len(feed.Items))
	}
	if !strings.Contains(feed.Items[0].Content, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("feed content lacks the escaped text: %s", feed.Items[0].Content)
	}
}
