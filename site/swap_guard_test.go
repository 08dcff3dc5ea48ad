package site

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"briefcast/templates"
)

// mustWriteFiles writes files (relative path to content) under root.
func mustWriteFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// publishers are the two ways a site reaches the disk; both must refuse
// and accept the same folders.
var publishers = []struct {
	name string
	fn   func(t *testing.T, dir string) error
}{
	{"Write", func(t *testing.T, dir string) error {
		return mustBuild(t, testConfig(), testArticles()).Write(dir)
	}},
	{"Publish", func(t *testing.T, dir string) error {
		_, err := Publish(optionsOf(testConfig()), testArticles(), templates.Embedded(), dir)
		return err
	}},
}

// TestWriteRefusesForeignFolder: a folder briefcast did not publish is
// never replaced, whatever it holds, and nothing in or beside it changes.
func TestWriteRefusesForeignFolder(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"content folder", map[string]string{"a.md": "+++\ntitle = \"A\"\n+++\n", "notes/b.md": "b"}},
		{"project folder", map[string]string{"config.toml": "[site]\n", "data/briefcast.db": "SQLite", "data/secret.key": "k"}},
		{"templates folder", map[string]string{"index.html": "{{template}}", "article.html": "x"}},
		{"a page alone", map[string]string{"index.html": "<p>hand-made</p>"}},
		{"site plus a file of the user's", map[string]string{"index.html": "i", "feed.xml": "f", "robots.txt": "User-agent: *"}},
		{"site plus a deep foreign file", map[string]string{"index.html": "i", "feed.xml": "f", "articles/x/photo.jpg": "jpg"}},
	}
	for _, tt := range tests {
		for _, p := range publishers {
			t.Run(tt.name+"/"+p.name, func(t *testing.T) {
				parent := t.TempDir()
				out := filepath.Join(parent, "public")
				mustWriteFiles(t, out, tt.files)
				before := mustReadTree(t, out)
				err := p.fn(t, out)
				if !errors.Is(err, ErrNotOurs) || !strings.Contains(err.Error(), out) {
					t.Fatalf("got %v, want a refusal naming %s", err, out)
				}
				if !equalTrees(before, mustReadTree(t, out)) {
					t.Errorf("a refused build changed the folder")
				}
				mustNoLeftovers(t, parent, "public")
			})
		}
	}
}

// TestWriteRefusesOddOutputs: a file, a folder holding a link, and a link
// to a foreign folder are refused too, and left as they were.
func TestWriteRefusesOddOutputs(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		parent := t.TempDir()
		out := filepath.Join(parent, "public")
		mustWriteFiles(t, parent, map[string]string{"public": "precious"})
		if err := mustBuild(t, testConfig(), testArticles()).Write(out); !errors.Is(err, ErrNotOurs) {
			t.Fatalf("got %v, want a refusal", err)
		}
		if b, err := os.ReadFile(out); err != nil || string(b) != "precious" {
			t.Errorf("file changed: %q, %v", b, err)
		}
		mustNoLeftovers(t, parent, "public")
	})
	t.Run("link inside", func(t *testing.T) {
		parent := t.TempDir()
		out := filepath.Join(parent, "public")
		mustWriteFiles(t, out, map[string]string{"index.html": "i", "feed.xml": "f"})
		if err := os.Symlink("/etc", filepath.Join(out, "articles")); err != nil {
			t.Skip(err)
		}
		if err := CheckOutput(out); !errors.Is(err, ErrNotOurs) {
			t.Fatalf("got %v, want a refusal", err)
		}
	})
	t.Run("link to a foreign folder", func(t *testing.T) {
		parent := t.TempDir()
		target := filepath.Join(parent, "content")
		mustWriteFiles(t, target, map[string]string{"a.md": "a"})
		out := filepath.Join(parent, "public")
		if err := os.Symlink(target, out); err != nil {
			t.Skip(err)
		}
		if err := mustBuild(t, testConfig(), testArticles()).Write(out); !errors.Is(err, ErrNotOurs) || !strings.Contains(err.Error(), target) {
			t.Fatalf("got %v, want a refusal naming %s", err, target)
		}
		if _, err := os.Stat(filepath.Join(target, "a.md")); err != nil {
			t.Error(err)
		}
		mustNoLeftovers(t, parent, "content", "public")
	})
	t.Run("dangling link", func(t *testing.T) {
		parent := t.TempDir()
		out := filepath.Join(parent, "public")
		if err := os.Symlink(filepath.Join(parent, "missing"), out); err != nil {
			t.Skip(err)
		}
		if err := mustBuild(t, testConfig(), testArticles()).Write(out); err == nil || !strings.Contains(err.Error(), out) {
			t.Fatalf("got %v, want an error naming %s", err, out)
		}
		if fi, err := os.Lstat(out); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link was replaced: %v, %v", fi, err)
		}
	})
}

// TestWriteAcceptsOwnFolders: a missing, an empty, a marked and an
// unmarked folder of the published layout (from a version that wrote no
// marker) are replaced, and carry the marker afterwards.
func TestWriteAcceptsOwnFolders(t *testing.T) {
	legacy := map[string]string{
		"index.html": "old", "404.html": "old", "feed.xml": "old", "atom.xml": "old", "feed.json": "{}",
		"assets/style.css": "old", "tags/index.html": "old", "tags/x/feed.xml": "old",
		"articles/gone/index.html": "an article no longer published",
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, out string)
	}{
		{"missing", func(t *testing.T, out string) {}},
		{"empty", func(t *testing.T, out string) {
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"marked", func(t *testing.T, out string) {
			mustWriteFiles(t, out, map[string]string{MarkerFile: "m", "whatever.bin": "x"})
		}},
		{"published before the marker", func(t *testing.T, out string) { mustWriteFiles(t, out, legacy) }},
	}
	for _, tt := range tests {
		for _, p := range publishers {
			t.Run(tt.name+"/"+p.name, func(t *testing.T) {
				parent := t.TempDir()
				out := filepath.Join(parent, "public")
				tt.setup(t, out)
				if err := p.fn(t, out); err != nil {
					t.Fatal(err)
				}
				tree := mustReadTree(t, out)
				if _, ok := tree[MarkerFile]; !ok {
					t.Errorf("no marker after the build")
				}
				if _, ok := tree["articles/gone/index.html"]; ok {
					t.Errorf("the old output survived")
				}
				if _, ok := tree["articles/urban-beekeeping-grows/index.html"]; !ok {
					t.Errorf("the new site is not in place")
				}
				mustNoLeftovers(t, parent, "public")
			})
		}
	}
}

