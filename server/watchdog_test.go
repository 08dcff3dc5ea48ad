package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// testTimeouts are short enough for tests and far enough apart to tell
// which one closed a connection; the watchdog ticks every 37.5 ms.
var testTimeouts = Timeouts{Header: 300 * time.Millisecond, Idle: 1500 * time.Millisecond, Active: 3 * time.Second}

// serveWatched serves e on a loopback listener with testTimeouts and
// returns its address.
func serveWatched(t *testing.T, handlers map[string]http.Handler) string {
	t.Helper()
	e := newEnv(t, "http://example.org/", "", WithTimeouts(testTimeouts))
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

// slop allows for the moments between the server starting a phase and the
// client taking its start time.
const slop = 20 * time.Millisecond

// closedAfter reads from c until the server closes it and returns how long
// that took from start, plus slop; it fails the test if the connection is
// still open after limit.
func closedAfter(t *testing.T, c net.Conn, start time.Time, limit time.Duration) time.Duration {
	t.Helper()
	c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v", limit)
	}
	return time.Since(start) + slop
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

// A client that never finishes its header is cut off once the header
// timeout has passed, and not before.
func TestWatchdogHeaderTimeout(t *testing.T) {
	addr := serveWatched(t, nil)
	for _, tc := range []struct {
		name string
		send func(t *testing.T, c net.Conn)
	}{
		{"nothing sent", func(*testing.T, net.Conn) {}},
		{"half a header", func(_ *testing.T, c net.Conn) { io.WriteString(c, "GET /feed.xml HTTP/1.1\r\nHost: exa") }},
		{"half a header after a request", func(t *testing.T, c net.Conn) {
			// The header phase starts again with the second request's
			// first byte: its bound is the header timeout, not the idle one.
			get(t, c, bufio.NewReader(c), "/feed.xml")
			io.WriteString(c, "GET /feed.xml HTTP/1.1\r\nHost: exa")
		}},
		{"a byte at a time", func(_ *testing.T, c net.Conn) {
			// Each byte arrives well within the timeout; the header
			// as a whole does not.
			go func() {
				for _, b := range []byte("GET /feed.xml HTTP/1.1\r\nHost: example.org\r\nX-Slow: 1234567890\r\n") {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(testTimeouts.Header / 8)
				}
			}()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			start := time.Now()
			tc.send(t, c)
			if d := closedAfter(t, c, start, 10*testTimeouts.Header); d < testTimeouts.Header || d >= testTimeouts.Idle {
				t.Errorf("closed after %v, want the header timeout of %v", d, testTimeouts.Header)
			}
		})
	}
}

// A keep-alive connection serves requests for as long as they keep coming,
// each within the idle timeout of the last, and is closed once it sits
// idle for longer.
func TestWatchdogIdleTimeout(t *testing.T) {
	addr := serveWatched(t, nil)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := range 3 {
		if resp := get(t, c, br, "/feed.xml"); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		// Between requests, longer than the header timeout: the idle
		// wait is not the header's.
		time.Sleep(testTimeouts.Idle * 3 / 4)
	}
	start := time.Now().Add(-testTimeouts.Idle * 3 / 4)
	if d := closedAfter(t, c, start, 10*testTimeouts.Idle); d < testTimeouts.Idle || d >= testTimeouts.Active {
		t.Errorf("idle connection closed after %v, want the idle timeout of %v", d, testTimeouts.Idle)
	}
}

// A response that takes longer than the active timeout is cut off: the
// client gets no answer and the connection closes.
func TestWatchdogActiveTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr := serveWatched(t, map[string]http.Handler{
		"/stuck": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}),
		"/quick": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "quick") }),
	})
	// A handler within its time is answered.
	c := dial(t, addr)
	if resp := get(t, c, bufio.NewReader(c), "/quick"); resp.StatusCode != 200 {
		t.Fatalf("quick: %d", resp.StatusCode)
	}
	c = dial(t, addr)
	start := time.Now()
	io.WriteString(c, "GET /stuck HTTP/1.1\r\nHost: example.org\r\n\r\n")
	if d := closedAfter(t, c, start, 10*testTimeouts.Active); d < testTimeouts.Active {
		t.Errorf("closed after %v, before the active timeout of %v", d, testTimeouts.Active)
	}
}

func TestNewWatchdogTick(t *testing.T) {
	for _, tc := range []struct {
		t    Timeouts
		want time.Duration
	}{
		{DefaultTimeouts, 625 * time.Millisecond},
		{Timeouts{Header: time.Minute, Active: time.Minute, Idle: time.Hour}, time.Second},
		{testTimeouts, 37500 * time.Microsecond},
		{Timeouts{}, time.Second},
	} {
		if got := newWatchdog(tc.t).tick; got != tc.want {
			t.Errorf("tick for %+v = %v, want %v", tc.t, got, tc.want)
		}
	}
}

// overdue is never early: a phase that began at tick since, with the clock
// lagging real time by up to a tick, is overdue only once a whole limit has
// surely passed.
func TestWatchedConnOverdue(t *testing.T) {
	w := newWatchdog(Timeouts{Header: 1 * time.Second, Active: 3 * time.Second, Idle: 0})
	w.tick = time.Second
	c := &watchedConn{w: w}
	for _, tc := range []struct {
		phase  int32
		since  int64
		now    int64
		expect bool
	}{
		{phaseHeader, 10, 11, false}, // between 0 and 2 s elapsed
		{phaseHeader, 10, 12, true},  // more than 1 s elapsed
		{phaseActive, 10, 13, false},
		{phaseActive, 10, 14, true},
		{phaseIdle, 10, 1000, false}, // no idle limit
	} {
		w.now.Store(tc.since)
		c.enter(tc.phase)
		if got := c.overdue(tc.now); got != tc.expect {
			t.Errorf("phase %d from %d, now %d: overdue = %v, want %v", tc.phase, tc.since, tc.now, got, tc.expect)
		}
	}
}
