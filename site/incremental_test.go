package site

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/feeds"
	"briefcast/templates"
)

// incCorpus is a content folder changed one file at a time, with the site
// kept up to date by Update, as the daemon does.
type incCorpus struct {
	t    testing.TB
	dir  string
	cfg  *config.Config
	tmpl fs.FS
	set  *articles.Set
	site *Site
	out  string // the folder a served site is published into; "" for a site in memory
	opts articles.Options
}

func newIncCorpus(t testing.TB) *incCorpus {
	dir := t.TempDir()
	cfg := config.Defaults()
	cfg.Site.Title = "Incremental"
	cfg.Site.BaseURL = "https://example.org/news/"
	cfg.Site.ContentDir = dir
	cfg.Site.PageSize = 2
	cfg.Feeds.Items = 3
	cfg.Feeds.Depths = []string{feeds.ContentTake, feeds.ContentFull}
	return &incCorpus{t: t, dir: dir, cfg: cfg}
}

// article is the text of a small article; tags and day vary its place in
// the listings.
func incArticle(title string, day int, tags ...string) string {
	q := make([]string, len(tags))
	for k, t := range tags {
		q[k] = fmt.Sprintf("%q", t)
	}
	return fmt.Sprintf("+++\ntitle = %q\ndate = 2024-03-%02dT08:00:00Z\ntags = [%s]\n+++\n\n## 30-Second Take\n- %s happened.\n\n## 2-Minute Digest\n### Essential Context\nWhy %s matters.\n\n## Full Depth\n### The Catalyst\nAll of %s.\n",
		title, 1+day%28, strings.Join(q, ", "), title, title, title)
}

// start builds the site in full from the folder.
func (c *incCorpus) start() {
	tmpl, err := templates.Load("")
	if err != nil {
		c.t.Fatal(err)
	}
	c.tmpl = tmpl
	c.set = articles.NewSet(c.dir, c.opts)
	arts, _ := c.set.Articles()
	if c.out != "" {
		c.site, err = PublishServed(optionsOf(c.cfg), arts, tmpl, c.out, nil)
	} else {
		c.site, err = Build(optionsOf(c.cfg), arts, tmpl)
	}
	if err != nil {
		c.t.Fatal(err)
	}
}

// served makes the corpus publish its site into a folder and update it
// there, as the daemon does.
func (c *incCorpus) served() *incCorpus {
	c.out = filepath.Join(c.t.TempDir(), "public")
	return c
}

func (c *incCorpus) write(name, text string) {
	c.t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.changed(name)
}

func (c *incCorpus) remove(name string) {
	c.t.Helper()
	if err := os.Remove(filepath.Join(c.dir, name)); err != nil && !os.IsNotExist(err) {
		c.t.Fatal(err)
	}
	c.changed(name)
}

func (c *incCorpus) rename(from, to string) {
	c.t.Helper()
	if err := os.Rename(filepath.Join(c.dir, from), filepath.Join(c.dir, to)); err != nil {
		if os.IsNotExist(err) {
			return
		}
		c.t.Fatal(err)
	}
	c.changed(from, to)
}

// changed tells the set and updates the site, then checks the site
// against a full build of the folder as it is now.
func (c *incCorpus) changed(names ...string) {
	c.t.Helper()
	if c.set == nil {
		return // before start
	}
	for _, name := range names {
		if err := c.set.Reload(filepath.Join(c.dir, name)); err == articles.ErrNeedsLoad {
			c.t.Fatalf("reload %s: %v", name, err)
		}
	}
	arts, _ := c.set.Articles()
	var err error
	if c.site, err = Update(c.site, optionsOf(c.cfg), arts, c.tmpl, nil); err != nil {
		c.t.Fatal(err)
	}
	c.check()
}

