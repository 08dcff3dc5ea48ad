package site

import (
	"fmt"
	"html"
	"html/template"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"briefcast/articles"
	"briefcast/feeds"
)

// articleView is an article as the templates see it, made for one page or fragment.
type articleView struct {
	Title, Slug        string
	URL                string // root-relative
	FullDepthURL       string // absolute, as feeds need it
	Published, Updated time.Time
	Revised            bool // Updated is after Published
	Author             string
	Tags               []*tagView
	Take               []template.HTML
	Missing            []string
	HasDigest, HasFull bool

	TakeTime, DigestTime, FullTime string // each tier's reading time, such as "1 min read"
	Description                    string // the take as one plain line, for <meta> and cards
	// The lead image's URL on the page and absolute (og:image); "" for none.
	Image, ImageURL, ImageAlt   string
	Lang                        string // the article's language when it differs from the site's
	PublishedISO, PublishedDate string
	UpdatedISO, UpdatedDate     string
	Card                        template.HTML // the article's listing fragment, when made

	// The lower tiers, read when a template first asks (see tierPart).
	a        *articles.Article
	baseURL  string // the site's, against which the article's relative links resolve
	brief    bool
	tierOnce sync.Once // an archive's views are shared by pages rendered in parallel
	tiers    *articles.Tiers
	digest   []sectionView
	full     []sectionView
	tierErr  error
}

// tierPart is part of the lower tiers (none for a brief view), read when first
// asked. An error stops the template: no page goes out without its tiers.
func tierPart[T any](v *articleView, part func(*articles.Tiers) T) (T, error) {
	var zero T
	if v.brief {
		return zero, nil
	}
	v.tierOnce.Do(func() {
		if v.tiers, v.tierErr = v.a.Tiers(); v.tierErr == nil {
			v.digest = sections(v.tiers.Digest.Sections, v.baseURL, v.Slug)
			v.full = sections(v.tiers.Full.Sections, v.baseURL, v.Slug)
		}
	})
	if v.tierErr != nil {
		return zero, v.tierErr
	}
	return part(v.tiers), nil
}

// Digest is the digest's prose sections.
func (v *articleView) Digest() ([]sectionView, error) {
	return tierPart(v, func(*articles.Tiers) []sectionView { return v.digest })
}

// Players is the digest's core players.
func (v *articleView) Players() ([]articles.Player, error) {
	return tierPart(v, func(t *articles.Tiers) []articles.Player { return t.Digest.Players })
}

// Numbers is the digest's key numbers.
func (v *articleView) Numbers() ([]articles.Number, error) {
	return tierPart(v, func(t *articles.Tiers) []articles.Number { return t.Digest.Numbers })
}

// Full is the full depth's sections.
func (v *articleView) Full() ([]sectionView, error) {
	return tierPart(v, func(*articles.Tiers) []sectionView { return v.full })
}

// Points is the full depth's data points.
func (v *articleView) Points() ([]articles.DataPoint, error) {
	return tierPart(v, func(t *articles.Tiers) []articles.DataPoint { return t.Full.DataPoints })
}

// Closing is the full depth's closing paragraphs.
func (v *articleView) Closing() ([]string, error) {
	return tierPart(v, func(t *articles.Tiers) []string { return t.Full.Closing })
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
	v := &articleView{
		Title:        a.Title,
		Slug:         a.Slug,
		URL:          b.articlePath(a),
		FullDepthURL: b.abs.Deepest(a.Slug, a.HasFull()),
		Published:    a.Published,
		Updated:      a.Updated,
		Revised:      a.Updated.After(a.Published),
		Author:       b.byline(a),
		Missing:      a.Missing,
		HasDigest:    a.HasDigest(),
		HasFull:      a.HasFull(),
		a:            a,
		baseURL:      b.baseURL,

		PublishedISO:  isoDate(a.Published),
		PublishedDate: humanDate(a.Published),
	}
	if !strings.EqualFold(a.Language, b.opts.Language) {
		v.Lang = a.Language // else the page's own lang applies
	}
	v.UpdatedISO, v.UpdatedDate = v.PublishedISO, v.PublishedDate
	if !a.Updated.Equal(a.Published) {
		v.UpdatedISO, v.UpdatedDate = isoDate(a.Updated), humanDate(a.Updated)
	}
	v.Tags = make([]*tagView, len(a.Tags))
	for k, t := range a.Tags {
		v.Tags[k] = b.tagLinks[t]
	}
	v.Take = make([]template.HTML, 0, len(a.Take))
	for _, bl := range a.Take {
		if bl.HTML != "" {
			v.Take = append(v.Take, trusted(bl.HTML, b.baseURL, a.Slug))
		} else {
			v.Take = append(v.Take, template.HTML(html.EscapeString(bl.Text))) //nolint:gosec // escaped
		}
	}
	v.TakeTime, v.DigestTime, v.FullTime = tierTimes(a)
	v.Description = takeLine(a)
	v.Image, v.ImageURL, v.ImageAlt = b.image(a)
	return v
}

