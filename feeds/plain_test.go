package feeds

import (
	"strings"
	"testing"
)

// The W3C validator reads "&amp;" and "&lt;" in RSS's plain-text elements
// as escaped HTML and warns; hexadecimal references mean the same
// character without the warning.
func TestRSSPlainTextHexRefs(t *testing.T) {
	arts := sampleArticles()[:1]
	arts[0].Title = "R&D <up> 5 > 4"
	arts[0].Tags, arts[0].TagNames = []string{"c-rust"}, []string{"C++ & Rust"}
	c := testChannel()
	c.Title = "News & <Views>"
	doc, err := RSS(c, mustItems(t, arts, ContentTake))
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	for _, want := range []string{
		"<title>R&#x26;D &#x3C;up&#x3E; 5 &#x3E; 4</title>",
		"<title>News &#x26; &#x3C;Views&#x3E;</title>",
		"<category>C++ &#x26; Rust</category>",
		"<ttl>60</ttl>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("RSS has no %s:\n%s", want, s)
		}
	}
	for _, bad := range []string{"<title>R&amp;", "&amp; Rust</category>"} {
		if strings.Contains(s, bad) {
			t.Errorf("RSS still has %s", bad)
		}
	}
	f := mustValidFeed(t, "rss", doc)
	if f.Title != "News & <Views>" || f.Items[0].Title != "R&D <up> 5 > 4" || f.Items[0].Categories[0] != "C++ & Rust" {
		t.Errorf("parsed back: %q, %q, %q", f.Title, f.Items[0].Title, f.Items[0].Categories)
	}
	// The HTML of the description stays escaped HTML.
	if !strings.Contains(s, "<description>&lt;ul") {
		t.Errorf("description is no longer escaped HTML")
	}
}
