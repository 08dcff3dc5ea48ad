package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputDirApart: output_dir is refused when a build replacing it
// would remove, or publish into, a folder briefcast reads or keeps; the
// error names output_dir and the other key.
func TestOutputDirApart(t *testing.T) {
	tests := []struct {
		name  string
		extra string   // TOML after [site]'s title and base_url
		want  []string // in the error, besides "site.output_dir"; none = accepted
	}{
		{"default", ``, nil},
		{"absolute elsewhere", `output_dir = "{{other}}/www"`, nil},
		{"state beside config.toml", "output_dir = \"public\"\n[store]\ndsn = \"briefcast.db\"", nil},
		{"data_dir is the config folder", `data_dir = "."`, nil},
		{"in-memory database", "[store]\ndsn = \"file::memory:?cache=shared\"", nil},

		{"is content_dir", `output_dir = "content"`, []string{"site.content_dir", "same folder"}},
		{"is content_dir, spelt differently", `output_dir = "./content/"`, []string{"site.content_dir"}},
		{"inside content_dir", `output_dir = "content/public"`, []string{"site.content_dir", "lies inside"}},
		{"contains content_dir", "content_dir = \"site/content\"\noutput_dir = \"site\"", []string{"site.content_dir", "contains"}},
		{"is the config folder", `output_dir = "."`, []string{"the config file's folder", "site.content_dir", "data_dir", "store.dsn"}},
		{"contains the config folder", `output_dir = ".."`, []string{"the config file's folder"}},
		{"is data_dir", `output_dir = "data"`, []string{"data_dir", "store.dsn"}},
		{"inside data_dir", `output_dir = "data/www"`, []string{"data_dir", "lies inside"}},
		{"is templates_dir", "templates_dir = \"tpl\"\noutput_dir = \"tpl\"", []string{"site.templates_dir"}},
		{"inside templates_dir", "templates_dir = \"tpl\"\noutput_dir = \"tpl/out\"", []string{"site.templates_dir", "lies inside"}},
		{"is the database folder", "output_dir = \"db\"\n[store]\ndsn = \"db/subs.db\"", []string{"store.dsn"}},
		{"inside the database folder", "output_dir = \"db/www\"\n[store]\ndsn = \"db/subs.db\"", []string{"store.dsn", "lies inside"}},
		{"database folder from a file: URI", "output_dir = \"{{other}}/db\"\n[store]\ndsn = \"file:{{other}}/db/subs.db?_pragma=busy_timeout(1)\"", []string{"store.dsn"}},
		{"is the outbox", "output_dir = \"mail\"\n[email]\noutbox_dir = \"mail\"", []string{"email.outbox_dir"}},
		{"holds the DKIM key", "output_dir = \"keys\"\n[email.dkim]\ndomain = \"example.org\"\nselector = \"s\"\nprivate_key_file = \"keys/dkim.pem\"", []string{"email.dkim.private_key_file"}},
		{"a link to content_dir", `output_dir = "www"`, []string{"site.content_dir", "same folder"}},
		{"an existing file", `output_dir = "notes.txt"`, []string{"is a file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, other := t.TempDir(), t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "content"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(dir, "content"), filepath.Join(dir, "www")); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, dir, "notes.txt", "precious")
			extra := strings.ReplaceAll(tt.extra, "{{other}}", other)
			body := minimal + extra + "\n"
			if strings.HasPrefix(extra, "data_dir") { // a top-level key
				body = extra + "\n" + minimal
			}
			path := mustWrite(t, dir, "config.toml", body)
			_, err := Load(path, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range append([]string{"site.output_dir"}, tt.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

func TestSQLiteFile(t *testing.T) {
	for dsn, want := range map[string]string{
		"/var/lib/b.db":               "/var/lib/b.db",
		"data/b.db":                   "data/b.db",
		"file:data/b.db?_txlock=x":    "data/b.db",
		"file:/srv/b.db":              "/srv/b.db",
		":memory:":                    "",
		"file::memory:?cache=shared":  "",
		"file:mem.db?mode=memory&x=1": "",
	} {
		if got := SQLiteFile(dsn); got != want {
			t.Errorf("SQLiteFile(%q) = %q, want %q", dsn, got, want)
		}
	}
}
