package feeds

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"html"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"briefcast/articles"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testBase = "https://example.org/news/"

// sampleArticles are two fixed articles: one with every tier, one with only
// a take and a plain author name.
func sampleArticles() []*articles.Article {
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
				Players:  []articles.Player{{Name: "Harbor Council", Role: "coordinates the plan"}},
				Numbers:  []articles.Number{{Figure: "0.5 m", Meaning: "added wall height"}},
				Line:     8,
			},
			Full: articles.Full{
				Sections:   []articles.Section{{Title: "The Catalyst", Paragraphs: []string{"A winter storm flooded two quays."}, HTML: `<p>A winter storm flooded <img src="quay.png" alt="quay"> two quays.</p>`}},
				DataPoints: []articles.DataPoint{{Date: "1953", Event: "the great flood"}},
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
			Take: []articles.Bullet{
				{Text: "City rooftops now host more hives.", HTML: "City rooftops now host more hives."},
			},
		},
	}
}

func testChannel() Channel {
	return Channel{
		BaseURL:     testBase,
		Title:       "The Test Brief",
		Description: "Layered explainers",
		Language:    "en",
		HomeURL:     testBase,
		Author:      "The Desk <desk@example.org>",
	}
}

func mustItems(t testing.TB, arts []*articles.Article, content string) []*Item {
	t.Helper()
	var items []*Item
	for _, a := range arts {
		it, err := NewItem(a, testBase, content, "The Desk <desk@example.org>", testHTML(a))
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	return items
}

type format struct {
	name   string
	render func(Channel, []*Item) ([]byte, error)
}

var formats = []format{{"rss", RSS}, {"atom", Atom}, {"json", JSON}}

func TestGolden(t *testing.T) {
	for _, content := range []string{ContentTake, ContentFull} {
		for _, f := range formats {
			name := f.name + "-" + content
			t.Run(name, func(t *testing.T) {
				got, err := f.render(testChannel(), mustItems(t, sampleArticles(), content))
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", name+".golden")
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("output differs from %s (run with -update if the change is intended):\n%s", golden, got)
				}
			})
		}
	}
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

func plain(s string) string { return html.UnescapeString(tagRE.ReplaceAllString(s, "")) }

func mustWellFormed(t testing.TB, data []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("ill-formed XML: %v\n%s", err, data)
		}
	}
}

func TestParsedBack(t *testing.T) {
	arts := sampleArticles()
	for _, content := range []string{ContentTake, ContentDigest, ContentFull} {
		for _, f := range formats {
			t.Run(f.name+"-"+content, func(t *testing.T) {
				data, err := f.render(testChannel(), mustItems(t, arts, content))
				if err != nil {
					t.Fatal(err)
				}
				if f.name != "json" {
					mustWellFormed(t, data)
				}
				feed, err := gofeed.NewParser().ParseString(string(data))
				if err != nil {
					t.Fatalf("gofeed: %v", err)
				}
				if feed.Language != "en" {
					t.Errorf("language: got %q, want en", feed.Language)
				}
				if feed.FeedLink == "" || !strings.HasPrefix(feed.FeedLink, testBase) {
					t.Errorf("self link: got %q, want one under %s", feed.FeedLink, testBase)
				}
				if len(feed.Items) != len(arts) {
					t.Fatalf("got %d items, want %d", len(feed.Items), len(arts))
				}
				for i, it := range feed.Items {
					a := arts[i]
					if it.GUID != a.ID {
						t.Errorf("item %d id: got %q, want %q", i, it.GUID, a.ID)
					}
					if want := testBase + "articles/" + a.Slug + "/"; it.Link != want {
						t.Errorf("item %d link: got %q, want %q", i, it.Link, want)
					}
					if it.PublishedParsed == nil || !it.PublishedParsed.Equal(a.Published) {
						t.Errorf("item %d published: got %v, want %v", i, it.PublishedParsed, a.Published)
					}
					if f.name != "rss" && (it.UpdatedParsed == nil || !it.UpdatedParsed.Equal(a.Updated)) {
						t.Errorf("item %d updated: got %v, want %v", i, it.UpdatedParsed, a.Updated)
					}
					if strings.Join(it.Categories, ",") != strings.Join(a.Tags, ",") {
						t.Errorf("item %d categories: got %q, want %q", i, it.Categories, a.Tags)
					}
					wantAuthor := ParseAuthor(a.Author).Name
					if len(it.Authors) == 0 || it.Authors[0].Name != wantAuthor {
						t.Errorf("item %d author: got %+v, want name %q", i, it.Authors, wantAuthor)
					}
					desc := it.Description
					for _, b := range a.Take {
						if !strings.Contains(plain(desc), b.Text) {
							t.Errorf("item %d: take bullet %q not in description %q", i, b.Text, desc)
						}
					}
					if !strings.Contains(desc, FullDepthURL(testBase, a.Slug)) && f.name != "json" {
						t.Errorf("item %d: no full-depth link in %q", i, desc)
					}
					if f.name == "json" && strings.Contains(desc, "<") {
						t.Errorf("item %d: JSON summary has markup: %q", i, desc)
					}
					mustAbsolute(t, it.Description+it.Content)
					if content == ContentFull && len(mustTiers(t, a).Full.DataPoints) > 0 && !strings.Contains(it.Content, "<ol>") {
						t.Errorf("item %d: full content lacks the data points list: %q", i, it.Content)
					}
					if content == ContentDigest && len(mustTiers(t, a).Digest.Numbers) > 0 && !strings.Contains(it.Content, "<table>") {
						t.Errorf("item %d: digest content lacks the numbers table: %q", i, it.Content)
					}
				}
			})
		}
	}
}

