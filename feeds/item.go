package feeds

import (
	"fmt"
	"net/mail"
	"strings"
	"time"

	"briefcast/articles"
	"briefcast/links"
)

// Content modes of [feeds] content: what an item's content carries.
const (
	ContentTake   = "take"   // the 30-second take and a link to full depth
	ContentDigest = "digest" // plus the 2-minute digest
	ContentFull   = "full"   // plus the full depth
)

// ArticleURL is the absolute URL of an article's page (see links.Layout).
func ArticleURL(baseURL, slug string) string { return links.New(baseURL).Article(slug) }

// FullDepthURL is ArticleURL with the fragment of the full-depth section.
func FullDepthURL(baseURL, slug string) string { return links.New(baseURL).FullDepth(slug) }

// Author is a person named by an article or by the site.
type Author struct {
	Name  string
	Email string // empty when only a name is known
}

// ParseAuthor reads "Name <email>", a bare address or a plain name.
func ParseAuthor(s string) Author {
	s = strings.TrimSpace(XMLSafe(s))
	if s == "" {
		return Author{}
	}
	if strings.Contains(s, "@") {
		if a, err := mail.ParseAddress(s); err == nil {
			return Author{Name: a.Name, Email: a.Address}
		}
	}
	return Author{Name: s}
}

// Item is one article made ready, once, for every feed it appears in.
type Item struct {
	ID           string
	Title        string
	URL          string    // absolute URL of the article page
	FullDepthURL string    // the full-depth section, or the page when the article has none
	Published    time.Time // UTC
	Updated      time.Time // UTC, never before Published
	Tags         []string
	Author       Author
	Image        *Image // the lead image; nil when none (NewItem leaves it to the caller)

	SummaryHTML string // ItemHTML.Summary: the take, then the link to full depth
	SummaryText string // the take as plain text
	ContentHTML string // SummaryHTML plus the tiers the content mode asks for
	ContentText string // the plain version of ContentHTML
}

// ItemHTML is an article's HTML as its feed items carry it, made by the
// caller from the article page's fragments with every URL absolute; this
// package only chooses and joins the parts the content mode asks for.
type ItemHTML struct {
	Summary string // the take and a link to the full depth
	Digest  string // the 2-minute digest; "" when the article has none
	Full    string // the full depth; "" when the article has none
}

// NewItem prepares a for the feeds of the site at baseURL in content mode
// content; defaultAuthor applies when the article names nobody. The plain
// text of the tiers content asks for comes from the article: tiers that
// cannot be read back are an error, not an item without them.
func NewItem(a *articles.Article, baseURL, content, defaultAuthor string, h ItemHTML) (*Item, error) {
	l := links.New(baseURL)
	it := &Item{
		ID:           XMLSafe(a.ID),
		Title:        XMLSafe(a.Title),
		URL:          l.Article(a.Slug),
		FullDepthURL: l.Deepest(a.Slug, a.HasFull()),
		Published:    a.Published.UTC(),
		Updated:      a.Updated.UTC(),
	}
	if it.Updated.Before(it.Published) {
		it.Updated = it.Published
	}
	if it.ID == "" {
		it.ID = it.URL
	}
	for _, t := range a.Tags {
		if t = strings.TrimSpace(XMLSafe(a.TagName(t))); t != "" {
			it.Tags = append(it.Tags, t)
		}
	}
	it.Author = ParseAuthor(a.Author)
	if it.Author == (Author{}) {
		it.Author = ParseAuthor(defaultAuthor)
	}

	it.SummaryHTML = XMLSafe(h.Summary)
	parts := []string{it.SummaryHTML}
	if (content == ContentDigest || content == ContentFull) && h.Digest != "" {
		parts = append(parts, XMLSafe(h.Digest))
	}
	if content == ContentFull && h.Full != "" {
		parts = append(parts, XMLSafe(h.Full))
	}
	it.ContentHTML = strings.Join(parts, "\n")

	var t strings.Builder
	for i, bl := range a.Take {
		if i > 0 {
			t.WriteString("\n")
		}
		t.WriteString(XMLSafe(bl.Text))
	}
	it.SummaryText = t.String()
	if content == ContentDigest || content == ContentFull {
		tiers, err := a.Tiers()
		if err != nil {
			return nil, fmt.Errorf("feeds: %w", err)
		}
		if d := &tiers.Digest; !d.Empty() {
			t.WriteString("\n\n2-MINUTE DIGEST")
			writeSectionsText(&t, d.Sections)
			writeListText(&t, "Core Players", d.Players, func(p articles.Player) (string, string, string) { return p.Name, " – ", p.Role })
			writeListText(&t, "Key Numbers", d.Numbers, func(n articles.Number) (string, string, string) { return n.Figure, ": ", n.Meaning })
		}
		if f := &tiers.Full; content == ContentFull && !f.Empty() {
			t.WriteString("\n\nFULL DEPTH")
			writeSectionsText(&t, f.Sections)
			writeListText(&t, "Data Points", f.DataPoints, func(d articles.DataPoint) (string, string, string) { return d.Date, ": ", d.Event })
			for _, p := range f.Closing {
				t.WriteString("\n\n" + XMLSafe(p))
			}
		}
	}
	if !a.HasFull() {
		t.WriteString("\n\nRead more: ")
	} else {
		t.WriteString("\n\nFull depth: ")
	}
	t.WriteString(it.FullDepthURL)
	it.ContentText = t.String()
	return it, nil
}

func writeSectionsText(t *strings.Builder, secs []articles.Section) {
	for _, s := range secs {
		t.WriteString("\n\n")
		t.WriteString(XMLSafe(s.Title))
		for _, p := range s.Paragraphs {
			t.WriteString("\n")
			t.WriteString(XMLSafe(p))
		}
	}
}

// writeListText writes a titled list whose lines are two fields of each item
// joined by a separator.
func writeListText[T any](t *strings.Builder, title string, items []T, fields func(T) (string, string, string)) {
	if len(items) == 0 {
		return
	}
	t.WriteString("\n\n" + title)
	for _, it := range items {
		a, sep, b := fields(it)
		t.WriteString("\n- " + XMLSafe(a) + sep + XMLSafe(b))
	}
}
