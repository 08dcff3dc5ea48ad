package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"briefcast/site"
)

func TestStaticFiles(t *testing.T) {
	e := newEnv(t, "http://example.org/", `[feeds]
websub_hub = "https://hub.example.net/"`)
	st := testSite(1)
	tests := []struct {
		name, method, path string
		status             int
		file               string // site path of the body, "" for none
		ctype              string
		cache              string
	}{
		{"home", "GET", "/", 200, "/index.html", "text/html; charset=utf-8", "public, max-age=60"},
		{"index file", "GET", "/index.html", 200, "/index.html", "text/html; charset=utf-8", "public, max-age=60"},
		{"article folder", "GET", "/articles/first/", 200, "/articles/first/index.html", "text/html; charset=utf-8", "public, max-age=60"},
		{"rss", "GET", "/feed.xml", 200, "/feed.xml", "application/rss+xml; charset=utf-8", "public, max-age=300"},
		{"atom", "GET", "/atom.xml", 200, "/atom.xml", "application/atom+xml; charset=utf-8", "public, max-age=300"},
		{"json feed", "GET", "/feed.json", 200, "/feed.json", "application/feed+json; charset=utf-8", "public, max-age=300"},
		{"tag feed", "GET", "/tags/space/feed.xml", 200, "/tags/space/feed.xml", "application/rss+xml; charset=utf-8", "public, max-age=300"},
		{"stylesheet", "GET", "/assets/style.css", 200, "/assets/style.css", "text/css; charset=utf-8", "public, max-age=3600"},
		{"head", "HEAD", "/feed.xml", 200, "", "application/rss+xml; charset=utf-8", "public, max-age=300"},
		{"unknown", "GET", "/nothing/here", 404, "/404.html", "text/html; charset=utf-8", "no-store"},
		{"unknown head", "HEAD", "/nothing", 404, "", "text/html; charset=utf-8", "no-store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(t, tt.method, tt.path, nil)
			if w.Code != tt.status {
				t.Fatalf("status: got %d, want %d", w.Code, tt.status)
			}
			h := w.Header()
			if got := h.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type: got %q, want %q", got, tt.ctype)
			}
			if got := h.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control: got %q, want %q", got, tt.cache)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff")
			}
			if strings.HasPrefix(tt.ctype, "text/html") && !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("HTML without CSP: %q", h.Get("Content-Security-Policy"))
			}
			if tt.file == "" {
				if w.Body.Len() != 0 {
					t.Errorf("HEAD has a body of %d bytes", w.Body.Len())
				}
			} else if want := st.Files[tt.file].Body; !bytes.Equal(w.Body.Bytes(), want) {
				t.Errorf("body: got %q, want %q", w.Body.String(), want)
			}
			if tt.status == 200 {
				body := st.Files[strings.TrimSuffix(tt.path, "/")+map[bool]string{true: "/index.html"}[strings.HasSuffix(tt.path, "/")]]
				if body != nil {
					sum := sha256.Sum256(body.Body)
					if want := `"` + hex.EncodeToString(sum[:16]) + `"`; h.Get("ETag") != want {
						t.Errorf("ETag: got %q, want %q", h.Get("ETag"), want)
					}
					if want := body.Body; h.Get("Content-Length") != fmt.Sprint(len(want)) {
						t.Errorf("Content-Length: got %q, want %d", h.Get("Content-Length"), len(want))
					}
				}
				if h.Get("Last-Modified") != t0.Add(-59*time.Minute).Format(http.TimeFormat) {
					t.Errorf("Last-Modified: got %q", h.Get("Last-Modified"))
				}
			}
			if strings.Contains(tt.cache, "300") {
				want := `<http://example.org` + tt.path + `>; rel="self", <https://hub.example.net/>; rel="hub"`
				if got := h.Get("Link"); got != want {
					t.Errorf("Link: got %q, want %q", got, want)
				}
			} else if h.Get("Link") != "" {
				t.Errorf("Link on a non-feed: %q", h.Get("Link"))
			}
		})
	}
}