var urlAttrRE = regexp.MustCompile(`(?i)(?:href|src)\s*=\s*"([^"]*)"`)

// mustAbsolute fails when any href or src in s is not an absolute http(s)
// URL.
func mustAbsolute(t testing.TB, s string) {
	t.Helper()
	for _, m := range urlAttrRE.FindAllStringSubmatch(s, -1) {
		u := html.UnescapeString(m[1])
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			t.Errorf("relative or odd URL %q in %q", u, s)
		}
	}
}

// hostile is text no feed may choke on.
const hostile = "A\x00B\x01\x08\x0b\x0c\x1f ]]> <script>alert(1)</script> &amp; < > \"q\" 'a' 🚀👩‍🚀 \u200fمرحبا\u200f שלום \uFFFE\uFFFF \xed\xa0\x80 end"

func hostileArticle() *articles.Article {
	pub := time.Date(2025, 7, 4, 12, 0, 0, 0, time.UTC)
	return articles.WithTiers(&articles.Article{
		Path: "hostile.md", ID: "urn:uuid:3c6f0e1a-1111-5222-8333-944455556666",
		Title: hostile, Slug: "hostile",
		Published: pub, Updated: pub,
		Tags:   []string{hostile, "&amp; < >"},
		Author: hostile,
		Take: []articles.Bullet{
			{Text: hostile, HTML: html.EscapeString(hostile)},
			{Text: "raw ]]> in HTML", HTML: `raw ]]> <script>alert(2)</script><a href="javascript:alert(3)" onclick="x()">x</a>`},
		},
	}, articles.Tiers{
		Digest: articles.Digest{
			Sections: []articles.Section{{Title: hostile, Paragraphs: []string{hostile}, HTML: "<p>" + hostile + "</p>"}},
			Players:  []articles.Player{{Name: hostile, Role: hostile}},
			Numbers:  []articles.Number{{Figure: hostile, Meaning: hostile}},
		},
		Full: articles.Full{
			Sections:   []articles.Section{{Title: hostile, Paragraphs: []string{hostile}}},
			DataPoints: []articles.DataPoint{{Date: hostile, Event: hostile}},
			Closing:    []string{hostile},
		},
	})
}

// mustValidFeed checks one rendered feed: well-formed XML (or valid JSON)
// that gofeed reads, with no script element anywhere in the item HTML.
func mustValidFeed(t testing.TB, format string, data []byte) *gofeed.Feed {
	t.Helper()
	if format == "json" {
		if !json.Valid(data) {
			t.Fatalf("invalid JSON:\n%s", data)
		}
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("decode JSON: %v", err)
		}
	} else {
		mustWellFormed(t, data)
	}
	feed, err := gofeed.NewParser().ParseString(string(data))
	if err != nil {
		t.Fatalf("gofeed %s: %v\n%s", format, err, data)
	}
	return feed
}

func TestHostileContent(t *testing.T) {
	arts := append([]*articles.Article{hostileArticle()}, sampleArticles()...)
	ch := testChannel()
	ch.Title = hostile
	ch.Description = hostile
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			data, err := f.render(ch, mustItems(t, arts, ContentFull))
			if err != nil {
				t.Fatal(err)
			}
			feed := mustValidFeed(t, f.name, data)
			if len(feed.Items) != len(arts) {
				t.Fatalf("got %d items, want %d", len(feed.Items), len(arts))
			}
			it := feed.Items[0]
			checked := []string{it.Description, it.Content}
			if f.name == "json" {
				// The JSON summary is plain text: "<script>" there is text.
				checked = checked[1:]
			}
			for _, s := range checked {
				if strings.Contains(strings.ToLower(s), "<script") {
					t.Errorf("script element survived: %q", s)
				}
				if strings.Contains(s, "javascript:") || strings.Contains(s, "onclick") {
					t.Errorf("active content survived: %q", s)
				}
			}
			if !strings.Contains(it.Title, "مرحبا") || !strings.Contains(it.Title, "🚀") {
				t.Errorf("title lost its text: %q", it.Title)
			}
		})
	}
}

