// Package site renders the whole published site — article pages, the
// index, tag pages and every feed — and writes it to disk atomically, so a
// web server never serves half a build. A site is kept in memory whole
// (Build), or published into a folder with only the files a server keeps
// hot in memory (PublishServed), and updated there in place (Update).
package site

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
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
	Path string // URL path from the site root, e.g. "/feed.xml", "/articles/slug/index.html", "/assets/style.css"
	// Body is the file's bytes; nil for a file of a site on disk that is
	// not kept in memory (see Site.Dir and Hot), or of a Publish.
	Body        []byte
	ContentType string
	Modified    time.Time // newest Updated of the articles it shows (deterministic, never time.Now)
	// Stored is set for the files of a site served from its folder (see
	// PublishServed): the copy written there.
	Stored *Stored
}

// Site is one complete build: every file, with its bytes in memory or,
// for a served site, in the folder Dir.
type Site struct {
	Files    map[string]*File // by Path
	Articles []*articles.Article
	Feeds    []string // paths of every feed file (site and tag feeds)
	// Notes are what the build left out without failing, each as
	// "<file>: note: <what>", such as a lead image that is not there.
	Notes []string
	// Dir is the folder a served site was published into (PublishServed)
	// and is kept up to date in by Update: the files without Body are read
	// from there. "" for a site in memory.
	Dir string

	inc *incState // what Update reuses; nil for a site written to disk
}

// ArticleURL is the absolute URL of an article page: base_url +
// "articles/<slug>/". base_url may carry a path (https://example.org/news/).
func ArticleURL(baseURL, slug string) string { return feeds.ArticleURL(baseURL, slug) }

// FullDepthURL is ArticleURL with "#full-depth", the anchor of the article's
// full-depth section.
func FullDepthURL(baseURL, slug string) string { return feeds.FullDepthURL(baseURL, slug) }

// TagSlug is the folder name of a tag under /tags/ in the default slug
// style: letters and digits of every script, Latin accents folded, the
// rest hyphens (see articles.TagSlug), so it is always one safe path
// segment; URLs percent-encode it.
func TagSlug(tag string) string { return articles.TagSlug(tag, "") }

// tagSlug is TagSlug in the site's slug style (site.slugs).
func (b *builder) tagSlug(tag string) string { return articles.TagSlug(tag, b.opts.Slugs) }

// TagURL is the absolute URL of a tag's page.
func TagURL(baseURL, tag string) string { return links.New(baseURL).Tag(TagSlug(tag)) }

func withSlash(s string) string {
	if strings.HasSuffix(s, "/") {
		return s
	}
	return s + "/"
}

// tagGroup is one tag page and its feeds: the articles, newest first.
type tagGroup struct {
	Name     string
	Slug     string
	Articles []int // indexes into the sorted article list
}

// builder holds what one Build shares between its workers. Workers only
// read it once the views are made.
type builder struct {
	opts     Options
	baseURL  string
	basePath string
	arts     []*articles.Article // newest first
	views    []*listedView       // of each article, for the listings
	tagLinks map[string]*tagView // by tag as articles spell it; shared by their views
	tags     []*tagGroup         // by slug
	pages    *renderer
	site     *siteView
	w        *fileWriter           // nil: keep every file in memory
	images   map[string]*leadImage // by slug
	notes    []string

	tmpl        fs.FS
	eds         []*editions.Edition           // for the digest archives (archive.go)
	archiveTmpl map[string]*template.Template // archive pages, parsed when there is an archive

	prev     *incState                      // the earlier build Update starts from; nil for a full build
	dirty    map[*articles.Article]bool     // articles whose card, page and feed items must be made again (Update)
	artNotes map[*articles.Article][]string // notes of each article, for the next Update
}

// note records something the build left out for article a. Only the
// sequential steps of a build call it.
func (b *builder) note(a *articles.Article, format string, args ...any) {
	name := filepath.Join(b.opts.ContentDir, filepath.FromSlash(a.Path))
	n := name + ": note: " + fmt.Sprintf(format, args...)
	b.notes = append(b.notes, n)
	if b.artNotes == nil {
		b.artNotes = map[*articles.Article][]string{}
	}
	b.artNotes[a] = append(b.artNotes[a], n)
}

