package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// listFiles returns every file under dir, relative and sorted.
// It runs in the watcher's goroutine, so it reports with Error only.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Error(err) // called from the watcher's goroutine: no Fatal
	}
	slices.Sort(out)
	return out
}

func mustWrite(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWatcher(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "old.md"), "old")

	type rebuild struct {
		files []string
	}
	rebuilds := make(chan rebuild, 16)
	calls := 0
	w := NewWatcher(dir, func(ctx context.Context, _ []string) error {
		calls++
		rebuilds <- rebuild{files: listFiles(t, dir)}
		if calls == 1 {
			return errors.New("content/a.md:3: bad front matter") // the watcher carries on
		}
		return nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := w.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}

	bursts := []struct {
		name string
		do   func()
		want []string // the files the rebuild sees
	}{
		{"add files and a subfolder", func() {
			mustWrite(t, filepath.Join(dir, "a.md"), "a")
			mustWrite(t, filepath.Join(dir, "b.md"), "b")
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(dir, "sub", "c.md"), "c")
		}, []string{"a.md", "b.md", "old.md", "sub/c.md"}},
		{"edit", func() { mustWrite(t, filepath.Join(dir, "a.md"), "a2") }, []string{"a.md", "b.md", "old.md", "sub/c.md"}},
		{"edit in the new subfolder", func() { mustWrite(t, filepath.Join(dir, "sub", "c.md"), "c2") }, []string{"a.md", "b.md", "old.md", "sub/c.md"}},
		{"rename", func() {
			if err := os.Rename(filepath.Join(dir, "b.md"), filepath.Join(dir, "sub", "d.md")); err != nil {
				t.Fatal(err)
			}
		}, []string{"a.md", "old.md", "sub/c.md", "sub/d.md"}},
		{"remove", func() {
			if err := os.Remove(filepath.Join(dir, "old.md")); err != nil {
				t.Fatal(err)
			}
		}, []string{"a.md", "sub/c.md", "sub/d.md"}},
	}
	for _, b := range bursts {
		b.do()
		select {
		case got := <-rebuilds:
			if diff := cmp.Diff(b.want, got.files); diff != "" {
				t.Errorf("%s: the rebuild saw (-want +got):\n%s", b.name, diff)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no rebuild", b.name)
		}
	}
	cancel()
	wait()
	if len(rebuilds) != 0 {
		t.Errorf("%d extra rebuilds: want one per burst", len(rebuilds))
	}
}

func TestWatcherMissingFolder(t *testing.T) {
	w := NewWatcher(filepath.Join(t.TempDir(), "missing"), func(context.Context, []string) error { return nil }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := w.Start(context.Background()); err == nil {
		t.Fatal("Start on a missing folder succeeded")
	}
}

// TestWatcherMaxWait checks that a stream of changes with no quiet gap
// still rebuilds before the stream ends, after MaxWait.
func TestWatcherMaxWait(t *testing.T) {
	dir := t.TempDir()
	rebuilt := make(chan struct{}, 64)
	w := NewWatcher(dir, func(context.Context, []string) error { rebuilt <- struct{}{}; return nil }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Quiet, w.MaxWait = 250*time.Millisecond, 500*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait, err := w.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer wait()
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("no rebuild during a continuous stream of changes")
		}
		mustWrite(t, filepath.Join(dir, "busy.md"), time.Now().String())
		select {
		case <-rebuilt:
			return
		case <-tick.C:
		}
	}
}
