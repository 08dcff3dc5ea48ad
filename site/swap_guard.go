package site

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// MarkerFile is written at the root of every published folder: a build
// replaces the whole folder, so it refuses one without it (see outputTarget).
const MarkerFile = ".briefcast-site"

const markerText = "This folder was published by briefcast. The next build replaces all of it:\n" +
	"do not keep anything else here.\n"

// ErrNotOurs is wrapped by every refusal to replace a folder briefcast did not publish.
var ErrNotOurs = errors.New("not a folder briefcast published")

// The layout every version of briefcast has published, used to recognise
// an output folder written before the marker existed: these names at its
// root, and below them only folders and files of these kinds.
var (
	publishedRootFiles = map[string]bool{"index.html": true, "404.html": true, "feed.xml": true, "atom.xml": true, "feed.json": true}
	publishedRootDirs  = map[string]bool{"articles": true, "tags": true, "assets": true}
	publishedExts      = map[string]bool{".html": true, ".xml": true, ".json": true, ".css": true}
)

// CheckOutput reports, touching nothing, whether a build may publish into
// dir (see Write); errors wrap ErrNotOurs when it holds something else.
func CheckOutput(dir string) error {
	_, err := outputTarget(dir)
	return err
}

// outputTarget returns the folder a build into dir replaces: dir, or the
// folder the link dir points to. It must be missing, empty, marked, or of
// exactly the layout briefcast has always published (before the marker).
func outputTarget(dir string) (string, error) {
	dir = filepath.Clean(dir)
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return dir, nil
	} else if err != nil {
		return "", fmt.Errorf("site: output_dir: %w", err)
	}
	target := dir
	if fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(dir); err != nil {
			return "", fmt.Errorf("site: output_dir %s is a link that cannot be followed (publishing needs the folder it points to to exist): %w", dir, err)
		}
		if fi, err = os.Lstat(target); err != nil {
			return "", fmt.Errorf("site: output_dir %s: %w", dir, err)
		}
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("site: output_dir %s is a file, not a folder: refusing to replace it: %w", target, ErrNotOurs)
	}
	if hasMarker(target) {
		return target, nil
	}
	foreign, err := foreignEntry(target, true)
	if err != nil {
		return "", fmt.Errorf("site: output_dir %s: %w", target, err)
	}
	if foreign != "" {
		return "", fmt.Errorf("site: output_dir %s holds %s, which briefcast did not publish: refusing to replace the folder; move what it holds elsewhere or choose another output_dir: %w", target, foreign, ErrNotOurs)
	}
	return target, nil
}

func hasMarker(dir string) bool {
	fi, err := os.Lstat(filepath.Join(dir, MarkerFile))
	return err == nil && fi.Mode().IsRegular()
}

// foreignEntry returns the first entry of dir (relative, with slashes)
// that briefcast would not have published, or "". With complete, a folder
// that is not empty must hold index.html and feed.xml: a page or two is
// not taken for a site.
func foreignEntry(dir string, complete bool) (string, error) {
	foreign := ""
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !publishedEntry(rel, d) {
			foreign = rel
			return fs.SkipAll
		}
		seen[rel] = true
		return nil
	})
	if err != nil {
		return "", err
	}
	if foreign == "" && complete && len(seen) > 0 && (!seen["index.html"] || !seen["feed.xml"]) {
		return "no index.html and feed.xml (so it is not a site briefcast published)", nil
	}
	return foreign, nil
}

// publishedEntry reports whether rel fits the published layout (never a link).
func publishedEntry(rel string, d fs.DirEntry) bool {
	top := !strings.Contains(rel, "/")
	switch {
	case d.Type().IsDir():
		return !top || publishedRootDirs[rel]
	case d.Type().IsRegular():
		if top {
			return publishedRootFiles[rel]
		}
		return publishedExts[path.Ext(rel)]
	default:
		return false
	}
}

// HasPublishedArticles reports whether the site published in dir has any
// article page, so a build that found none can refuse to replace it.
func HasPublishedArticles(dir string) (bool, error) {
	ents, err := os.ReadDir(filepath.Join(dir, "articles"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("site: output_dir %s: %w", dir, err)
	}
	return len(ents) > 0, nil
}
