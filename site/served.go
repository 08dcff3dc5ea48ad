package site

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"briefcast/articles"
	"briefcast/editions"
	"briefcast/feeds"
	"briefcast/links"
)

// Stored is what a server needs to serve a file from the site's folder; its
// size and time tell whether the copy there is still the one tagged.
type Stored struct {
	ETag string    // ETag of the bytes written
	Size int64     // bytes written
	Time time.Time // the file's modification time once written
}

// Same reports whether fi, the file at the path now, is the copy written.
func (s *Stored) Same(fi fs.FileInfo) bool {
	return fi.Size() == s.Size && fi.ModTime().Equal(s.Time)
}

// ETag is the entity tag of a file's bytes, without quotes: the first 16
// bytes of their SHA-256 in hex, so an unchanged file keeps it.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:16])
}

// Hot reports whether a server keeps f's bytes in memory: what readers poll
// and the small files every page asks for, not the rarely asked bulk.
func Hot(f *File) bool {
	switch f.ContentType {
	case feeds.RSSType, feeds.AtomType, feeds.JSONType:
		return true
	case HTMLType:
		return f.Path == "/index.html" || f.Path == "/404.html" || f.Path == "/"+links.TagsDir+"index.html"
	}
	return !strings.HasPrefix(f.Path, "/articles/") // lead images live beside their pages
}

// PublishServed is PublishWithArchive for a server serving from dir: every
// file carries its Stored, only the hot ones (see Hot) keep their Body,
// and Update writes what it changes into dir in place.
func PublishServed(opts Options, arts []*articles.Article, tmpl fs.FS, dir string, eds []*editions.Edition) (*Site, error) {
	return publish(opts, arts, tmpl, dir, eds, true)
}

// stored is what a served site keeps of f, just written with state fi.
func stored(f *File, tag string, fi fs.FileInfo) *File {
	c := &File{Path: f.Path, ContentType: f.ContentType, Modified: f.Modified,
		Stored: &Stored{ETag: tag, Size: fi.Size(), Time: fi.ModTime()}}
	if Hot(f) {
		c.Body = bytes.Clone(f.Body)
	}
	return c
}

// writeLive writes the changed files an update made into s.Dir, the marked
// folder being served, and removes those it dropped. Each is renamed over
// the old, so a reader gets the old bytes or the new, never a part.
func (s *Site) writeLive(prev *Site, made [][]*File, removed map[string]bool) error {
	root, err := os.OpenRoot(s.Dir)
	if err != nil {
		return fmt.Errorf("site: write %s: %w", s.Dir, err)
	}
	defer root.Close()
	if fi, err := root.Lstat(MarkerFile); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("site: write %s: the folder no longer carries %s: %w", s.Dir, MarkerFile, ErrNotOurs)
	}
	for _, f := range slices.Concat(made...) {
		if f.Body == nil {
			continue
		}
		tag := ETag(f.Body)
		if old := prev.Files[f.Path]; old != nil && old.Stored != nil && old.Stored.ETag == tag {
			c := *old
			c.Modified, c.Body = f.Modified, nil
			if Hot(f) {
				c.Body = f.Body
			}
			s.Files[f.Path] = &c
			continue
		}
		rel, err := relPath(f.Path)
		if err != nil {
			return err
		}
		fi, err := replaceFile(root, rel, f.Body)
		if err != nil {
			return fmt.Errorf("site: write %s: %w", f.Path, err)
		}
		s.Files[f.Path] = stored(f, tag, fi)
	}
	for p := range removed {
		if s.Files[p] != nil {
			continue
		}
		rel, err := relPath(p)
		if err != nil {
			continue
		}
		if err := root.Remove(rel); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("site: remove %s: %w", p, err)
		}
		// The page's folder goes too once empty (Remove refuses one that is not).
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			if root.Remove(d) != nil {
				break
			}
		}
	}
	return nil
}

// replaceFile writes body to rel under root by renaming a new file over it.
func replaceFile(root *os.Root, rel string, body []byte) (fs.FileInfo, error) {
	if err := root.MkdirAll(path.Dir(rel), 0o755); err != nil {
		return nil, err
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	tmp := path.Join(path.Dir(rel), "."+path.Base(rel)+".tmp-"+hex.EncodeToString(suffix[:]))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := fill(f, body)
	if err == nil {
		err = root.Rename(tmp, rel)
	}
	if err != nil {
		root.Remove(tmp)
		return nil, err
	}
	return fi, nil
}
