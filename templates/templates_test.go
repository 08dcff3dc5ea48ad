package templates

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOverlay(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "style.css"), []byte("/* mine */"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.html"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile(fsys, "style.css")
	if err != nil || string(got) != "/* mine */" {
		t.Errorf("override not used: %q, %v", got, err)
	}
	names, err := fs.Glob(fsys, "*.html")
	if err != nil {
		t.Fatal(err)
	}
	var sawExtra, sawEmbedded bool
	for _, n := range names {
		if n == "extra.html" {
			sawExtra = true
		} else {
			sawEmbedded = true
		}
	}
	if !sawExtra || !sawEmbedded {
		t.Errorf("glob over both layers: got %v", names)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing override folder was accepted")
	}
}
