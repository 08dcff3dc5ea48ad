package articles

import (
	"cmp"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Load parses every .txt, .md and .markdown file under dir (which may be a
// symbolic link), recursively and in parallel, skipping names starting with
// "." or "_". Only regular files are read, and symbolic links to one inside
// dir that the walk does not read by itself; anything else is skipped with a
// warning to opts.Log. A file over opts.MaxBytes is rejected unread.
//
// Load returns the good articles newest first (ties by Slug; drafts left
// out) and one *Error per rejected file, by path; paths are relative to dir
// with forward slashes. Of articles sharing a slug, the one published first
// (ties: the first path) keeps it. Load never stops at a bad file.
func Load(dir string, opts Options) ([]*Article, []error) {
	_, _, loaded, errs := loadCandidates(dir, opts)
	return resolve(loaded, errs)
}

// loadCandidates reads every article file of dir: the articles parsed
// (without drafts; slugs not yet checked), the files read, and the errors.
func loadCandidates(dir string, opts Options) (*loader, []source, []*Article, []*Error) {
	root, err := filepath.EvalSymlinks(dir)
	if err == nil {
		root, err = filepath.Abs(root)
	}
	if err != nil {
		return nil, nil, nil, []*Error{{Path: filepath.ToSlash(dir), Msg: fmt.Sprintf("cannot read the content folder: %v", unwrapPath(err))}}
	}
	l := &loader{dir: dir, root: root, opts: opts}
	srcs, errs, err := l.walk()
	if err != nil {
		return nil, nil, nil, []*Error{{Path: filepath.ToSlash(dir), Msg: fmt.Sprintf("cannot read the content folder: %v", unwrapPath(err))}}
	}
	results := l.loadAll(srcs)
	var loaded []*Article
	for i := range results {
		r := &results[i]
		switch {
		case r.err != nil:
			errs = append(errs, r.err)
		case r.skip != "":
			l.skipped(srcs[i].rel, r.skip)
		case r.a != nil && !r.a.Draft:
			loaded = append(loaded, r.a)
		}
	}
	return l, srcs, loaded, errs
}

// resolve applies the duplicate-slug rule and sorts articles and errors.
func resolve(loaded []*Article, errs []*Error) ([]*Article, []error) {
	good, dups := firstOfEachSlug(loaded)
	errs = append(errs, dups...)
	sortArticles(good)
	slices.SortStableFunc(errs, func(a, b *Error) int { return strings.Compare(a.Path, b.Path) })
	var out []error
	for _, e := range errs {
		out = append(out, e)
	}
	return good, out
}

// sortArticles sorts arts newest first, ties by slug.
func sortArticles(arts []*Article) {
	slices.SortFunc(arts, func(a, b *Article) int {
		return cmp.Or(b.Published.Compare(a.Published), strings.Compare(a.Slug, b.Slug))
	})
}

// loader is one Load: the content folder as given (for warnings) and resolved.
type loader struct {
	dir  string
	root string // dir with every link resolved, absolute
	opts Options
}

// source is one file the walk found: a regular file or a link to follow.
type source struct {
	rel  string // relative to root, forward slashes
	path string
	link bool
}

// result is what became of one source: an article, an error, or why it was skipped.
type result struct {
	a    *Article
	err  *Error
	skip string
}

// walk lists the regular files and links to read, in path order, and warns
// of the other entries.
func (l *loader) walk() ([]source, []*Error, error) {
	var srcs []source
	var errs []*Error
	err := filepath.WalkDir(l.root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(l.root, p) // p is below root: no error
		rel = filepath.ToSlash(rel)
		if err != nil {
			if p == l.root {
				return err
			}
			errs = append(errs, &Error{Path: rel, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p == l.root {
			return nil
		}
		if hidden(d.Name()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || layoutOf(d.Name()) == "" {
			return nil
		}
		switch t := d.Type(); {
		case t.IsRegular():
			srcs = append(srcs, source{rel: rel, path: p})
		case t&fs.ModeSymlink != 0:
			srcs = append(srcs, source{rel: rel, path: p, link: true})
		default:
			l.skipped(rel, notRegular(t))
		}
		return nil
	})
	return srcs, errs, err
}

// loadAll reads and parses srcs on one worker per core.
func (l *loader) loadAll(srcs []source) []result {
	results := make([]result, len(srcs))
	workers := min(runtime.GOMAXPROCS(0), len(srcs))
	var wg sync.WaitGroup
	jobs := make(chan int, workers)
	for range workers {
		wg.Go(func() {
			w := &loadWorker{l: l, md: &mdState{}}
			for i := range jobs {
				results[i] = w.loadOne(srcs[i])
			}
		})
	}
	for i := range srcs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return results
}

// skipped warns of a file Load leaves out, named as the content folder was given.
func (l *loader) skipped(rel, why string) {
	l.opts.log().Warn("article_skipped", "path", filepath.Join(l.dir, filepath.FromSlash(rel)), "reason", why)
}

// loadWorker holds the buffers one Load worker reuses from file to file; a
// parsed article keeps none of them.
type loadWorker struct {
	l     *loader
	data  []byte
	md    *mdState
	spill []byte // the record of the last article spilled
}

func (w *loadWorker) loadOne(s source) result {
	data, skip, err := w.l.read(s, w.data[:0])
	if err != nil {
		return result{err: err}
	}
	if skip != "" {
		return result{skip: skip}
	}
	w.data = data
	a, perr := parse(s.rel, data, w.l.opts, w.md)
	if perr != nil {
		return result{err: perr.(*Error)} // parse's errors are all *Error
	}
	if sp := w.l.opts.Spill; sp != nil {
		var err error
		if w.spill, err = sp.keep(a, w.spill); err != nil {
			w.l.opts.log().Warn("article_tiers_in_memory", "err", err)
		}
	}
	return result{a: a}
}

// firstOfEachSlug keeps, of the articles sharing a slug, the one published
// first (ties: the first path), so that a new file cannot take a live
// article's address; each other gets an error naming both files.
func firstOfEachSlug(arts []*Article) ([]*Article, []*Error) {
	bySlug := make(map[string]*Article, len(arts))
	for _, a := range arts {
		if have, ok := bySlug[a.Slug]; !ok || cmp.Or(a.Published.Compare(have.Published), strings.Compare(a.Path, have.Path)) < 0 {
			bySlug[a.Slug] = a
		}
	}
	good := make([]*Article, 0, len(bySlug))
	var errs []*Error
	for _, a := range arts {
		kept := bySlug[a.Slug]
		if kept == a {
			good = append(good, a)
			continue
		}
		errs = append(errs, &Error{Path: a.Path, Line: a.slugLine,
			Msg: fmt.Sprintf("duplicate slug %q: %s has it already (published %s); this file is left out",
				a.Slug, kept.Path, kept.Published.Format("2006-01-02 15:04 MST"))})
	}
	return good, errs
}

// hidden reports whether a file or folder name is one Load leaves alone.
func hidden(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// unwrapPath drops the path an *fs.PathError repeats: the Error names the file.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
