package site

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mmcdole/gofeed"
)

// pngOf is a real w×h PNG.
func pngOf(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFeedsCarryLeadImage checks that the site's feeds carry a published
// local image at the URL the page's og:image names, with its real size in
// bytes and pixels, and a remote image by its URL, while an article whose
// image was refused has none.
func TestFeedsCarryLeadImage(t *testing.T) {
	dir := t.TempDir()
	body := pngOf(t, 48, 20)
	if err := os.MkdirAll(filepath.Join(dir, "img"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "img", "high tide.png"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Site.ContentDir = dir
	cfg.Feeds.Items = 3
	arts := testArticles()
	arts[0].Image, arts[0].ImageAlt = "img/high tide.png", "A quay at high tide"
	arts[1].Image = "img/missing.png"
	arts[2].Image = "https://cdn.example.net/r.jpg"
	s := mustBuild(t, cfg, arts)

	local := "https://example.org/news/articles/harbor-towns-plan-for-higher-tides/img/high%20tide.png"
	size := strconv.Itoa(len(body))
	want := map[string]struct{ url, typ, length string }{
		"Harbor towns plan for higher tides": {local, "image/png", size},
		"An older note on rivers":            {"https://cdn.example.net/r.jpg", "image/jpeg", "0"},
	}
	for _, path := range []string{"/feed.xml", "/atom.xml", "/feed.json"} {
		feed, err := gofeed.NewParser().ParseString(mustFile(t, s, path))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		seen := 0
		for _, it := range feed.Items {
			w, ok := want[it.Title]
			if !ok {
				if len(it.Enclosures) != 0 || (path == "/feed.json" && it.Image != nil) {
					t.Errorf("%s: %q has an image it should not", path, it.Title)
				}
				continue
			}
			seen++
			if path == "/feed.json" {
				if it.Image == nil || it.Image.URL != w.url {
					t.Errorf("%s: %q image %+v, want %s", path, it.Title, it.Image, w.url)
				}
				continue
			}
			length := w.length
			if path == "/atom.xml" && length == "0" {
				length = ""
			}
			if len(it.Enclosures) != 1 || it.Enclosures[0].URL != w.url || it.Enclosures[0].Type != w.typ || it.Enclosures[0].Length != length {
				t.Errorf("%s: %q enclosures %+v, want %s %s %q", path, it.Title, it.Enclosures, w.url, w.typ, length)
			}
			if path == "/feed.xml" && w.url == local {
				mc := it.Extensions["media"]["content"]
				if len(mc) != 1 || mc[0].Attrs["width"] != "48" || mc[0].Attrs["height"] != "20" || mc[0].Attrs["fileSize"] != size {
					t.Errorf("%s: media:content %+v, want 48x20, %s bytes", path, mc, size)
				}
			}
		}
		if seen != len(want) {
			t.Errorf("%s: %d of the %d articles with images found", path, seen, len(want))
		}
	}
}
