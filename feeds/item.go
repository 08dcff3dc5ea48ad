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

// ArticleURL is the absolute URL of an article's page: base_url +
// "articles/<slug>/". baseURL may carry a path, such as
// https://example.org/news/; a missing final slash is supplied.
func ArticleURL(baseURL, slug string) string { return links.New(baseURL).Article(slug) }

// FullDepthURL is ArticleURL with the fragment of the full-depth section.
func FullDepthURL(baseURL, slug string) string { return links.New(baseURL).FullDepth(slug) }

func withSlash(s string) string {
	if strings.HasSuffix(s, "/") {
		return s
	}
	return s + "/"
}

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

// Item is one article made ready for every feed it appears in: its text
// cleaned for XML, its URLs absolute and its content joined once, however
// many tag feeds carry it.
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

// ItemHTML is an article's HTML as its feed items carry it. It is made by
// the caller from the same template fragments as the article's page, with
// every URL absolute (feed readers resolve a relative one against the
// feed, not the article); this package only chooses and joins the parts
// the content mode asks for, and cleans them for XML.
type ItemHTML struct {
	Summary string // the take and a link to the full depth
	Digest  string // the 2-minute digest; "" when the article has none
	Full    string // the full depth; "" when the article has none
}

// NewItem prepares a for the feeds of the site at baseURL. content is a
// content mode (ContentTake, ContentDigest or ContentFull); defaultAuthor
// ("Name <email>" or "Name") applies when the article names nobody; h is
// the article's HTML. The plain text of the digest and full depth comes
// from the article's tiers when content asks for them: an article whose
// tiers cannot be read back is an error, not an item without them.
func NewItem(a *articles.Article, baseURL, content, defaultAuthor string, h ItemHTML) (*Item, error) {
	it := &Item{
		ID:           XMLSafe(a.ID),
		Title:        XMLSafe(a.Title),
		URL:          ArticleURL(baseURL, a.Slug),
		FullDepthURL: links.New(baseURL).Deepest(a.Slug, a.HasFull()),
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
		writeDigestText(&t, &tiers.Digest)
		if content == ContentFull {
			writeFullText(&t, &tiers.Full)
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

func writeDigestText(t *strings.Builder, d *articles.Digest) {
	if d.Empty() {
		return
	}
	t.WriteString("\n\n2-MINUTE DIGEST")
	writeSectionsText(t, d.Sections)
	if len(d.Players) > 0 {
		t.WriteString("\n\nCore Players")
		for _, p := range d.Players {
			t.WriteString("\n- " + XMLSafe(p.Name) + " – " + XMLSafe(p.Role))
		}
	}
	if len(d.Numbers) > 0 {
		t.WriteString("\n\nKey Numbers")
		for _, n := range d.Numbers {
			t.WriteString("\n- " + XMLSafe(n.Figure) + ": " + XMLSafe(n.Meaning))
		}
	}
}

func writeFullText(t *strings.Builder, f *articles.Full) {
	if f.Empty() {
		return
	}
	t.WriteString("\n\nFULL DEPTH")
	writeSectionsText(t, f.Sections)
	if len(f.DataPoints) > 0 {
		t.WriteString("\n\nData Points")
		for _, d := range f.DataPoints {
			t.WriteString("\n- " + XMLSafe(d.Date) + ": " + XMLSafe(d.Event))
		}
	}
	for _, p := range f.Closing {
		t.WriteString("\n\n" + XMLSafe(p))
	}
}
