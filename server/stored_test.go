package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"briefcast/articles"
	"briefcast/site"
	"briefcast/templates"
)

// onDisk writes st into a fresh folder and returns it as a site served
// from there, as site.PublishServed makes one: every file with its
// Stored, only the hot ones with their bodies.
func onDisk(t testing.TB, st *site.Site) *site.Site {
	t.Helper()
	dir := t.TempDir()
	out := &site.Site{Files: map[string]*site.File{}, Feeds: st.Feeds, Articles: st.Articles, Dir: dir}
	for p, f := range st.Files {
		name := filepath.Join(dir, filepath.FromSlash(p[1:]))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, f.Body, 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		c := *f
		c.Stored = &site.Stored{ETag: site.ETag(f.Body), Size: fi.Size(), Time: fi.ModTime()}
		if !site.Hot(f) {
			c.Body = nil
		}
		out.Files[p] = &c
	}
	return out
}

// longSite is testSite(1) with an article page long enough to be sent
// compressed.
func longSite() *site.Site {
	st := testSite(1)
	body := fmt.Sprintf(pageBody, 1, "Long", 1)
	body = strings.Replace(body, "</p>", strings.Repeat(" More words of the article.", 40)+"</p>", 1)
	st.Files["/articles/long/index.html"] = &site.File{Path: "/articles/long/index.html", Body: []byte(body),
		ContentType: site.HTMLType, Modified: st.Files["/index.html"].Modified}
	return st
}

