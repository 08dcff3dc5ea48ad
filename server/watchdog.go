package server

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts bounds each phase of a connection's life.
type Timeouts struct {
	Header time.Duration // from a new connection, or a request's first byte, to the end of its header
	Idle   time.Duration // between requests on a keep-alive connection
	Active time.Duration // from the end of a request's header to the end of its response: body, handler and write
}

// watchdog enforces Timeouts by closing connections that overstay a phase.
//
// net/http's own timeouts (ReadHeaderTimeout and the rest) re-arm a runtime
// timer on the connection several times per request; on a keep-alive
// connection answering 304s that costs more than the handler. The watchdog
// arms none: a connection records its phase and when it began, with atomic
// stores against a clock the watchdog advances once per tick, and once per
// tick the watchdog closes every connection past its phase's bound. A
// timeout therefore fires up to two ticks late, never early.
//
// Phases: a connection is in its header phase from accept, and from the
// first byte of each later request, until net/http has read the header
// (http.StateActive); then active until the response is done
// (http.StateIdle); then idle until the next request's first byte. A request
// the front door (hot.go) answers stays in its header phase until the
// answer is written; the connection is idle after it.
type watchdog struct {
	t    Timeouts
	tick time.Duration

	now atomic.Int64 // the watchdog's clock, in ticks since start
	mu  sync.Mutex
	cs  map[*watchedConn]struct{}
}

const (
	phaseHeader int32 = iota
	phaseActive
	phaseIdle
)

// newWatchdog returns a watchdog for t. It ticks every second, or every
// eighth of the shortest timeout if that is less, so a timeout fires at
// most a second late.
func newWatchdog(t Timeouts) *watchdog {
	tick := time.Second
	for _, d := range []time.Duration{t.Header, t.Active, t.Idle} {
		if d > 0 {
			tick = min(tick, max(d/8, time.Millisecond))
		}
	}
	return &watchdog{t: t, tick: tick, cs: map[*watchedConn]struct{}{}}
}

// listen wraps ln so that every connection it accepts is watched. When s
// is not nil, each connection starts with s's front door (hot.go).
func (w *watchdog) listen(ln net.Listener, s *Server) net.Listener {
	return watchedListener{ln, w, s}
}

// connState is the http.Server.ConnState hook that moves a watched
// connection between phases.
func (w *watchdog) connState(c net.Conn, s http.ConnState) {
	wc, ok := c.(*watchedConn)
	if !ok {
		return
	}
	switch s {
	case http.StateActive:
		wc.enter(phaseActive)
	case http.StateIdle:
		wc.enter(phaseIdle)
	case http.StateHijacked, http.StateClosed:
		w.mu.Lock()
		delete(w.cs, wc)
		w.mu.Unlock()
	}
}

// run advances the clock and closes overdue connections every tick until
// stop is closed.
func (w *watchdog) run(stop <-chan struct{}) {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			w.now.Store(int64(now.Sub(start) / w.tick))
			w.sweep()
		}
	}
}

// sweep closes every connection that has overstayed its phase.
func (w *watchdog) sweep() {
	now := w.now.Load()
	var late []*watchedConn
	w.mu.Lock()
	for c := range w.cs {
		if c.overdue(now) {
			late = append(late, c)
			delete(w.cs, c)
		}
	}
	w.mu.Unlock()
	for _, c := range late {
		c.Conn.Close()
	}
}

// closeQuiet closes the connections whose front door waits between
// requests. net/http knows them as new, not idle, so its Shutdown would
// wait for them.
func (w *watchdog) closeQuiet() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.cs {
		if c.quiet.Load() {
			c.Conn.Close()
			delete(w.cs, c)
		}
	}
}

// ticks is d in whole ticks, rounded up.
func (w *watchdog) ticks(d time.Duration) int64 { return int64((d + w.tick - 1) / w.tick) }

type watchedListener struct {
	net.Listener
	w *watchdog
	s *Server
}

func (l watchedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	wc := &watchedConn{Conn: c, w: l.w}
	if l.s != nil {
		wc.front = l.s
	}
	wc.enter(phaseHeader)
	l.w.mu.Lock()
	l.w.cs[wc] = struct{}{}
	l.w.mu.Unlock()
	return wc, nil
}

// watchedConn is a connection with its phase. Only the phase and its start
// are shared with the watchdog, as one atomic word.
type watchedConn struct {
	net.Conn
	w     *watchdog
	state atomic.Int64 // phase<<56 | tick the phase began
	front *Server      // answers the first Read with its front door (hot.go); then nil
	quiet atomic.Bool  // the front door waits for a request and holds no bytes
}

func (c *watchedConn) enter(phase int32) {
	c.state.Store(int64(phase)<<56 | c.w.now.Load())
}

// Read starts a request's header phase when the first bytes of the request
// arrive on an idle connection. The first Read goes through the front door.
func (c *watchedConn) Read(b []byte) (int, error) {
	if c.front != nil {
		return c.front.frontRead(c, b)
	}
	return c.readConn(b)
}

func (c *watchedConn) readConn(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.started()
	}
	return n, err
}

// started notes bytes read: on an idle connection, a request has begun.
func (c *watchedConn) started() {
	if c.state.Load()>>56 == int64(phaseIdle) {
		c.enter(phaseHeader)
	}
}

// CloseWrite half-closes a TCP connection, as net/http does before it
// closes one whose request body it refused.
func (c *watchedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *watchedConn) overdue(now int64) bool {
	s := c.state.Load()
	since := s & (1<<56 - 1)
	var limit time.Duration
	switch int32(s >> 56) {
	case phaseHeader:
		limit = c.w.t.Header
	case phaseActive:
		limit = c.w.t.Active
	default:
		limit = c.w.t.Idle
	}
	return limit > 0 && now-since > c.w.ticks(limit)
}
