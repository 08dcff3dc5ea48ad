package site

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"briefcast/articles"
)

// MaxImageBytes caps a lead image copied from the content folder: a page's
// picture, not an archive of originals.
const MaxImageBytes = 5 << 20

// leadImage is an article's lead image file, read from the content folder
// to be published beside the article's page.
type leadImage struct {
	rel  string // path under the article's folder, e.g. "img/a.jpg"
	body []byte
}

// loadImages reads the lead images that articles name by a relative path.
// Only regular files inside the content folder with an image extension
// and at most MaxImageBytes are taken; each one refused is a note naming
// the article, and its page simply shows no image.
func (b *builder) loadImages() {
	b.images = make(map[string]*leadImage)
	dir := b.cfg.Site.ContentDir
	var root *os.Root
	for _, a := range b.arts {
		if a.Image == "" || isAbsURL(a.Image) {
			continue
		}
		if b.reuseImage(a) {
			continue
		}
		if root == nil {
			r, err := os.OpenRoot(dir)
			if err != nil {
				b.note(a, "image %s not published: content folder: %v", a.Image, err)
				continue
			}
			defer r.Close()
			root = r
		}
		img, err := readImage(root, path.Join(path.Dir(a.Path), a.Image))
		if err != nil {
			b.note(a, "image %s not published: %v", a.Image, err)
			continue
		}
		img.rel = path.Clean(a.Image)
		b.images[a.Slug] = img
	}
}

// readImage reads name from root; os.Root keeps symbolic links and ".."
// from leading outside the content folder.
func readImage(root *os.Root, name string) (*leadImage, error) {
	if !articles.ImageExt(name) {
		return nil, errors.New("not an image file name")
	}
	f, err := root.Open(filepath.FromSlash(name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > MaxImageBytes {
		return nil, fmt.Errorf("%d bytes, over the %d byte limit", st.Size(), MaxImageBytes)
	}
	body, err := io.ReadAll(io.LimitReader(f, MaxImageBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxImageBytes {
		return nil, fmt.Errorf("over the %d byte limit", MaxImageBytes)
	}
	return &leadImage{body: body}, nil
}

func isAbsURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// image is the article's lead image for its page: the URL as the page
// uses it, its absolute form, and the alt text.
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
	abs = ArticleURL(b.baseURL, a.Slug) + escapePath(img.rel)
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
		typ := mime.TypeByExtension(strings.ToLower(path.Ext(img.rel)))
		if typ == "" {
			typ = "application/octet-stream"
		}
		out = append(out, &File{Path: "/articles/" + a.Slug + "/" + img.rel, Body: img.body, ContentType: typ, Modified: a.Updated.UTC()})
	}
	return b.out(out...)
}
