package articles

import (
	"errors"
	"fmt"
	"image"
	_ "image/gif" // lead images' sizes: DecodeConfig knows only registered formats
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// setImage sets the article's lead image (key "image") or its text
// alternative ("image_alt"). An image is an absolute http(s) URL or a
// relative path that stays inside the content folder, so a page never
// links to a file outside the site.
func setImage(a *Article, key, val string, line int) error {
	val = strings.TrimSpace(val)
	if strings.IndexFunc(val, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return errorf(line, "%s must be one line with no control characters", key)
	}
	if key == "image_alt" {
		a.ImageAlt = normSpace(val)
		return nil
	}
	if val == "" {
		return errorf(line, "image is empty")
	}
	u, err := url.Parse(val)
	if err != nil {
		return errorf(line, "image %q is not a URL or a path: %v", val, err)
	}
	switch {
	case u.Scheme == "http" || u.Scheme == "https":
		if u.Host == "" {
			return errorf(line, "image %q has no host", val)
		}
	case u.Scheme != "" || u.Host != "" || strings.HasPrefix(val, "/") || strings.Contains(val, "\\"):
		return errorf(line, "image %q must be an http(s) URL or a path relative to the article, such as \"images/lead.jpg\"", val)
	default:
		if u.RawQuery != "" || u.Fragment != "" {
			return errorf(line, "image path %q must not have a query or fragment", val)
		}
		clean := path.Clean(u.Path)
		if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
			return errorf(line, "image path %q leaves the content folder", val)
		}
		if !ImageExt(clean) {
			return errorf(line, "image path %q is not an image (.jpg, .jpeg, .png, .gif, .webp, .avif or .svg)", val)
		}
	}
	a.Image = val
	return nil
}

// ImageExt reports whether name has an image extension the site copies.
func ImageExt(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg":
		return true
	}
	return false
}

// MaxImageBytes caps a lead image published from the content folder.
const MaxImageBytes = 5 << 20

// LocalImage reports whether a's lead image is a file in the content folder.
func (a *Article) LocalImage() bool {
	return a.Image != "" && !strings.HasPrefix(a.Image, "https://") && !strings.HasPrefix(a.Image, "http://")
}

// OpenImage opens a's local lead image under root, the content folder (which
// os.Root keeps links and ".." inside), if it is a regular file with an image
// extension and at most MaxImageBytes. The caller closes the file.
func OpenImage(root *os.Root, a *Article) (*os.File, int64, error) {
	name := path.Join(path.Dir(a.Path), a.Image)
	if !ImageExt(name) {
		return nil, 0, errors.New("not an image file name")
	}
	f, err := root.Open(filepath.FromSlash(name))
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	switch {
	case err != nil:
	case !st.Mode().IsRegular():
		err = errors.New("not a regular file")
	case st.Size() > MaxImageBytes:
		err = fmt.Errorf("%d bytes, over the %d byte limit", st.Size(), MaxImageBytes)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// ImageSize reads the width and height of a PNG, JPEG or GIF image from
// the start of r; ok is false for other formats and broken files.
func ImageSize(r io.Reader) (width, height int, ok bool) {
	c, _, err := image.DecodeConfig(r)
	if err != nil || c.Width <= 0 || c.Height <= 0 {
		return 0, 0, false
	}
	return c.Width, c.Height, true
}

// ImageType is the MIME type of an image name or URL by its extension, or "".
func ImageType(name string) string {
	if i := strings.IndexAny(name, "?#"); i >= 0 {
		name = name[:i]
	}
	t := mime.TypeByExtension(strings.ToLower(path.Ext(name)))
	if !strings.HasPrefix(t, "image/") {
		return ""
	}
	return t
}
