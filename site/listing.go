package site

import (
	"briefcast/links"
	"html/template"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pagerView links one page of a paginated listing to its neighbours.
type pagerView struct {
	Number, Total int
	Prev, Next    string // root-relative; "" at either end
}

// listingPath is the folder of page n (from 1) of the listing at dir.
func listingPath(dir string, n int) string {
	if n <= 1 {
		return dir
	}
	return dir + "page/" + strconv.Itoa(n) + "/"
}

// pageSize is [site] page_size, with its default for a config made in code.
func (b *builder) pageSize() int {
	if n := b.opts.PageSize; n > 0 {
		return n
	}
	return 10
}

// pageCount is the number of pages of a listing of n articles (at least 1).
func (b *builder) pageCount(n int) int {
	size := b.pageSize()
	return max(1, (n+size-1)/size)
}

// listing is what every page of one listing shares: the home page's, or
// tag g's.
type listing struct {
	idx       []int
	g         *tagGroup
	dir, file string    // its folder in URLs and on disk
	mod       time.Time // its newest update, the Modified of all its pages
	// feeds are a tag's feeds, the site's then its own, advertised on each
	// page: rendered by the first page made, none when an update keeps all.
	feeds func() (pageFeeds, error)
}

// pageFeeds are the feeds a page advertises, and their links rendered.
type pageFeeds struct {
	list []feedLink
	html template.HTML
}

// listingJobs renders the pages of the listing of idx (the home page, or g's
// tag page) but those that keep, when not nil, keeps: page n shows idx[lo:hi].
func (b *builder) listingJobs(idx []int, g *tagGroup, keep func(l *listing, n, lo, hi int) bool) []job {
	l := &listing{idx: idx, g: g, mod: b.newest(idx)}
	if g != nil {
		l.dir, l.file = links.TagDir(g.Slug), links.TagsDir+g.Slug+"/"
		l.feeds = sync.OnceValues(func() (f pageFeeds, err error) {
			f.list, f.html, err = b.feedsOf(l.dir, b.site.Title+": "+g.Name)
			return f, err
		})
	}
	size, total := b.pageSize(), b.pageCount(len(idx))
	var jobs []job
	for n := 1; n <= total; n++ {
		lo, hi := (n-1)*size, min(n*size, len(idx))
		if keep == nil || !keep(l, n, lo, hi) {
			jobs = append(jobs, func() ([]*File, error) { return b.listingPage(l, lo, hi, n, total) })
		}
	}
	return jobs
}

// listingPage renders page n of total of l, showing l.idx[lo:hi].
func (b *builder) listingPage(l *listing, lo, hi, n, total int) ([]*File, error) {
	g, dir, name, title := l.g, l.dir, "index.html", ""
	if g != nil {
		name, title = "tag.html", g.Name
	}
	if n > 1 && title == "" {
		title = "Page " + strconv.Itoa(n)
	} else if n > 1 {
		title += " · page " + strconv.Itoa(n)
	}
	here := listingPath(dir, n)
	p := b.page(title, b.baseURL+here)
	p.Pager = &pagerView{Number: n, Total: total}
	if n > 1 {
		p.Pager.Prev = b.basePath + listingPath(dir, n-1)
	}
	if n < total {
		p.Pager.Next = b.basePath + listingPath(dir, n+1)
	}
	if g != nil {
		p.Tag = &tagView{Name: g.Name, URL: b.basePath + dir, Count: len(g.Articles)}
		f, err := l.feeds()
		if err != nil {
			return nil, err
		}
		p.Feeds, p.FeedLinks = f.list, f.html
	}
	// The page shows each article with its card, rendered once for all pages.
	p.Articles = b.listed(l.idx[lo:hi], g != nil)
	cards := make([]template.HTML, len(p.Articles))
	size := 0
	for k, v := range p.Articles {
		c, err := v.card()
		if err != nil {
			return nil, err
		}
		cards[k] = c
		size += len(c)
		v.shown()
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, c := range cards {
		sb.WriteString(string(c))
	}
	p.Cards = template.HTML(sb.String()) //nolint:gosec // joined output of html/template
	return b.render(-1, "/"+listingPath(l.file, n)+"index.html", name, p, l.mod)
}

// listed returns the views of the articles at idx; brief ones (tag pages)
// without the lower tiers, not copied whole into each of an article's tags.
func (b *builder) listed(idx []int, brief bool) []*listedView {
	out := make([]*listedView, len(idx))
	for k, i := range idx {
		out[k] = b.views[i]
		if brief {
			c := *b.views[i]
			c.brief = true
			out[k] = &c
		}
	}
	return out
}