func TestStaticMethodsAndRedirects(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	tests := []struct {
		name, method, path string
		status             int
		header, value      string
	}{
		{"post to a feed", "POST", "/feed.xml", 405, "Allow", "GET, HEAD"},
		{"delete a page", "DELETE", "/", 405, "Allow", "GET, HEAD"},
		{"folder without slash", "GET", "/articles/first", 301, "Location", "/articles/first/"},
		{"post to nowhere", "POST", "/nothing", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(t, tt.method, tt.path, strings.NewReader(""))
			if w.Code != tt.status {
				t.Fatalf("status: got %d, want %d", w.Code, tt.status)
			}
			if tt.header != "" && w.Header().Get(tt.header) != tt.value {
				t.Errorf("%s: got %q, want %q", tt.header, w.Header().Get(tt.header), tt.value)
			}
		})
	}
}

func TestConditionalGet(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	first := e.do(t, "GET", "/feed.xml", nil)
	etag := first.Header().Get("ETag")
	lastMod := first.Header().Get("Last-Modified")
	gzw := e.do(t, "GET", "/feed.xml", nil, "Accept-Encoding", "gzip")
	gzTag := gzw.Header().Get("ETag")
	if gzTag == etag || !strings.HasSuffix(gzTag, `-gz"`) {
		t.Fatalf("gzip ETag %q must differ from %q", gzTag, etag)
	}
	before := t0.Add(-2 * time.Hour).Format(http.TimeFormat)
	tests := []struct {
		name   string
		method string
		hdr    []string
		status int
		enc    string
	}{
		{"etag", "GET", []string{"If-None-Match", etag}, 304, ""},
		{"etag head", "HEAD", []string{"If-None-Match", etag}, 304, ""},
		{"weak form", "GET", []string{"If-None-Match", "W/" + etag}, 304, ""},
		{"in a list", "GET", []string{"If-None-Match", `"aaa", ` + etag + `, "bbb"`}, 304, ""},
		{"star", "GET", []string{"If-None-Match", "*"}, 304, ""},
		{"other etag", "GET", []string{"If-None-Match", `"0123"`}, 200, ""},
		{"unquoted", "GET", []string{"If-None-Match", strings.Trim(etag, `"`)}, 200, ""},
		{"modified since equal", "GET", []string{"If-Modified-Since", lastMod}, 304, ""},
		{"modified since before", "GET", []string{"If-Modified-Since", before}, 200, ""},
		{"bad date", "GET", []string{"If-Modified-Since", "yesterday"}, 200, ""},
		{"etag wins over date", "GET", []string{"If-None-Match", `"0123"`, "If-Modified-Since", lastMod}, 200, ""},
		{"gzip", "GET", []string{"Accept-Encoding", "gzip, deflate, br"}, 200, "gzip"},
		{"gzip refused", "GET", []string{"Accept-Encoding", "gzip;q=0, identity"}, 200, ""},
		{"gzip any", "GET", []string{"Accept-Encoding", "*"}, 200, "gzip"},
		{"gzip etag", "GET", []string{"Accept-Encoding", "gzip", "If-None-Match", gzTag}, 304, ""},
		{"plain etag for gzip", "GET", []string{"Accept-Encoding", "gzip", "If-None-Match", etag}, 200, "gzip"},
		{"gzip etag for identity", "GET", []string{"If-None-Match", gzTag}, 200, ""},
	}
	want := testSite(1).Files["/feed.xml"].Body
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(t, tt.method, "/feed.xml", nil, tt.hdr...)
			if w.Code != tt.status {
				t.Fatalf("status: got %d, want %d", w.Code, tt.status)
			}
			h := w.Header()
			if h.Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary: got %q", h.Get("Vary"))
			}
			if tt.status == 304 {
				if w.Body.Len() != 0 || h.Get("Content-Length") != "" || h.Get("Content-Type") != "" {
					t.Errorf("304 with a body or entity headers: %d bytes, %v", w.Body.Len(), h)
				}
				if h.Get("ETag") == "" {
					t.Errorf("304 without ETag")
				}
				return
			}
			if got := h.Get("Content-Encoding"); got != tt.enc {
				t.Fatalf("Content-Encoding: got %q, want %q", got, tt.enc)
			}
			body := w.Body.Bytes()
			if tt.enc == "gzip" {
				if h.Get("ETag") != gzTag {
					t.Errorf("ETag of the gzip variant: got %q, want %q", h.Get("ETag"), gzTag)
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			} else if h.Get("ETag") != etag {
				t.Errorf("ETag: got %q, want %q", h.Get("ETag"), etag)
			}
			if !bytes.Equal(body, want) {
				t.Errorf("body differs from the feed")
			}
		})
	}
}

