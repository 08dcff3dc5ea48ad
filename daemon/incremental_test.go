package daemon

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"briefcast/site"
)

// TestWatcherWithoutScheduler: a web-only instance (serve --no-scheduler)
// keeps its content current too.
func TestWatcherWithoutScheduler(t *testing.T) {
	e := mustEnv(t)
	o := e.options()
	o.NoScheduler = true
	d := e.mustDaemon(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := d.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer mustStop(t, d)
	second := strings.Replace(article, "Harbour Lights Switch to LED", "Ferry Timetable Changes", 1)
	if err := os.WriteFile(filepath.Join(e.dir, "content", "ferry.md"), []byte(second), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the new article served by a web-only instance", func() bool {
		_, body := get(t, d, "/feed.xml")
		return strings.Contains(body, "Ferry Timetable Changes")
	})
}

// TestChangedFileByFile: an edit, a broken save and a removal reported by
// the watcher update the site served from the one file each.
func TestChangedFileByFile(t *testing.T) {
	e := mustEnv(t)
	d := e.mustDaemon(t, e.options())
	ctx := context.Background()
	path := filepath.Join(e.dir, "content", "ferry.md")
	second := strings.Replace(article, "Harbour Lights Switch to LED", "Ferry Timetable Changes", 1)
	if err := os.WriteFile(path, []byte(second), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.changed(ctx, []string{path}); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, d, "/feed.xml"); !strings.Contains(body, "Ferry Timetable Changes") {
		t.Fatalf("feed after adding ferry.md lacks it:\n%s", body)
	}
	if err := os.WriteFile(path, []byte("+++\ntitle = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.changed(ctx, []string{path}); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, d, "/feed.xml"); !strings.Contains(body, "Ferry Timetable Changes") {
		t.Fatalf("a broken save dropped the last good version:\n%s", body)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := d.changed(ctx, []string{path}); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, d, "/feed.xml"); strings.Contains(body, "Ferry Timetable Changes") {
		t.Fatalf("feed still lists the removed article:\n%s", body)
	}
	if n := len(d.cur.Load().srv.Site().Articles); n != 1 {
		t.Fatalf("%d articles served, want 1", n)
	}
}

// TestChangedWritesServedFolder: an edit is written into output_dir in
// place, before changed returns (no background copy of the whole site):
// the folder stays the same folder, the new page is in it, and the page
// served is that file, under its bytes' tag.
func TestChangedWritesServedFolder(t *testing.T) {
	e := mustEnv(t)
	d := e.mustDaemon(t, e.options())
	out := d.Config().Site.OutputDir
	before, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.dir, "content", "ferry.md")
	second := strings.Replace(article, "Harbour Lights Switch to LED", "Ferry Timetable Changes", 1)
	if err := os.WriteFile(path, []byte(second), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.changed(context.Background(), []string{path}); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, "articles", "ferry-timetable-changes", "index.html"))
	if err != nil {
		t.Fatalf("the new page is not in %s when changed returns: %v", out, err)
	}
	after, err := os.Stat(out)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("%s was replaced as a whole (%v), not updated in place", out, err)
	}
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest("GET", "/articles/ferry-timetable-changes/", nil))
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), page) || rec.Header().Get("ETag") != `"`+site.ETag(page)+`"` {
		t.Fatalf("served %d, %d bytes, ETag %s; the file has %d bytes", rec.Code, rec.Body.Len(), rec.Header().Get("ETag"), len(page))
	}
	if st := d.cur.Load().srv.Site(); st.Dir == "" || st.Files["/articles/ferry-timetable-changes/index.html"].Body != nil {
		t.Fatal("the article page is kept in memory")
	}
}

// TestServesFromMemoryWhenOutputUnwritable: when output_dir cannot be
// written, serve builds the site in memory and serves it from there, with
// a warning, and edits still reach it.
func TestServesFromMemoryWhenOutputUnwritable(t *testing.T) {
	e := mustEnv(t)
	blocker := filepath.Join(e.dir, "not-a-folder")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(cfg), "[site]\n", "[site]\noutput_dir = \""+filepath.ToSlash(filepath.Join(blocker, "public"))+"\"\n", 1)
	if err := os.WriteFile(e.cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	d := e.mustDaemon(t, e.options())
	if st := d.cur.Load().srv.Site(); st.Dir != "" {
		t.Fatalf("served from %s", st.Dir)
	}
	if !strings.Contains(e.logs.String(), "site_write_failed") {
		t.Errorf("no warning:\n%s", e.logs.String())
	}
	if code, body := get(t, d, "/articles/harbour-lights-switch-to-led/"); code != 200 || !strings.Contains(body, "Harbour Lights") {
		t.Fatalf("article page from memory: %d", code)
	}
	path := filepath.Join(e.dir, "content", "ferry.md")
	if err := os.WriteFile(path, []byte(strings.Replace(article, "Harbour Lights Switch to LED", "Ferry Timetable Changes", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.changed(context.Background(), []string{path}); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, d, "/articles/ferry-timetable-changes/"); code != 200 {
		t.Fatalf("edited site from memory: %d", code)
	}
}
