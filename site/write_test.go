package site

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"briefcast/articles"
	"briefcast/templates"
)

// mustNoLeftovers fails when parent holds anything but want.
func mustNoLeftovers(t *testing.T, parent string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("folder %s holds %q, want %q", parent, got, want)
	}
}

func TestWrite(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "public")
	s := mustBuild(t, testConfig(), testArticles())
	if err := s.Write(out); err != nil {
		t.Fatalf("first write: %v", err)
	}
	tree := mustReadTree(t, out)
	if len(tree) != len(s.Files)+1 {
		t.Errorf("wrote %d files, want %d and the marker", len(tree), len(s.Files))
	}
	if !strings.Contains(string(tree[MarkerFile]), "published by briefcast") {
		t.Errorf("marker %s: %q", MarkerFile, tree[MarkerFile])
	}
	for p, f := range s.Files {
		if !bytes.Equal(tree[strings.TrimPrefix(p, "/")], f.Body) {
			t.Errorf("%s on disk differs from the build", p)
		}
	}
	// A second write replaces the first entirely: a file that only the old
	// output had is gone.
	if err := os.WriteFile(filepath.Join(out, "stale.html"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(out); err != nil {
		t.Fatalf("second write: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "stale.html")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale file survived the swap: %v", err)
	}
	mustNoLeftovers(t, parent, "public")
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("output folder mode: got %v, %v, want 0755", st.Mode(), err)
	}
}

func TestWriteFailureLeavesOldOutput(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]*File
	}{
		// "/index.html" must be a folder for the second file, so writing
		// fails half-way.
		{"file where a folder must go", map[string]*File{
			"/index.html":          {Path: "/index.html", Body: []byte("a")},
			"/index.html/deep.css": {Path: "/index.html/deep.css", Body: []byte("b")},
		}},
		{"path escaping the output", map[string]*File{
			"/ok.html":     {Path: "/ok.html", Body: []byte("a")},
			"/../evil.txt": {Path: "/../evil.txt", Body: []byte("b")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			out := filepath.Join(parent, "public")
			good := mustBuild(t, testConfig(), testArticles())
			if err := good.Write(out); err != nil {
				t.Fatal(err)
			}
			before := mustReadTree(t, out)
			bad := &Site{Files: tt.files}
			if err := bad.Write(out); err == nil {
				t.Fatal("Write succeeded, want an error")
			}
			if after := mustReadTree(t, out); !equalTrees(before, after) {
				t.Errorf("a failed write changed the old output")
			}
			mustNoLeftovers(t, parent, "public")
		})
	}
}

func TestWriteReadOnlyParent(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores folder permissions")
	}
	parent := t.TempDir()
	out := filepath.Join(parent, "public")
	s := mustBuild(t, testConfig(), testArticles())
	if err := s.Write(out); err != nil {
		t.Fatal(err)
	}
	before := mustReadTree(t, out)
	if err := os.Chmod(parent, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(parent, 0o755) })
	if err := s.Write(out); err == nil {
		t.Fatal("Write into a read-only parent succeeded")
	}
	if after := mustReadTree(t, out); !equalTrees(before, after) {
		t.Errorf("a failed write changed the old output")
	}
	mustNoLeftovers(t, parent, "public")
}

const hostile = "A\x00B\x01\x08\x0b\x0c\x1f ]]> <script>alert(1)</script> &amp; < > \"q\" 'a' 🚀👩‍🚀 \u200fمرحبا\u200f שלום \uFFFE\uFFFF end"