// check compares the site with a build from scratch: a new Load, a new
// Build.
func (c *incCorpus) check() {
	c.t.Helper()
	// The set keeps the last good version of a broken file, which a Load
	// from scratch cannot know: the full build is of the set's articles,
	// which must be Load's whenever no file is rejected.
	arts, errs := c.set.Articles()
	if loaded, lerrs := articles.Load(c.dir, articles.Options{}); len(lerrs) == 0 {
		if len(errs) > 0 || !sameArticles(loaded, arts) {
			c.t.Fatalf("the set holds %v (errors %v), Load %v", paths(arts), errs, paths(loaded))
		}
	}
	full, err := Build(optionsOf(c.cfg), arts, c.tmpl)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.out == "" {
		sameSite(c.t, full, c.site)
		return
	}
	sameServed(c.t, full, c.site, c.out)
}

// sameServed fails unless got, a served site, has the files of want, a
// site in memory, and its folder dir holds exactly those files, byte for
// byte, each with the Stored got keeps for it, and nothing else but the
// marker.
func sameServed(t testing.TB, want, got *Site, dir string) {
	t.Helper()
	bodies := make(map[string]*File, len(got.Files))
	disk := mustReadTree(t, dir)
	for p, g := range got.Files {
		rel := strings.TrimPrefix(p, "/")
		body, ok := disk[rel]
		if !ok {
			t.Fatalf("%s: in the served site, not in its folder", p)
		}
		delete(disk, rel)
		fi, err := os.Stat(filepath.Join(dir, rel))
		switch {
		case err != nil:
			t.Fatal(err)
		case g.Stored == nil || g.Stored.ETag != ETag(body) || !g.Stored.Same(fi):
			t.Fatalf("%s: Stored %+v does not describe the copy in the folder (%d bytes, tag %s)", p, g.Stored, len(body), ETag(body))
		case (g.Body != nil) != Hot(g) || g.Body != nil && !bytes.Equal(g.Body, body):
			t.Fatalf("%s: hot %v, body kept %v, differing from the folder's", p, Hot(g), g.Body != nil)
		}
		c := *g
		c.Body = body
		bodies[p] = &c
	}
	delete(disk, MarkerFile)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if entries, _ := os.ReadDir(p); len(entries) == 0 {
				t.Errorf("%s: an empty folder left in the served site's folder", p)
			}
		}
		return nil
	})
	for rel := range disk {
		t.Fatalf("%s: left in the folder, not in the served site", rel)
	}
	if got.Dir != dir {
		t.Fatalf("served from %q, want %q", got.Dir, dir)
	}
	g := *got
	g.Files = bodies
	sameSite(t, want, &g)
}

// sameSite fails unless got has the files of want, byte for byte, with
// the same types and dates, and the same feeds, articles and notes.
func sameSite(t testing.TB, want, got *Site) {
	t.Helper()
	for p, w := range want.Files {
		g := got.Files[p]
		switch {
		case g == nil:
			t.Fatalf("%s: missing from the updated site", p)
		case !bytes.Equal(g.Body, w.Body):
			t.Fatalf("%s: body differs from a full build:\nfull:\n%s\nupdated:\n%s", p, w.Body, g.Body)
		case g.ContentType != w.ContentType || !g.Modified.Equal(w.Modified):
			t.Fatalf("%s: type/date %s %v, full build %s %v", p, g.ContentType, g.Modified, w.ContentType, w.Modified)
		}
	}
	for p := range got.Files {
		if want.Files[p] == nil {
			t.Fatalf("%s: left in the updated site, not in a full build", p)
		}
	}
	if !slices.Equal(want.Feeds, got.Feeds) {
		t.Fatalf("feeds %v, full build %v", got.Feeds, want.Feeds)
	}
	if !slices.Equal(want.Notes, got.Notes) {
		t.Fatalf("notes %v, full build %v", got.Notes, want.Notes)
	}
	if len(want.Articles) != len(got.Articles) {
		t.Fatalf("%d articles, full build %d", len(got.Articles), len(want.Articles))
	}
}

// TestUpdateMatchesFullBuild changes a small site one file at a time,
// every kind of change, and after each compares the updated site with a
// full build of the same folder.
func TestUpdateMatchesFullBuild(t *testing.T) {
	t.Run("in memory", func(t *testing.T) { testUpdateMatchesFullBuild(t, newIncCorpus(t)) })
	t.Run("served from its folder", func(t *testing.T) { testUpdateMatchesFullBuild(t, newIncCorpus(t).served()) })
}

