package site

import (
	"html/template"
	"strings"
)

// listed returns the views of the articles at idx for a listing. With the
// built-in listing templates (see builtinListings), which show the
// articles only through the joined fragments and the 404 page's titles
// and links, these are made here and carry just what the fragments were
// made from.
//
// With brief set (tag pages), the views hold no digest and no full depth,
// whatever the templates: a tag page lists titles and takes, so an article
// with many tags is not copied whole into each of their pages.
func (b *builder) listed(idx []int, brief bool) []*articleView {
	out := make([]*articleView, len(idx))
	if !b.pages.lean {
		for k, i := range idx {
			out[k] = b.views[i]
			if brief {
				out[k] = briefView(b.views[i])
			}
		}
		return out
	}
	views := make([]articleView, len(idx))
	for k, i := range idx {
		e := &b.entries[i]
		views[k] = articleView{Title: b.arts[i].Title, Slug: b.arts[i].Slug, URL: e.url, Card: e.card, Archived: e.archived}
		out[k] = &views[k]
	}
	return out
}

// briefView is v without the tiers below the take.
func briefView(v *articleView) *articleView {
	c := *v
	c.Digest, c.Players, c.Numbers = nil, nil, nil
	c.Full, c.Points, c.Closing, c.Missing = nil, nil, nil, nil
	return &c
}

// listing fills a page's articles: the newest [feeds] items with their
// take, the rest as an archive of titles (see listed for brief). With the
// built-in listing templates, which show the archive only through
// ArchiveItems and ask only whether there is one, Archive holds a nil
// entry per article.
func (b *builder) listing(p *pageView, idx []int, brief bool) {
	n := min(b.cfg.Feeds.Items, len(idx))
	p.Articles = b.listed(idx[:n], brief)
	if len(idx) > n {
		if b.pages.lean {
			p.Archive = make([]*articleView, len(idx)-n)
		} else {
			p.Archive = b.listed(idx[n:], brief)
		}
	}
	p.Cards = b.joinHTML(idx[:n], func(v *articleView) template.HTML { return v.Card }, func(e *listEntry) template.HTML { return e.card })
	p.ArchiveItems = b.joinHTML(idx[n:], func(v *articleView) template.HTML { return v.Archived }, func(e *listEntry) template.HTML { return e.archived })
}

// joinHTML concatenates one fragment of each article at idx, taken from
// its view, or from its entry with lean listings.
func (b *builder) joinHTML(idx []int, view func(*articleView) template.HTML, entry func(*listEntry) template.HTML) template.HTML {
	part := func(i int) template.HTML {
		if b.pages.lean {
			return entry(&b.entries[i])
		}
		return view(b.views[i])
	}
	size := 0
	for _, i := range idx {
		size += len(part(i))
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, i := range idx {
		sb.WriteString(string(part(i)))
	}
	return template.HTML(sb.String()) //nolint:gosec // joined output of html/template
}
