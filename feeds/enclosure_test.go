package feeds

import (
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"
)

// imageItems are the sample items, the first with a published local
// image and the second with a remote one of unknown size.
func imageItems(t *testing.T) []*Item {
	t.Helper()
	items := mustItems(t, sampleArticles(), ContentTake)
	if len(items) < 2 {
		t.Fatalf("need two items, have %d", len(items))
	}
	items[0].Image = &Image{URL: testBase + "articles/x/lead%20one.png", Type: "image/png", Length: 4321, Width: 640, Height: 360, Alt: "A chart & <its> axes"}
	items[1].Image = &Image{URL: "https://cdn.example.net/photo.jpg", Type: "image/jpeg", Alt: ""}
	return items
}

// TestImageInEveryFormat checks that a feed reader finds an item's lead
// image in each format: an RSS enclosure and media:content, an Atom
// enclosure link, a JSON Feed image; and that an item without one has
// none.
func TestImageInEveryFormat(t *testing.T) {
	items := imageItems(t)
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			data, err := f.render(testChannel(), items)
			if err != nil {
				t.Fatal(err)
			}
			feed := mustValidFeed(t, f.name, data)
			if len(feed.Items) != len(items) {
				t.Fatalf("%d items parsed, want %d", len(feed.Items), len(items))
			}
			checkParsedImage(t, f.name, feed.Items[0], items[0].Image, "4321")
			checkParsedImage(t, f.name, feed.Items[1], items[1].Image, "0")
			for _, pi := range feed.Items[2:] {
				if len(pi.Enclosures) != 0 || pi.Extensions["media"] != nil {
					t.Errorf("item %q without an image has enclosures %v / media %v", pi.Title, pi.Enclosures, pi.Extensions["media"])
				}
				if f.name == "json" && pi.Image != nil {
					t.Errorf("item %q without an image has image %q", pi.Title, pi.Image.URL)
				}
			}
		})
	}
}

func checkParsedImage(t *testing.T, format string, pi *gofeed.Item, want *Image, rssLength string) {
	t.Helper()
	switch format {
	case "json":
		if pi.Image == nil || pi.Image.URL != want.URL {
			t.Errorf("%q: JSON image = %+v, want %s", pi.Title, pi.Image, want.URL)
		}
		return
	case "rss":
		checkEnclosure(t, pi, want, rssLength)
		checkMedia(t, pi, want)
	case "atom":
		length := rssLength
		if length == "0" {
			length = "" // Atom leaves an unknown length out
		}
		checkEnclosure(t, pi, want, length)
	}
}

func checkEnclosure(t *testing.T, pi *gofeed.Item, want *Image, length string) {
	t.Helper()
	if len(pi.Enclosures) != 1 {
		t.Fatalf("%q: %d enclosures, want 1", pi.Title, len(pi.Enclosures))
	}
	e := pi.Enclosures[0]
	if e.URL != want.URL || e.Type != want.Type || e.Length != length {
		t.Errorf("%q: enclosure %+v, want url %s type %s length %q", pi.Title, *e, want.URL, want.Type, length)
	}
}

func checkMedia(t *testing.T, pi *gofeed.Item, want *Image) {
	t.Helper()
	mc := pi.Extensions["media"]["content"]
	if len(mc) != 1 {
		t.Fatalf("%q: %d media:content, want 1", pi.Title, len(mc))
	}
	a := mc[0].Attrs
	if a["url"] != want.URL || a["medium"] != "image" || a["type"] != want.Type {
		t.Errorf("%q: media:content %v", pi.Title, a)
	}
	if want.Width != 0 && (a["width"] != "640" || a["height"] != "360") {
		t.Errorf("%q: media:content size %sx%s, want 640x360", pi.Title, a["width"], a["height"])
	}
	desc := mc[0].Children["description"]
	switch {
	case want.Alt == "" && len(desc) != 0:
		t.Errorf("%q: media:description %q for an image without alt", pi.Title, desc[0].Value)
	case want.Alt != "" && (len(desc) != 1 || desc[0].Value != want.Alt):
		t.Errorf("%q: media:description %v, want %q", pi.Title, desc, want.Alt)
	}
}

// TestNoImageNoMediaNamespace checks that an RSS feed without images
// declares no media namespace (it stays byte for byte what it was; the
// golden files hold that), and that one with an image declares it.
func TestNoImageNoMediaNamespace(t *testing.T) {
	plain, err := RSS(testChannel(), mustItems(t, sampleArticles(), ContentTake))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain), "xmlns:media") {
		t.Errorf("feed without images declares the media namespace")
	}
	with, err := RSS(testChannel(), imageItems(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(with), `xmlns:media="`+MediaNS+`"`) {
		t.Errorf("feed with images lacks the media namespace:\n%s", with)
	}
}
