package email

import (
	"os"

	"briefcast/articles"
	"briefcast/links"
)

// imageColumn is the widest an image is shown in the digest: the 600px
// card less its 32px side padding. A larger image's width and height
// attributes are scaled to it, so clients that size images by the
// attributes alone (Outlook) keep the layout and the aspect ratio.
const imageColumn = 536

// imageRoot opens the content folder once per rendering, and only when
// an article has a local image; nil when there is no folder to read.
type imageRoot struct {
	dir  string
	root *os.Root
	err  error
}

func (r *imageRoot) open() *os.Root {
	if r.root == nil && r.err == nil && r.dir != "" {
		r.root, r.err = os.OpenRoot(r.dir)
	}
	return r.root
}

func (r *imageRoot) close() {
	if r.root != nil {
		r.root.Close()
	}
}

// setImage fills av's image from a's lead image. A remote image keeps its
// URL and no size. A local one is shown only when it is a file the site
// publishes (articles.OpenImage's rules), at the URL the site publishes
// it at, with its width and height when it is a PNG, JPEG or GIF; one
// the site would refuse is left out, as the site leaves it out.
func setImage(av *ArticleView, a *articles.Article, ln links.Layout, root *imageRoot) {
	switch {
	case a.Image == "":
		return
	case !a.LocalImage():
		av.ImageURL, av.ImageAlt = a.Image, cleanLine(a.ImageAlt)
		return
	}
	r := root.open()
	if r == nil {
		return
	}
	f, _, err := articles.OpenImage(r, a)
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