func testUpdateMatchesFullBuild(t *testing.T, c *incCorpus) {
	for i := range 7 {
		c.write(fmt.Sprintf("a%d.md", i), incArticle(fmt.Sprintf("Story %d", i), 2*i, "Energy", fmt.Sprintf("t%d", i%3)))
	}
	c.write("img/lead.png", "not really a png, but bytes")
	c.start()
	steps := []struct {
		name string
		do   func()
	}{
		{"edit the text of a middle article", func() { c.write("a3.md", incArticle("Story 3 revised", 6, "Energy", "t0")) }},
		{"edit the newest article", func() { c.write("a6.md", incArticle("Story 6, again", 12, "Energy", "t0")) }},
		{"move an article to the top by date", func() { c.write("a0.md", incArticle("Story 0", 20, "Energy")) }},
		{"add an article in the middle", func() { c.write("new.md", incArticle("Fresh", 5, "t9")) }},
		{"add one with a new tag spelling that renames a tag page", func() { c.write("accent.md", incArticle("Accent", 7, "energy")) }},
		{"remove it again", func() { c.remove("accent.md") }},
		{"rename a file (same slug from the title)", func() { c.rename("a2.md", "sub/b2.md") }},
		{"change a slug", func() { c.write("a4.md", incArticle("Story four", 8, "t1")) }},
		{"delete the oldest", func() { c.remove("a1.md") }},
		{"a duplicate slug", func() { c.write("dup.md", incArticle("Story four", 3, "t2")) }},
		{"remove the original of the duplicate", func() { c.remove("a4.md") }},
		{"a broken file keeps its last good version", func() { c.write("a5.md", "+++\ntitle = \n") }},
		{"the broken file is deleted", func() { c.remove("a5.md") }},
		{"a draft", func() {
			c.write("a6.md", strings.Replace(incArticle("Story 6", 12), "+++\n\n", "draft = true\n+++\n\n", 1))
		}},
		{"delete the last tag member", func() { c.remove("new.md") }},
		{"a lead image", func() {
			c.write("img.md", strings.Replace(incArticle("Pictured", 9, "t1"), "+++\n\n", "image = \"img/lead.png\"\nimage_alt = \"x\"\n+++\n\n", 1))
		}},
		{"delete everything but one", func() {
			for _, n := range []string{"a0.md", "a3.md", "sub/b2.md", "dup.md", "img.md", "a6.md"} {
				c.remove(n)
			}
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			s.do()
		})
	}
}

// FuzzIncrementalBuild drives random sequences of adds, edits, renames and
// deletes on a small corpus and checks the updated site against a full
// build after each.
func FuzzIncrementalBuild(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{3, 3, 3, 9, 200, 17, 64, 1, 1, 130})
	f.Add([]byte{255, 0, 128, 64, 32, 16, 8, 4, 2, 1})
	f.Add([]byte{128, 1, 2, 3, 4, 5, 6, 7, 9, 200, 17, 64, 1, 1, 130}) // served from a folder
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 24 {
			ops = ops[:24]
		}
		c := newIncCorpus(t)
		if len(ops) > 0 && ops[0]&0x80 != 0 {
			c.served()
		}
		for i := range 4 {
			c.write(fmt.Sprintf("f%d.md", i), incArticle(fmt.Sprintf("Item %d", i), i, "x"))
		}
		c.start()
		tags := []string{"x", "y", "Zed", "zed", "x y"}
		for k, op := range ops {
			name := fmt.Sprintf("f%d.md", int(op>>2)%6)
			title := fmt.Sprintf("Item %d", int(op>>3)%5)
			day := int(op>>4) % 6
			switch op & 3 {
			case 0, 1:
				c.write(name, incArticle(title, day, tags[int(op)%len(tags)], tags[k%len(tags)]))
			case 2:
				c.remove(name)
			case 3:
				c.rename(name, fmt.Sprintf("f%d.md", (int(op>>2)+1)%6))
			}
		}
	})
}