// TestConditionalRealClient fetches a feed over real HTTP, parses it with
// gofeed, then asks again with its ETag and gets a 304.
func TestConditionalRealClient(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Uncompressed != true {
		t.Fatalf("first fetch: status %d, transparently gunzipped %v", resp.StatusCode, resp.Uncompressed)
	}
	feed, err := gofeed.NewParser().ParseString(string(body))
	if err != nil {
		t.Fatalf("gofeed: %v", err)
	}
	if len(feed.Items) != 2 {
		t.Errorf("items: got %d, want 2", len(feed.Items))
	}
	req, _ := http.NewRequest("GET", ts.URL+"/feed.xml", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	req.Header.Set("Accept-Encoding", "gzip")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotModified || n != 0 {
		t.Errorf("conditional fetch: got %d with %d bytes, want 304 and none", resp2.StatusCode, n)
	}
}

func TestBasePath(t *testing.T) {
	e := newEnv(t, "https://example.org/news/", "")
	tests := []struct {
		path   string
		status int
	}{
		{"/news/feed.xml", 200},
		{"/news/", 200},
		{"/news/articles/first/", 200},
		{"/news/subscribe", 200},
		{"/feed.xml", 404},
		{"/subscribe", 404},
		{"/healthz", 200},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := e.do(t, "GET", tt.path, nil)
			if w.Code != tt.status {
				t.Fatalf("status: got %d, want %d", w.Code, tt.status)
			}
		})
	}
	w := e.do(t, "GET", "/news/feed.xml", nil)
	if got, want := w.Header().Get("Link"), `<https://example.org/news/feed.xml>; rel="self"`; got != want {
		t.Errorf("Link: got %q, want %q", got, want)
	}
	w = e.do(t, "GET", "/news/subscribe", nil)
	if !strings.Contains(w.Body.String(), `action="/news/subscribe"`) {
		t.Errorf("form does not post under the base path")
	}
}

func TestPathEscapes(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	secret := []byte("Build 1") // in every file of the site
	tests := []string{
		"/../etc/passwd",
		"/%2e%2e/%2e%2e/etc/passwd",
		"/articles/first/../../feed.xml",
		"/./feed.xml",
		"/articles%2ffirst/index.html",
		"/articles%2Ffirst%2F",
		"/assets/..%2f..%2fstyle.css",
		"/assets\\style.css",
		"/%5c..%5cfeed.xml",
		"/feed.xml%00",
		"/%00",
		"//etc/passwd",
	}
	for _, p := range tests {
		t.Run(p, func(t *testing.T) {
			w := e.do(t, "GET", p, nil)
			if w.Code != 400 && w.Code != 404 {
				t.Fatalf("status: got %d, want 400 or 404", w.Code)
			}
			if w.Code == 404 && bytes.Contains(w.Body.Bytes(), []byte("<h1>Page not found</h1>")) {
				return // the site's own 404 page
			}
			if bytes.Contains(w.Body.Bytes(), secret) {
				t.Errorf("served site content for %q", p)
			}
		})
	}
}

