package site

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"fmt"
	"time"

	"briefcast/feeds"
	"briefcast/links"
)

// crawlerFiles makes /sitemap.xml, listing every page, and /robots.txt.
func (b *builder) crawlerFiles() ([]*File, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	buf.WriteString(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
	add := func(loc string, mod time.Time) {
		buf.WriteString("<url><loc>")
		xml.EscapeText(&buf, []byte(loc))
		buf.WriteString("</loc>")
		if !mod.IsZero() {
			buf.WriteString("<lastmod>" + mod.UTC().Format(time.RFC3339) + "</lastmod>")
		}
		buf.WriteString("</url>\n")
	}
	listing := func(dir string, idx []int) {
		size := b.pageSize()
		for n := 1; n <= b.pageCount(len(idx)); n++ {
			add(b.baseURL+listingPath(dir, n), b.newest(idx[(n-1)*size:min(n*size, len(idx))]))
		}
	}
	listing("", b.all)
	add(b.baseURL+links.TagsDir, b.updated)
	for _, g := range b.tags {
		listing(links.TagDir(g.Slug), g.Articles)
	}
	for _, a := range b.arts {
		add(feeds.ArticleURL(b.baseURL, a.Slug), a.Updated)
	}
	buf.WriteString("</urlset>\n")
	robots := fmt.Sprintf("User-agent: *\nAllow: /\n\nSitemap: %ssitemap.xml\n", b.baseURL)
	return b.out(-1,
		&File{Path: "/sitemap.xml", Body: buf.Bytes(), ContentType: "application/xml; charset=utf-8", Modified: b.updated},
		&File{Path: "/robots.txt", Body: []byte(robots), ContentType: "text/plain; charset=utf-8", Modified: b.updated},
	)
}

// The site's icon: three bars, for the three tiers of a brief. The ICO
// holds the same picture as a 32×32 PNG, for browsers that ask for it
// whatever the page links to.
var (
	//go:embed favicon.svg
	faviconSVG []byte
	//go:embed favicon.ico
	faviconICO []byte
)

// favicons publishes /favicon.svg and /favicon.ico.
func (b *builder) favicons() ([]*File, error) {
	return b.out(-1,
		&File{Path: "/favicon.svg", Body: faviconSVG, ContentType: "image/svg+xml", Modified: b.updated},
		&File{Path: "/favicon.ico", Body: faviconICO, ContentType: "image/x-icon", Modified: b.updated},
	)
}
