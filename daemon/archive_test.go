package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// When a digest run finishes its edition, the served site gets the
// edition's archive page and the digest's archive feeds, without waiting
// for the next rebuild.
func TestEditionFinishedRefreshesArchive(t *testing.T) {
	e := mustEnv(t)
	d := e.mustDaemon(t, e.options())
	defer d.close()
	g := d.cur.Load()
	dg := g.cfg.Digests[0]
	if _, ok := g.srv.Site().Files["/digests/daily/index.html"]; ok {
		t.Fatal("an archive before any edition")
	}
	cutoff := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	if err := d.runDigest(context.Background(), dg, cutoff); err != nil {
		t.Fatal(err)
	}
	eds, err := d.store.Editions(context.Background(), "daily", 0)
	if err != nil || len(eds) != 1 || eds[0].FinishedAt.IsZero() {
		t.Fatalf("editions %v, %v", eds, err)
	}
	s := d.cur.Load().srv.Site()
	page, ok := s.Files["/digests/daily/"+eds[0].Key+"/index.html"]
	if !ok {
		t.Fatalf("no archive page for edition %s; logs:\n%s", eds[0].Key, e.logs.String())
	}
	if s.Dir == "" || page.Stored == nil {
		t.Errorf("the site is not served from its folder (%q)", s.Dir)
	}
	if code, body := get(t, d, "/digests/daily/"+eds[0].Key+"/"); code != 200 || !strings.Contains(body, "Harbour Lights Switch to LED") {
		t.Error("the archive page lacks the edition's article")
	}
	if _, ok := s.Files["/digests/daily/feed.xml"]; !ok {
		t.Error("no archive feed")
	}
}

// A daemon started after an edition serves its archive page at once; one
// whose archive templates cannot render still starts, serving the site
// without the archive, and says why.
func TestStartWithArchive(t *testing.T) {
	e := mustEnv(t)
	d := e.mustDaemon(t, e.options())
	if err := d.runDigest(context.Background(), d.cur.Load().cfg.Digests[0], time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	eds, err := d.store.Editions(context.Background(), "daily", 0)
	if err != nil || len(eds) != 1 {
		t.Fatalf("editions %v, %v", eds, err)
	}
	d.close()
	page := "/digests/daily/" + eds[0].Key + "/"

	d = e.mustDaemon(t, e.options())
	if code, body := get(t, d, page); code != 200 || !strings.Contains(body, "Harbour Lights Switch to LED") {
		t.Fatalf("restarted: %s answers %d", page, code)
	}
	d.close()

	tmpl := filepath.Join(e.dir, "tmpl")
	if err := os.MkdirAll(tmpl, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmpl, "archive_edition.html"), []byte(`{{define "content"}}{{.NoSuchField}}{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("[site]\n"), []byte("[site]\ntemplates_dir = \"tmpl\"\n"), 1)
	if err := os.WriteFile(e.cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	d = e.mustDaemon(t, e.options())
	if code, _ := get(t, d, "/"); code != 200 {
		t.Fatalf("with a broken archive template the front page answers %d", code)
	}
	if code, _ := get(t, d, page); code != 404 {
		t.Errorf("with a broken archive template %s answers %d", page, code)
	}
	if !strings.Contains(e.logs.String(), "digest_archive_failed") {
		t.Errorf("no digest_archive_failed in the logs:\n%s", e.logs.String())
	}
}
