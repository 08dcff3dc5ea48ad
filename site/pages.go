package site

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"slices"
	"sync"
	"time"

	"briefcast/articles"
	"briefcast/feeds"
	"briefcast/links"
)

// renderer holds the templates, parsed once (and safe for concurrent use after).
type renderer struct {
	layout *template.Template // layout.html and tiers.html, for the fragments rendered once
	pages  map[string]*template.Template
	css    []byte
	bufs   sync.Pool // of *bytes.Buffer
}

// tierNames are the fragments of tiers.html each article needs: checked up front.
var tierNames = []string{"take", "tier-take", "tier-digest", "tier-full", "feed-summary"}

// The page templates, each defining "content" for layout.html.
var (
	pageNames    = []string{"index.html", "article.html", "tag.html", "tags.html", "404.html"}
	archiveNames = []string{"archive.html", "archive_edition.html"}
)

// newRenderer parses layout.html and tiers.html and, each into its own copy
// of them, the page templates (with archive, the archive's too): before any
// of the layout is executed, which a template cannot be cloned after.
func newRenderer(tmpl fs.FS, archive bool) (*renderer, error) {
	parse := func(t *template.Template, name string) (*template.Template, error) {
		src, err := fs.ReadFile(tmpl, name)
		if err == nil {
			t, err = t.Parse(string(src))
		}
		if err != nil {
			return nil, fmt.Errorf("site: templates: %w", err)
		}
		return t, nil
	}
	base, err := parse(template.New("layout.html").Funcs(template.FuncMap{"date": humanDate, "iso": isoDate}), "layout.html")
	if err == nil {
		_, err = parse(base.New("tiers.html"), "tiers.html")
	}
	if err != nil {
		return nil, err
	}
	for _, name := range tierNames {
		if base.Lookup(name) == nil {
			return nil, fmt.Errorf("site: templates: tiers.html does not define %q", name)
		}
	}
	r := &renderer{layout: base, pages: map[string]*template.Template{}}
	r.bufs.New = func() any { return bytes.NewBuffer(make([]byte, 0, 32<<10)) }
	names := pageNames
	if archive {
		names = append(names[:len(names):len(names)], archiveNames...)
	}
	for _, name := range names {
		t, err := parse(template.Must(base.Clone()).New(name), name)
		if err != nil {
			return nil, err
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("site: templates: %s does not define \"content\"", name)
		}
		r.pages[name] = t
	}
	if r.css, err = fs.ReadFile(tmpl, "style.css"); err != nil {
		return nil, fmt.Errorf("site: templates: %w", err)
	}
	return r, nil
}

func humanDate(t time.Time) string { return t.Format("2 January 2006") }
func isoDate(t time.Time) string   { return t.Format(time.RFC3339) }

// fragment renders the template name of layout.html or tiers.html, if defined.
func (r *renderer) fragment(name string, data any) (template.HTML, error) {
	if r.layout.Lookup(name) == nil {
		return "", nil
	}
	buf := r.getBuf()
	defer r.putBuf(buf)
	if err := r.layout.ExecuteTemplate(buf, name, data); err != nil {
		return "", fmt.Errorf("site: render %s: %w", name, err)
	}
	return template.HTML(buf.String()), nil //nolint:gosec // output of html/template
}

// feedHTML renders the HTML of v's feed items at depth content.
func (r *renderer) feedHTML(v *articleView, content string) (feeds.ItemHTML, error) {
	names := []string{"feed-summary"}
	if content != feeds.ContentTake {
		names = append(names, "tier-digest", "tier-full")
	}
	var out [3]string
	for k, name := range names {
		s, err := r.fragment(name, v)
		if err != nil {
			return feeds.ItemHTML{}, fmt.Errorf("%w (article %s)", err, v.Slug)
		}
		out[k] = string(s)
	}
	return feeds.ItemHTML{Summary: out[0], Digest: out[1], Full: out[2]}, nil
}

// render executes the page template name and hands the page to b.out; one
// kept in memory is an exact-size copy, without a grown buffer's slack.
func (b *builder) render(dir int, path, name string, data any, mod time.Time) ([]*File, error) {
	buf := b.pages.getBuf()
	defer b.pages.putBuf(buf)
	if err := b.pages.pages[name].ExecuteTemplate(buf, "layout", data); err != nil {
		return nil, fmt.Errorf("site: render %s for %s: %w", name, path, err)
	}
	f := &File{Path: path, Body: buf.Bytes(), ContentType: HTMLType, Modified: mod.UTC()}
	if b.w == nil {
		f.Body = bytes.Clone(f.Body)
	}
	return b.out(dir, f)
}

func (r *renderer) getBuf() *bytes.Buffer {
	buf := r.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	return buf
}

// putBuf returns buf to the pool, unless it grew for one of the few large
// pages: kept, it would hold that memory for the rest of the build.
func (r *renderer) putBuf(buf *bytes.Buffer) {
	if buf.Cap() <= 1<<20 {
		r.bufs.Put(buf)
	}
}

// siteView is what every page knows about the site.
type siteView struct {
	Title, Description, Language string
	Base                         string // base_url's path, e.g. "/news/": every page link starts with it
	BaseURL                      string
	Subscribe                    string // absolute URL the subscribe form posts to
	Digests                      []digestView
	Feeds                        []feedLink // the site's three feeds

	// layout.html's "head", "masthead", "footer" and "feedlinks" (of Feeds).
	Head, Masthead, Footer, FeedLinks template.HTML
}

