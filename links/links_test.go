package links

import "testing"

func TestLayout(t *testing.T) {
	l := New("https://example.org/news")
	tests := []struct{ name, got, want string }{
		{"base", l.Base(), "https://example.org/news/"},
		{"article", l.Article("a b"), "https://example.org/news/articles/a%20b/"},
		{"full depth", l.FullDepth("x"), "https://example.org/news/articles/x/#full-depth"},
		{"deepest with full depth", l.Deepest("x", true), "https://example.org/news/articles/x/#full-depth"},
		{"deepest take only", l.Deepest("x", false), "https://example.org/news/articles/x/"},
		{"tag", l.Tag("city-news"), "https://example.org/news/tags/city-news/"},
		{"feed", l.Feed(Atom), "https://example.org/news/atom.xml"},
		{"tag feed", l.TagFeed("city", JSON), "https://example.org/news/tags/city/feed.json"},
		{"subscribe", l.Subscribe(), "https://example.org/news/subscribe"},
		{"confirm", l.Confirm("t+k"), "https://example.org/news/confirm?token=t%2Bk"},
		{"unsubscribe", l.Unsubscribe("tok"), "https://example.org/news/unsubscribe?token=tok"},
		{"preferences", l.Preferences("tok"), "https://example.org/news/preferences?token=tok"},
		{"zero layout", Layout{}.Article("x"), "/articles/x/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
