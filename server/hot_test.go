package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

func TestParseHot(t *testing.T) {
	const hot = "GET /feed.xml HTTP/1.1\r\nHost: example.org\r\nIf-None-Match: \"abc\"\r\n\r\n"
	for _, tc := range []struct {
		name, req string
		want      hotVerdict
		path, inm string
	}{
		{"hot", hot, hotAnswer, "/feed.xml", `"abc"`},
		{"hot, then more", hot + "GET /", hotAnswer, "/feed.xml", `"abc"`},
		{"names in any case, spaces and tabs around values",
			"GET /a/b-c_d.e~f/ HTTP/1.1\r\nhost:example.org:8080\r\nif-none-match: \t\"x\", W/\"y\" \r\nACCEPT-ENCODING: gzip\r\nConnection: Keep-Alive\r\nUser-Agent: Reader/1.0 (+https://example.net)\r\n\r\n",
			hotAnswer, "/a/b-c_d.e~f/", `"x", W/"y"`},
		{"empty", "", hotMore, "", ""},
		{"a first byte", "G", hotMore, "", ""},
		{"half a request line", "GET /feed.x", hotMore, "", ""},
		{"half a header", "GET /feed.xml HTTP/1.1\r\nHost: exa", hotMore, "", ""},
		{"POST", "POST /subscribe HTTP/1.1\r\n", hotDecline, "", ""},
		{"HEAD", "HEAD /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\n\r\n", hotDecline, "", ""},
		{"lower-case method", "get /feed.xml HTTP/1.1\r\n", hotDecline, "", ""},
		{"HTTP/1.0", "GET /feed.xml HTTP/1.0\r\nHost: a\r\nIf-None-Match: \"abc\"\r\n\r\n", hotDecline, "", ""},
		{"HTTP/1.0 request line, header still coming", "GET /feed.xml HTTP/1.0\r\nHost", hotDecline, "", ""},
		{"query", "GET /feed.xml?x=1 HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\n\r\n", hotDecline, "", ""},
		{"escaped path", "GET /feed%2exml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\n\r\n", hotDecline, "", ""},
		{"absolute form", "GET http://example.org/feed.xml HTTP/1.1\r\n", hotDecline, "", ""},
		{"two spaces", "GET  /feed.xml HTTP/1.1\r\n", hotDecline, "", ""},
		{"no If-None-Match", "GET /feed.xml HTTP/1.1\r\nHost: a\r\n\r\n", hotDecline, "", ""},
		{"two If-None-Match", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\nIf-None-Match: \"abc\"\r\n\r\n", hotDecline, "", ""},
		{"no Host", "GET /feed.xml HTTP/1.1\r\nIf-None-Match: \"abc\"\r\n\r\n", hotDecline, "", ""},
		{"empty Host", "GET /feed.xml HTTP/1.1\r\nHost:\r\nIf-None-Match: \"abc\"\r\n\r\n", hotDecline, "", ""},
		{"two Hosts", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nHost: b\r\nIf-None-Match: \"abc\"\r\n\r\n", hotDecline, "", ""},
		{"odd Host", "GET /feed.xml HTTP/1.1\r\nHost: a@b\r\nIf-None-Match: \"abc\"\r\n\r\n", hotDecline, "", ""},
		{"Content-Length", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\nContent-Length: 0\r\n\r\n", hotDecline, "", ""},
		{"Transfer-Encoding", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", hotDecline, "", ""},
		{"Expect", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\nExpect: 100-continue\r\n\r\n", hotDecline, "", ""},
		{"Upgrade", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\nUpgrade: h2c\r\n\r\n", hotDecline, "", ""},
		{"Connection: close", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\nConnection: close\r\n\r\n", hotDecline, "", ""},
		{"two Accept-Encoding", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\nAccept-Encoding: br\r\nAccept-Encoding: gzip\r\n\r\n", hotDecline, "", ""},
		{"folded line", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\nX-A: 1\r\n  2\r\n\r\n", hotDecline, "", ""},
		{"space before colon", "GET /feed.xml HTTP/1.1\r\nHost : a\r\nIf-None-Match: \"abc\"\r\n\r\n", hotDecline, "", ""},
		{"no colon", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\nX-A\r\n\r\n", hotDecline, "", ""},
		{"bare LF", "GET /feed.xml HTTP/1.1\r\nHost: a\nIf-None-Match: \"abc\"\r\n\r\n", hotDecline, "", ""},
		{"bare LF ends the header", "GET /feed.xml HTTP/1.1\nHost: a\nIf-None-Match: \"abc\"\n\n", hotMore, "", ""},
		{"NUL in a value", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"a\x00bc\"\r\n\r\n", hotDecline, "", ""},
		{"byte over 0x7e", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\nX-Name: caf\xc3\xa9\r\n\r\n", hotDecline, "", ""},
		{"longer than hotMax", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\nX-Pad: " + strings.Repeat("p", hotMax) + "\r\n\r\n", hotDecline, "", ""},
		{"a request line longer than hotMax", "GET /" + strings.Repeat("p", hotMax), hotDecline, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, n, v := parseHot([]byte(tc.req))
			if v != tc.want {
				t.Fatalf("verdict %d, want %d", v, tc.want)
			}
			if v != hotAnswer {
				return
			}
			if want := strings.Index(tc.req, "\r\n\r\n") + 4; n != want {
				t.Errorf("length %d, want %d", n, want)
			}
			if string(r.path) != tc.path || string(r.ifNoneMatch) != tc.inm {
				t.Errorf("path %q, If-None-Match %q; want %q, %q", r.path, r.ifNoneMatch, tc.path, tc.inm)
			}
		})
	}
}

// twoDoors serves one Server twice on loopback: with the front door, and
// with net/http answering everything. It returns both addresses.
func twoDoors(t testing.TB, srv *Server) (front, plain string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var addrs [2]string
	done := make(chan error, 2)
	for i, fd := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		go func() { done <- srv.serve(ctx, ln, fd) }()
	}
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	})
	return addrs[0], addrs[1]
}

// exchange writes req on a new connection to addr, closes its sending
// side, and returns everything the server writes until it closes, with
// every Date value masked.
func exchange(t testing.TB, addr string, req []byte) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		t.Fatalf("reading the answer to %q: %v", req, err)
	}
	return dateValue.ReplaceAllString(string(b), "Date: (masked)\r\n")
}

var dateValue = regexp.MustCompile(`Date: [^\r\n]*\r\n`)

// isReset reports a connection reset: net/http resets a connection it
// closes with unread bytes from the client.
func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// hotRequests are request streams for the front door: hot ones, cold
// ones, and hot ones mixed with everything it must hand to net/http.
func hotRequests(etag, gzEtag string) []string {
	hot := func(path, tag string, extra ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: example.org\r\nIf-None-Match: " + tag + "\r\n" + strings.Join(extra, "") + "\r\n"
	}
	return []string{
		hot("/feed.xml", etag),
		hot("/feed.xml", gzEtag, "Accept-Encoding: gzip, br\r\n"),
		hot("/feed.xml", etag, "Accept-Encoding: gzip;q=0\r\n"),
		hot("/feed.xml", gzEtag),    // the gzip tag without asking for gzip: 200
		hot("/feed.xml", `"old"`),   // stale: 200
		hot("/feed.xml", `*`),       // any: 304
		hot("/feed.xml", "W/"+etag), // weak comparison: 304
		hot("/feed.xml", `"a", `+etag),
		hot("/", `*`),
		hot("/articles/first/", `*`),
		hot("/articles/first", `*`), // a redirect
		hot("/nowhere", `*`),        // 404
		hot("/assets/style.css", `*`),
		hot("/feed.xml", etag) + hot("/feed.xml", etag) + hot("/atom.xml", `*`),
		hot("/feed.xml", etag) + hot("/feed.xml", `"old"`) + hot("/feed.xml", etag),
		hot("/feed.xml", etag) + "POST /subscribe HTTP/1.1\r\nHost: example.org\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nemail=x%40" + hot("/feed.xml", etag),
		hot("/feed.xml", etag, "Content-Length: 44\r\n") + hot("/feed.xml", etag),
		hot("/feed.xml", etag, "Transfer-Encoding: chunked\r\n") + "0\r\n\r\n" + hot("/feed.xml", etag),
		hot("/feed.xml", etag, "Transfer-Encoding: chunked\r\n") + "2c\r\n" + hot("/feed.xml", etag)[:44] + "\r\n0\r\n\r\n",
		hot("/feed.xml", etag, "Connection: close\r\n") + hot("/feed.xml", etag),
		hot("/feed.xml", etag, "Connection: Keep-Alive\r\n", "User-Agent: Reader/2.1 (+https://example.net/bot)\r\n") + hot("/feed.xml", etag),
		hot("/feed.xml", etag, "X-Folded: a\r\n b\r\n"),
		hot("/feed.xml", etag, "Host: second.example\r\n"),
		hot("/feed.xml", etag, "Expect: 100-continue\r\n"),
		"GET /feed.xml HTTP/1.0\r\nHost: example.org\r\nIf-None-Match: " + etag + "\r\n\r\n",
		"HEAD /feed.xml HTTP/1.1\r\nHost: example.org\r\nIf-None-Match: " + etag + "\r\n\r\n",
		"GET /feed.xml HTTP/1.1\r\nIf-None-Match: " + etag + "\r\n\r\n",
		"GET /feed.xml HTTP/1.1\nHost: example.org\nIf-None-Match: " + etag + "\n\n",
		"GET /feed.xml HTTP/1.1\r\nHost: example.org\r\nIf-None-Match: " + etag, // cut short
		hot("/feed.xml", etag) + "GET /feed.xml HTTP/1.1\r\nHost: exa",
		hot("/feed.xml", etag) + "0", // fewer bytes than net/http peeks for between requests
		hot("/feed.xml", etag) + "GE",
		hot("/feed.xml", etag) + "\r\n\r\n",
		hot("/feed.xml", etag) + "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		hot("/feed.xml", etag, "X-Pad: "+strings.Repeat("p", hotMax)+"\r\n") + hot("/feed.xml", etag),
	}
}

// TestFrontDoorSameBytes checks that the front door writes, for every
// request stream, exactly what net/http writes without it.
func TestFrontDoorSameBytes(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	front, plain := twoDoors(t, e.srv)
	etag := e.do(t, "GET", "/feed.xml", nil).Header().Get("ETag")
	gzEtag := e.do(t, "GET", "/feed.xml", nil, "Accept-Encoding", "gzip").Header().Get("ETag")
	answered := 0
	for _, req := range hotRequests(etag, gzEtag) {
		want := exchange(t, plain, []byte(req))
		got := exchange(t, front, []byte(req))
		if got != want {
			t.Errorf("request %q:\nfront door wrote %q\nnet/http wrote   %q", req, got, want)
		}
		answered += strings.Count(got, " 304 Not Modified\r\n")
	}
	if answered < 10 {
		t.Errorf("only %d answers were 304s: the requests no longer test the front door", answered)
	}
}

// FuzzFrontDoor sends arbitrary bytes to the server with and without its
// front door: what comes back must be the same, byte for byte.
func FuzzFrontDoor(f *testing.F) {
	e := newEnv(f, "http://example.org/", "", WithRateLimits(RateLimit{Burst: 1 << 30, Every: time.Nanosecond}, RateLimit{Burst: 1 << 30, Every: time.Nanosecond}))
	front, plain := twoDoors(f, e.srv)
	st := e.srv.snap.Load()
	etag := st.files["/feed.xml"].plain.etag[0]
	gzEtag := st.files["/feed.xml"].gzip().h.etag[0]
	for _, req := range hotRequests(etag, gzEtag) {
		f.Add([]byte(req))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		want := exchange(t, plain, req)
		if got := exchange(t, front, req); got != want {
			t.Fatalf("request %q:\nfront door wrote %q\nnet/http wrote   %q", req, got, want)
		}
	})
}

// TestFrontDoorFeedReader polls a feed as a reader does, over one
// keep-alive connection, across a rebuild.
func TestFrontDoorFeedReader(t *testing.T) {
	obs := &feedCounter{}
	e := newEnv(t, "http://example.org/", "", WithObserver(obs))
	addr, stop := e.listen(t)
	url := "http://" + addr + "/feed.xml"

	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	fp := gofeed.NewParser()
	fetch := func(etag string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	resp, body := fetch("")
	feed, err := fp.Parse(bytes.NewReader(body))
	if err != nil || feed.Description != "Build 1" {
		t.Fatalf("first fetch: %v, %+v", err, feed)
	}
	etag := resp.Header.Get("ETag")
	for i := range 5 {
		resp, body := fetch(etag)
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Fatalf("poll %d: %s with %d bytes, want 304 and none", i, resp.Status, len(body))
		}
		if resp.Header.Get("ETag") != etag || resp.Header.Get("Cache-Control") != "public, max-age=300" ||
			resp.Header.Get("Vary") != "Accept-Encoding" || resp.Header.Get("Date") == "" {
			t.Fatalf("poll %d: headers %v", i, resp.Header)
		}
	}
	e.srv.SetSite(testSite(2))
	resp, body = fetch(etag)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after a rebuild: %s, want 200", resp.Status)
	}
	if feed, err := fp.Parse(bytes.NewReader(body)); err != nil || feed.Description != "Build 2" {
		t.Fatalf("after a rebuild: %v, %+v", err, feed)
	}
	if resp, _ := fetch(resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("the new ETag: %s, want 304", resp.Status)
	}
	want := "[/feed.xml 200 /feed.xml 304 /feed.xml 304 /feed.xml 304 /feed.xml 304 /feed.xml 304 /feed.xml 200 /feed.xml 304]"
	obs.mu.Lock()
	got := fmt.Sprint(obs.seen)
	obs.mu.Unlock()
	if got != want {
		t.Errorf("observed %s, want %s", got, want)
	}
	if !strings.Contains(e.logs.String(), "path=/feed.xml status=304") {
		t.Errorf("no request log of a 304:\n%s", e.logs)
	}
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestFrontDoorShutdown: a keep-alive connection that the front door holds
// between requests does not hold up a graceful shutdown.
func TestFrontDoorShutdown(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	addr, stop := e.listen(t)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	etag := e.do(t, "GET", "/feed.xml", nil).Header().Get("ETag")
	fmt.Fprintf(c, "GET /feed.xml HTTP/1.1\r\nHost: example.org\r\nIf-None-Match: %s\r\n\r\n", etag)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET: %v %v", resp, err)
	}
	served := make(chan error, 1)
	go func() { served <- stop() }()
	// The connection is closed by the shutdown, not by net/http's
	// five-second grace for connections that never sent a request: it
	// closes while that grace still runs.
	c.SetReadDeadline(time.Now().Add(4 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection after shutdown: read gave %v, want EOF", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
