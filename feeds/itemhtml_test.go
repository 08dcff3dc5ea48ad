package feeds

import (
	"html"
	"net/url"
	"strings"

	"briefcast/articles"
)

// testHTML is the item HTML of a for this package's tests. In a build it
// comes from the site's template fragments; here it is fixed markup, so
// that the golden files judge this package's own output, the feed around
// the content.
func testHTML(a *articles.Article) ItemHTML {
	u := ArticleURL(testBase, a.Slug)
	base, _ := url.Parse(u)
	var h strings.Builder
	h.WriteString("<ul>")
	for _, bl := range a.Take {
		h.WriteString("<li>")
		if bl.HTML == "" {
			h.WriteString(html.EscapeString(bl.Text))
		} else {
			h.WriteString(ResolveHTML(bl.HTML, base))
		}
		h.WriteString("</li>")
	}
	h.WriteString("</ul>\n<p><a href=\"" + html.EscapeString(FullDepthURL(testBase, a.Slug)) + "\">Read the full depth</a></p>")
	return ItemHTML{Summary: h.String(), Digest: testDigestHTML(a, base), Full: testFullHTML(a, base)}
}

func testSectionsHTML(h *strings.Builder, secs []articles.Section, base *url.URL) {
	for _, s := range secs {
		h.WriteString("\n<h4>" + html.EscapeString(s.Title) + "</h4>\n")
		if s.HTML != "" {
			h.WriteString(ResolveHTML(s.HTML, base))
			continue
		}
		for _, p := range s.Paragraphs {
			h.WriteString("<p>" + html.EscapeString(p) + "</p>")
		}
	}
}

func testDigestHTML(a *articles.Article, base *url.URL) string {
	tiers, _ := a.Tiers()
	d := tiers.Digest
	if d.Empty() {
		return ""
	}
	var h strings.Builder
	h.WriteString("<h3>2-Minute Digest</h3>")
	testSectionsHTML(&h, d.Sections, base)
	if len(d.Players) > 0 {
		h.WriteString("\n<h4>Core Players</h4>\n<ul>")
		for _, p := range d.Players {
			h.WriteString("<li><strong>" + html.EscapeString(p.Name) + "</strong> – " + html.EscapeString(p.Role) + "</li>")
		}
		h.WriteString("</ul>")
	}
	if len(d.Numbers) > 0 {
		h.WriteString("\n<h4>Key Numbers</h4>\n<table><thead><tr><th>Figure</th><th>What it means</th></tr></thead><tbody>")
		for _, n := range d.Numbers {
			h.WriteString("<tr><td>" + html.EscapeString(n.Figure) + "</td><td>" + html.EscapeString(n.Meaning) + "</td></tr>")
		}
		h.WriteString("</tbody></table>")
	}
	return h.String()
}

func testFullHTML(a *articles.Article, base *url.URL) string {
	tiers, _ := a.Tiers()
	f := tiers.Full
	if f.Empty() {
		return ""
	}
	var h strings.Builder
	h.WriteString("<h3>Full Depth</h3>")
	testSectionsHTML(&h, f.Sections, base)
	if len(f.DataPoints) > 0 {
		h.WriteString("\n<h4>Data Points</h4>\n<ol>")
		for _, d := range f.DataPoints {
			h.WriteString("<li><strong>" + html.EscapeString(d.Date) + "</strong>: " + html.EscapeString(d.Event) + "</li>")
		}
		h.WriteString("</ol>")
	}
	for _, p := range f.Closing {
		h.WriteString("\n<p>" + html.EscapeString(p) + "</p>")
	}
	return h.String()
}
