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
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mmcdole/gofeed"
)

// serveTimed serves a fresh env on loopback, the handlers mounted, and
// returns its address.
func serveTimed(t *testing.T, handlers map[string]http.Handler) string {
	t.Helper()
	e := newEnv(t, "http://example.org/", "")
	for p, h := range handlers {
		e.srv.Handle(p, h)
	}
	addr, stop := e.listen(t)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return addr
}

// pipeListener hands Serve the far ends of net.Pipe connections, so the
// server runs in a synctest bubble, where its timeouts (DefaultTimeouts,
// as in production) pass on the bubble's clock at once.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// inBubble runs f in a synctest bubble with e's server serving on a pipe
// listener; dial opens a client connection to it. The server stops when
// f returns.
func inBubble(t *testing.T, e *env, f func(t *testing.T, dial func() net.Conn)) {
	synctest.Test(t, func(t *testing.T) {
		l := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- e.srv.Serve(ctx, l) }()
		var conns []net.Conn
		f(t, func() net.Conn {
			c, s := net.Pipe()
			l.conns <- s
			conns = append(conns, c)
			return c
		})
		for _, c := range conns {
			c.Close()
		}
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

// closedAfter reads from c until the server closes it and returns how long
// that took from start on the bubble's clock.
func closedAfter(c net.Conn, start time.Time) time.Duration {
	io.Copy(io.Discard, c)
	return time.Since(start)
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends a GET for path on c and reads the response.
func get(t *testing.T, c net.Conn, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: example.org\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestHTTPServerLimits: the timeouts and the header limit are those of
// http.Server, mapped from Timeouts.
func TestHTTPServerLimits(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	srv := httpServer(e.srv, DefaultTimeouts, e.srv.log)
	got := [5]time.Duration{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, time.Duration(srv.MaxHeaderBytes)}
	want := [5]time.Duration{5 * time.Second, 35 * time.Second, 30 * time.Second, 120 * time.Second, 32 << 10}
	if got != want {
		t.Errorf("header, read, write, idle timeouts and header bytes: got %v, want %v", got, want)
	}
}

// A client that never finishes its header (slowloris) is cut off once the
// header timeout has passed, and not before.
func TestHeaderTimeout(t *testing.T) {
	tm := DefaultTimeouts
	for _, tc := range []struct {
		name string
		send func(t *testing.T, c net.Conn, wg *sync.WaitGroup)
	}{
		{"nothing sent", func(*testing.T, net.Conn, *sync.WaitGroup) {}},
		{"half a header", func(_ *testing.T, c net.Conn, _ *sync.WaitGroup) {
			io.WriteString(c, "GET /feed.xml HTTP/1.1\r\nHost: exa")
		}},
		{"half a header after a request", func(t *testing.T, c net.Conn, _ *sync.WaitGroup) {
			// The header timeout starts again with the second request's
			// first bytes: its bound is the header timeout, not the idle one.
			get(t, c, bufio.NewReader(c), "/feed.xml")
			io.WriteString(c, "GET /feed.xml HTTP/1.1\r\nHost: exa")
		}},
		{"a byte at a time", func(_ *testing.T, c net.Conn, wg *sync.WaitGroup) {
			// Each byte arrives well within the timeout; the header
			// as a whole does not.
			wg.Go(func() {
				for _, b := range []byte("GET /feed.xml HTTP/1.1\r\nHost: example.org\r\nX-Slow: 1234567890\r\n") {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(tm.Header / 8)
				}
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inBubble(t, newEnv(t, "http://example.org/", ""), func(t *testing.T, dial func() net.Conn) {
				c := dial()
				start := time.Now()
				var wg sync.WaitGroup
				tc.send(t, c, &wg)
				if d := closedAfter(c, start); d != tm.Header {
					t.Errorf("closed after %v, want the header timeout of %v", d, tm.Header)
				}
				wg.Wait()
			})
		})
	}
}

// A keep-alive connection serves requests for as long as they keep coming,
// each within the idle timeout of the last, and is closed once it sits
// idle for longer.
func TestIdleTimeout(t *testing.T) {
	tm := DefaultTimeouts
	inBubble(t, newEnv(t, "http://example.org/", ""), func(t *testing.T, dial func() net.Conn) {
		c := dial()
		br := bufio.NewReader(c)
		for i := range 3 {
			if resp := get(t, c, br, "/feed.xml"); resp.StatusCode != 200 {
				t.Fatalf("request %d: %d", i, resp.StatusCode)
			}
			// Between requests, longer than the header and the active
			// timeouts: the idle wait is neither.
			time.Sleep(tm.Idle * 3 / 4)
		}
		start := time.Now().Add(-tm.Idle * 3 / 4)
		if d := closedAfter(c, start); d != tm.Idle {
			t.Errorf("idle connection closed after %v, want the idle timeout of %v", d, tm.Idle)
		}
	})
}

// A response that takes longer than the active timeout is cut off: the
// handler's context ends, the client gets no answer and the connection
// closes.
func TestActiveTimeout(t *testing.T) {
	tm := DefaultTimeouts
	e := newEnv(t, "http://example.org/", "")
	e.srv.Handle("GET /stuck", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		// A moment later: on the bubble's clock the context and the
		// connection's write deadline end at the same instant.
		time.Sleep(time.Millisecond)
		io.WriteString(w, "too late")
	}))
	e.srv.Handle("GET /quick", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "quick") }))
	inBubble(t, e, func(t *testing.T, dial func() net.Conn) {
		c := dial()
		if resp := get(t, c, bufio.NewReader(c), "/quick"); resp.StatusCode != 200 {
			t.Fatalf("quick: %d", resp.StatusCode)
		}
		c = dial()
		start := time.Now()
		io.WriteString(c, "GET /stuck HTTP/1.1\r\nHost: example.org\r\n\r\n")
		b, _ := io.ReadAll(c)
		if d := time.Since(start); d < tm.Active || d >= tm.Active+time.Second {
			t.Errorf("closed after %v, want the active timeout of %v", d, tm.Active)
		}
		if len(b) != 0 {
			t.Errorf("a response past the active timeout reached the client: %q", b)
		}
	})
}

// exchange writes req on a new connection to addr, closes its sending
// side, and returns everything the server writes until it closes.
func exchange(t *testing.T, addr, req string) string {
	t.Helper()
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil && !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("reading the answer to %q: %v", req, err)
	}
	return string(b)
}