// out finishes the files a job made: kept as they are for a site in
// memory, or written and kept without their body when streaming.
func (b *builder) out(files ...*File) ([]*File, error) {
	return b.outIn(-1, files...)
}

// outIn is out for files in the folder that w premade at index dir (-1 for
// none).
func (b *builder) outIn(dir int, files ...*File) ([]*File, error) {
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

// Build renders every page and feed of the site into memory. arts may be in
// any order; they are published newest first. tmpl holds the templates
// (templates.Load of the templates folder). Nothing in the output depends on
// the clock, so identical content gives byte-identical files.
func Build(opts Options, arts []*articles.Article, tmpl fs.FS) (*Site, error) {
	return build(opts, arts, tmpl, nil, nil)
}

// build renders the site. With a nil w every file is kept in the returned
// Site; otherwise each file is written by w as soon as it is rendered,
// from the worker that rendered it, and only its path is kept. The caller
// must call w.wait when build returns.
func build(opts Options, arts []*articles.Article, tmpl fs.FS, w *fileWriter, eds []*editions.Edition) (*Site, error) {
	b, err := newBuilder(opts, arts, tmpl, w, eds, nil)
	if err != nil {
		return nil, err
	}
	results, archive, err := b.runWithArchive(b.jobs())
	if err != nil {
		return nil, err
	}
	s := &Site{Files: make(map[string]*File, len(b.arts)+8*len(b.tags)+16), Articles: b.arts, Notes: b.notes}
	for _, files := range results {
		for _, f := range files {
			s.Files[f.Path] = f
		}
	}
	s.Feeds = feedPaths(s.Files)
	if w == nil || w.served {
		s.inc = b.keep(archivePaths(archive))
	}
	return s, nil
}

// runWithArchive runs jobs and the archive's jobs together. It returns
// every result, those of the archive last, and the archive's alone.
func (b *builder) runWithArchive(jobs []func() ([]*File, error)) (results, archive [][]*File, err error) {
	more, err := b.archiveJobs()
	if err != nil {
		return nil, nil, err
	}
	jobs = append(jobs, more...)
	results, err = runJobs(jobs)
	if err != nil {
		return nil, nil, err
	}
	return results, results[len(jobs)-len(more):], nil
}

// newBuilder makes everything the jobs of a build share: the sorted
// articles, the tag groups, the lead images, the chrome of every page and
// each article's card. With prev (the state an earlier build of the same
// config and templates kept), what depends only on an unchanged article is
// taken from it instead of being made again.
func newBuilder(opts Options, arts []*articles.Article, tmpl fs.FS, w *fileWriter, eds []*editions.Edition, prev *incState) (*builder, error) {
	base, err := url.Parse(withSlash(opts.BaseURL))
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
		prev:     prev,
	}
	if prev != nil {
		b.pages, b.archiveTmpl = prev.pages, prev.archiveTmpl
	} else if b.pages, err = newRenderer(tmpl); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(b.basePath, "/") {
		b.basePath += "/"
	}
	seen := make(map[string]string, len(b.arts))
	for _, a := range b.arts {
		if a.Slug == "" {
			return nil, fmt.Errorf("site: %s: article has no slug", a.Path)
		}
		if other, dup := seen[a.Slug]; dup {
			return nil, fmt.Errorf("site: %s and %s share the slug %q", other, a.Path, a.Slug)
		}
		seen[a.Slug] = a.Path
	}
	if w != nil {
		b.w = w
		w.premake(len(b.arts)+1, b.articleDir)
	}
	b.groupTags()
	if prev != nil {
		b.markDirty()
	} else {
		if err := b.parseArchiveTemplates(); err != nil {
			return nil, err
		}
	}
	b.loadImages()
	b.site = b.newSiteView()
	b.site.Feeds = append(b.site.Feeds, b.depthFeedLinks(b.site.Title)...)
	if err := b.pages.chrome(b.site); err != nil {
		return nil, err
	}
	b.prepare()
	return b, nil
}

// runJobs runs the jobs in parallel and returns the files of each, or the
// first error.
func runJobs(jobs []func() ([]*File, error)) ([][]*File, error) {
	results := make([][]*File, len(jobs))
	errs := make([]error, len(jobs))
	var failed atomic.Bool
	parallel(len(jobs), func(i int) {
		if failed.Load() {
			return
		}
		results[i], errs[i] = jobs[i]()
		if errs[i] != nil {
			failed.Store(true)
		}
	})
	if err := firstErr(errs); err != nil {
		return nil, err
	}
	return results, nil
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
	sort.Strings(out)
	return out
}

