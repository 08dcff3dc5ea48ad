package site

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleAge is how old a temporary folder must be to be removed when no
// lock tells whether a build uses it: one without our marker, or any where
// folders cannot be locked. No build takes this long.
const staleAge = time.Hour

// removeStale removes the temporary folders killed builds left beside target
// (unlocked, and marked or, once old, of published files only). Errors are
// ignored: the next build tries again.
func removeStale(target string) {
	parent, name := filepath.Dir(target), filepath.Base(target)
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() && isTempName(e.Name(), name) {
			removeIfStale(filepath.Join(parent, e.Name()))
		}
	}
}

// isTempName reports whether entry is ".NAME.new-DIGITS" or ".NAME.old-DIGITS".
func isTempName(entry, name string) bool {
	for _, kind := range []string{".new-", ".old-"} {
		rest, ok := strings.CutPrefix(entry, "."+name+kind)
		if ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			return true
		}
	}
	return false
}

func removeIfStale(p string) {
	unlock, locked, err := lockDir(p, false)
	if err != nil || !locked {
		return // gone, or in use by a running build
	}
	defer unlock()
	fi, err := os.Lstat(p)
	if err != nil || !fi.IsDir() {
		return
	}
	old := time.Since(fi.ModTime()) >= staleAge
	marked := hasMarker(p)
	if !old && (!marked || !dirLocks) {
		return // see staleAge
	}
	if !marked {
		if foreign, err := foreignEntry(p, false); err != nil || foreign != "" {
			return
		}
	}
	os.RemoveAll(p)
}