type digestView struct{ Name, Title string }

// feedLink is one autodiscovery link. TypeAttr is the whole attribute, as
// html/template would write the "+" of a MIME type as "&#43;", which some
// feed finders matching the raw markup do not decode.
type feedLink struct {
	Title    string
	TypeAttr template.HTMLAttr
	URL      string
}

// pageView is the data of one page.
type pageView struct {
	Site      *siteView
	Title     string // the page's own title; "" on the index
	Canonical string
	Feeds     []feedLink    // autodiscovery links: the site's, then the tag's
	FeedLinks template.HTML // Feeds as HTML, rendered by layout.html's "feedlinks"
	Article   *articleView
	Articles  []*listedView // shown with their take
	Tag       *tagView
	Tags      []*tagView
	Pager     *pagerView // on the home and tag pages

	// The description, OpenGraph and Twitter card tags: the site's or the article's.
	Description, OGType, Image, ImageAlt string
	Newer, Older                         *listedView   // an article page's neighbours in date order
	Cards                                template.HTML // Articles as HTML: each one's "card" of layout.html, joined
}

// chrome renders the parts of layout.html that are the same on every page.
func (r *renderer) chrome(s *siteView) (err error) {
	for _, part := range []struct {
		name string
		dst  *template.HTML
		data any
	}{{"head", &s.Head, s}, {"masthead", &s.Masthead, s}, {"footer", &s.Footer, s}, {"feedlinks", &s.FeedLinks, s.Feeds}} {
		if *part.dst, err = r.fragment(part.name, part.data); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) newSiteView() *siteView {
	// The config's strings have not been through the parsers' cleaning.
	title := articles.CleanText(b.opts.Title)
	s := &siteView{
		Title:       title,
		Description: articles.CleanText(b.opts.Description),
		Language:    articles.CleanText(b.opts.Language),
		Base:        b.basePath,
		BaseURL:     b.baseURL,
		Subscribe:   b.baseURL + "subscribe",
		Feeds:       feedLinks(b.baseURL, "", title),
	}
	for _, d := range b.opts.Digests {
		s.Digests = append(s.Digests, digestView{Name: d.Name, Title: d.title()})
	}
	for _, d := range b.opts.FeedDepths {
		s.Feeds = append(s.Feeds, feedLinks(b.baseURL, links.DepthDir(d), title+", "+depthTitles[d])...)
	}
	return s
}

func feedLinks(baseURL, dir, title string) []feedLink {
	return []feedLink{
		{title + " (RSS)", `type="application/rss+xml"`, baseURL + dir + feeds.RSSFile},
		{title + " (Atom)", `type="application/atom+xml"`, baseURL + dir + feeds.AtomFile},
		{title + " (JSON Feed)", `type="application/feed+json"`, baseURL + dir + feeds.JSONFile},
	}
}

func (b *builder) page(title, canonical string) *pageView {
	return &pageView{Site: b.site, Title: title, Canonical: canonical, Feeds: b.site.Feeds, FeedLinks: b.site.FeedLinks,
		Description: b.site.Description, OGType: "website"}
}

// feedsOf are the feeds a page of the folder dir advertises, the site's
// then the folder's, and their links rendered.
func (b *builder) feedsOf(dir, title string) ([]feedLink, template.HTML, error) {
	feeds := append(slices.Clip(b.site.Feeds), feedLinks(b.baseURL, dir, title)...)
	html, err := b.pages.fragment("feedlinks", feeds)
	return feeds, html, err
}

func (b *builder) articlePage(i int) ([]*File, error) {
	a := b.arts[i]
	p := b.page(a.Title, feeds.ArticleURL(b.baseURL, a.Slug))
	p.Article = b.newArticleView(a)
	p.Description = p.Article.Description
	p.OGType = "article"
	p.Image, p.ImageAlt = p.Article.ImageURL, p.Article.ImageAlt
	if i > 0 {
		p.Newer = b.views[i-1]
	}
	if i+1 < len(b.arts) {
		p.Older = b.views[i+1]
	}
	return b.render(i+1, "/articles/"+a.Slug+"/index.html", "article.html", p, a.Updated)
}

func (b *builder) tagsPage() ([]*File, error) {
	p := b.page("Topics", b.baseURL+links.TagsDir)
	for _, g := range b.tags {
		p.Tags = append(p.Tags, &tagView{Name: g.Name, URL: b.rel.Tag(g.Slug), Count: len(g.Articles)})
	}
	return b.render(-1, "/tags/index.html", "tags.html", p, b.updated)
}

func (b *builder) notFoundPage() ([]*File, error) {
	p := b.page("Page not found", "")
	if n := min(5, len(b.arts)); n > 0 {
		p.Articles = b.listed(b.all[:n], false)
	}
	return b.render(-1, "/404.html", "404.html", p, b.updated)
}

func (b *builder) stylesheet() ([]*File, error) {
	return b.out(-1, &File{Path: "/assets/style.css", Body: b.pages.css, ContentType: CSSType, Modified: b.updated})
}
