package daemon

import (
	"context"
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
