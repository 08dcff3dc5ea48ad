package email

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// imgTags are the attributes of every <img> of an HTML document.
func imgTags(t *testing.T, doc string) []map[string]string {
	t.Helper()
	var out []map[string]string
	z := html.NewTokenizer(strings.NewReader(doc))
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		if tok := z.Token(); (tt == html.StartTagToken || tt == html.SelfClosingTagToken) && tok.Data == "img" {
			attrs := map[string]string{}
			for _, a := range tok.Attr {
				attrs[a.Key] = a.Val
			}
			out = append(out, attrs)
		}
	}
	return out
}

// TestDigestLeadImages checks that the digest shows each article's lead
// image at the URL the site publishes it, with the file's width and
// height (scaled to the column when wider) and the article's alt text, a
// remote image with no size but a max-width, and no image for a local
// file the site would not publish; the text part names none.
func TestDigestLeadImages(t *testing.T) {
	content := t.TempDir()
	writePNG(t, filepath.Join(content, "coast", "img", "high tide.png"), 48, 20)
	writePNG(t, filepath.Join(content, "wide.png"), 1072, 400)
	cfg := mustConfig(t, "")
	cfg.Site.ContentDir = content
	c := mustComposer(t, cfg)
	e := testEdition(cfg)
	e.Key = "images"
	e.Articles[0].Path, e.Articles[0].Image, e.Articles[0].ImageAlt = "coast/tides.md", "img/high tide.png", `Quay "at" <high> tide`
	e.Articles[1].Path, e.Articles[1].Image = "library.md", "wide.png"
	e.Articles[2].Path, e.Articles[2].Image, e.Articles[2].ImageAlt = "bridge.md", "https://cdn.example.net/bridge.jpg", "The old bridge"
	extra := *e.Articles[2]
	extra.ID, extra.Slug, extra.Image = "missing", "missing", "nope.png"
	e.Articles = append(e.Articles, &extra)

	m, ok, err := c.Digest(e, Recipient{ID: 42, TokenKey: testTokenKey, Email: "ada@example.com"}, nil)
	if err != nil || !ok {
		t.Fatalf("Digest: ok=%v err=%v", ok, err)
	}
	p := mustParse(t, msgBytes(t, m))
	imgs := imgTags(t, p.html)
	want := []map[string]string{
		{"src": "https://example.org/news/articles/tide-tables/img/high%20tide.png", "alt": `Quay "at" <high> tide`, "width": "48", "height": "20"},
		{"src": "https://example.org/news/articles/library%20hours%2Fext/wide.png", "alt": "", "width": "536", "height": "200"},
		{"src": "https://cdn.example.net/bridge.jpg", "alt": "The old bridge"},
	}
	if len(imgs) != len(want) {
		t.Fatalf("%d images, want %d: %v", len(imgs), len(want), imgs)
	}
	for i, w := range want {
		got := imgs[i]
		for _, k := range []string{"src", "alt", "width", "height"} {
			if gv, ok := got[k]; gv != w[k] || ok != (k == "src" || k == "alt" || w[k] != "") {
				t.Errorf("image %d: %s = %q (present %v), want %q", i, k, gv, ok, w[k])
			}
		}
		if !strings.Contains(got["style"], "max-width:") || !strings.Contains(got["style"], "height:auto") {
			t.Errorf("image %d: style %q lacks max-width and height:auto", i, got["style"])
		}
	}
	if strings.Contains(p.text, "high%20tide.png") || strings.Contains(p.text, "bridge.jpg") {
		t.Error("the text part names an image")
	}
}
