package site

import (
	"briefcast/feeds"
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"time"
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
	add(b.baseURL+"tags/", b.updated)
	for _, g := range b.tags {
		listing("tags/"+g.Slug+"/", g.Articles)
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

// faviconSVG is the site's icon: three bars, for the three tiers of a brief.
const faviconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
	`<rect width="32" height="32" rx="6" fill="#0b5cad"/>` +
	`<rect x="6" y="7" width="20" height="4" rx="1" fill="#fff"/>` +
	`<rect x="6" y="14" width="15" height="4" rx="1" fill="#fff"/>` +
	`<rect x="6" y="21" width="10" height="4" rx="1" fill="#fff"/></svg>` + "\n"

// favicons publishes /favicon.svg and /favicon.ico (as a 32×32 PNG in an
// ICO container, which browsers ask for whatever the page links to).
func (b *builder) favicons() ([]*File, error) {
	ico, err := faviconICO()
	if err != nil {
		return nil, fmt.Errorf("site: favicon.ico: %w", err)
	}
	mod := b.updated
	return b.out(-1,
		&File{Path: "/favicon.svg", Body: []byte(faviconSVG), ContentType: "image/svg+xml", Modified: mod},
		&File{Path: "/favicon.ico", Body: ico, ContentType: "image/x-icon", Modified: mod},
	)
}

// faviconICO draws faviconSVG's picture as an ICO.
func faviconICO() ([]byte, error) {
	const size = 32
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	draw.Draw(img, img.Rect, image.NewUniform(color.NRGBA{0x0b, 0x5c, 0xad, 0xff}), image.Point{}, draw.Src)
	for k, w := range []int{20, 15, 10} {
		draw.Draw(img, image.Rect(6, 7+7*k, 6+w, 11+7*k), image.White, image.Point{}, draw.Src)
	}
	var p bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		return nil, err
	}
	n := p.Len()
	hdr := []byte{
		0, 0, 1, 0, 1, 0, // reserved, type 1 (icon), one image
		size, size, 0, 0, 1, 0, 32, 0, // width, height, no palette, reserved, 1 plane, 32 bpp
		byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24), // size of the PNG
		22, 0, 0, 0, // its offset: after this 6+16 byte header
	}
	return append(hdr, p.Bytes()...), nil
}
