package articles

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Load parses every .txt, .md and .markdown file under dir, recursively,
// skipping hidden files and folders (names starting with "." or "_"), in
// parallel on all cores. It returns the good articles sorted newest first
// (by Published, ties by Slug) and one *Error per rejected file, sorted by
// path. Article paths are relative to dir, with forward slashes. Two or more
// articles with the same slug are all rejected, each error naming the other
// files. Drafts are left out silently. Load never stops at a bad file.
func Load(dir string, opts Options) ([]*Article, []error) {
	var paths []string
	var errs []*Error
	walkErr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		rel := relPath(dir, p)
		if err != nil {
			if p == dir {
				return err
			}
			errs = append(errs, &Error{Path: rel, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p != dir && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() && layoutOf(d.Name()) != layoutNone {
			paths = append(paths, p)
		}
		return nil
	})
	if walkErr != nil {
		return nil, []error{&Error{Path: filepath.ToSlash(dir), Msg: fmt.Sprintf("cannot read the content folder: %v", unwrapPath(walkErr))}}
	}

	results := make([]*Article, len(paths))
	perr := make([]*Error, len(paths))
	workers := min(runtime.GOMAXPROCS(0), len(paths))
	var next sync.WaitGroup
	jobs := make(chan int, workers)
	for range workers {
		next.Go(func() {
			w := &loadWorker{md: &mdState{}}
			for i := range jobs {
				results[i], perr[i] = w.loadOne(dir, paths[i], opts)
			}
		})
	}
	for i := range paths {
		jobs <- i
	}
	close(jobs)
	next.Wait()

	good := make([]*Article, 0, len(results))
	bySlug := make(map[string][]*Article, len(results))
	for i, a := range results {
		if perr[i] != nil {
			errs = append(errs, perr[i])
			continue
		}
		if a == nil || a.Draft {
			continue
		}
		bySlug[a.Slug] = append(bySlug[a.Slug], a)
	}
	for _, a := range results {
		if a == nil || a.Draft {
			continue
		}
		same := bySlug[a.Slug]
		if len(same) == 1 {
			good = append(good, a)
			continue
		}
		var others []string
		for _, o := range same {
			if o != a {
				others = append(others, o.Path)
			}
		}
		sort.Strings(others)
		errs = append(errs, &Error{Path: a.Path, Line: a.slugLine,
			Msg: fmt.Sprintf("duplicate slug %q: also used by %s", a.Slug, strings.Join(others, ", "))})
	}
	sort.Slice(good, func(i, j int) bool {
		if !good[i].Published.Equal(good[j].Published) {
			return good[i].Published.After(good[j].Published)
		}
		return good[i].Slug < good[j].Slug
	})
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	var out []error
	for _, e := range errs {
		out = append(out, e)
	}
	return good, out
}

// loadWorker holds what one Load worker reuses from file to file: the
// read buffer and the Markdown parser's working buffers. A parsed article
// keeps none of them.
type loadWorker struct {
	data []byte
	md   *mdState
}

func (w *loadWorker) loadOne(dir, p string, opts Options) (*Article, *Error) {
	rel := relPath(dir, p)
	data, err := readInto(p, w.data[:0])
	if err != nil {
		return nil, &Error{Path: rel, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))}
	}
	w.data = data
	a, err := parse(rel, data, opts, w.md)
	if err != nil {
		if e, ok := err.(*Error); ok {
			return nil, e
		}
		return nil, &Error{Path: rel, Msg: err.Error()}
	}
	return a, nil
}

func relPath(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		rel = p
	}
	return filepath.ToSlash(rel)
}

// unwrapPath drops the path an *fs.PathError repeats, since the Error
// already names the file.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
