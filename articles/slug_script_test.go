package articles

import (
	"strings"
	"testing"
)

func TestSlugifyScripts(t *testing.T) {
	tests := []struct{ in, style, want string }{
		{"It's Here", "", "its-here"},
		{"It's Here", SlugsASCII, "its-here"},
		{"Новости России", "", "новости-россии"},
		{"Новости России", SlugsASCII, "novosti-rossii"},
		{"Αθήνα σήμερα", SlugsASCII, "athina-simera"},
		{"Économie & Société", "", "economie-societe"},
		{"東京の天気", "", "東京の天気"},
		{"أخبار اليوم", "", "أخبار-اليوم"},
		{"हिन्दी समाचार", "", "हिन्दी-समाचार"},
		{"---", SlugsASCII, "article"},
	}
	for _, tt := range tests {
		got := SlugifyStyle(tt.in, tt.style)
		if got != tt.want {
			t.Errorf("SlugifyStyle(%q, %q) = %q, want %q", tt.in, tt.style, got, tt.want)
		}
		if !validSlug(got) {
			t.Errorf("SlugifyStyle(%q, %q) = %q is not a valid slug", tt.in, tt.style, got)
		}
	}
	// Scripts with no transliteration get a hash in ascii style, distinct
	// for distinct titles.
	a, b := SlugifyStyle("東京の天気", SlugsASCII), SlugifyStyle("大阪の天気", SlugsASCII)
	if !strings.HasPrefix(a, "article-") || a == b || !validSlug(a) {
		t.Errorf("ascii slugs of CJK titles: %q and %q", a, b)
	}
	if long := SlugifyStyle(strings.Repeat("ж", 100), ""); len(long) > maxSlug || !validSlug(long) {
		t.Errorf("long Cyrillic slug %q is cut inside a letter or too long", long)
	}
}

func TestTagsKeepSpelling(t *testing.T) {
	src := "+++\ntitle = \"Рынок\"\ndate = 2026-01-02\ntags = [\"Россия\", \"Économie\", \"C++ & Rust\", \"россия\"]\nlanguage = \"ru\"\n+++\n\n## 30-Second Take\n\n- Один.\n"
	a, err := Parse("ru.md", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(a.Tags, "|"); got != "россия|economie|c-rust" {
		t.Errorf("Tags = %q", got)
	}
	if got := strings.Join(a.TagNames, "|"); got != "Россия|Économie|C++ & Rust" {
		t.Errorf("TagNames = %q", got)
	}
	if a.Slug != "рынок" || a.Language != "ru" {
		t.Errorf("slug %q, language %q", a.Slug, a.Language)
	}
	if _, err := Parse("bad.md", []byte(strings.Replace(src, `"ru"`, `"ru\" onload=\"x"`, 1)), Options{}); err == nil {
		t.Error("a language that is no language tag was accepted")
	}
	slugged, err := Parse("s.md", []byte(strings.Replace(src, "language", "slug = \"новости\"\nlanguage", 1)), Options{})
	if err != nil || slugged.Slug != "новости" {
		t.Errorf("a Cyrillic slug in front matter: %v, %+v", err, slugged)
	}
}
