package main

import (
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	urlPattern  = regexp.MustCompile(`https?://[^\s"'<>)\]]+`)
	hrefPattern = regexp.MustCompile(`href="([^"]*)"`)
)

// TestDigestLinksResolve renders a digest for the repo's sample articles
// and checks that every link in both parts points at a file `briefcast
// build` wrote for the same content (or at one of the server's routes),
// and that #full-depth anchors exist on the pages they name.
func TestDigestLinksResolve(t *testing.T) {
	dir := t.TempDir()
	content, err := filepath.Abs("../../content")
	if err != nil {
		t.Fatal(err)
	}
	const base = "https://example.org/news/"
	cfg := fmt.Sprintf(`
[site]
title = "Links"
base_url = %q
content_dir = %q
[[digests]]
name = "all"
schedule = "@daily"
max_items = 50
`, base, content)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BRIEFCAST_SECRET": strings.Repeat("s", 40)}
	if code, _, stderr := runCheckCLI(t, env, "--config", path, "build"); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	code, eml, stderr := runCheckCLI(t, env, "--config", path, "digest", "preview", "all")
	if code != 0 {
		t.Fatalf("preview: exit %d: %s", code, stderr)
	}

	msg, err := mail.ReadMessage(strings.NewReader(eml))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	parts := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts++
		text := strings.ReplaceAll(string(body), "&amp;", "&")
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			for _, m := range hrefPattern.FindAllStringSubmatch(text, -1) {
				links = append(links, m[1])
			}
		} else {
			links = append(links, urlPattern.FindAllString(text, -1)...)
		}
	}
	if parts != 2 {
		t.Fatalf("got %d parts, want an HTML and a text part", parts)
	}

	public := filepath.Join(dir, "public")
	articles := 0
	for _, link := range links {
		u, err := url.Parse(link)
		if err != nil {
			t.Errorf("%s: %v", link, err)
			continue
		}
		if !strings.HasPrefix(link, base) {
			t.Errorf("link %s is not under the base URL %s", link, base)
			continue
		}
		rest := strings.TrimPrefix(u.Path, "/news/")
		switch rest {
		case "unsubscribe", "preferences":
			if u.Query().Get("token") == "" {
				t.Errorf("link %s carries no token", link)
			}
			continue
		}
		file := filepath.Join(public, filepath.FromSlash(rest))
		if rest == "" || strings.HasSuffix(rest, "/") {
			file = filepath.Join(file, "index.html")
		}
		page, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("link %s: build wrote no %s", link, file)
			continue
		}
		if u.Fragment != "" && !strings.Contains(string(page), `id="`+u.Fragment+`"`) {
			t.Errorf("link %s: %s has no id %q", link, file, u.Fragment)
		}
		if strings.HasPrefix(rest, "articles/") {
			articles++
		}
	}
	if articles == 0 {
		t.Fatalf("the digest links to no article page; links: %v", links)
	}
}
