// Package templates holds every template briefcast renders, embedded in the
// binary: the site's pages and stylesheet, the digest and confirmation
// emails, and the subscription pages. An operator can override any file by
// placing one with the same name in [site] templates_dir.
package templates

import (
	"embed"
	"errors"
	"io/fs"
	"os"
	"slices"
)

//go:embed *.html *.txt *.css *.js
var embedded embed.FS

// Embedded returns the templates that ship with the binary.
func Embedded() fs.FS { return embedded }

// Load returns the templates with the files of dir, when dir is not empty,
// taking precedence over the embedded ones of the same name.
func Load(dir string) (fs.FS, error) {
	if dir == "" {
		return embedded, nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, errors.New(dir + " is not a folder")
	}
	return overlay{top: os.DirFS(dir), base: embedded}, nil
}

// overlay serves a file from top when it exists there, else from base.
type overlay struct{ top, base fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return o.base.Open(name)
	}
	return f, err
}

// Glob returns the names matching pattern in either layer, sorted.
func (o overlay) Glob(pattern string) ([]string, error) {
	a, err := fs.Glob(o.base, pattern)
	if err != nil {
		return nil, err
	}
	b, err := fs.Glob(o.top, pattern)
	if err != nil {
		return nil, err
	}
	names := append(a, b...)
	slices.Sort(names)
	return slices.Compact(names), nil
}