// TestAtomicSwap checks that under concurrent rebuilds every response is
// exactly one build's file, with the ETag of those bytes.
func TestAtomicSwap(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	const builds = 20
	sites := make([]*site.Site, builds)
	for i := range sites {
		sites[i] = testSite(i + 1)
	}
	valid := map[string]bool{}
	for _, s := range sites {
		for _, p := range []string{"/feed.xml", "/index.html"} {
			valid[string(s.Files[p].Body)] = true
		}
	}
	// Readers make a fixed number of requests while a writer keeps
	// swapping builds until they are done.
	done := make(chan struct{})
	swaps := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-done:
				swaps <- n
				return
			default:
				e.srv.SetSite(sites[n%builds])
				n++
			}
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				p := []string{"/feed.xml", "/"}[i%2]
				r := httptest.NewRequest("GET", p, nil)
				w := httptest.NewRecorder()
				e.srv.ServeHTTP(w, r)
				body := w.Body.Bytes()
				if !valid[string(body)] {
					t.Errorf("%s: body from no single build: %q", p, body)
					return
				}
				sum := sha256.Sum256(body)
				if want := `"` + hex.EncodeToString(sum[:16]) + `"`; w.Header().Get("ETag") != want {
					t.Errorf("%s: ETag %q does not match the body", p, w.Header().Get("ETag"))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	n := <-swaps
	if n == 0 {
		t.Fatal("no swap happened")
	}
	if e.srv.Site() != sites[(n-1)%builds] {
		t.Errorf("Site() is not the last one set")
	}
}

type feedCounter struct {
	mu   sync.Mutex
	seen []string
}

func (f *feedCounter) FeedRequest(path string, status int) {
	f.mu.Lock()
	f.seen = append(f.seen, fmt.Sprintf("%s %d", path, status))
	f.mu.Unlock()
}

func TestObserver(t *testing.T) {
	obs := &feedCounter{}
	e := newEnv(t, "https://example.org/news/", "", WithObserver(obs))
	w := e.do(t, "GET", "/news/feed.xml", nil)
	e.do(t, "GET", "/news/feed.xml", nil, "If-None-Match", w.Header().Get("ETag"))
	e.do(t, "GET", "/news/", nil)
	e.do(t, "GET", "/news/tags/space/feed.xml", nil)
	want := []string{"/feed.xml 200", "/feed.xml 304", "/tags/space/feed.xml 200"}
	if fmt.Sprint(obs.seen) != fmt.Sprint(want) {
		t.Errorf("observed %v, want %v", obs.seen, want)
	}
}

func TestPingHub(t *testing.T) {
	var mu sync.Mutex
	var pings []string
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		pings = append(pings, r.PostForm.Get("hub.mode")+" "+r.PostForm.Get("hub.url"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hub.Close()
	e := newEnv(t, "https://example.org/news/", fmt.Sprintf("[feeds]\nwebsub_hub = %q", hub.URL))
	old := testSite(1)
	changed := testSite(1)
	changed.Files["/atom.xml"] = &site.File{Path: "/atom.xml", Body: []byte("<feed>changed</feed>")}
	tests := []struct {
		name     string
		old, new *site.Site
		want     []string
	}{
		{"one feed changed", old, changed, []string{"publish https://example.org/news/atom.xml"}},
		{"nothing changed", old, testSite(1), nil},
		{"first build", nil, old, []string{
			"publish https://example.org/news/feed.xml", "publish https://example.org/news/atom.xml",
			"publish https://example.org/news/feed.json", "publish https://example.org/news/tags/space/feed.xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			pings = nil
			mu.Unlock()
			e.srv.PingHub(context.Background(), tt.old, tt.new)
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(pings) != fmt.Sprint(tt.want) {
				t.Errorf("pings: got %v, want %v", pings, tt.want)
			}
		})
	}
	// Without a hub nothing is sent, and nothing fails.
	newEnv(t, "https://example.org/", "").srv.PingHub(context.Background(), old, changed)
}
