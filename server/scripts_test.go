package server

import (
	"fmt"
	"html"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"briefcast/articles"
	"briefcast/site"
	"briefcast/templates"
)

// A site of articles in Cyrillic, Arabic, Japanese and accented Latin
// builds with a slug and a tag page for each, linked percent-encoded, and
// the server finds every page by its encoded URL.
func TestSiteInEveryScript(t *testing.T) {
	cfg := mustConfig(t, "http://example.org/", "")
	var arts []*articles.Article
	for i, a := range []struct{ title, tag string }{
		{"Новости России", "Россия"},
		{"Новости Москвы", "Москва"},
		{"أخبار اليوم", "اقتصاد"},
		{"東京の天気", "天気"},
		{"大阪の天気", "天気"},
		{"Économie française", "Économie"},
		{"It's Here", "C++ & Rust"},
	} {
		src := fmt.Sprintf("+++\ntitle = %q\ndate = 2026-03-%02dT08:00:00Z\ntags = [%q]\n+++\n\n## 30-Second Take\n- Point.\n", a.title, i+1, a.tag)
		art, err := articles.Parse(fmt.Sprintf("a%d.md", i), []byte(src), articles.Options{})
		if err != nil {
			t.Fatalf("%s: %v", a.title, err)
		}
		arts = append(arts, art)
	}
	st, err := site.Build(siteOptionsOf(cfg), arts, templates.Embedded())
	if err != nil {
		t.Fatalf("site.Build: %v", err)
	}
	srv, err := New(optionsOf(cfg), nil, nil, mustSigner(t), templates.Embedded(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.SetSite(st)
	e := &env{srv: srv}

	slugs := map[string]bool{}
	for _, a := range st.Articles {
		if slugs[a.Slug] {
			t.Errorf("slug %q twice", a.Slug)
		}
		slugs[a.Slug] = true
	}
	for _, want := range []string{"новости-россии", "أخبار-اليوم", "東京の天気", "大阪の天気", "economie-francaise", "its-here"} {
		if !slugs[want] {
			t.Errorf("no article with slug %q; have %v", want, slugs)
		}
	}
	index := e.do(t, "GET", "/", nil).Body.String()
	for _, p := range []string{"/articles/новости-россии/", "/tags/россия/", "/tags/天気/", "/tags/economie/", "/articles/東京の天気/"} {
		enc := (&url.URL{Path: p}).EscapedPath()
		if enc == p && !strings.Contains(p, "economie") {
			t.Fatalf("%s is not percent-encoded", p)
		}
		w := e.do(t, "GET", enc, nil)
		if w.Code != 200 {
			t.Errorf("GET %s: %d", enc, w.Code)
		}
		if strings.HasPrefix(p, "/articles/") && !strings.Contains(index, `href="`+enc+`"`) {
			t.Errorf("the index does not link %s as %s", p, enc)
		}
	}
	tag := e.do(t, "GET", (&url.URL{Path: "/tags/россия/"}).EscapedPath(), nil).Body.String()
	if !strings.Contains(tag, "Россия") {
		t.Error("the tag page does not show the tag as spelled")
	}
	if w := e.do(t, "GET", "/tags/c-rust/", nil); w.Code != 200 || !strings.Contains(html.UnescapeString(w.Body.String()), "Topic: C++ & Rust") {
		t.Errorf("the C++ & Rust tag page: %d\n%s", w.Code, w.Body.String())
	}
}
