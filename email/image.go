package email

import (
	"os"

	"briefcast/articles"
	"briefcast/links"
)

// imageColumn is the widest an image is shown in the digest (the 600px
// card less its padding); a larger image's size attributes are scaled to
// it, for clients that size images by them alone (Outlook).
const imageColumn = 536

// setImage fills av's image from a's lead image. A remote image keeps its
// URL and no size. A local one is shown only when the site publishes it
// (articles.OpenImage's rules), at its published URL, with its size when
// it is a PNG, JPEG or GIF.
func setImage(av *ArticleView, a *articles.Article, ln links.Layout, root *os.Root) {
	switch {
	case a.Image == "":
		return
	case !a.LocalImage():
		av.ImageURL, av.ImageAlt = a.Image, cleanLine(a.ImageAlt)
		return
	case root == nil:
		return
	}
	f, _, err := articles.OpenImage(root, a)
	if err != nil {
		return
	}
	defer f.Close()
	av.ImageURL, av.ImageAlt = ln.ArticleFile(a.Slug, a.Image), cleanLine(a.ImageAlt)
	if w, h, ok := articles.ImageSize(f); ok {
		av.ImageWidth, av.ImageHeight = fitColumn(w, h)
	}
}

// fitColumn scales w×h down to imageColumn wide, keeping the ratio.
func fitColumn(w, h int) (int, int) {
	if w <= imageColumn {
		return w, h
	}
	return imageColumn, max(1, (h*imageColumn+w/2)/w)
}
