package site

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"briefcast/articles"
	"briefcast/config"
)

// Write publishes the site into dir atomically: everything is written into
// a fresh folder beside dir, which is then swapped in (in one step on
// Linux; elsewhere the old dir is renamed away, the new one renamed in) and
// the old output removed. On any error the fresh folder is removed and dir
// is left as it was. Writing a fresh
// folder rather than rewriting files in place is also what keeps a build of
// thousands of pages fast.
func (s *Site) Write(dir string) (err error) {
	dir = filepath.Clean(dir)
	tmp, err := tempBeside(dir)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := s.writeFiles(tmp); err != nil {
		return err
	}
	return swap(tmp, dir, exchange)
}

// Publish is Build followed by Write, without holding the whole site in
// memory: every file is written into the fresh folder by the worker that
// rendered it, as soon as it is rendered, and the folder is swapped in at
// the end exactly as Write does. The returned Site lists every file, with
// Body left nil. `briefcast build` uses it; a server that serves from
// memory uses Build.
func Publish(cfg *config.Config, arts []*articles.Article, tmpl fs.FS, dir string) (s *Site, err error) {
	dir = filepath.Clean(dir)
	tmp, err := tempBeside(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
			s = nil
		}
	}()
	w := &fileWriter{root: tmp}
	s, err = build(cfg, arts, tmpl, w.write)
	if err != nil {
		return nil, err
	}
	return s, swap(tmp, dir, exchange)
}

// tempBeside makes the fresh folder a build is written into, beside dir so
// that the final rename stays on one file system.
func tempBeside(dir string) (string, error) {
	parent, name := filepath.Dir(dir), filepath.Base(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("site: write: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+name+".new-")
	if err != nil {
		return "", fmt.Errorf("site: write: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("site: write: %w", err)
	}
	return tmp, nil
}

// fileWriter writes files under root from many goroutines at once,
// creating each folder the first time a file needs it. Files are not
// synced one by one: what a build promises is atomicity (the swap of the
// finished folder), not that each page survives a power cut, and an fsync
// per file would cost more than the rest of the build. A site lost to a
// crash is rebuilt by the next build.
type fileWriter struct {
	root string
	mu   sync.Mutex
	dirs map[string]bool // relative folders known to exist
}

func (w *fileWriter) write(f *File) error {
	rel, err := relPath(f.Path)
	if err != nil {
		return err
	}
	if err := w.mkdir(path.Dir(rel)); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(w.root, filepath.FromSlash(rel)), f.Body, 0o644); err != nil {
		return fmt.Errorf("site: write %s: %w", f.Path, err)
	}
	return nil
}

// mkdir creates the folder rel and its parents. Two workers may race to
// create the same folder; the loser sees it exist, which is fine.
func (w *fileWriter) mkdir(rel string) error {
	if rel == "." {
		return nil
	}
	w.mu.Lock()
	known := w.dirs[rel]
	w.mu.Unlock()
	if known {
		return nil
	}
	if err := w.mkdir(path.Dir(rel)); err != nil {
		return err
	}
	p := filepath.Join(w.root, filepath.FromSlash(rel))
	if err := os.Mkdir(p, 0o755); err != nil {
		if st, serr := os.Stat(p); serr != nil || !st.IsDir() {
			return fmt.Errorf("site: write: %w", err)
		}
	}
	w.mu.Lock()
	if w.dirs == nil {
		w.dirs = make(map[string]bool)
	}
	w.dirs[rel] = true
	w.mu.Unlock()
	return nil
}

// writeFiles writes every file of s under root on a bounded pool of
// workers.
func (s *Site) writeFiles(root string) error {
	paths := make([]string, 0, len(s.Files))
	for p := range s.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	w := &fileWriter{root: root}
	errs := make([]error, len(paths))
	var failed atomic.Bool
	parallel(len(paths), func(i int) {
		if failed.Load() {
			return
		}
		if errs[i] = w.write(s.Files[paths[i]]); errs[i] != nil {
			failed.Store(true)
		}
	})
	return firstErr(errs)
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// relPath turns a File.Path into a clean relative path, refusing anything
// that could escape the output folder.
func relPath(p string) (string, error) {
	rel := strings.TrimPrefix(p, "/")
	if rel == "" || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") || strings.Contains(rel, "\\") || strings.ContainsRune(rel, 0) {
		return "", fmt.Errorf("site: write: bad file path %q", p)
	}
	return rel, nil
}

// swap puts the finished folder tmp in place of dir. Where the system can
// exchange two folders in one step (Linux), dir is never missing, not even
// for a moment; elsewhere the old output is renamed away, the new one
// renamed in, and the old one removed.
func swap(tmp, dir string, exchange func(a, b string) (bool, error)) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("site: write: %w", err)
		}
		return nil
	} else if err != nil {
		return fmt.Errorf("site: write: %w", err)
	}
	if exchanged, err := exchange(tmp, dir); err != nil {
		return fmt.Errorf("site: write: %w", err)
	} else if exchanged {
		// tmp now holds the old output.
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("site: write: new site is in place, but removing the old one failed: %w", err)
		}
		return nil
	}
	// The old output goes beside it under the temporary folder's unique
	// suffix.
	old := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".old-"+strings.TrimPrefix(filepath.Base(tmp), "."+filepath.Base(dir)+".new-"))
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("site: write: move old output aside: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("site: write: %w (and restoring the old output from %s failed: %v)", err, old, rerr)
		}
		return fmt.Errorf("site: write: %w", err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("site: write: new site is in place, but removing the old one failed: %w", err)
	}
	return nil
}
