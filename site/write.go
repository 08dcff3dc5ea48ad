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
	"briefcast/editions"
)

// Write publishes the site into dir atomically: everything is written into
// a fresh folder beside dir, which is then swapped in (in one step on
// Linux; elsewhere the old dir is renamed away, the new one renamed in) and
// the old output removed. On any error the fresh folder is removed and dir
// is left as it was. Writing a fresh folder rather than rewriting files in
// place is also what keeps a build of thousands of pages fast.
//
// Only a folder that briefcast published (it carries MarkerFile), an empty
// one or a missing one is replaced; anything else is refused, wrapping
// ErrNotOurs, before anything is written. When dir is a link, the folder
// it points to is replaced and the link kept. Temporary folders that
// killed builds left beside the output are removed first.
func (s *Site) Write(dir string) error {
	target, err := prepareOutput(dir)
	if err != nil {
		return err
	}
	return replaceDir(target, s.writeFiles)
}

// PublishWithArchive is BuildWithArchive followed by Write, without
// holding the whole site in memory: every file is written into the fresh
// folder by the worker that rendered it, as soon as it is rendered, and
// the folder is swapped in at the end exactly as Write does (and refused
// where Write refuses). The returned Site lists every file, with Body left
// nil. `briefcast build` uses it; a server uses PublishServed, which keeps
// what it serves from.
func PublishWithArchive(opts Options, arts []*articles.Article, tmpl fs.FS, dir string, eds []*editions.Edition) (*Site, error) {
	return publish(opts, arts, tmpl, dir, eds, false)
}