// sortArticles returns arts newest first, ties broken by slug, so the order
// never depends on the order files were read in.
func sortArticles(arts []*articles.Article) []*articles.Article {
	out := make([]*articles.Article, 0, len(arts))
	for _, a := range arts {
		if a != nil {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Published.Equal(out[j].Published) {
			return out[i].Published.After(out[j].Published)
		}
		return out[i].Slug < out[j].Slug
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
				slug = b.tagSlug(t)
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
	for _, g := range bySlug {
		b.tags = append(b.tags, g)
	}
	b.tagLinks = make(map[string]*tagView, len(byKey))
	for t, g := range byKey {
		b.tagLinks[t] = &tagView{Name: g.Name, URL: b.basePath + TagsDir + url.PathEscape(g.Slug) + "/"}
	}
	sort.Slice(b.tags, func(i, j int) bool { return b.tags[i].Slug < b.tags[j].Slug })
}

// TagsDir is the folder of the tag pages.
const TagsDir = links.TagsDir

// prepare makes every article's listing view. Its card is rendered the
// first time a listing page shows it (see listedView.card): the index and
// tag pages are paginated, so every article is shown with its take on
// some page, and an article on several pages is rendered once. An update
// renders only the cards of the pages it makes again.
//
// A full build shows each card on one page of the home listing and on
// one page of each of its tags: it lets the card go after the last of
// them, rather than hold every card until the end.
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

// articleDir names the folders a build premakes (see fileWriter): the
// folder of all article pages, then each article's own, in the order their
// pages are rendered. A slug that is not a single path segment is left to
// be made on demand ("").
func (b *builder) articleDir(i int) string {
	if i == 0 {
		return "articles"
	}
	slug := b.arts[i-1].Slug
	if _, err := relPath("/articles/" + slug + "/index.html"); err != nil || strings.Contains(slug, "/") {
		return ""
	}
	return "articles/" + slug
}

// jobs lists the independent pieces of work of a build. Each returns the
// files it made. The article pages come last, so that the folders made
// ahead for them (see fileWriter) get a head start.
func (b *builder) jobs() []func() ([]*File, error) {
	var jobs []func() ([]*File, error)
	all := make([]int, len(b.arts))
	for i := range all {
		all[i] = i
	}
	jobs = append(jobs,
		func() ([]*File, error) { return b.tagsPage() },
		func() ([]*File, error) { return b.notFoundPage() },
		func() ([]*File, error) { return b.stylesheet() },
		func() ([]*File, error) { return b.imageFiles() },
		func() ([]*File, error) { return b.crawlerFiles() },
		func() ([]*File, error) { return b.favicons() },
		func() ([]*File, error) { return b.feedFiles(b.siteChannel(), all) },
	)
	jobs = append(jobs, b.listingJobs(all, nil)...)
	jobs = append(jobs, b.depthJobs(all)...)
	for _, g := range b.tags {
		jobs = append(jobs, b.listingJobs(g.Articles, g)...)
		jobs = append(jobs,
			func() ([]*File, error) { return b.feedFiles(b.tagChannel(g), g.Articles) },
		)
	}
	for i := range b.arts {
		jobs = append(jobs, func() ([]*File, error) { return b.articlePage(i) })
	}
	return jobs
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

func (b *builder) siteChannel() feeds.Channel {
	return feeds.Channel{
		BaseURL:     b.baseURL,
		Title:       b.opts.Title,
		Description: b.opts.Description,
		Language:    b.opts.Language,
		HomeURL:     b.baseURL,
		Author:      b.opts.Author,
	}
}

func (b *builder) tagChannel(g *tagGroup) feeds.Channel {
	c := b.siteChannel()
	c.Dir = TagsDir + url.PathEscape(g.Slug) + "/"
	c.Title = b.opts.Title + ": " + g.Name
	c.Description = "Articles tagged " + g.Name + " on " + b.opts.Title
	c.HomeURL = b.baseURL + c.Dir
	return c
}
