package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"briefcast/articles"
)

const e2eBase = "http://example.test/news/"

// mustBuildBinary compiles briefcast into a temporary folder.
func mustBuildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "briefcast")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// mustCopyContent copies the articles of src (flat) into a new folder.
func mustCopyContent(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "content")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// mustBuildConfig writes a config.toml that publishes content into out.
func mustBuildConfig(t *testing.T, content, out string) string {
	t.Helper()
	cfg := fmt.Sprintf(`[site]
title = "End to end"
description = "A test site"
base_url = %q
content_dir = %q
output_dir = %q
author = "Test Desk <desk@example.test>"

[feeds]
items = 50
content = "digest"

[[digests]]
name = "daily"
title = "Daily"
schedule = "0 7 * * *"
`, e2eBase, content, out)
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runBinary runs the binary and returns its exit status and output.
func runBinary(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Env = append(os.Environ(), "BRIEFCAST_CONFIG=")
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, o.String(), e.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), o.String(), e.String()
	default:
		t.Fatalf("run %v: %v", args, err)
		return -1, "", ""
	}
}

func TestBuildEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := mustBuildBinary(t)

	t.Run("help", func(t *testing.T) {
		for _, c := range []string{"build", "check"} {
			code, stdout, _ := runBinary(t, bin, c, "--help")
			if code != 0 || !strings.Contains(stdout, "Usage: briefcast "+c) {
				t.Errorf("%s --help: exit %d, stdout %q", c, code, stdout)
			}
		}
	})

	sources := []struct{ name, dir string }{
		{"fixtures", filepath.Join("testdata", "content")},
		{"repo content", filepath.Join("..", "..", "content")},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			want, errs := articles.Load(src.dir, articles.Options{Location: time.UTC})
			if len(want) == 0 {
				t.Skipf("no articles in %s yet", src.dir)
			}
			if len(errs) > 0 {
				t.Fatalf("%s has bad articles: %v", src.dir, errs)
			}
			content := mustCopyContent(t, src.dir)
			out := filepath.Join(t.TempDir(), "public")
			cfg := mustBuildConfig(t, content, out)

			code, stdout, stderr := runBinary(t, bin, "--config", cfg, "build")
			if code != 0 {
				t.Fatalf("build: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			if !strings.Contains(stdout, fmt.Sprintf("published %d articles", len(want))) {
				t.Errorf("summary line: %q", stdout)
			}
			mustPublished(t, out, want)

			// check validates the same content and writes nothing.
			out2 := filepath.Join(t.TempDir(), "public")
			code, stdout, stderr = runBinary(t, bin, "--config", mustBuildConfig(t, content, out2), "check")
			if code != 0 {
				t.Fatalf("check: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			if _, err := os.Stat(out2); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("check created %s: %v", out2, err)
			}

			// A broken article is reported with its file and line, and
			// every other article is still published.
			broken := "+++\ntitle = \"Broken brief\"\ndate = \"sometime soon\"\n+++\n\n## 30-Second Take\n- One.\n"
			if err := os.WriteFile(filepath.Join(content, "broken.md"), []byte(broken), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr = runBinary(t, bin, "--config", cfg, "build")
			if code != 1 {
				t.Errorf("build with a broken article: exit %d, want 1\nstderr: %s", code, stderr)
			}
			if !regexp.MustCompile(`(?m)broken\.md:3: `).MatchString(stderr) {
				t.Errorf("stderr lacks \"broken.md:3: \": %q", stderr)
			}
			if !strings.Contains(stdout, "1 rejected") {
				t.Errorf("summary line: %q", stdout)
			}
			mustPublished(t, out, want)
			code, _, stderr = runBinary(t, bin, "--config", mustBuildConfig(t, content, out2), "check")
			if code != 1 || !strings.Contains(stderr, "broken.md:3: ") {
				t.Errorf("check with a broken article: exit %d, stderr %q", code, stderr)
			}
			if _, err := os.Stat(out2); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("check created %s: %v", out2, err)
			}
			mustNoTempLeft(t, filepath.Dir(out), "public")
		})
	}
}

// mustPublished checks the output folder: every page and feed is there,
// and every feed parses with absolute links under the base URL.
func mustPublished(t *testing.T, out string, want []*articles.Article) {
	t.Helper()
	for _, f := range []string{"index.html", "404.html", "tags/index.html", "assets/style.css", "feed.xml", "atom.xml", "feed.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	for _, a := range want {
		page, err := os.ReadFile(filepath.Join(out, "articles", a.Slug, "index.html"))
		if err != nil {
			t.Errorf("missing page of %s: %v", a.Path, err)
			continue
		}
		for _, id := range []string{`id="take"`, `href="/news/assets/style.css"`, `rel="alternate"`} {
			if !bytes.Contains(page, []byte(id)) {
				t.Errorf("page of %s lacks %s", a.Path, id)
			}
		}
		for _, tag := range a.Tags {
			if _, err := os.Stat(filepath.Join(out, "tags", tag, "feed.xml")); err != nil {
				t.Errorf("missing feed of tag %s: %v", tag, err)
			}
		}
	}
	feedFiles, _ := filepath.Glob(filepath.Join(out, "tags", "*", "*.xml"))
	feedFiles = append(feedFiles, filepath.Join(out, "feed.xml"), filepath.Join(out, "atom.xml"), filepath.Join(out, "feed.json"))
	for _, f := range feedFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		feed, err := gofeed.NewParser().ParseString(string(data))
		if err != nil {
			t.Errorf("%s: gofeed: %v", f, err)
			continue
		}
		if !strings.HasPrefix(feed.FeedLink, e2eBase) {
			t.Errorf("%s: self link %q is not under %s", f, feed.FeedLink, e2eBase)
		}
		for _, it := range feed.Items {
			if !strings.HasPrefix(it.Link, e2eBase+"articles/") {
				t.Errorf("%s: item link %q is not under %s", f, it.Link, e2eBase)
			}
			if !strings.Contains(it.Description, e2eBase) && !strings.HasSuffix(f, ".json") {
				t.Errorf("%s: item description has no absolute full-depth link: %q", f, it.Description)
			}
		}
	}
	site, err := gofeed.NewParser().ParseString(mustReadText(t, filepath.Join(out, "feed.xml")))
	if err == nil && len(site.Items) != min(50, len(want)) {
		t.Errorf("site feed has %d items, want %d", len(site.Items), min(50, len(want)))
	}
}

func mustReadText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mustNoTempLeft fails when dir holds anything but want: a build leaves no
// temporary folder behind.
func mustNoTempLeft(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}
