package site

import (
	"html/template"
	"strings"
)

// listed returns the views of the articles at idx for a listing.
//
// With brief set (tag pages), the views hold no digest and no full depth,
// whatever the templates: a tag page lists titles and takes, so an article
// with many tags is not copied whole into each of their pages.
func (b *builder) listed(idx []int, brief bool) []*listedView {
	out := make([]*listedView, len(idx))
	for k, i := range idx {
		out[k] = b.views[i]
		if brief {
			out[k] = briefView(b.views[i])
		}
	}
	return out
}

// listing fills a page's articles: the newest [feeds] items with their
// take, the rest as an archive of titles (see listed for brief).
func (b *builder) listing(p *pageView, idx []int, brief bool) {
	n := min(b.cfg.Feeds.Items, len(idx))
	p.Articles = b.listed(idx[:n], brief)
	if len(idx) > n {
		p.Archive = b.listed(idx[n:], brief)
	}
	p.Cards = b.joinHTML(idx[:n], func(v *listedView) template.HTML { return v.Card })
	p.ArchiveItems = b.joinHTML(idx[n:], func(v *listedView) template.HTML { return v.Archived })
}

// joinHTML concatenates one fragment of each article at idx.
func (b *builder) joinHTML(idx []int, part func(*listedView) template.HTML) template.HTML {
	size := 0
	for _, i := range idx {
		size += len(part(b.views[i]))
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, i := range idx {
		sb.WriteString(string(part(b.views[i])))
	}
	return template.HTML(sb.String()) //nolint:gosec // joined output of html/template
}