// gunzipped is the body of w, decompressed when it was sent gzipped.
func gunzipped(t testing.TB, h http.Header, body []byte) []byte {
	t.Helper()
	if h.Get("Content-Encoding") != "gzip" || len(body) == 0 {
		return body
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A page read from the site's folder is answered exactly as the same page
// kept in memory: status, every header (the compressed length aside: the
// page is compressed as it is sent, at another level), and body.
func TestStoredMatchesMemory(t *testing.T) {
	for _, base := range []string{"/", "/news/"} {
		t.Run(base, func(t *testing.T) { testStoredMatchesMemory(t, base) })
	}
}

func testStoredMatchesMemory(t *testing.T, base string) {
	mem := newEnv(t, "http://example.org"+base, "")
	mem.srv.SetSite(longSite())
	disk := newEnv(t, "http://example.org"+base, "")
	served := onDisk(t, longSite())
	if served.Files["/articles/long/index.html"].Body != nil {
		t.Fatal("the article page is kept in memory")
	}
	disk.srv.SetSite(served)

	tag := `"` + site.ETag(longSite().Files["/articles/long/index.html"].Body) + `"`
	gzTag := strings.TrimSuffix(tag, `"`) + `-gz"`
	mod := longSite().Files["/index.html"].Modified.UTC()
	gz := []string{"Accept-Encoding", "gzip"}
	tests := []struct {
		name, method, path string
		hdr                []string
	}{
		{"folder", "GET", "/articles/long/", nil},
		{"file", "GET", "/articles/long/index.html", nil},
		{"short page", "GET", "/articles/first/", gz},
		{"gzip", "GET", "/articles/long/", gz},
		{"head", "HEAD", "/articles/long/", nil},
		{"head gzip", "HEAD", "/articles/long/", gz},
		{"etag", "GET", "/articles/long/", []string{"If-None-Match", tag}},
		{"weak etag", "GET", "/articles/long/", []string{"If-None-Match", "W/" + tag}},
		{"gzip etag", "GET", "/articles/long/", append([]string{"If-None-Match", gzTag}, gz...)},
		{"gzip etag for identity", "GET", "/articles/long/", []string{"If-None-Match", gzTag}},
		{"plain etag for gzip", "GET", "/articles/long/", append([]string{"If-None-Match", tag}, gz...)},
		{"star", "HEAD", "/articles/long/", []string{"If-None-Match", "*"}},
		{"other etag", "GET", "/articles/long/", []string{"If-None-Match", `"0123"`}},
		{"modified since equal", "GET", "/articles/long/", []string{"If-Modified-Since", mod.Format(http.TimeFormat)}},
		{"modified since before", "GET", "/articles/long/", []string{"If-Modified-Since", mod.Add(-time.Hour).Format(http.TimeFormat)}},
		{"etag wins over date", "GET", "/articles/long/", []string{"If-None-Match", `"0123"`, "If-Modified-Since", mod.Format(http.TimeFormat)}},
		{"range", "GET", "/articles/long/", []string{"Range", "bytes=0-9"}},
		{"range gzip", "GET", "/articles/long/", append([]string{"Range", "bytes=5-"}, gz...)},
		{"without slash", "GET", "/articles/long", nil},
		{"post", "POST", "/articles/long/", nil},
		{"missing", "GET", "/articles/missing/", nil},
		{"hot page", "GET", "/", gz},
		{"outside the base", "GET", "/articles/long/index.html/", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := base + tt.path[1:]
			want := mem.do(t, tt.method, path, nil, tt.hdr...)
			got := disk.do(t, tt.method, path, nil, tt.hdr...)
			if got.Code != want.Code {
				t.Fatalf("status %d, in memory %d", got.Code, want.Code)
			}
			wh, gh := want.Header().Clone(), got.Header().Clone()
			if wh.Get("Content-Encoding") == "gzip" {
				wh.Del("Content-Length")
				gh.Del("Content-Length")
			}
			for _, h := range []http.Header{wh, gh} {
				for k := range h {
					h[k] = slices.Clone(h[k])
				}
			}
			if fmt.Sprint(gh) != fmt.Sprint(wh) {
				t.Errorf("headers\n%v\nin memory\n%v", gh, wh)
			}
			if g, w := gunzipped(t, got.Header(), got.Body.Bytes()), gunzipped(t, want.Header(), want.Body.Bytes()); !bytes.Equal(g, w) {
				t.Errorf("body %q, in memory %q", g, w)
			}
			if cl := got.Header().Get("Content-Length"); cl != "" && tt.method == "GET" && cl != fmt.Sprint(got.Body.Len()) {
				t.Errorf("Content-Length %s for %d bytes", cl, got.Body.Len())
			}
		})
	}
}

// A page removed from the folder by hand answers 404 with the site's 404
// page; one changed by hand is served as it is now, under a tag made from
// its own bytes, never under the tag of the bytes the build wrote.
func TestStoredChangedByHand(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	st := onDisk(t, longSite())
	e.srv.SetSite(st)
	if err := os.Remove(filepath.Join(st.Dir, "articles", "first", "index.html")); err != nil {
		t.Fatal(err)
	}
	w := e.do(t, "GET", "/articles/first/", nil)
	if w.Code != 404 || !strings.Contains(w.Body.String(), "Page not found") {
		t.Errorf("removed page: %d %q", w.Code, w.Body.String())
	}
	if !strings.Contains(e.logs.String(), "site_file_unreadable") {
		t.Errorf("no warning about the missing file:\n%s", e.logs.String())
	}

	changed := []byte(strings.Repeat("<p>Changed by hand.</p>\n", 40))
	name := filepath.Join(st.Dir, "articles", "long", "index.html")
	if err := os.WriteFile(name, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, enc := range []string{"", "gzip"} {
		w := e.do(t, "GET", "/articles/long/", nil, "Accept-Encoding", enc)
		tag := `"` + site.ETag(changed) + `"`
		if enc != "" {
			tag = strings.TrimSuffix(tag, `"`) + `-gz"`
		}
		if body := gunzipped(t, w.Header(), w.Body.Bytes()); w.Code != 200 || !bytes.Equal(body, changed) {
			t.Errorf("%q: changed page: %d %q", enc, w.Code, body)
		}
		if w.Header().Get("ETag") != tag {
			t.Errorf("%q: ETag %s for the changed bytes, want %s", enc, w.Header().Get("ETag"), tag)
		}
	}
}

// servedCorpus is a small site published into a folder and kept up to
// date there by site.Update, as the daemon does.
type servedCorpus struct {
	t    testing.TB
	opts site.Options
	tmpl fs.FS
	arts map[string]*articles.Article // by file name
	site *site.Site
}

func newServedCorpus(t testing.TB, e *env) *servedCorpus {
	t.Helper()
	c := &servedCorpus{t: t, opts: siteOptionsOf(e.cfg), tmpl: templates.Embedded(), arts: map[string]*articles.Article{}}
	for i := range 5 {
		c.arts[fmt.Sprintf("a%d.md", i)] = c.parse(fmt.Sprintf("a%d.md", i), fmt.Sprintf("Story %d", i), i+1, "")
	}
	var err error
	if c.site, err = site.PublishServed(c.opts, c.list(), c.tmpl, filepath.Join(t.TempDir(), "public"), nil); err != nil {
		t.Fatal(err)
	}
	e.srv.SetSite(c.site)
	return c
}

// parse makes the article of file name; text is added to its take.
func (c *servedCorpus) parse(name, title string, day int, text string) *articles.Article {
	c.t.Helper()
	src := fmt.Sprintf("+++\ntitle = %q\ndate = 2026-03-%02dT08:00:00Z\ntags = [\"city\"]\n+++\n\n## 30-Second Take\n- The take of %s.%s\n\n## Full Depth\n### The Catalyst\n%s\n",
		title, day, title, text, strings.Repeat("The whole story, told at length. ", 30))
	a, err := articles.Parse(name, []byte(src), articles.Options{})
	if err != nil {
		c.t.Fatal(err)
	}
	return a
}

func (c *servedCorpus) list() []*articles.Article {
	var out []*articles.Article
	for _, a := range c.arts {
		out = append(out, a)
	}
	return out
}

// update applies the change made to c.arts and serves the result.
func (c *servedCorpus) update(e *env) {
	c.t.Helper()
	next, err := site.Update(c.site, c.opts, c.list(), c.tmpl, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if next.Dir != c.site.Dir {
		c.t.Fatalf("the update is served from %q, the site from %q", next.Dir, c.site.Dir)
	}
	c.site = next
	e.srv.SetSite(next)
}

// An article edited and updated in place is served from its new file
// with a new ETag, and 304 for that tag; a removed article answers 404.
func TestStoredServesUpdates(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	c := newServedCorpus(t, e)
	page := "/articles/" + c.arts["a2.md"].Slug + "/"
	before := e.do(t, "GET", page, nil)
	if before.Code != 200 || c.site.Files[page+"index.html"].Body != nil {
		t.Fatalf("page before the edit: %d, kept in memory %v", before.Code, c.site.Files[page+"index.html"].Body != nil)
	}
	oldTag := before.Header().Get("ETag")

	c.arts["a2.md"] = c.parse("a2.md", "Story 2", 3, " Edited at noon.")
	c.update(e)
	onDisk, err := os.ReadFile(filepath.Join(c.site.Dir, "articles", c.arts["a2.md"].Slug, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	after := e.do(t, "GET", page, nil)
	tag := after.Header().Get("ETag")
	switch {
	case after.Code != 200 || !strings.Contains(after.Body.String(), "Edited at noon."):
		t.Fatalf("edited page: %d, without the edit", after.Code)
	case !bytes.Equal(after.Body.Bytes(), onDisk):
		t.Fatal("the page served is not the file in the folder")
	case tag == oldTag || tag != `"`+site.ETag(onDisk)+`"`:
		t.Fatalf("ETag %s after the edit (before %s), want the new bytes' %s", tag, oldTag, site.ETag(onDisk))
	}
	if w := e.do(t, "GET", page, nil, "If-None-Match", tag); w.Code != 304 {
		t.Errorf("If-None-Match the new tag: %d, want 304", w.Code)
	}
	if w := e.do(t, "GET", page, nil, "If-None-Match", oldTag); w.Code != 200 {
		t.Errorf("If-None-Match the old tag: %d, want 200", w.Code)
	}
	if w := e.do(t, "GET", "/feed.xml", nil); !strings.Contains(w.Body.String(), "Edited at noon.") {
		t.Error("the feed does not carry the edit")
	}

	gone := "/articles/" + c.arts["a4.md"].Slug + "/"
	if w := e.do(t, "GET", gone, nil); w.Code != 200 {
		t.Fatalf("%s before its removal: %d", gone, w.Code)
	}
	delete(c.arts, "a4.md")
	c.update(e)
	if w := e.do(t, "GET", gone, nil); w.Code != 404 {
		t.Errorf("removed article: %d, want 404", w.Code)
	}
	if _, err := os.Stat(filepath.Join(c.site.Dir, strings.Trim(gone, "/"))); !os.IsNotExist(err) {
		t.Errorf("the removed article's folder is still there: %v", err)
	}
}

// Readers on a real connection never see a part of a page, nor a tag that
// names other bytes, while updates rewrite the page they ask for and its
// neighbours.
func TestStoredConcurrentUpdates(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	c := newServedCorpus(t, e)
	addr, stop := e.listen(t)
	defer stop()
	pages := []string{"/", "/feed.xml"}
	for _, a := range c.arts {
		pages = append(pages, "/articles/"+a.Slug+"/")
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				if err := checkResponse(client, "http://"+addr+pages[n%len(pages)], r%2 == 1); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 40 {
		c.arts["a2.md"] = c.parse("a2.md", "Story 2", 3, strings.Repeat(" Edit.", i))
		c.update(e)
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// checkResponse fetches url and checks that the whole body came, as long
// as Content-Length said, under the tag of its bytes.
func checkResponse(client *http.Client, url string, gz bool) error {
	req, _ := http.NewRequest("GET", url, nil)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(raw)) {
		return fmt.Errorf("%s: %d, %d bytes of %d", url, resp.StatusCode, len(raw), resp.ContentLength)
	}
	body := raw
	tag := resp.Header.Get("ETag")
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
		tag = strings.Replace(tag, `-gz"`, `"`, 1)
	}
	if tag != `"`+site.ETag(body)+`"` {
		return fmt.Errorf("%s: ETag %s names other bytes than the %d sent", url, resp.Header.Get("ETag"), len(body))
	}
	if !bytes.HasSuffix(bytes.TrimSpace(body), []byte("</html>")) && !bytes.HasSuffix(bytes.TrimSpace(body), []byte("</rss>")) {
		return fmt.Errorf("%s: a part of a page: %q", url, body[max(0, len(body)-40):])
	}
	return nil
}
