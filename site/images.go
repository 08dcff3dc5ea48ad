package site

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"

	"briefcast/articles"
	"briefcast/feeds"
)

// leadImage is an article's lead image file, published beside its page.
type leadImage struct {
	rel  string // path under the article's folder, e.g. "img/a.jpg"
	body []byte
}

// loadImages reads the lead images articles name by a relative path; each
// one refused (see articles.OpenImage) is a note, and its page shows none.
func (b *builder) loadImages() {
	b.images = make(map[string]*leadImage)
	var root *os.Root
	for _, a := range b.arts {
		if a.Image == "" || isAbsURL(a.Image) {
			continue
		}
		if _, built := b.prevAt[a]; built {
			// Unchanged since prev (a changed image file makes Update build in full).
			b.images[a.Slug] = b.prev.images[a.Slug]
			for _, n := range b.prev.notes[a] {
				b.addNote(a, n)
			}
			continue
		}
		if root == nil {
			r, err := os.OpenRoot(b.opts.ContentDir)
			if err != nil {
				b.note(a, "image %s not published: content folder: %v", a.Image, err)
				continue
			}
			defer r.Close()
			root = r
		}
		img, err := readImage(root, a)
		if err != nil {
			b.note(a, "image %s not published: %v", a.Image, err)
			continue
		}
		b.images[a.Slug] = img
	}
}

// readImage reads a's lead image from root.
func readImage(root *os.Root, a *articles.Article) (*leadImage, error) {
	f, size, err := articles.OpenImage(root, a)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, articles.MaxImageBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > articles.MaxImageBytes || int64(len(body)) != size {
		return nil, fmt.Errorf("changed while read (%d bytes, then %d)", size, len(body))
	}
	return &leadImage{rel: path.Clean(a.Image), body: body}, nil
}

func isAbsURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// image is the article's lead image: its URL on the page, absolute, and alt text.
func (b *builder) image(a *articles.Article) (src, abs, alt string) {
	switch {
	case a.Image == "":
		return "", "", ""
	case isAbsURL(a.Image):
		return a.Image, a.Image, a.ImageAlt
	}
	img := b.images[a.Slug]
	if img == nil {
		return "", "", ""
	}
	abs = b.abs.ArticleFile(a.Slug, img.rel)
	return b.articlePath(a) + escapePath(img.rel), abs, a.ImageAlt
}

// escapePath escapes each segment of a slash-separated path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// imageFiles publishes the lead images beside their articles' pages.
func (b *builder) imageFiles() ([]*File, error) {
	var out []*File
	for _, a := range b.arts {
		img := b.images[a.Slug]
		if img == nil {
			continue
		}
		typ := cmp.Or(articles.ImageType(img.rel), "application/octet-stream")
		out = append(out, &File{Path: "/articles/" + a.Slug + "/" + img.rel, Body: img.body, ContentType: typ, Modified: a.Updated.UTC()})
	}
	return b.out(-1, out...)
}

// feedImage is a's lead image as its feed items carry it: a published
// file's size and dimensions too, a remote one's URL and type only.
func (b *builder) feedImage(a *articles.Article) *feeds.Image {
	_, abs, alt := b.image(a)
	if abs == "" {
		return nil
	}
	fi := &feeds.Image{URL: abs, Type: articles.ImageType(a.Image), Alt: alt}
	if img := b.images[a.Slug]; img != nil && a.LocalImage() {
		fi.Length = int64(len(img.body))
		fi.Width, fi.Height, _ = articles.ImageSize(bytes.NewReader(img.body))
	}
	return fi
}
