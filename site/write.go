package site

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"briefcast/articles"
	"briefcast/editions"
)

// Write publishes the site into dir atomically, through a fresh folder
// (which is also what keeps a build of thousands of pages fast): on any
// error dir is left as it was. Only a folder briefcast published, an empty
// or a missing one is replaced, else the error wraps ErrNotOurs.
func (s *Site) Write(dir string) error {
	_, err := replaceDir(dir, s.writeFiles)
	return err
}

// PublishWithArchive is BuildWithArchive followed by Write without holding
// the site in memory: each file is written as soon as it is rendered, and
// the returned Site lists every file with Body nil.
func PublishWithArchive(opts Options, arts []*articles.Article, tmpl fs.FS, dir string, eds []*editions.Edition) (*Site, error) {
	return publish(opts, arts, tmpl, dir, eds, false)
}

// publish is PublishWithArchive or, with served, PublishServed.
func publish(opts Options, arts []*articles.Article, tmpl fs.FS, dir string, eds []*editions.Edition, served bool) (*Site, error) {
	var s *Site
	target, err := replaceDir(dir, func(tmp string) error {
		w := &fileWriter{root: tmp, served: served}
		var err error
		s, err = build(opts, arts, tmpl, w, eds)
		if werr := w.wait(); err == nil {
			err = werr
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if served {
		s.Dir = target
	}
	return s, nil
}

// replaceDir has fill write a fresh folder, then swaps it in for the folder
// dir names (see outputTarget), which it returns. It first removes what
// killed builds left beside it.
func replaceDir(dir string, fill func(tmp string) error) (string, error) {
	target, err := outputTarget(dir)
	if err != nil {
		return "", err
	}
	removeStale(target)
	tmp, unlock, err := tempBeside(target)
	if err != nil {
		return "", err
	}
	defer unlock()
	if err = fill(tmp); err == nil {
		err = swap(tmp, target, exchange)
	}
	if err != nil {
		os.RemoveAll(tmp)
	}
	return target, err
}

// tempBeside makes the fresh folder a build is written into, beside dir so
// the final rename stays on one file system; locked until unlock, so other
// builds' removeStale leave it alone, and marked as ours from the start, so
// what a killed build leaves is recognised.
func tempBeside(dir string) (tmp string, unlock func(), err error) {
	parent, name := filepath.Dir(dir), filepath.Base(dir)
	if err = os.MkdirAll(parent, 0o755); err == nil {
		tmp, err = os.MkdirTemp(parent, "."+name+".new-")
	}
	if err != nil {
		return "", nil, fmt.Errorf("site: write: %w", err)
	}
	if err = os.Chmod(tmp, 0o755); err != nil {
		err = fmt.Errorf("site: write: %w", err)
	} else if unlock, _, err = lockDir(tmp, true); err == nil {
		if err = os.WriteFile(filepath.Join(tmp, MarkerFile), []byte(markerText), 0o644); err != nil {
			err = fmt.Errorf("site: write: %w", err)
			unlock()
		}
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return tmp, unlock, nil
}

// fileWriter writes files under root from many goroutines. No fsync per
// file: a build promises atomicity (the swap), not that each page survives
// a power cut. Most folders (one per article, in one parent) are made ahead
// by one goroutine (premake) while the workers render: a parent is locked
// while a folder is made in it, so workers would only wait on each other.
type fileWriter struct {
	root   string
	served bool // keep each file's Stored and the hot files' bodies

	mu       sync.Mutex
	dirs     sync.Map      // relative folders known to exist
	made     int           // how many premade folders exist (or were skipped)
	skipped  []bool        // by premade index: left to mkdir; len is how many premake was asked for
	makeErr  error         // why premaking stopped, if it failed
	stop     atomic.Bool   // premaking must stop: the build failed
	madeCond sync.Cond     // signalled as premade folders appear
	done     chan struct{} // closed when premaking ends; nil if it never started
}

// premake starts making the folders dir(0) to dir(n-1) in the background,
// in that order (a parent first); dir returns "" for one to leave to mkdir.
// Call wait before using or removing the folder tree.
func (w *fileWriter) premake(n int, dir func(i int) string) {
	w.madeCond.L = &w.mu
	w.skipped = make([]bool, n)
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		for i := range n {
			var err error
			d := ""
			if w.stop.Load() {
				err = errors.New("site: write: build stopped")
			} else if d = dir(i); d != "" {
				err = mkdirOnce(filepath.Join(w.root, filepath.FromSlash(d)))
			}
			w.mu.Lock()
			if err != nil {
				w.makeErr = err
			} else {
				w.made, w.skipped[i] = i+1, d == ""
			}
			w.madeCond.Broadcast()
			w.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
}

// wait stops premaking, waits for it to end and returns why it failed, if it did.
func (w *fileWriter) wait() error {
	if w.done == nil {
		return nil
	}
	w.stop.Store(true)
	<-w.done
	if w.made == len(w.skipped) {
		return nil
	}
	return w.makeErr
}

// write writes f into the premade folder at index dir (-1: made on demand).
func (w *fileWriter) write(f *File, dir int) (*File, error) {
	rel, err := relPath(f.Path)
	if err != nil {
		return nil, err
	}
	premade, err := w.await(dir)
	if err == nil && !premade {
		err = w.mkdir(path.Dir(rel))
	}
	if err != nil {
		return nil, err
	}
	name := filepath.Join(w.root, filepath.FromSlash(rel))
	if !w.served {
		if err := os.WriteFile(name, f.Body, 0o644); err != nil {
			return nil, fmt.Errorf("site: write %s: %w", f.Path, err)
		}
		return &File{Path: f.Path, ContentType: f.ContentType, Modified: f.Modified}, nil
	}
	file, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	var fi fs.FileInfo
	if err == nil {
		fi, err = fill(file, f.Body)
	}
	if err != nil {
		return nil, fmt.Errorf("site: write %s: %w", f.Path, err)
	}
	return stored(f, ETag(f.Body), fi), nil
}

// fill writes body to the new file f, closes it and returns its state.
func fill(f *os.File, body []byte) (fs.FileInfo, error) {
	_, err := f.Write(body)
	var fi fs.FileInfo
	if err == nil {
		fi, err = f.Stat()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return fi, err
}

// await waits for premaking to pass folder dir and reports whether it made it.
func (w *fileWriter) await(dir int) (bool, error) {
	if dir < 0 {
		return false, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if dir >= len(w.skipped) {
		return false, fmt.Errorf("site: write: no premade folder %d", dir)
	}
	for w.made <= dir && w.makeErr == nil {
		w.madeCond.Wait()
	}
	if w.made > dir {
		return !w.skipped[dir], nil
	}
	return false, w.makeErr
}

// mkdir makes the folder rel and its parents; racing another maker is fine.
func (w *fileWriter) mkdir(rel string) error {
	if _, known := w.dirs.Load(rel); known || rel == "." {
		return nil
	}
	if err := w.mkdir(path.Dir(rel)); err != nil {
		return err
	}
	if err := mkdirOnce(filepath.Join(w.root, filepath.FromSlash(rel))); err != nil {
		return err
	}
	w.dirs.Store(rel, true)
	return nil
}

// mkdirOnce creates the folder p, or finds it made by another worker.
func mkdirOnce(p string) error {
	if err := os.Mkdir(p, 0o755); err != nil {
		if st, serr := os.Stat(p); serr != nil || !st.IsDir() {
			return fmt.Errorf("site: write: %w", err)
		}
	}
	return nil
}

// writeFiles writes every file of s under root, with every folder
// premade, parents first (as a prefix, a parent sorts before its children).
func (s *Site) writeFiles(root string) error {
	paths := slices.Sorted(maps.Keys(s.Files))
	folders := make([]string, len(paths)) // of each file
	all := map[string]bool{}
	for k, p := range paths {
		rel, err := relPath(p)
		if err != nil {
			return err
		}
		folders[k] = path.Dir(rel)
		for d := folders[k]; d != "." && !all[d]; d = path.Dir(d) {
			all[d] = true
		}
	}
	dirs := slices.Sorted(maps.Keys(all))
	w := &fileWriter{root: root}
	w.premake(len(dirs), func(i int) string { return dirs[i] })
	err := runAll(len(paths), func(i int) error {
		dir, found := slices.BinarySearch(dirs, folders[i])
		if !found {
			dir = -1 // the root
		}
		_, err := w.write(s.Files[paths[i]], dir)
		return err
	})
	if werr := w.wait(); err == nil {
		err = werr
	}
	return err
}

// relPath turns a File.Path into a clean relative path that cannot escape.
func relPath(p string) (string, error) {
	rel := strings.TrimPrefix(p, "/")
	if rel == "" || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") || strings.Contains(rel, "\\") || strings.ContainsRune(rel, 0) {
		return "", fmt.Errorf("site: write: bad file path %q", p)
	}
	return rel, nil
}

// swap puts the finished folder tmp in place of dir: exchanged in one step
// where the system can (Linux), so dir is never missing; elsewhere the old
// output is renamed away and the new one renamed in. The old one is removed.
func swap(tmp, dir string, exchange func(a, b string) (bool, error)) error {
	_, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err = os.Rename(tmp, dir); err == nil {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("site: write: %w", err)
	}
	old := tmp // after an exchange, tmp holds the old output
	if exchanged, err := exchange(tmp, dir); err != nil {
		return fmt.Errorf("site: write: %w", err)
	} else if !exchanged {
		// Locked, so that no other build's clean-up takes the old
		// output while it may still have to be put back.
		unlockOld, _, err := lockDir(dir, true)
		if err != nil {
			return fmt.Errorf("site: write: %w", err)
		}
		defer unlockOld()
		old = filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".old-"+strings.TrimPrefix(filepath.Base(tmp), "."+filepath.Base(dir)+".new-"))
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("site: write: move old output aside: %w", err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			if rerr := os.Rename(old, dir); rerr != nil {
				return fmt.Errorf("site: write: %w (and restoring the old output from %s failed: %v)", err, old, rerr)
			}
			return fmt.Errorf("site: write: %w", err)
		}
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("site: write: new site is in place, but removing the old one failed: %w", err)
	}
	return nil
}