var statusLine = regexp.MustCompile(`HTTP/1\.1 (\d{3})`)

// TestFraming sends requests whose framing is ambiguous or oversized: each
// is refused as a whole, and the request hidden after it is never
// answered. Shapes net/http frames unambiguously are answered request by
// request.
func TestFraming(t *testing.T) {
	addr := serveTimed(t, nil)
	const hidden = "GET /feed.xml HTTP/1.1\r\nHost: example.org\r\n\r\n"
	post := "POST /feed.xml HTTP/1.1\r\nHost: example.org\r\n"
	for _, tc := range []struct {
		name, req string
		want      []string // status codes, in order
	}{
		{"two Content-Lengths", post + "Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde" + hidden, []string{"400"}},
		{"a Content-Length list", post + "Content-Length: 4, 5\r\n\r\nabcde" + hidden, []string{"400"}},
		{"a signed Content-Length", post + "Content-Length: +4\r\n\r\nabcd" + hidden, []string{"400"}},
		{"an unknown Transfer-Encoding", post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + hidden, []string{"501"}},
		{"chunked not last", post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + hidden, []string{"501"}},
		{"a space before the colon", post + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + hidden, []string{"400"}},
		{"two Hosts", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + hidden, []string{"400"}},
		{"no Host", "GET /feed.xml HTTP/1.1\r\n\r\n" + hidden, []string{"400"}},
		{"a NUL in a value", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n" + hidden, []string{"400"}},
		{"a header over 32 KB", "GET /feed.xml HTTP/1.1\r\nHost: a\r\nX-Pad: " + strings.Repeat("p", 40<<10) + "\r\n\r\n" + hidden, []string{"431"}},
		{"chunked, then a request", post + "Transfer-Encoding: chunked\r\n\r\n5\r\nemail\r\n0\r\n\r\n" + hidden, []string{"405", "200"}},
		{"Content-Length, then a request", post + "Content-Length: 5\r\n\r\nemail" + hidden, []string{"405", "200"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, m := range statusLine.FindAllStringSubmatch(exchange(t, addr, tc.req), -1) {
				got = append(got, m[1])
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("statuses %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBodyTooLarge: a form body over the limit gets the 413 page over a
// real connection, whether its length is announced or chunked.
func TestBodyTooLarge(t *testing.T) {
	addr := serveTimed(t, nil)
	body := "email=" + strings.Repeat("x", maxBodyBytes)
	head := "POST /subscribe HTTP/1.1\r\nHost: example.org\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
	for name, req := range map[string]string{
		"Content-Length": head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body,
		"chunked":        head + fmt.Sprintf("Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body),
	} {
		t.Run(name, func(t *testing.T) {
			if m := statusLine.FindStringSubmatch(exchange(t, addr, req)); m == nil || m[1] != "413" {
				t.Errorf("got %v, want 413", m)
			}
		})
	}
}

// TestFeedReaderKeepAlive polls a feed as a reader does, over one
// keep-alive connection, across a rebuild.
func TestFeedReaderKeepAlive(t *testing.T) {
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

// TestShutdownIdleKeepAlive: a keep-alive connection idle between requests
// does not hold up a graceful shutdown.
func TestShutdownIdleKeepAlive(t *testing.T) {
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
	// Closed by the shutdown, well before its ten-second grace ends.
	c.SetReadDeadline(time.Now().Add(4 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection after shutdown: read gave %v, want EOF", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
