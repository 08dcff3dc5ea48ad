package site

import (
	"html"
	"strings"

	"briefcast/links"
)

// editionSummary is the HTML of an edition's feed item: its articles'
// titles, each linked to its page, and a link to the edition's page.
func editionSummary(e *editionView) string {
	var b strings.Builder
	b.WriteString("<ul>\n")
	for _, a := range e.Articles {
		b.WriteString(`<li><a href="` + html.EscapeString(strings.TrimSuffix(a.FullDepthURL, "#"+links.FullDepthAnchor)) + `">` + html.EscapeString(a.Title) + "</a></li>\n")
	}
	b.WriteString("</ul>\n<p><a href=\"" + html.EscapeString(e.AbsURL) + "\">Read this edition</a></p>")
	return b.String()
}

// editionText is editionSummary as plain text.
func editionText(e *editionView) string {
	var b strings.Builder
	for _, a := range e.Articles {
		b.WriteString("- " + a.Title + "\n")
	}
	b.WriteString("\nRead this edition: " + e.AbsURL)
	return b.String()
}