// TestWriteThroughLink: an output_dir that is a link to a web root stays a
// link; the folder it points to is replaced, and nothing is left beside
// either.
func TestWriteThroughLink(t *testing.T) {
	for _, p := range publishers {
		t.Run(p.name, func(t *testing.T) {
			parent, www := t.TempDir(), t.TempDir()
			target := filepath.Join(www, "site")
			mustWriteFiles(t, target, map[string]string{MarkerFile: "m", "stale.html": "old"})
			out := filepath.Join(parent, "public")
			if err := os.Symlink(target, out); err != nil {
				t.Skip(err)
			}
			for i := range 2 {
				if err := p.fn(t, out); err != nil {
					t.Fatalf("build %d: %v", i, err)
				}
				if fi, err := os.Lstat(out); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Fatalf("build %d: output_dir is no longer a link: %v, %v", i, fi, err)
				}
				if dest, err := os.Readlink(out); err != nil || dest != target {
					t.Errorf("build %d: link points to %q, %v", i, dest, err)
				}
				tree := mustReadTree(t, target)
				if _, ok := tree["stale.html"]; ok {
					t.Errorf("build %d: the target was not replaced", i)
				}
				if _, ok := tree["index.html"]; !ok {
					t.Errorf("build %d: no index.html in the target", i)
				}
				mustNoLeftovers(t, parent, "public")
				mustNoLeftovers(t, www, "site")
			}
		})
	}
}

const holdTempEnv = "BRIEFCAST_SITE_TEST_HOLD_TEMP"

// TestStaleTempRemoved: the temporary folder of a build killed half-way
// is left alone while that build runs and removed by the next build once
// it is dead; so are old unmarked leftovers of a version that wrote no
// marker, but not folders that only look like ours by name.
func TestStaleTempRemoved(t *testing.T) {
	if dir := os.Getenv(holdTempEnv); dir != "" {
		holdTemp(dir) // the child: a build that never finishes
		return
	}
	if !dirLocks {
		t.Skip("folders cannot be locked here; leftovers are removed by age")
	}
	parent := t.TempDir()
	out := filepath.Join(parent, "public")
	if err := mustBuild(t, testConfig(), testArticles()).Write(out); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], "-test.run=^TestStaleTempRemoved$")
	child.Env = append(os.Environ(), holdTempEnv+"="+out)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	running := strings.TrimSpace(strings.TrimPrefix(line, "tmp="))

	// Leftovers of an older version (no marker): one of published files,
	// one that holds something else under our naming pattern.
	legacy := filepath.Join(parent, ".public.new-123")
	mustWriteFiles(t, legacy, map[string]string{"articles/a/index.html": "a", "feed.xml": "f"})
	notOurs := filepath.Join(parent, ".public.new-456")
	mustWriteFiles(t, notOurs, map[string]string{"notes.md": "mine"})
	longAgo := time.Now().Add(-2 * staleAge)
	for _, p := range []string{legacy, notOurs} {
		if err := os.Chtimes(p, longAgo, longAgo); err != nil {
			t.Fatal(err)
		}
	}

	if err := mustBuild(t, testConfig(), testArticles()).Write(out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(running, "half.html")); err != nil {
		t.Errorf("a running build's folder was touched: %v", err)
	}
	want := []string{filepath.Base(running), ".public.new-456", "public"}
	sort.Strings(want)
	mustNoLeftovers(t, parent, want...)

	child.Process.Kill()
	child.Wait()
	if err := mustBuild(t, testConfig(), testArticles()).Write(out); err != nil {
		t.Fatal(err)
	}
	mustNoLeftovers(t, parent, ".public.new-456", "public")
	if _, err := os.Stat(filepath.Join(notOurs, "notes.md")); err != nil {
		t.Errorf("a folder that is not ours was touched: %v", err)
	}
}

// holdTemp starts a build of out the way Write does, writes a page, says
// where, and waits to be killed.
func holdTemp(out string) {
	tmp, _, err := tempBeside(out)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Join(tmp, "half.html"), []byte("half"), 0o644); err != nil {
		os.Exit(1)
	}
	fmt.Printf("tmp=%s\n", tmp)
	for {
		time.Sleep(time.Hour)
	}
}

func TestHasPublishedArticles(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "public")
	if has, err := HasPublishedArticles(out); has || err != nil {
		t.Errorf("missing folder: %v, %v", has, err)
	}
	if err := mustBuild(t, testConfig(), nil).Write(out); err != nil {
		t.Fatal(err)
	}
	if has, err := HasPublishedArticles(out); has || err != nil {
		t.Errorf("site without articles: %v, %v", has, err)
	}
	if err := mustBuild(t, testConfig(), testArticles()).Write(out); err != nil {
		t.Fatal(err)
	}
	if has, err := HasPublishedArticles(out); !has || err != nil {
		t.Errorf("site with articles: %v, %v", has, err)
	}
}
