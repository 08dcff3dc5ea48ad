package config

import (
	"strings"
	"testing"
)

func TestMaxArticleBytes(t *testing.T) {
	tests := []struct {
		name    string
		extra   string
		want    int64
		wantErr string
	}{
		{"default", "", 1 << 20, ""},
		{"set", "max_article_bytes = 4096\n", 4096, ""},
		{"zero", "max_article_bytes = 0\n", 0, "site.max_article_bytes: must be at least 1, got 0"},
		{"negative", "max_article_bytes = -5\n", 0, "site.max_article_bytes: must be at least 1, got -5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("config.toml", []byte(minimal+tt.extra), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Site.MaxArticleBytes != tt.want {
				t.Errorf("got %d, want %d", c.Site.MaxArticleBytes, tt.want)
			}
		})
	}
}