// byline is the article's author's name, else the site's.
func (b *builder) byline(a *articles.Article) string {
	if n := feeds.ParseAuthor(a.Author).Name; n != "" {
		return n
	}
	return b.author
}

// listedView is an article in a listing, kept all build long so small: a
// template gets the rest of articleView's fields as methods, made when asked.
type listedView struct {
	a      *articles.Article
	b      *builder
	brief  bool      // on tag pages: no tier below the take
	cardOf *lazyCard // shared with the brief copy
}

// lazyCard is an article's card, rendered by the first page that shows it.
type lazyCard struct {
	once  sync.Once
	html  template.HTML
	err   error
	pages atomic.Int32 // pages still to show it; in an update, kept for any number
}

// card is the article's "card" fragment; a page that has it calls shown.
func (v *listedView) card() (template.HTML, error) {
	c := v.cardOf
	c.once.Do(func() { c.html, c.err = v.b.pages.fragment("card", v.b.newArticleView(v.a)) })
	// A page asks before it calls shown: none left means the last has passed.
	if v.b.prev == nil && c.pages.Load() == 0 {
		return "", fmt.Errorf("site: the card of %s was asked for after its last page", v.a.Path)
	}
	return c.html, c.err
}

// shown records that one more page has the card; after the last it goes.
func (v *listedView) shown() {
	c := v.cardOf
	if c.pages.Add(-1) == 0 {
		c.html = ""
	}
}

// full is the whole view, without the lower tiers for a brief one.
func (v *listedView) full() *articleView {
	f := v.b.newArticleView(v.a)
	if v.brief {
		f.brief, f.Missing = true, nil
		f.HasDigest, f.HasFull = false, false
	}
	return f
}

func (v *listedView) Title() string                         { return v.a.Title }
func (v *listedView) Slug() string                          { return v.a.Slug }
func (v *listedView) URL() string                           { return v.b.articlePath(v.a) }
func (v *listedView) FullDepthURL() string                  { return v.full().FullDepthURL }
func (v *listedView) Published() time.Time                  { return v.a.Published }
func (v *listedView) Updated() time.Time                    { return v.a.Updated }
func (v *listedView) Revised() bool                         { return v.full().Revised }
func (v *listedView) Author() string                        { return v.full().Author }
func (v *listedView) Tags() []*tagView                      { return v.full().Tags }
func (v *listedView) Take() []template.HTML                 { return v.full().Take }
func (v *listedView) Digest() ([]sectionView, error)        { return v.full().Digest() }
func (v *listedView) Players() ([]articles.Player, error)   { return v.full().Players() }
func (v *listedView) Numbers() ([]articles.Number, error)   { return v.full().Numbers() }
func (v *listedView) Full() ([]sectionView, error)          { return v.full().Full() }
func (v *listedView) Points() ([]articles.DataPoint, error) { return v.full().Points() }
func (v *listedView) Closing() ([]string, error)            { return v.full().Closing() }
func (v *listedView) Missing() []string                     { return v.full().Missing }
func (v *listedView) HasDigest() bool                       { return v.full().HasDigest }
func (v *listedView) HasFull() bool                         { return v.full().HasFull }
func (v *listedView) TakeTime() string                      { return v.full().TakeTime }
func (v *listedView) DigestTime() string                    { return v.full().DigestTime }
func (v *listedView) FullTime() string                      { return v.full().FullTime }
func (v *listedView) Description() string                   { return takeLine(v.a) }
func (v *listedView) Image() string                         { return v.full().Image }
func (v *listedView) ImageAlt() string                      { return v.full().ImageAlt }
func (v *listedView) PublishedISO() string                  { return isoDate(v.a.Published) }
func (v *listedView) PublishedDate() string                 { return humanDate(v.a.Published) }
func (v *listedView) UpdatedISO() string                    { return v.full().UpdatedISO }
func (v *listedView) UpdatedDate() string                   { return v.full().UpdatedDate }

// trusted marks HTML from the article parsers as safe, its relative URLs
// resolved against the article, as the take is shown on listings too.
func trusted(s, baseURL, slug string) template.HTML {
	if feeds.NeedsResolve(s) {
		base, _ := url.Parse(feeds.ArticleURL(baseURL, slug))
		s = feeds.ResolveHTML(s, base)
	}
	return template.HTML(s) //nolint:gosec // parser output, resolved and filtered above
}

// articlePath is the root-relative URL of an article's page.
func (b *builder) articlePath(a *articles.Article) string {
	return b.rel.Article(a.Slug)
}

func sections(secs []articles.Section, baseURL, slug string) []sectionView {
	out := make([]sectionView, len(secs))
	for k, s := range secs {
		out[k].Title = s.Title
		if s.HTML != "" {
			out[k].HTML = trusted(s.HTML, baseURL, slug)
			continue
		}
		var p strings.Builder
		for _, para := range s.Paragraphs {
			p.WriteString("<p>" + html.EscapeString(para) + "</p>\n")
		}
		out[k].HTML = template.HTML(p.String()) //nolint:gosec // escaped
	}
	return out
}
