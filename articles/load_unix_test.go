//go:build unix

package articles

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLoadSkipsNamedPipe: a named pipe with an article's name once made
// Load wait for a writer forever. It must be skipped with a warning naming
// it, and the rest loaded.
func TestLoadSkipsNamedPipe(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, dir, map[string]string{"ok.txt": article("Fine", "Oct. 1, 2026")})
	fifo := filepath.Join(dir, "x.md")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// A link to a pipe the walk does not see takes the other path: the
	// type is only known once it is opened.
	if err := os.Mkdir(filepath.Join(dir, "_pipes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "_pipes", "p.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, "_pipes/p.md", filepath.Join(dir, "y.txt"))
	got, errs, log := loadLogged(t, dir, Options{})
	if len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
	if p := strings.Join(paths(got), " "); p != "ok.txt" {
		t.Errorf("got articles %q, want ok.txt", p)
	}
	if !strings.Contains(log, fifo) || !strings.Contains(log, "named pipe") {
		t.Errorf("no warning names the pipe; log:\n%s", log)
	}
	if !strings.Contains(log, filepath.Join(dir, "y.txt")) || strings.Count(log, "named pipe") != 2 {
		t.Errorf("no warning names the link to the pipe; log:\n%s", log)
	}
}
