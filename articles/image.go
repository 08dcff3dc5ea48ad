package articles

import (
	"net/url"
	"path"
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
