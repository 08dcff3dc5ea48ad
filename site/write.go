package site

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
)

// Write publishes the site into dir atomically: everything is written into
// a fresh folder beside dir, which is then swapped in (the old dir is
// renamed away, the new one renamed in, the old one removed). On any error
// the fresh folder is removed and dir is left as it was. Writing a fresh
// folder rather than rewriting files in place is also what keeps a build of
// thousands of pages fast.
func (s *Site) Write(dir string) (err error) {
	dir = filepath.Clean(dir)
	parent, name := filepath.Dir(dir), filepath.Base(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("site: write: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+name+".new-")
	if err != nil {
		return fmt.Errorf("site: write: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("site: write: %w", err)
	}
	if err := s.writeFiles(tmp); err != nil {
		return err
	}
	return swap(tmp, dir, exchange)
}

// writeFiles writes every file under root, folders first, then the files
// on a bounded pool of workers.
func (s *Site) writeFiles(root string) error {
	paths := make([]string, 0, len(s.Files))
	dirs := map[string]bool{}
	for p := range s.Files {
		rel, err := relPath(p)
		if err != nil {
			return err
		}
		paths = append(paths, p)
		for d := path.Dir(rel); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	sort.Strings(paths)
	dl := make([]string, 0, len(dirs))
	for d := range dirs {
		dl = append(dl, d)
	}
	sort.Strings(dl) // a parent sorts before its children
	errs := make([]error, len(dl))
	// Folders of one level do not depend on each other; create them level by
	// level so the pool can share the work.
	byDepth := map[int][]int{}
	maxDepth := 0
	for i, d := range dl {
		n := strings.Count(d, "/")
		byDepth[n] = append(byDepth[n], i)
		maxDepth = max(maxDepth, n)
	}
	for depth := 0; depth <= maxDepth; depth++ {
		level := byDepth[depth]
		parallel(len(level), func(k int) {
			i := level[k]
			if err := os.Mkdir(filepath.Join(root, filepath.FromSlash(dl[i])), 0o755); err != nil {
				errs[i] = fmt.Errorf("site: write: %w", err)
			}
		})
		if err := firstErr(errs); err != nil {
			return err
		}
	}
	ferrs := make([]error, len(paths))
	var failed atomic.Bool
	parallel(len(paths), func(i int) {
		if failed.Load() {
			return
		}
		rel, _ := relPath(paths[i])
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(rel)), s.Files[paths[i]].Body, 0o644); err != nil {
			ferrs[i] = fmt.Errorf("site: write %s: %w", paths[i], err)
			failed.Store(true)
		}
	})
	return firstErr(ferrs)
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
