// Package site renders the whole published site — article pages, the
// index, tag pages and every feed — and writes it to disk atomically, so a
// web server never serves half a build. A site is kept in memory whole
// (Build), or published into a folder with only the files a server keeps
// hot in memory (PublishServed), and updated there in place (Update).
package site

import (
	"cmp"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"briefcast/articles"
	"briefcast/editions"
	"briefcast/feeds"
	"briefcast/links"
)

// Content types of the published files.
const (
	HTMLType = "text/html; charset=utf-8"
	CSSType  = "text/css; charset=utf-8"
)

// File is one published file.
type File struct {
	Path        string // URL path from the site root, e.g. "/feed.xml", "/articles/slug/index.html"
	Body        []byte // nil for a file not kept in memory (see Site.Dir and Hot)
	ContentType string
	Modified    time.Time // newest Updated of the articles it shows (deterministic, never time.Now)
	Stored      *Stored   // the copy written, for a site served from its folder
}

// Site is one complete build: every file, in memory or in the folder Dir.
type Site struct {
	Files    map[string]*File // by Path
	Articles []*articles.Article
	Feeds    []string // paths of every feed file (site and tag feeds)
	Notes    []string // what the build left out without failing, as "<file>: note: <what>"
	Dir      string   // the folder of a served site (PublishServed); "" for one in memory

	inc *incState // what Update reuses; nil for a site written to disk
}

// tagGroup is one tag page and its feeds: the articles, newest first.
type tagGroup struct {
	Name     string
	Slug     string
	Articles []int // indexes into the sorted article list
}

// job is one independent piece of work of a build, returning its files.
type job = func() ([]*File, error)

// builder holds what one build shares between its workers, which only read it.
type builder struct {
	opts     Options
	baseURL  string
	basePath string
	abs, rel links.Layout        // the URL layout: absolute, and root-relative under basePath
	author   string              // the site author's name, the byline of articles without one
	arts     []*articles.Article // newest first
	all      []int               // the index of every article: 0, 1, ...
	updated  time.Time           // the newest Updated of arts
	views    []*listedView       // of each article, for the listings
	tagLinks map[string]*tagView // by tag as articles spell it; shared by their views
	tags     []*tagGroup         // by slug
	pages    *renderer
	site     *siteView
	w        *fileWriter           // nil: keep every file in memory
	images   map[string]*leadImage // by slug
	notes    []string

	tmpl fs.FS
	eds  []*editions.Edition // for the digest archives (archive.go)

	prev     *incState                      // the earlier build Update starts from; nil for a full build
	prevAt   map[*articles.Article]int      // the index of each of prev's articles
	dirty    map[*articles.Article]bool     // articles whose card, page and feed items must be made again (Update)
	artNotes map[*articles.Article][]string // notes of each article, for the next Update
}

// note records something left out for article a (from sequential steps only).
func (b *builder) note(a *articles.Article, format string, args ...any) {
	b.addNote(a, filepath.Join(b.opts.ContentDir, filepath.FromSlash(a.Path))+": note: "+fmt.Sprintf(format, args...))
}

func (b *builder) addNote(a *articles.Article, n string) {
	b.notes = append(b.notes, n)
	b.artNotes[a] = append(b.artNotes[a], n)
}

// out finishes the files a job made: kept, or written (into the folder w
// premade at index dir, -1 for none) and kept as write returns them.
func (b *builder) out(dir int, files ...*File) ([]*File, error) {
	if b.w == nil {
		return files, nil
	}
	for k, f := range files {
		c, err := b.w.write(f, dir)
		if err != nil {
			return nil, err
		}
		files[k] = c
	}
	return files, nil
}

// Build renders every page and feed of the site into memory, from arts in
// any order and the templates tmpl. Identical content gives identical bytes.
func Build(opts Options, arts []*articles.Article, tmpl fs.FS) (*Site, error) {
	return build(opts, arts, tmpl, nil, nil)
}

// build renders the site, each file written by w, when not nil, as soon as
// it is rendered. The caller must call w.wait when build returns.
func build(opts Options, arts []*articles.Article, tmpl fs.FS, w *fileWriter, eds []*editions.Edition) (*Site, error) {
	b, err := newBuilder(opts, arts, tmpl, w, eds, nil)
	if err != nil {
		return nil, err
	}
	results, err := run(b.jobs())
	if err != nil {
		return nil, err
	}
	s := &Site{Files: make(map[string]*File, len(b.arts)+8*len(b.tags)+16), Articles: b.arts, Notes: b.notes}
	archive := collect(s.Files, results)
	s.Feeds = feedPaths(s.Files)
	if w == nil || w.served {
		s.inc = b.keep(archive)
	}
	return s, nil
}

