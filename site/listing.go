package site

import (
	"briefcast/links"
	"html/template"
	"strconv"
	"strings"
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

// listingJobs renders the pages of the listing of idx (the home page, or g's
// tag page) but those that keep, when not nil, keeps: page n shows idx[lo:hi].
func (b *builder) listingJobs(idx []int, g *tagGroup, keep func(n, lo, hi int) bool) []job {
	size, total, mod := b.pageSize(), b.pageCount(len(idx)), b.newest(idx)
	var jobs []job
	for n := 1; n <= total; n++ {
		lo, hi := (n-1)*size, min(n*size, len(idx))
		if keep == nil || !keep(n, lo, hi) {
			jobs = append(jobs, func() ([]*File, error) { return b.listingPage(idx, lo, hi, n, total, g, mod) })
		}
	}
	return jobs
}

// listingPage renders page n of total, showing idx[lo:hi]; mod is the
// listing's newest update, the Modified of all its pages.
func (b *builder) listingPage(idx []int, lo, hi, n, total int, g *tagGroup, mod time.Time) ([]*File, error) {
	dir, file, name, title := "", "", "index.html", "" // dir in URLs, file on disk
	if g != nil {
		dir, file, name, title = links.TagDir(g.Slug), links.TagsDir+g.Slug+"/", "tag.html", g.Name
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
		if err := b.withFeeds(p, dir, b.site.Title+": "+g.Name); err != nil {
			return nil, err
		}
	}
	// The page shows each article with its card, rendered once for all pages.
	p.Articles = b.listed(idx[lo:hi], g != nil)
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
	return b.render(-1, "/"+listingPath(file, n)+"index.html", name, p, mod)
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
