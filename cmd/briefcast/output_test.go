package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// projectFiles are what a project folder holds besides the site; no
// command may remove or change any of them.
var projectFiles = []string{"config.toml", "content/a0.md", "content/a1.md", "data/secret.key", "data/briefcast.db"}

// mustProject makes a project folder (config, two articles, a database
// and a key) whose config.toml gets extra under [site], and returns its
// folder and config path.
func mustProject(t *testing.T, extra string) (dir, cfgPath string) {
	t.Helper()
	dir, cfgPath = mustServeDir(t)
	body, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(body), "[site]\n", "[site]\n"+extra+"\n", 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"data/secret.key", "data/briefcast.db"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, cfgPath
}

// mustKeep fails when any of files under dir is gone or changed from
// before (read before the command ran).
func mustKeep(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	for f, want := range before {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || string(got) != want {
			t.Errorf("%s was changed or removed: %v", f, err)
		}
	}
}

func mustSnapshot(t *testing.T, dir string, files []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

// runQuick runs the program in-process and returns its exit code and
// stderr. serve returns at once when it refuses to start; one that starts
// is stopped after a while, exiting 0, which the callers take for a
// failure to refuse.
func runQuick(t *testing.T, cfgPath string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr lockedBuffer
	code := Run(ctx, append([]string{"--config", cfgPath}, args...), &stdout, &stderr,
		func(string) string { return "" })
	return code, stderr.String()
}

// TestOutputDirRefused: build, serve and check refuse an output_dir that
// would replace the project's own folders, naming both keys, and remove
// nothing.
func TestOutputDirRefused(t *testing.T) {
	tests := []struct {
		output string
		want   string // the other key named
	}{
		{"content", "site.content_dir"},
		{".", "the config file's folder"},
		{"data", "data_dir"},
		{"data/public", "data_dir"},
		{"content/public", "site.content_dir"},
		{"config.toml", "is a file"},
	}
	for _, tt := range tests {
		for _, cmd := range [][]string{{"build"}, {"check"}, {"serve", "--listen", "127.0.0.1:0"}} {
			t.Run(tt.output+"/"+cmd[0], func(t *testing.T) {
				dir, cfgPath := mustProject(t, "output_dir = \""+tt.output+"\"")
				before := mustSnapshot(t, dir, projectFiles)
				code, stderr := runQuick(t, cfgPath, cmd...)
				if code != 1 || !strings.Contains(stderr, "site.output_dir") || !strings.Contains(stderr, tt.want) {
					t.Errorf("exit %d, want 1 and an error naming site.output_dir and %s:\n%s", code, tt.want, stderr)
				}
				mustKeep(t, dir, before)
			})
		}
	}
}

// TestOutputDirForeign: an output folder holding files briefcast did not
// publish is refused by build, serve and check, named, and left as it
// was; a folder briefcast published is replaced and marked.
func TestOutputDirForeign(t *testing.T) {
	for _, cmd := range [][]string{{"build"}, {"check"}, {"serve", "--listen", "127.0.0.1:0"}} {
		t.Run(cmd[0], func(t *testing.T) {
			dir, cfgPath := mustProject(t, `output_dir = "www"`)
			www := filepath.Join(dir, "www")
			if err := os.MkdirAll(filepath.Join(www, "photos"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"www/index.html", "www/photos/cat.jpg"} {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("mine"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := mustSnapshot(t, dir, append(projectFiles, "www/index.html", "www/photos/cat.jpg"))
			code, stderr := runQuick(t, cfgPath, cmd...)
			if code != 1 || !strings.Contains(stderr, www) || !strings.Contains(stderr, "did not publish") {
				t.Errorf("exit %d, want 1 and a refusal naming %s:\n%s", code, www, stderr)
			}
			mustKeep(t, dir, before)
			mustNoTempLeft(t, dir, "config.toml", "content", "data", "www")
		})
	}
}

// TestBuildMarksAndFollowsLink: build writes the marker, and publishes
// through a linked output_dir into the folder it points to, keeping the
// link.
func TestBuildMarksAndFollowsLink(t *testing.T) {
	dir, cfgPath := mustProject(t, `output_dir = "public"`)
	webroot := filepath.Join(t.TempDir(), "html")
	if err := os.Symlink(webroot, filepath.Join(dir, "public")); err != nil {
		t.Skip(err)
	}
	if err := os.Mkdir(webroot, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if code, stderr := runQuick(t, cfgPath, "build"); code != 0 {
			t.Fatalf("build %d: exit %d:\n%s", i, code, stderr)
		}
		if fi, err := os.Lstat(filepath.Join(dir, "public")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("build %d: public is no longer a link: %v, %v", i, fi, err)
		}
		for _, f := range []string{".briefcast-site", "index.html", "feed.xml"} {
			if _, err := os.Stat(filepath.Join(webroot, f)); err != nil {
				t.Errorf("build %d: %v", i, err)
			}
		}
		mustNoTempLeft(t, filepath.Dir(webroot), "html")
	}
}

// TestBuildRefusesEmpty: a build that finds no article keeps a published
// site that has some, naming content_dir, unless --allow-empty.
func TestBuildRefusesEmpty(t *testing.T) {
	dir, cfgPath := mustProject(t, "")
	if code, stderr := runQuick(t, cfgPath, "build"); code != 0 {
		t.Fatalf("build: exit %d:\n%s", code, stderr)
	}
	page := filepath.Join(dir, "public", "articles")
	ents, err := os.ReadDir(page)
	if err != nil || len(ents) != 2 {
		t.Fatalf("published articles: %v, %v", ents, err)
	}
	for _, f := range []string{"a0.md", "a1.md"} {
		if err := os.Remove(filepath.Join(dir, "content", f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range [][]string{{"build"}, {"serve", "--listen", "127.0.0.1:0"}} {
		code, stderr := runQuick(t, cfgPath, cmd...)
		if code != 1 || !strings.Contains(stderr, "site.content_dir") || !strings.Contains(stderr, "--allow-empty") {
			t.Errorf("%s with no articles: exit %d, want 1 and an error naming site.content_dir:\n%s", cmd[0], code, stderr)
		}
		if ents, err := os.ReadDir(page); err != nil || len(ents) != 2 {
			t.Errorf("%s with no articles changed the published site: %v, %v", cmd[0], ents, err)
		}
	}
	if code, stderr := runQuick(t, cfgPath, "build", "--allow-empty"); code != 0 {
		t.Fatalf("build --allow-empty: exit %d:\n%s", code, stderr)
	}
	if ents, _ := os.ReadDir(page); len(ents) != 0 {
		t.Errorf("build --allow-empty kept the old articles: %v", ents)
	}
	// Empty again: nothing published has articles, so nothing to protect.
	if code, stderr := runQuick(t, cfgPath, "build"); code != 0 {
		t.Errorf("build of an empty site over an empty site: exit %d:\n%s", code, stderr)
	}
}