// run runs jobs in parallel and returns their files, in the jobs' order.
func run(jobs []job) ([][]*File, error) {
	results := make([][]*File, len(jobs))
	err := runAll(len(jobs), func(i int) (err error) {
		results[i], err = jobs[i]()
		return err
	})
	return results, err
}

// collect puts the files of results into files and returns the paths of
// the digest archives' among them.
func collect(files map[string]*File, results [][]*File) (archive []string) {
	for _, made := range results {
		for _, f := range made {
			files[f.Path] = f
			if strings.HasPrefix(f.Path, "/"+links.DigestsDir) {
				archive = append(archive, f.Path)
			}
		}
	}
	return archive
}

// newBuilder makes everything the jobs of a build share; with prev, what
// depends only on an unchanged article is taken from it.
func newBuilder(opts Options, arts []*articles.Article, tmpl fs.FS, w *fileWriter, eds []*editions.Edition, prev *Site) (*builder, error) {
	baseURL := opts.BaseURL
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	base, err := url.Parse(baseURL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("site: base_url %q is not an absolute URL", opts.BaseURL)
	}
	b := &builder{
		opts:     opts,
		baseURL:  base.String(),
		basePath: base.EscapedPath(),
		arts:     sortArticles(arts),
		tmpl:     tmpl,
		eds:      eds,
		w:        w,
		artNotes: map[*articles.Article][]string{},
	}
	if prev != nil {
		b.prev, b.pages = prev.inc, prev.inc.pages
		b.prevAt = make(map[*articles.Article]int, len(prev.Articles))
		for i, a := range prev.Articles {
			b.prevAt[a] = i
		}
	} else if b.pages, err = newRenderer(tmpl, len(eds) > 0); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(b.basePath, "/") {
		b.basePath += "/"
	}
	b.abs, b.rel = links.New(b.baseURL), links.New(b.basePath)
	b.author = articles.CleanText(feeds.ParseAuthor(opts.Author).Name)
	seen := make(map[string]string, len(b.arts))
	b.all = make([]int, len(b.arts))
	for i, a := range b.arts {
		if a.Slug == "" {
			return nil, fmt.Errorf("site: %s: article has no slug", a.Path)
		}
		if other, dup := seen[a.Slug]; dup {
			return nil, fmt.Errorf("site: %s and %s share the slug %q", other, a.Path, a.Slug)
		}
		seen[a.Slug] = a.Path
		b.all[i] = i
	}
	b.updated = b.newest(b.all)
	if w != nil {
		w.premake(len(b.arts)+1, b.articleDir)
	}
	b.groupTags()
	if prev != nil {
		b.markDirty()
	}
	b.loadImages()
	b.site = b.newSiteView()
	if err := b.pages.chrome(b.site); err != nil {
		return nil, err
	}
	b.prepare()
	return b, nil
}

