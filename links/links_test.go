package links

import (
	"strconv"
	"testing"
)

func TestLayout(t *testing.T) {
	l := New("https://example.org/news")
	tests := []struct{ name, got, want string }{
		{"base", l.Base(), "https://example.org/news/"},
		{"article", l.Article("a b"), "https://example.org/news/articles/a%20b/"},
		{"full depth", l.FullDepth("x"), "https://example.org/news/articles/x/#full-depth"},
		{"deepest with full depth", l.Deepest("x", true), "https://example.org/news/articles/x/#full-depth"},
		{"deepest take only", l.Deepest("x", false), "https://example.org/news/articles/x/"},
		{"tag", l.Tag("city-news"), "https://example.org/news/tags/city-news/"},
		{"confirm", l.Confirm("t+k"), "https://example.org/news/confirm?token=t%2Bk"},
		{"unsubscribe", l.Unsubscribe("tok"), "https://example.org/news/unsubscribe?token=tok"},
		{"preferences", l.Preferences("tok"), "https://example.org/news/preferences?token=tok"},
		{"article file", l.ArticleFile("a b", "./img/lead one.png"), "https://example.org/news/articles/a%20b/img/lead%20one.png"},
		{"zero layout", Layout{}.Article("x"), "/articles/x/"},
		{"archive", l.Archive("daily"), "https://example.org/news/digests/daily/"},
		{"archive page", l.ArchivePage("daily", 3), "https://example.org/news/digests/daily/page/3/"},
		{"archive page 1", l.ArchivePage("daily", 1), "https://example.org/news/digests/daily/"},
		{"edition", l.Edition("daily", "20251123T1200Z"), "https://example.org/news/digests/daily/20251123T1200Z/"},
		{"cyrillic article", l.Article("новости"), "https://example.org/news/articles/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// ArchivePage is page n (from 1) of the archive of the digest name; page 1 is Archive.
func (l Layout) ArchivePage(name string, n int) string {
	if n <= 1 {
		return l.Archive(name)
	}
	return l.Archive(name) + "page/" + strconv.Itoa(n) + "/"
}
