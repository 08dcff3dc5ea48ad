package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copySample copies the repository's config.toml and content/ into a
// temporary folder and returns the copied config's path.
func copySample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "content"), os.DirFS("../../content")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../config.toml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSampleDigestSendsOnAnyDay runs the README's `digest send daily` on
// the sample articles long after their dates: the first edition of a
// digest takes the newest articles however old, instead of "nothing new".
func TestSampleDigestSendsOnAnyDay(t *testing.T) {
	cfgPath := copySample(t)
	dir := filepath.Dir(cfgPath)
	mustImport(t, dir, 2)

	code, out, errs := runCLI(t, "--config", cfgPath, "digest", "send", "daily", "--cutoff", "2031-03-04T12:00:00Z")
	if code != 0 {
		t.Fatalf("send exit %d: %s", code, errs)
	}
	if !strings.Contains(out, ": 2 sent, 0 failed") {
		t.Fatalf("send summary = %q, want 2 sent", out)
	}
	emls, _ := filepath.Glob(filepath.Join(dir, "data", "outbox", "daily", "*", "*.eml"))
	if len(emls) != 2 {
		t.Fatalf("%d .eml files, want 2", len(emls))
	}
	b, err := os.ReadFile(emls[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "Brookfield") {
		t.Errorf("the edition lacks the sample article on Brookfield's solar farm:\n%s", b)
	}

	// The second edition is limited by age as before: nothing new.
	code, out, _ = runCLI(t, "--config", cfgPath, "digest", "send", "daily", "--cutoff", "2031-03-05T12:00:00Z")
	if code != 0 || !strings.Contains(out, "nothing new") {
		t.Errorf("second send: exit %d, %q", code, out)
	}
}

// TestSampleDigestWithoutReaders: a send before anyone subscribed creates
// an edition that reaches nobody; the command says so, and how to add a
// reader, since the articles now count as sent.
func TestSampleDigestWithoutReaders(t *testing.T) {
	cfgPath := copySample(t)
	code, _, errs := runCLI(t, "--config", cfgPath, "digest", "send", "daily", "--cutoff", "2031-03-04T12:00:00Z")
	if code != 0 {
		t.Fatalf("send exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "daily has no active subscriber") || !strings.Contains(errs, "subscribers add ADDR --active") {
		t.Errorf("stderr does not say the edition reached nobody:\n%s", errs)
	}
}
