package articles

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Set is the articles of a content folder kept between changes: Reload
// reads only the file that changed, with Load's checks, and Articles applies
// the duplicate-slug rule to the whole set. An unchanged file keeps its *Article.
//
// A file that stops parsing keeps its last good article (the site must not
// lose an article saved half-edited) unless another file has taken its slug;
// its error is reported until it parses again or goes.
type Set struct {
	l     *loader
	cands map[string]*Article // by path: every article parsed, drafts left out
	stale map[string]*Article // by path: the last good article of a file that is now rejected
	errs  map[string]*Error   // by path
	links map[string][]string // target path → the links that lead to it
	fatal *Error              // the content folder itself could not be read
}

// NewSet loads dir as Load does and keeps what it read for Reload.
func NewSet(dir string, opts Options) *Set {
	l, srcs, loaded, errs := loadCandidates(dir, opts)
	s := &Set{l: l, cands: map[string]*Article{}, stale: map[string]*Article{}, errs: map[string]*Error{}, links: map[string][]string{}}
	if l == nil {
		s.fatal = errs[0]
		return s
	}
	for _, a := range loaded {
		s.cands[a.Path] = a
	}
	for _, e := range errs {
		s.errs[e.Path] = e
	}
	for _, src := range srcs {
		if src.link {
			s.noteLink(src)
		}
	}
	return s
}

// Articles returns the good articles, newest first, and one error per
// rejected file, by path, as Load would for the folder as it is now.
func (s *Set) Articles() ([]*Article, []error) {
	if s.fatal != nil {
		return nil, []error{s.fatal}
	}
	// resolve's order depends on neither slice's: every file has one path.
	good, out := resolve(slices.Collect(maps.Values(s.cands)), slices.Collect(maps.Values(s.errs)))
	return s.withStale(good), out
}

// withStale adds the last good article of each rejected file whose slug is free.
func (s *Set) withStale(good []*Article) []*Article {
	if len(s.stale) == 0 {
		return good
	}
	taken := make(map[string]bool, len(good))
	for _, a := range good {
		taken[a.Slug] = true
	}
	for _, p := range slices.Sorted(maps.Keys(s.stale)) {
		if a := s.stale[p]; !taken[a.Slug] {
			good = append(good, a)
			taken[a.Slug] = true
		}
	}
	sortArticles(good)
	return good
}

// ErrNeedsLoad is Reload's answer to a folder added, removed or renamed: make a new Set.
var ErrNeedsLoad = errors.New("articles: a folder changed; load the whole content folder again")

// Reload reads the file at name (inside the content folder, as a watcher
// reports it) again: a new, changed or removed article. A name that is no
// article file changes nothing, unless a symbolic link leads to it. The
// error is the file's *Error when it is rejected, or ErrNeedsLoad.
func (s *Set) Reload(name string) error {
	if s.fatal != nil {
		return ErrNeedsLoad
	}
	rel, ok := s.rel(name)
	if !ok {
		return nil
	}
	var first error
	for _, name := range append(slices.Clone(s.links[rel]), rel) { // the links first
		if err := s.reloadOne(name); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// rel is name relative to the content folder, with forward slashes.
func (s *Set) rel(name string) (string, bool) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", false
	}
	for _, dir := range []string{s.l.dir, s.l.root} {
		d, err := filepath.Abs(dir)
		if err != nil {
			continue
		}
		if r, err := filepath.Rel(d, abs); err == nil && r != "." && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(r), true
		}
	}
	return "", false
}

func (s *Set) reloadOne(rel string) error {
	p := filepath.Join(s.l.root, filepath.FromSlash(rel))
	fi, err := os.Lstat(p)
	if err == nil && fi.IsDir() {
		if walked(rel + "/x.md") {
			return ErrNeedsLoad
		}
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) && s.holdsFolder(rel) {
		return ErrNeedsLoad
	}
	if !walked(rel) {
		return nil
	}
	s.forget(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			delete(s.stale, rel)
			return nil
		}
		r := result{err: &Error{Path: rel, Msg: "cannot read: " + unwrapPath(err).Error()}}
		return s.note(rel, r)
	}
	src := source{rel: rel, path: p}
	switch t := fi.Mode().Type(); {
	case t.IsRegular():
	case t&fs.ModeSymlink != 0:
		src.link = true
		s.noteLink(src)
	default:
		return s.note(rel, result{skip: notRegular(t)})
	}
	// One article alone: its strings are packed at their size (see compact).
	w := &loadWorker{l: s.l, md: &mdState{pack: textPack{exact: true}}}
	return s.note(rel, w.loadOne(src))
}

// note records what reading the file at rel gave. A rejected file's last
// good article stays in stale.
func (s *Set) note(rel string, r result) error {
	switch {
	case r.err != nil:
		s.errs[rel] = r.err
		return r.err
	case r.skip != "":
		s.l.skipped(rel, r.skip)
	case r.a != nil && !r.a.Draft:
		s.cands[rel] = r.a
	}
	delete(s.stale, rel)
	return nil
}

// forget drops what the set knew of the file at rel before reading it
// again; its last good article moves to stale until the read says more.
func (s *Set) forget(rel string) {
	if a := s.cands[rel]; a != nil {
		s.stale[rel] = a
	}
	delete(s.cands, rel)
	delete(s.errs, rel)
	for target, links := range s.links {
		s.links[target] = slices.DeleteFunc(links, func(l string) bool { return l == rel })
	}
}

// holdsFolder reports whether the set knows files below rel (a folder that went away).
func (s *Set) holdsFolder(rel string) bool {
	prefix := rel + "/"
	return keyUnder(s.cands, prefix) || keyUnder(s.stale, prefix) || keyUnder(s.errs, prefix)
}

func keyUnder[V any](m map[string]V, prefix string) bool {
	for p := range m {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// noteLink records where the link src leads, so a change there reads it again.
func (s *Set) noteLink(src source) {
	target, err := filepath.EvalSymlinks(src.path)
	if err != nil {
		return
	}
	r, err := filepath.Rel(s.l.root, target)
	if err != nil || strings.HasPrefix(r, "..") {
		return
	}
	r = filepath.ToSlash(r)
	s.links[r] = append(s.links[r], src.rel)
}