// publish is PublishWithArchive or, with served, PublishServed.
func publish(opts Options, arts []*articles.Article, tmpl fs.FS, dir string, eds []*editions.Edition, served bool) (*Site, error) {
	target, err := prepareOutput(dir)
	if err != nil {
		return nil, err
	}
	var s *Site
	err = replaceDir(target, func(tmp string) error {
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

// replaceDir has fill write a fresh folder beside target, then swaps it in
// for target. After an error the fresh folder is removed.
func replaceDir(target string, fill func(tmp string) error) error {
	tmp, unlock, err := tempBeside(target)
	if err != nil {
		return err
	}
	defer unlock()
	if err = fill(tmp); err == nil {
		err = swap(tmp, target, exchange)
	}
	if err != nil {
		os.RemoveAll(tmp)
	}
	return err
}

// prepareOutput checks that dir may be replaced, returns the folder to
// replace (dir, or the target of the link dir) and removes what killed
// builds left beside it.
func prepareOutput(dir string) (string, error) {
	target, err := outputTarget(dir)
	if err != nil {
		return "", err
	}
	removeStale(target)
	return target, nil
}

// tempBeside makes the fresh folder a build is written into, beside dir so
// that the final rename stays on one file system. The folder is locked
// until unlock is called, so that another build's removeStale leaves it
// alone, and marked as ours from the start, so that what a killed build
// leaves is recognised as such.
func tempBeside(dir string) (tmp string, unlock func(), err error) {
	parent, name := filepath.Dir(dir), filepath.Base(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", nil, fmt.Errorf("site: write: %w", err)
	}
	tmp, err = os.MkdirTemp(parent, "."+name+".new-")
	if err != nil {
		return "", nil, fmt.Errorf("site: write: %w", err)
	}
	unlock = func() {}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
			unlock()
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", nil, fmt.Errorf("site: write: %w", err)
	}
	if unlock, _, err = lockDir(tmp, true); err != nil {
		unlock = func() {}
		return "", nil, err
	}
	if err := writeMarker(tmp); err != nil {
		return "", nil, err
	}
	return tmp, unlock, nil
}

// fileWriter writes files under root from many goroutines at once,
// creating each folder the first time a file needs it. Files are not
// synced one by one: what a build promises is atomicity (the swap of the
// finished folder), not that each page survives a power cut, and an fsync
// per file would cost more than the rest of the build. A site lost to a
// crash is rebuilt by the next build.
//
// Most of a build's folders (one per article, all in one parent) are made
// ahead by one goroutine of their own, started by premake, while the
// workers render: a folder's parent is locked while a folder is created in
// it, so workers creating folders side by side would only wait on each
// other (spinning, on Linux), and the file system's cost of making a
// folder is paid beside the rendering instead of in its way. A worker
// whose page needs a folder not made yet waits for it.
type fileWriter struct {
	root   string
	served bool // keep each file's Stored and the hot files' bodies

	mu       sync.Mutex
	dirs     map[string]bool // relative folders known to exist
	premade  int             // how many folders premake was asked for
	made     int             // how many of them exist (or were skipped)
	skipped  map[int]bool    // premade indexes left to mkdir
	makeErr  error           // why premaking stopped, if it failed
	stop     bool            // premaking must stop: the build failed
	madeCond sync.Cond       // signalled as premade folders appear
	done     chan struct{}   // closed when premaking ends; nil if it never started
}

// premake starts making the folders dir(0) to dir(n-1) (relative, each
// after its parent, whose own parent must exist) in that order, in the
// background. dir returns "" for a folder to leave to mkdir. Call wait
// before using or removing the folder tree.
func (w *fileWriter) premake(n int, dir func(i int) string) {
	w.mu.Lock()
	w.madeCond.L = &w.mu
	w.premade = n
	w.done = make(chan struct{})
	w.mu.Unlock()
	go func() {
		defer close(w.done)
		for i := range n {
			w.mu.Lock()
			stop := w.stop
			w.mu.Unlock()
			var err error
			d := ""
			if stop {
				err = errors.New("site: write: build stopped")
			} else if d = dir(i); d != "" {
				err = mkdirOnce(filepath.Join(w.root, filepath.FromSlash(d)))
			}
			w.mu.Lock()
			if err != nil {
				w.makeErr = err
			} else {
				w.made = i + 1
				if d == "" {
					if w.skipped == nil {
						w.skipped = make(map[int]bool)
					}
					w.skipped[i] = true
				}
			}
			w.madeCond.Broadcast()
			w.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
}

// wait stops premaking if it is still going, waits for it to end and
// returns why it failed, if it did. Files already written are unaffected.
func (w *fileWriter) wait() error {
	if w.done == nil {
		return nil
	}
	w.mu.Lock()
	w.stop = true
	w.mu.Unlock()
	<-w.done
	if w.made == w.premade {
		return nil
	}
	return w.makeErr
}

// write writes f and returns what the site keeps of it: its path, type
// and date, and for a served site its Stored and, when hot, its body. dir
// is the index of the premade folder it goes in, to wait for, or -1 when
// its folder is made on demand.
func (w *fileWriter) write(f *File, dir int) (*File, error) {
	rel, err := relPath(f.Path)
	if err != nil {
		return nil, err
	}
	premade, err := w.await(dir)
	if err != nil {
		return nil, err
	}
	if !premade {
		if err := w.mkdir(path.Dir(rel)); err != nil {
			return nil, err
		}
	}
	name := filepath.Join(w.root, filepath.FromSlash(rel))
	if !w.served {
		if err := os.WriteFile(name, f.Body, 0o644); err != nil {
			return nil, fmt.Errorf("site: write %s: %w", f.Path, err)
		}
		return &File{Path: f.Path, ContentType: f.ContentType, Modified: f.Modified}, nil
	}
	fi, err := writeStat(name, f.Body)
	if err != nil {
		return nil, fmt.Errorf("site: write %s: %w", f.Path, err)
	}
	return stored(f, ETag(f.Body), fi), nil
}

// writeStat writes body to the new file name and returns its state.
func writeStat(name string, body []byte) (fs.FileInfo, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return fill(f, body)
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

// await waits, when dir is not -1, until premaking has passed the folder
// at index dir, and reports whether it made it (rather than leave it to
// mkdir).
func (w *fileWriter) await(dir int) (bool, error) {
	if dir < 0 {
		return false, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if dir >= w.premade {
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

// mkdir makes sure the folder rel and its parents exist, for a file not in
// a premade folder. A premade folder that mkdir meets as a parent is found
// to exist (or made, if premaking has not reached it), which is fine, as
// is two workers racing to create the same folder: the loser sees it
// exist.
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
	if err := mkdirOnce(filepath.Join(w.root, filepath.FromSlash(rel))); err != nil {
		return err
	}
	w.mu.Lock()
	if w.dirs == nil {
		w.dirs = make(map[string]bool)
	}
	w.dirs[rel] = true
	w.mu.Unlock()
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

// writeFiles writes every file of s under root on a bounded pool of
// workers, with every folder premade.
func (s *Site) writeFiles(root string) error {
	paths := make([]string, 0, len(s.Files))
	for p := range s.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var dirs []string
	index := map[string]int{".": -1}
	in := make([]int, len(paths)) // index of each file's folder in dirs
	var add func(d string) int
	add = func(d string) int {
		if i, ok := index[d]; ok {
			return i
		}
		add(path.Dir(d))
		index[d] = len(dirs)
		dirs = append(dirs, d)
		return index[d]
	}
	for k, p := range paths {
		rel, err := relPath(p)
		if err != nil {
			return err
		}
		in[k] = add(path.Dir(rel))
	}
	w := &fileWriter{root: root}
	w.premake(len(dirs), func(i int) string { return dirs[i] })
	errs := make([]error, len(paths))
	var failed atomic.Bool
	parallel(len(paths), func(i int) {
		if failed.Load() {
			return
		}
		if _, errs[i] = w.write(s.Files[paths[i]], in[i]); errs[i] != nil {
			failed.Store(true)
		}
	})
	werr := w.wait()
	if err := firstErr(errs); err != nil {
		return err
	}
	return werr
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
	// suffix, locked so that no other build's clean-up takes it while it
	// may still have to be put back.
	unlockOld, _, err := lockDir(dir, true)
	if err != nil {
		return fmt.Errorf("site: write: %w", err)
	}
	defer unlockOld()
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
