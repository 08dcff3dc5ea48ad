package site

import (
	"html"
	"html/template"
	"net/url"
	"strings"
	"time"

	"briefcast/articles"
	"briefcast/feeds"
)

// articleView is an article as the templates see it. A build keeps one for
// every article for the whole build (the listings show them all), so it
// holds only the article and its two listing fragments: everything else a
// template asks for (.Title, .Take, .Digest, ...) is a method that derives
// it from the article when it is shown, which for most of it is once.
type articleView struct {
	a     *articles.Article
	b     *builder
	brief bool // on tag pages: no tier below the take

	// Card and Archived are the article's "card" and "archived" templates
	// of layout.html, rendered once per build (Card only for an article
	// that some listing shows with its take).
	Card, Archived template.HTML
}

type tagView struct {
	Name  string
	URL   string // root-relative
	Count int
}

type sectionView struct {
	Title string
	HTML  template.HTML
}

func (b *builder) newArticleView(a *articles.Article) *articleView {
	return &articleView{a: a, b: b}
}

// briefView is v without the tiers below the take.
func briefView(v *articleView) *articleView {
	c := *v
	c.brief = true
	return &c
}

func (v *articleView) Title() string { return v.a.Title }
func (v *articleView) Slug() string  { return v.a.Slug }

// URL is the root-relative URL of the article's page.
func (v *articleView) URL() string { return v.b.articlePath(v.a) }

// FullDepthURL is absolute, as feeds need it.
func (v *articleView) FullDepthURL() string  { return FullDepthURL(v.b.baseURL, v.a.Slug) }
func (v *articleView) Published() time.Time  { return v.a.Published }
func (v *articleView) Updated() time.Time    { return v.a.Updated }
func (v *articleView) Revised() bool         { return v.a.Updated.After(v.a.Published) }
func (v *articleView) Author() string        { return feeds.ParseAuthor(v.a.Author).Name }
func (v *articleView) PublishedISO() string  { return isoDate(v.a.Published) }
func (v *articleView) PublishedDate() string { return humanDate(v.a.Published) }
func (v *articleView) UpdatedISO() string    { return isoDate(v.a.Updated) }
func (v *articleView) UpdatedDate() string   { return humanDate(v.a.Updated) }
func (v *articleView) HasDigest() bool       { return !v.brief && !v.a.Digest.Empty() }
func (v *articleView) HasFull() bool         { return !v.brief && !v.a.Full.Empty() }
func (v *articleView) Missing() []string     { return v.unlessBrief(v.a.Missing) }
func (v *articleView) Closing() []string     { return v.unlessBrief(v.a.Full.Closing) }
func (v *articleView) Players() []articles.Player {
	if v.brief {
		return nil
	}
	return v.a.Digest.Players
}

func (v *articleView) Numbers() []articles.Number {
	if v.brief {
		return nil
	}
	return v.a.Digest.Numbers
}

func (v *articleView) Points() []articles.DataPoint {
	if v.brief {
		return nil
	}
	return v.a.Full.DataPoints
}

func (v *articleView) unlessBrief(s []string) []string {
	if v.brief {
		return nil
	}
	return s
}

// Tags are the article's tags, each with its page's URL.
func (v *articleView) Tags() []*tagView {
	if len(v.a.Tags) == 0 {
		return nil
	}
	out := make([]*tagView, len(v.a.Tags))
	for k, t := range v.a.Tags {
		out[k] = v.b.tagLinks[t]
	}
	return out
}

// Take is the take's bullets as HTML.
func (v *articleView) Take() []template.HTML {
	base := v.base()
	out := make([]template.HTML, 0, len(v.a.Take))
	for _, bl := range v.a.Take {
		if bl.HTML != "" {
			out = append(out, trusted(bl.HTML, base))
		} else {
			out = append(out, template.HTML(html.EscapeString(bl.Text))) //nolint:gosec // escaped
		}
	}
	return out
}

// Digest is the digest's sections as HTML.
func (v *articleView) Digest() []sectionView {
	if v.brief {
		return nil
	}
	return sections(v.a.Digest.Sections, v.base())
}

// Full is the full depth's sections as HTML.
func (v *articleView) Full() []sectionView {
	if v.brief {
		return nil
	}
	return sections(v.a.Full.Sections, v.base())
}

// base returns a function that parses the article's URL the first time
// some HTML needs its relative links resolved.
func (v *articleView) base() func() *url.URL {
	var u *url.URL
	return func() *url.URL {
		if u == nil {
			u, _ = url.Parse(ArticleURL(v.b.baseURL, v.a.Slug))
		}
		return u
	}
}

// trusted marks HTML from the article parsers as safe, after resolving its
// relative URLs against the article, since the same take is shown on the
// index and tag pages too. base parses the article's URL when needed.
func trusted(s string, base func() *url.URL) template.HTML {
	if feeds.NeedsResolve(s) {
		s = feeds.ResolveHTML(s, base())
	}
	return template.HTML(s) //nolint:gosec // parser output, resolved and filtered above
}

// articlePath is the root-relative URL of an article's page.
func (b *builder) articlePath(a *articles.Article) string {
	return b.basePath + "articles/" + url.PathEscape(a.Slug) + "/"
}

func sections(secs []articles.Section, base func() *url.URL) []sectionView {
	out := make([]sectionView, 0, len(secs))
	for _, s := range secs {
		sv := sectionView{Title: s.Title}
		if s.HTML != "" {
			sv.HTML = trusted(s.HTML, base)
		} else {
			var p strings.Builder
			for _, para := range s.Paragraphs {
				p.WriteString("<p>" + html.EscapeString(para) + "</p>\n")
			}
			sv.HTML = template.HTML(p.String()) //nolint:gosec // escaped
		}
		out = append(out, sv)
	}
	return out
}
