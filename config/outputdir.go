package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A build replaces output_dir with the site, removing whatever it held, so
// output_dir must be a folder of its own, apart from every folder that
// holds what briefcast reads or keeps.

// outputDirProblems describes every way output_dir collides with another
// folder: being it, containing it, or lying inside it. Paths are compared
// with links resolved.
func (c *Config) outputDirProblems() []string {
	if fi, err := os.Stat(c.Site.OutputDir); err == nil && !fi.IsDir() {
		return []string{fmt.Sprintf("%s is a file, not a folder", c.Site.OutputDir)}
	}
	out := realPath(c.Site.OutputDir)
	var problems []string
	// guard checks output_dir against the folder path that the key name
	// names. With below, output_dir may not lie inside the folder either:
	// folders whose whole tree is read (content, templates) or that hold
	// state get it; the config file's folder, where output_dir lives by
	// default, does not.
	guard := func(name, path string, below bool) {
		if path == "" {
			return
		}
		other := realPath(path)
		switch {
		case out == other:
			problems = append(problems, fmt.Sprintf("%s is the same folder as %s; a build replaces output_dir entirely, so it must be a folder of its own", c.Site.OutputDir, name))
		case within(other, out):
			problems = append(problems, fmt.Sprintf("%s contains %s (%s); a build replaces output_dir entirely, so it must be a folder of its own", c.Site.OutputDir, name, path))
		case below && within(out, other):
			problems = append(problems, fmt.Sprintf("%s lies inside %s (%s); output_dir must be a folder of its own, outside it", c.Site.OutputDir, name, path))
		}
	}
	// The data folder and the database's folder may hold output_dir when
	// they are (or hold) the config file's folder: that is the default
	// layout with the state kept beside config.toml, and output_dir still
	// may not contain them.
	configDir := ""
	if c.Path != "" {
		configDir = filepath.Dir(c.Path)
	}
	state := func(path string) bool {
		return configDir == "" || !within(realPath(configDir), realPath(path))
	}
	guard("site.content_dir", c.Site.ContentDir, true)
	guard("site.templates_dir", c.Site.TemplatesDir, true)
	guard("data_dir", c.DataDir, state(c.DataDir))
	if c.Store.Driver == "sqlite" {
		if f := SQLiteFile(c.Store.DSN); f != "" {
			dir := filepath.Dir(f)
			guard("the folder of store.dsn", dir, state(dir))
		}
	}
	if c.Email.Transport == "file" {
		guard("email.outbox_dir", c.Email.OutboxDir, true)
	}
	if c.Email.DKIM != nil && c.Email.DKIM.PrivateKeyFile != "" {
		guard("the folder of email.dkim.private_key_file", filepath.Dir(c.Email.DKIM.PrivateKeyFile), false)
	}
	guard("the config file's folder", configDir, false)
	return problems
}

// SQLiteFile returns the database file a SQLite DSN names, a path or a
// file: URI, either with optional ?parameters; "" for an in-memory
// database.
func SQLiteFile(dsn string) string {
	p, params, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if p == "" || p == ":memory:" || strings.Contains(params, "mode=memory") {
		return ""
	}
	return p
}

// realPath makes p absolute and resolves the links in the longest part of
// it that exists, so that two names of one folder compare equal even
// before the rest of the path is created.
func realPath(p string) string {
	p, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	rest := ""
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(p, rest)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// within reports whether p is dir or lies inside it; both are clean and
// absolute.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