func TestXMLSafe(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "hello", "hello"},
		{"keeps tab newline cr", "a\tb\nc\rd", "a\tb\nc\rd"},
		{"drops controls", "a\x00b\x1fc\x7f", "abc\x7f"},
		{"drops nonchars", "a\uFFFEb\uFFFFc", "abc"},
		{"drops invalid utf8", "a\xed\xa0\x80b\xffc", "abc"},
		{"keeps emoji and rtl", "🚀\u200fשלום", "🚀\u200fשלום"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := XMLSafe(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResolveHTML(t *testing.T) {
	base := mustURL(t, "https://example.org/news/articles/x/")
	tests := []struct{ name, in, want string }{
		{"no markup", "a &amp; b", "a &amp; b"},
		{"relative link", `<a href="../y/">y</a>`, `<a href="https://example.org/news/articles/y/">y</a>`},
		{"root link", `<a href="/about">y</a>`, `<a href="https://example.org/about">y</a>`},
		{"image", `<img src="p.png" alt="p">`, `<img src="https://example.org/news/articles/x/p.png" alt="p">`},
		{"absolute kept", `<a href="https://other.example/">o</a>`, `<a href="https://other.example/">o</a>`},
		{"javascript dropped", `<a href="javascript:alert(1)">j</a>`, `<a>j</a>`},
		{"script dropped", `a<script>alert(1)</script>b`, `ab`},
		{"handler dropped", `<b onclick="x()">b</b>`, `<b>b</b>`},
		{"safe markup untouched", `<p>a &amp; <em>b</em><br/></p>`, `<p>a &amp; <em>b</em><br/></p>`},
		{"uppercase handler", `<B ONCLICK="x()">b</B>`, `<b>b</b>`},
		{"comment dropped", `a<!-- <script> -->b`, `ab`},
		{"style element dropped", `<style>p{}</style>x`, `x`},
		{"fragment", `<a href="#full-depth">f</a>`, `<a href="https://example.org/news/articles/x/#full-depth">f</a>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ResolveHTML(tt.in, base); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestURLs(t *testing.T) {
	tests := []struct{ base, slug, want string }{
		{"https://example.org/news/", "a-b", "https://example.org/news/articles/a-b/"},
		{"https://example.org/news", "a-b", "https://example.org/news/articles/a-b/"},
		{"http://localhost:8080/", "x", "http://localhost:8080/articles/x/"},
	}
	for _, tt := range tests {
		if got := ArticleURL(tt.base, tt.slug); got != tt.want {
			t.Errorf("ArticleURL(%q, %q): got %q, want %q", tt.base, tt.slug, got, tt.want)
		}
		if got := FullDepthURL(tt.base, tt.slug); got != tt.want+"#full-depth" {
			t.Errorf("FullDepthURL(%q, %q): got %q", tt.base, tt.slug, got)
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, f := range formats {
		a, err := f.render(testChannel(), mustItems(t, sampleArticles(), ContentFull))
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.render(testChannel(), mustItems(t, sampleArticles(), ContentFull))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renders of the same content differ", f.name)
		}
	}
}

func FuzzFeeds(f *testing.F) {
	f.Add("title", "bullet", "tag")
	f.Add(hostile, "]]>", "<b>&amp;</b>")
	f.Add("\x00\x1f", "\uFFFE", "\xed\xa0\x80")
	f.Fuzz(func(t *testing.T, title, bullet, tag string) {
		a := sampleArticles()[0]
		a.Title = title
		a.Tags = []string{tag}
		a.Take = []articles.Bullet{{Text: bullet, HTML: bullet}}
		tiers := *mustTiers(t, a)
		tiers.Digest.Players = []articles.Player{{Name: bullet, Role: tiers.Digest.Players[0].Role}}
		articles.WithTiers(a, tiers)
		items := mustItems(t, []*articles.Article{a}, ContentFull)
		ch := testChannel()
		ch.Title = title
		for _, f := range formats {
			data, err := f.render(ch, items)
			if err != nil {
				t.Fatalf("%s: %v", f.name, err)
			}
			if f.name == "json" {
				if !json.Valid(data) {
					t.Fatalf("invalid JSON:\n%s", data)
				}
				continue
			}
			mustWellFormed(t, data)
		}
	})
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustTiers(t testing.TB, a *articles.Article) *articles.Tiers {
	t.Helper()
	tiers, err := a.Tiers()
	if err != nil {
		t.Fatal(err)
	}
	return tiers
}