func paths(arts []*articles.Article) []string {
	out := make([]string, len(arts))
	for k, a := range arts {
		out[k] = a.Path + "=" + a.Slug
	}
	return out
}

func sameArticles(a, b []*articles.Article) bool { return slices.Equal(paths(a), paths(b)) }

// BenchmarkUpdateOneEdit10k measures what the daemon does for one edited
// article of the 10,000-article corpus: read the file again, resolve the
// set, and update the site. The served swap and the static copy are not
// included (see daemon's serve path).
func BenchmarkUpdateOneEdit10k(b *testing.B) { benchmarkUpdateOneEdit(b, false, "brief-05000.md") }

// BenchmarkUpdateOneEdit10kServed is the same for the site as `serve`
// keeps it: published into a folder, with the articles' tiers in a spill
// file, each update writing its files into the folder.
func BenchmarkUpdateOneEdit10kServed(b *testing.B) {
	benchmarkUpdateOneEdit(b, true, "brief-05000.md")
}

// BenchmarkUpdateFeedEdit10kServed edits one of the newest articles, which
// every feed lists: the site's, its tags' and the depth feeds are rendered
// again too.
func BenchmarkUpdateFeedEdit10kServed(b *testing.B) {
	benchmarkUpdateOneEdit(b, true, "brief-09990.md")
}

func benchmarkUpdateOneEdit(b *testing.B, served bool, file string) {
	dir := b.TempDir()
	writeCorpus(b, dir, 10000)
	cfg := config.Defaults()
	cfg.Site.ContentDir = dir
	cfg.Site.BaseURL = "https://example.org/"
	cfg.Feeds.Items = 50
	tmpl, err := templates.Load("")
	if err != nil {
		b.Fatal(err)
	}
	var opts articles.Options
	if served {
		if opts.Spill, err = articles.NewSpill(b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
	set := articles.NewSet(dir, opts)
	arts, _ := set.Articles()
	var s *Site
	if served {
		s, err = PublishServed(optionsOf(cfg), arts, tmpl, filepath.Join(b.TempDir(), "public"), nil)
	} else {
		s, err = Build(optionsOf(cfg), arts, tmpl)
	}
	if err != nil {
		b.Fatal(err)
	}
	name := filepath.Join(dir, file)
	orig, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		text := strings.Replace(string(orig), "## 30-Second Take\n", fmt.Sprintf("## 30-Second Take\n- Edit %d.\n", i), 1)
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := set.Reload(name); err != nil {
			b.Fatal(err)
		}
		arts, _ := set.Articles()
		if s, err = Update(s, optionsOf(cfg), arts, tmpl, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUpdateFollowsOptions: Update reuses what an earlier build made only
// while the options are equal (a fresh value filled alike counts, as the
// daemon makes one per update); new options build the whole site again.
func TestUpdateFollowsOptions(t *testing.T) {
	c := newIncCorpus(t)
	for i := range 3 {
		c.write(fmt.Sprintf("a%d.md", i), incArticle(fmt.Sprintf("Story %d", i), 2*i, "Energy"))
	}
	c.start()
	arts, _ := c.set.Articles()
	page := "/articles/" + arts[0].Slug + "/index.html"
	if c.site.Files[page] == nil {
		t.Fatalf("no page %s among %d files", page, len(c.site.Files))
	}

	same, err := Update(c.site, optionsOf(c.cfg), arts, c.tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if same.Files[page] != c.site.Files[page] {
		t.Errorf("equal options: %s was rendered again, not shared with the earlier build", page)
	}

	retitled := optionsOf(c.cfg)
	retitled.Title = "Renamed Brief"
	other, err := Update(same, retitled, arts, c.tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Build(retitled, arts, c.tmpl)
	if err != nil {
		t.Fatal(err)
	}
	sameSite(t, full, other)
	if !strings.Contains(string(other.Files[page].Body), "Renamed Brief") {
		t.Errorf("new options: %s does not carry the new site title", page)
	}
}
