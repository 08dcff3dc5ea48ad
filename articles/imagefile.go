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
	"os"
	"path"
	"path/filepath"
	"strings"
)

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
