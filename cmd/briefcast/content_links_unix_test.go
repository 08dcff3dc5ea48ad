//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBuildReadsThroughLinks runs `build` on a content_dir that is itself
// a symbolic link (ln -s ../articles content) and holds a named pipe and a
// link to a file outside it: every article is published, the pipe and the
// link are skipped with warnings naming them, the outside file's text is
// never printed, and the build finishes instead of waiting on the pipe.
func TestBuildReadsThroughLinks(t *testing.T) {
	top := t.TempDir()
	real := mustCopyContent(t, filepath.Join("..", "..", "content"))
	n := 0
	entries, err := os.ReadDir(real)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".md") || strings.HasSuffix(e.Name(), ".txt") {
			n++
		}
	}
	content := filepath.Join(top, "content")
	if err := os.Symlink(real, content); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(real, "x.md"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	secret := filepath.Join(top, "passwd")
	if err := os.WriteFile(secret, []byte("root:x:0:0\nOUTSIDE-SECRET-LINE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(real, "passwd.txt")); err != nil {
		t.Fatal(err)
	}
	cfg := mustBuildConfig(t, content, filepath.Join(top, "public"))

	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(context.Background(), []string{"--config", cfg, "build"}, &out, &errb, func(string) string { return "" })
	}()
	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("build did not finish within 30 s")
	}
	if code != 0 {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, errb.String())
	}
	if want := "published " + strconv.Itoa(n) + " articles (0 rejected"; !strings.Contains(out.String(), want) {
		t.Errorf("stdout %q, want it to say %q", out.String(), want)
	}
	for _, name := range []string{"x.md", "passwd.txt"} {
		if !strings.Contains(errb.String(), name) {
			t.Errorf("no warning names %s; stderr:\n%s", name, errb.String())
		}
	}
	if strings.Contains(errb.String()+out.String(), "OUTSIDE-SECRET") {
		t.Errorf("output shows a file outside content_dir:\n%s", errb.String())
	}
}
