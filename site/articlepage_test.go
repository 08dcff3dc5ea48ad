package site

import (
	"bytes"
	"html/template"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"briefcast/articles"
	"briefcast/templates"
)

// templatedFS is the built-in templates with the named ones (article.html
// when none is named) changed by a comment only, so the build executes
// them instead of writing their output directly.
func templatedFS(t *testing.T, names ...string) fs.FS {
	if len(names) == 0 {
		names = []string{"article.html"}
	}
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(templates.Embedded(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.Embedded(), p)
		if err != nil {
			return err
		}
		if slices.Contains(names, p) {
			b = append(b, "{{/* executed as a template */}}"...)
		}
		m[p] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// nastyArticle carries everything an escaper must get right.
func nastyArticle() *articles.Article {
	pub := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	nasty := `<script>alert("x")</script> & 'quotes' + plus \x00 nul עברית 🙂 ]]>`
	return &articles.Article{
		Path: "nasty.md", ID: "urn:uuid:1", Title: "Title " + nasty, Slug: "café-ünïcode (x)",
		Published: pub, Updated: pub.Add(time.Hour),
		Tags:   []string{"a+b", "c&d", "ünï", `"q"`},
		Author: `Eve "E" <eve@example.org>`,
		Take:   []articles.Bullet{{Text: nasty, HTML: template.HTMLEscapeString(nasty)}},
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
	}
}

// TestArticlePageDirect checks that a build that writes article pages,
// cards and archive entries directly, and keeps only the fragments of each
// article for the listings, is byte-identical, file for file, to builds
// that execute the templates (the article page's, the listings' or all of
// them), on the fixed test articles, hostile ones, the sample content and
// a generated corpus.
func TestArticlePageDirect(t *testing.T) {
	if !builtinArticlePage(templates.Embedded()) || builtinArticlePage(templatedFS(t)) {
		t.Fatal("builtinArticlePage does not tell the built-in templates from changed ones")
	}
	if !builtinListings(templates.Embedded()) || builtinListings(templatedFS(t, "404.html")) || !builtinListings(templatedFS(t)) {
		t.Fatal("builtinListings does not tell the built-in templates from changed ones")
	}
	sample, errs := articles.Load("../content", articles.Options{})
	if len(errs) > 0 {
		t.Fatalf("sample content: %v", errs)
	}
	corpus := t.TempDir()
	writeCorpus(t, corpus, 30)
	generated, errs := articles.Load(corpus, articles.Options{})
	if len(errs) > 0 {
		t.Fatalf("corpus: %v", errs)
	}
	noAuthor := nastyArticle()
	noAuthor.Slug, noAuthor.Author, noAuthor.Tags, noAuthor.Updated = "plain", "", nil, noAuthor.Published
	noAuthor.Digest, noAuthor.Full = articles.Digest{}, articles.Full{}
	for _, tc := range []struct {
		name string
		base string
		arts []*articles.Article
	}{
		{"fixed", testBase, testArticles()},
		{"hostile", "https://example.org/a+b/c&d/%7Ex/", []*articles.Article{nastyArticle(), noAuthor}},
		{"sample", "http://localhost:8080/", sample},
		{"generated", testBase, generated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Site.BaseURL = tc.base
			cfg.Site.Title = `Brief "&" <Co> + 'x'`
			direct, err := Build(cfg, tc.arts, templates.Embedded())
			if err != nil {
				t.Fatal(err)
			}
			for _, changed := range [][]string{
				{"article.html"},
				{"index.html", "tag.html", "404.html"},
				{"layout.html"},
			} {
				templated, err := Build(cfg, tc.arts, templatedFS(t, changed...))
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for p, f := range templated.Files {
					if strings.HasPrefix(p, "/articles/") {
						n++
					}
					if got := direct.Files[p]; got == nil || !bytes.Equal(got.Body, f.Body) {
						t.Errorf("%v changed: %s: direct page differs from the template's\n%s", changed, p, firstDiff(string(got.Body), string(f.Body)))
					}
				}
				if len(direct.Files) != len(templated.Files) {
					t.Errorf("%v changed: direct build has %d files, template build %d", changed, len(direct.Files), len(templated.Files))
				}
				if n != len(tc.arts) {
					t.Errorf("%v changed: compared %d article pages, want %d", changed, n, len(tc.arts))
				}
			}
		})
	}
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-80)
	return "direct:   " + a[lo:min(len(a), i+80)] + "\ntemplate: " + b[lo:min(len(b), i+80)]
}

// TestEscapers checks escText and escURL against html/template itself.
func TestEscapers(t *testing.T) {
	tmpl := template.Must(template.New("x").Parse(`<p title="{{.}}">{{.}}</p><a href="{{.}}">`))
	for _, s := range []string{
		"", "plain", `<script>alert("x")</script>`, "a & b + c 'd' \x00 e", "עברית 🙂 ]]>",
		"/news/articles/caf%C3%A9/", "/x/%zz/%4", "https://example.org/a+b/?q=1&r=2#frag", "javascript:alert(1)",
		"JavaScript:x", "mailto:a@b.c", "data:text/html,x", "/a:b", "a b\tc\n(d)[e]{f}|g\\h^i`j", "%", "%4g",
	} {
		var want bytes.Buffer
		if err := tmpl.Execute(&want, s); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		got.WriteString(`<p title="`)
		escText(&got, s)
		got.WriteString(`">`)
		escText(&got, s)
		got.WriteString(`</p><a href="`)
		escURL(&got, s)
		got.WriteString(`">`)
		if got.String() != want.String() {
			t.Errorf("%q:\n got %s\nwant %s", s, got.String(), want.String())
		}
	}
}
