package feeds

import (
	"strings"
	"testing"
	"time"

	"briefcast/articles"
)

// A take-only article has no #full-depth anchor: its items link to the
// page itself, and only an article with full depth gets the anchor.
func TestItemLinksFullDepthOnlyWhenPresent(t *testing.T) {
	pub := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	take := &articles.Article{ID: "a", Slug: "a", Title: "A", Published: pub, Updated: pub,
		Take: []articles.Bullet{{Text: "One."}}}
	it, err := NewItem(take, testBase, ContentFull, "", ItemHTML{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(it.FullDepthURL, "#") || strings.Contains(it.ContentText, "#full-depth") {
		t.Errorf("take-only article links to an anchor: %q / %q", it.FullDepthURL, it.ContentText)
	}
	full := *take
	articles.WithTiers(&full, articles.Tiers{Full: articles.Full{Closing: []string{"Done."}}})
	if it, err = NewItem(&full, testBase, ContentFull, "", ItemHTML{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(it.FullDepthURL, "/articles/a/#full-depth") || !strings.Contains(it.ContentText, "Full depth: "+it.FullDepthURL) {
		t.Errorf("article with full depth: %q / %q", it.FullDepthURL, it.ContentText)
	}
}