// feedPaths lists, sorted, the paths of the feed files among files.
func feedPaths(files map[string]*File) []string {
	var out []string
	for p, f := range files {
		switch f.ContentType {
		case feeds.RSSType, feeds.AtomType, feeds.JSONType:
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// sortArticles returns arts newest first, ties broken by slug.
func sortArticles(arts []*articles.Article) []*articles.Article {
	out := slices.DeleteFunc(slices.Clone(arts), func(a *articles.Article) bool { return a == nil })
	slices.SortStableFunc(out, func(a, b *articles.Article) int {
		return cmp.Or(b.Published.Compare(a.Published), strings.Compare(a.Slug, b.Slug))
	})
	return out
}

// groupTags collects the tags by slug. Tags that reduce to the same slug
// share one page, named after the first of their spellings in sorted
// order: readers see a tag as its articles spell it ("Économie").
func (b *builder) groupTags() {
	bySlug := map[string]*tagGroup{}
	byKey := map[string]*tagGroup{}
	slugs := map[string]string{} // a site has far fewer tags than articles
	for i, a := range b.arts {
		for _, t := range a.Tags {
			slug, ok := slugs[t]
			if !ok {
				slug = articles.TagSlug(t, b.opts.Slugs)
				slugs[t] = slug
			}
			name := a.TagName(t)
			g := bySlug[slug]
			if g == nil {
				g = &tagGroup{Name: name, Slug: slug}
				bySlug[slug] = g
			} else if name < g.Name {
				g.Name = name
			}
			byKey[t] = g
			if n := len(g.Articles); n == 0 || g.Articles[n-1] != i {
				g.Articles = append(g.Articles, i)
			}
		}
	}
	b.tags = slices.SortedFunc(maps.Values(bySlug), func(g, h *tagGroup) int { return strings.Compare(g.Slug, h.Slug) })
	b.tagLinks = make(map[string]*tagView, len(byKey))
	for t, g := range byKey {
		b.tagLinks[t] = &tagView{Name: g.Name, URL: b.rel.Tag(g.Slug)}
	}
}

// prepare makes every article's listing view. A full build shows its card
// on a home page and a page of each of its tags, and lets it go after the
// last of them rather than hold every card until the end.
func (b *builder) prepare() {
	b.views = make([]*listedView, len(b.arts))
	for i, a := range b.arts {
		b.views[i] = &listedView{a: a, b: b, cardOf: &lazyCard{}}
	}
	if b.prev != nil {
		return // an update renders few cards, and pages in any number
	}
	for _, v := range b.views {
		v.cardOf.pages.Store(1)
	}
	for _, g := range b.tags {
		for _, i := range g.Articles {
			b.views[i].cardOf.pages.Add(1)
		}
	}
}

// articleDir names the folders a build premakes: "articles", then each
// article's ("" to make on demand a slug that is not one segment).
func (b *builder) articleDir(i int) string {
	if i == 0 {
		return "articles"
	}
	slug := b.arts[i-1].Slug
	if _, err := relPath("/articles/" + slug + "/index.html"); err != nil || strings.Contains(slug, "/") {
		return ""
	}
	return links.ArticlesDir + slug
}

// jobs lists the work of a build, article pages last: their folders get a head start.
func (b *builder) jobs() []job {
	jobs := []job{b.tagsPage, b.notFoundPage, b.stylesheet, b.imageFiles, b.crawlerFiles, b.favicons}
	jobs = append(jobs, b.siteFeedJobs()...)
	jobs = append(jobs, b.listingJobs(b.all, nil, nil)...)
	for _, g := range b.tags {
		jobs = append(jobs, b.listingJobs(g.Articles, g, nil)...)
		jobs = append(jobs, b.tagFeedJob(g))
	}
	for i := range b.arts {
		jobs = append(jobs, func() ([]*File, error) { return b.articlePage(i) })
	}
	return append(jobs, b.archiveJobs()...)
}

// newest returns the newest Updated among the articles at idx.
func (b *builder) newest(idx []int) time.Time {
	var t time.Time
	for _, i := range idx {
		if u := b.arts[i].Updated; u.After(t) {
			t = u
		}
	}
	return t.UTC()
}

// channel is a feed channel of the site in the folder dir, mirroring home.
func (b *builder) channel(dir, title, description, home string) feeds.Channel {
	return feeds.Channel{BaseURL: b.baseURL, Dir: dir, Title: title, Description: description,
		Language: b.opts.Language, HomeURL: home, Author: b.opts.Author}
}

// depthTitles name the depths in feed titles, as the pages name the tiers.
var depthTitles = map[string]string{
	feeds.ContentTake:   "30-second takes",
	feeds.ContentDigest: "2-minute digests",
	feeds.ContentFull:   "full depth",
}

// siteFeedJobs render the site's feeds and those under /<depth>/ of feeds.depths.
func (b *builder) siteFeedJobs() []job {
	jobs := []job{func() ([]*File, error) {
		return b.feedFiles(b.channel("", b.opts.Title, b.opts.Description, b.baseURL), "", b.all, b.opts.FeedContent)
	}}
	for _, d := range b.opts.FeedDepths {
		c := b.channel(links.DepthDir(d), b.opts.Title+" ("+depthTitles[d]+")", "Every article of "+b.opts.Title+", "+depthTitles[d], b.baseURL)
		jobs = append(jobs, func() ([]*File, error) { return b.feedFiles(c, c.Dir, b.all, d) })
	}
	return jobs
}

// tagFeedJob renders the feeds of g's page.
func (b *builder) tagFeedJob(g *tagGroup) job {
	return func() ([]*File, error) {
		c := b.channel(links.TagDir(g.Slug), b.opts.Title+": "+g.Name, "Articles tagged "+g.Name+" on "+b.opts.Title, b.abs.Tag(g.Slug))
		return b.feedFiles(c, links.TagsDir+g.Slug+"/", g.Articles, b.opts.FeedContent)
	}
}