func hostileArticle() *articles.Article {
	pub := time.Date(2025, 7, 4, 12, 0, 0, 0, time.UTC)
	return articles.WithTiers(&articles.Article{
		Path: "hostile.md", ID: "urn:uuid:3c6f0e1a-1111-5222-8333-944455556666",
		Title: hostile, Slug: "hostile",
		Published: pub, Updated: pub,
		Tags:   []string{hostile, "&amp; < >", "שלום"},
		Author: hostile,
		Take: []articles.Bullet{
			{Text: hostile, HTML: html.EscapeString(hostile)},
			{Text: "raw", HTML: `raw ]]> <script>alert(2)</script><a href="javascript:alert(3)" onclick="x()">x</a><img src=x onerror=alert(4)>`},
		},
	}, articles.Tiers{
		Digest: articles.Digest{
			Sections: []articles.Section{{Title: hostile, Paragraphs: []string{hostile}, HTML: "<p>" + html.EscapeString(hostile) + "<script>bad()</script></p>"}},
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

func TestHostileSite(t *testing.T) {
	cfg := testConfig()
	cfg.Feeds.Content = "full"
	cfg.Site.Title = hostile
	cfg.Site.Description = hostile
	s := mustBuild(t, cfg, append(testArticles(), hostileArticle()))
	for p, f := range s.Files {
		t.Run(p, func(t *testing.T) {
			switch {
			case f.ContentType == HTMLType:
				if strings.Contains(strings.ToLower(string(f.Body)), "<script") {
					t.Errorf("unescaped <script> in %s", p)
				}
				if strings.Contains(string(f.Body), "onerror=") || strings.Contains(string(f.Body), "javascript:") {
					t.Errorf("active content in %s", p)
				}
			case strings.HasSuffix(p, ".json"):
				if !json.Valid(f.Body) {
					t.Fatalf("invalid JSON")
				}
				if _, err := gofeed.NewParser().ParseString(string(f.Body)); err != nil {
					t.Errorf("gofeed: %v", err)
				}
			case p == "/sitemap.xml":
				if err := xml.Unmarshal(f.Body, new(struct{})); err != nil {
					t.Fatalf("ill-formed XML: %v", err)
				}
			case strings.HasSuffix(p, ".xml"):
				d := xml.NewDecoder(bytes.NewReader(f.Body))
				for {
					_, err := d.Token()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatalf("ill-formed XML: %v", err)
					}
				}
				if _, err := gofeed.NewParser().ParseString(string(f.Body)); err != nil {
					t.Errorf("gofeed: %v", err)
				}
			}
		})
	}
	if _, ok := s.Files["/tags/"+TagSlug("שלום")+"/index.html"]; !ok {
		t.Errorf("no page for a tag without ASCII letters")
	}
}

func TestSwapWithoutExchange(t *testing.T) {
	noExchange := func(a, b string) (bool, error) { return false, nil }
	parent := t.TempDir()
	dir := filepath.Join(parent, "public")
	for i, body := range []string{"first", "second"} {
		tmp := filepath.Join(parent, ".public.new-"+body)
		if err := os.Mkdir(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "index.html"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := swap(tmp, dir, noExchange); err != nil {
			t.Fatalf("swap %d: %v", i, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "index.html"))
		if err != nil || string(got) != body {
			t.Errorf("swap %d: got %q, %v, want %q", i, got, err, body)
		}
		mustNoLeftovers(t, parent, "public")
	}
}

func TestPublishMatchesBuild(t *testing.T) {
	cfg := testConfig()
	parent := t.TempDir()
	s := mustBuild(t, cfg, testArticles())
	if err := s.Write(filepath.Join(parent, "a")); err != nil {
		t.Fatal(err)
	}
	p, err := Publish(optionsOf(cfg), testArticles(), templates.Embedded(), filepath.Join(parent, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) != len(s.Files) || strings.Join(p.Feeds, " ") != strings.Join(s.Feeds, " ") {
		t.Errorf("Publish lists %d files and feeds %v, Build %d and %v", len(p.Files), p.Feeds, len(s.Files), s.Feeds)
	}
	if !equalTrees(mustReadTree(t, filepath.Join(parent, "a")), mustReadTree(t, filepath.Join(parent, "b"))) {
		t.Errorf("Publish wrote a different tree than Build+Write")
	}
	mustNoLeftovers(t, parent, "a", "b")
}

func TestPublishFailureLeavesOldOutput(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "public")
	if _, err := Publish(optionsOf(testConfig()), testArticles(), templates.Embedded(), out); err != nil {
		t.Fatal(err)
	}
	before := mustReadTree(t, out)
	// A template that fails for one article only, after other pages have
	// already been written into the fresh folder.
	dir := t.TempDir()
	bad := `{{define "content"}}{{if eq .Article.Slug "older-note-on-rivers"}}{{template "missing" .}}{{end}}{{.Article.Title}}{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "article.html"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(optionsOf(testConfig()), testArticles(), tmpl, out); err == nil {
		t.Fatal("Publish succeeded, want a template error")
	}
	if after := mustReadTree(t, out); !equalTrees(before, after) {
		t.Errorf("a failed publish changed the old output")
	}
	mustNoLeftovers(t, parent, "public")
}

// TestFileWriterPremake checks the folders made ahead: a page waits for
// its folder, a folder that cannot be made fails the pages that need it
// and the build, a folder left out is made on demand, and wait stops
// premaking when the build gave up early.
func TestFileWriterPremake(t *testing.T) {
	root := t.TempDir()
	w := &fileWriter{root: root}
	dirs := []string{"a", "a/b", "", "missing/c", "d"}
	w.premake(len(dirs), func(i int) string { return dirs[i] })
	if _, err := w.write(&File{Path: "/a/b/index.html", Body: []byte("x")}, 1); err != nil {
		t.Fatalf("page in a premade folder: %v", err)
	}
	if _, err := w.write(&File{Path: "/a/skipped/index.html", Body: []byte("x")}, 2); err != nil {
		t.Fatalf("page in a folder left out: %v", err)
	}
	if _, err := w.write(&File{Path: "/d/index.html", Body: []byte("x")}, 4); err == nil {
		t.Error("page in a folder after a failed one: no error")
	}
	if _, err := w.write(&File{Path: "/e/f/index.html", Body: []byte("x")}, -1); err != nil {
		t.Errorf("page in a folder made on demand: %v", err)
	}
	if _, err := w.write(&File{Path: "/g/index.html", Body: []byte("x")}, 5); err == nil {
		t.Error("page in a premade folder out of range: no error")
	}
	if err := w.wait(); err == nil {
		t.Error("wait: no error after a failed folder")
	}
	for _, p := range []string{"a/b/index.html", "a/skipped/index.html", "e/f/index.html"} {
		if got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p))); err != nil || string(got) != "x" {
			t.Errorf("%s: got %q, %v", p, got, err)
		}
	}

	w = &fileWriter{root: t.TempDir()}
	w.premake(2001, func(i int) string {
		if i == 0 {
			return "many"
		}
		return fmt.Sprintf("many/%d", i)
	})
	w.wait() // returns once premaking stopped, whether it finished or not
	if _, err := w.write(&File{Path: "/many/2000/index.html", Body: []byte("x")}, 2000); err == nil && w.made < 2001 {
		t.Error("page in a folder never made: no error")
	}
}

// TestPublishNestedSlug publishes articles whose slugs are not a single
// path segment, one inside another's folder: their folders are made on
// demand beside the premade ones, and the tree is the one Build and Write
// give.
func TestPublishNestedSlug(t *testing.T) {
	arts := testArticles()
	nested := *arts[0]
	nested.Slug, nested.ID = arts[1].Slug+"/inner", "urn:uuid:nested"
	nested.Published = nested.Published.Add(time.Hour) // before its parent folder's article in build order
	arts = append(arts, &nested)
	cfg := testConfig()
	parent := t.TempDir()
	s := mustBuild(t, cfg, arts)
	if err := s.Write(filepath.Join(parent, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(optionsOf(cfg), arts, templates.Embedded(), filepath.Join(parent, "b")); err != nil {
		t.Fatal(err)
	}
	a, b := mustReadTree(t, filepath.Join(parent, "a")), mustReadTree(t, filepath.Join(parent, "b"))
	if !equalTrees(a, b) {
		t.Errorf("Publish wrote a different tree than Build+Write")
	}
	if _, ok := b["articles/"+nested.Slug+"/index.html"]; !ok {
		t.Errorf("no page for the nested slug")
	}
}
