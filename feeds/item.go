package feeds

import (
	"html"
	"net/mail"
	"net/url"
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
// cleaned for XML, its URLs absolute and its content rendered once, however
// many tag feeds carry it.
type Item struct {
	ID           string
	Title        string
	URL          string // absolute URL of the article page
	FullDepthURL string
	Published    time.Time // UTC
	Updated      time.Time // UTC, never before Published
	Tags         []string
	Author       Author

	SummaryHTML string // the take as a list, then the link to full depth
	SummaryText string // the take as plain text
	ContentHTML string // SummaryHTML plus the tiers the content mode asks for
	ContentText string // the plain version of ContentHTML

	// frags, set by NewItem, keeps the item's RSS and Atom elements once
	// rendered: they are the same in every feed the item appears in (the
	// site's and each of its tags'). An Item from NewItem must therefore not
	// be changed once it has been rendered.
	frags *itemFrags
}

// NewItem prepares a for the feeds of the site at baseURL. content is a
// content mode (ContentTake, ContentDigest or ContentFull); defaultAuthor
// ("Name <email>" or "Name") applies when the article names nobody.
func NewItem(a *articles.Article, baseURL, content, defaultAuthor string) *Item {
	it := &Item{
		frags:        &itemFrags{},
		ID:           XMLSafe(a.ID),
		Title:        XMLSafe(a.Title),
		URL:          ArticleURL(baseURL, a.Slug),
		FullDepthURL: FullDepthURL(baseURL, a.Slug),
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
		if t = strings.TrimSpace(XMLSafe(t)); t != "" {
			it.Tags = append(it.Tags, t)
		}
	}
	it.Author = ParseAuthor(a.Author)
	if it.Author == (Author{}) {
		it.Author = ParseAuthor(defaultAuthor)
	}

	base, _ := url.Parse(it.URL)
	var h, t strings.Builder
	h.WriteString("<ul>")
	for i, bl := range a.Take {
		h.WriteString("<li>")
		h.WriteString(bulletHTML(bl, base))
		h.WriteString("</li>")
		if i > 0 {
			t.WriteString("\n")
		}
		t.WriteString(XMLSafe(bl.Text))
	}
	h.WriteString("</ul>\n<p><a href=\"")
	h.WriteString(html.EscapeString(it.FullDepthURL))
	h.WriteString("\">Read the full depth</a></p>")
	it.SummaryHTML = h.String()
	it.SummaryText = t.String()

	var ch, ct strings.Builder
	ch.WriteString(it.SummaryHTML)
	ct.WriteString(it.SummaryText)
	if content == ContentDigest || content == ContentFull {
		writeDigest(&ch, &ct, a, base)
	}
	if content == ContentFull {
		writeFull(&ch, &ct, a, base)
	}
	ct.WriteString("\n\nFull depth: ")
	ct.WriteString(it.FullDepthURL)
	it.ContentHTML = ch.String()
	it.ContentText = ct.String()
	return it
}

func bulletHTML(b articles.Bullet, base *url.URL) string {
	if b.HTML == "" {
		return html.EscapeString(XMLSafe(b.Text))
	}
	return XMLSafe(ResolveHTML(b.HTML, base))
}

func sectionHTML(s articles.Section, base *url.URL) string {
	if s.HTML != "" {
		return XMLSafe(ResolveHTML(s.HTML, base))
	}
	var b strings.Builder
	for _, p := range s.Paragraphs {
		b.WriteString("<p>")
		b.WriteString(html.EscapeString(XMLSafe(p)))
		b.WriteString("</p>")
	}
	return b.String()
}

func writeSections(h, t *strings.Builder, secs []articles.Section, base *url.URL) {
	for _, s := range secs {
		h.WriteString("\n<h4>")
		h.WriteString(html.EscapeString(XMLSafe(s.Title)))
		h.WriteString("</h4>\n")
		h.WriteString(sectionHTML(s, base))
		t.WriteString("\n\n")
		t.WriteString(XMLSafe(s.Title))
		for _, p := range s.Paragraphs {
			t.WriteString("\n")
			t.WriteString(XMLSafe(p))
		}
	}
}

func writeDigest(h, t *strings.Builder, a *articles.Article, base *url.URL) {
	d := a.Digest
	if d.Empty() {
		return
	}
	h.WriteString("\n<h3>2-Minute Digest</h3>")
	t.WriteString("\n\n2-MINUTE DIGEST")
	writeSections(h, t, d.Sections, base)
	if len(d.Players) > 0 {
		h.WriteString("\n<h4>Core Players</h4>\n<ul>")
		t.WriteString("\n\nCore Players")
		for _, p := range d.Players {
			name, role := html.EscapeString(XMLSafe(p.Name)), html.EscapeString(XMLSafe(p.Role))
			h.WriteString("<li><strong>" + name + "</strong> – " + role + "</li>")
			t.WriteString("\n- " + XMLSafe(p.Name) + " – " + XMLSafe(p.Role))
		}
		h.WriteString("</ul>")
	}
	if len(d.Numbers) > 0 {
		h.WriteString("\n<h4>Key Numbers</h4>\n<table><thead><tr><th>Figure</th><th>What it means</th></tr></thead><tbody>")
		t.WriteString("\n\nKey Numbers")
		for _, n := range d.Numbers {
			h.WriteString("<tr><td>" + html.EscapeString(XMLSafe(n.Figure)) + "</td><td>" + html.EscapeString(XMLSafe(n.Meaning)) + "</td></tr>")
			t.WriteString("\n- " + XMLSafe(n.Figure) + ": " + XMLSafe(n.Meaning))
		}
		h.WriteString("</tbody></table>")
	}
}

func writeFull(h, t *strings.Builder, a *articles.Article, base *url.URL) {
	f := a.Full
	if f.Empty() {
		return
	}
	h.WriteString("\n<h3>Full Depth</h3>")
	t.WriteString("\n\nFULL DEPTH")
	writeSections(h, t, f.Sections, base)
	if len(f.DataPoints) > 0 {
		h.WriteString("\n<h4>Data Points</h4>\n<ol>")
		t.WriteString("\n\nData Points")
		for _, d := range f.DataPoints {
			h.WriteString("<li><strong>" + html.EscapeString(XMLSafe(d.Date)) + "</strong>: " + html.EscapeString(XMLSafe(d.Event)) + "</li>")
			t.WriteString("\n- " + XMLSafe(d.Date) + ": " + XMLSafe(d.Event))
		}
		h.WriteString("</ol>")
	}
	for _, p := range f.Closing {
		h.WriteString("\n<p>" + html.EscapeString(XMLSafe(p)) + "</p>")
		t.WriteString("\n\n" + XMLSafe(p))
	}
}
