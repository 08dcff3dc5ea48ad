package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildAndCheckNoteMissingParts: build and check name the parts an
// article lacks, and a lead image that is not there, as notes on stderr,
// and still succeed.
func TestBuildAndCheckNoteMissingParts(t *testing.T) {
	content := filepath.Join(t.TempDir(), "content")
	if err := os.MkdirAll(content, 0o755); err != nil {
		t.Fatal(err)
	}
	txt := "Short notice\n2025-03-01\nImage: img/missing.jpg\n30-Second Take\n- The ferry runs late today.\n"
	if err := os.WriteFile(filepath.Join(content, "ferry.txt"), []byte(txt), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "public")
	cfg := mustBuildConfig(t, content, out)
	name := filepath.Join(content, "ferry.txt")
	for _, cmd := range []string{"check", "build"} {
		code, stdout, stderr := runCLI(t, "--config", cfg, cmd)
		if code != 0 {
			t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", cmd, code, stdout, stderr)
		}
		for _, want := range []string{
			name + ": note: no 2-minute digest\n",
			name + ": note: no full depth\n",
			name + ": note: image img/missing.jpg not published",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", cmd, want, stderr)
			}
		}
	}
	page, err := os.ReadFile(filepath.Join(out, "articles", "short-notice", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "full-depth") || strings.Contains(string(page), "missing.jpg") {
		t.Error("the page links to a tier or an image the article does not have")
	}
}
