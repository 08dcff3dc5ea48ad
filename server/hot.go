package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// The front door answers the one request a feed reader repeats all day, a
// conditional GET of a file it already has, before net/http sees it.
//
// Through net/http a 304 costs a request and a context, a header map that
// is cloned, sorted and searched, and a goroutine that watches the
// connection while the handler runs: more than the answer itself. The front
// door reads a connection's first bytes on net/http's own goroutine (inside
// its Read), and when they hold a complete request that it recognises in
// full (see parseHot) and whose ETag still matches, it writes the same 304
// net/http would and reads on. Anything else (another method, a header that
// changes how a request is framed or answered, a byte out of place, a
// request longer than hotMax, a stale ETag) is handed to net/http exactly
// as it arrived, and from then on the connection is net/http's alone. The
// front door never decides where a request ends when net/http might decide
// otherwise: it only consumes requests without a body, up to their blank
// line, and it declines every request that names a body.

// hotMax bounds the bytes the front door holds: a request whose header is
// longer goes to net/http.
const hotMax = 4096

type hotVerdict int

const (
	hotMore    hotVerdict = iota // not a whole request yet, and it may still be one
	hotAnswer                    // the front door answers the first n bytes
	hotDecline                   // net/http must see these bytes
)

// hotRequest is what the front door reads of a request.
type hotRequest struct {
	path           []byte
	ifNoneMatch    []byte
	acceptEncoding []byte
	hasAE          bool
}

// parseHot reads the request at the start of b. It answers hotAnswer, with
// the request's length n, only for a request it recognises in full:
//
//	GET <path> HTTP/1.1, the path made of letters, digits and "-._~/" only;
//	header lines "Name: value" ending in CRLF, names of token characters,
//	values of visible ASCII, spaces and tabs;
//	exactly one Host (letters, digits and ".-:[]") and one If-None-Match,
//	at most one Accept-Encoding;
//	no Content-Length, Transfer-Encoding, Expect or Upgrade, and no
//	Connection other than keep-alive.
//
// Everything else is hotDecline, or hotMore while b could still grow into a
// request it recognises.
func parseHot(b []byte) (r hotRequest, n int, v hotVerdict) {
	const prefix = "GET /"
	if len(b) < len(prefix) {
		if bytes.HasPrefix([]byte(prefix), b) {
			return r, 0, hotMore
		}
		return r, 0, hotDecline
	}
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return r, 0, hotDecline
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) >= hotMax || !hotPrefixOK(b) {
			return r, 0, hotDecline
		}
		return r, 0, hotMore
	}
	if end+4 > hotMax {
		return r, 0, hotDecline
	}
	head := b[:end+2] // every line, each with its CRLF
	line, head := cutLine(head)
	target, ok := bytes.CutSuffix(line[len("GET "):], []byte(" HTTP/1.1"))
	if !ok || !pathOK(target) {
		return r, 0, hotDecline
	}
	r.path = target
	hosts, inms := 0, 0
	for len(head) > 0 {
		line, head = cutLine(head)
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !tokenOK(line[:colon]) {
			return r, 0, hotDecline
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !valueOK(value) {
			return r, 0, hotDecline
		}
		switch {
		case equalFold(name, "Host"):
			hosts++
			if !hostOK(value) {
				return r, 0, hotDecline
			}
		case equalFold(name, "If-None-Match"):
			inms++
			r.ifNoneMatch = value
		case equalFold(name, "Accept-Encoding"):
			if r.hasAE {
				return r, 0, hotDecline
			}
			r.acceptEncoding, r.hasAE = value, true
		case equalFold(name, "Connection"):
			if !equalFold(value, "keep-alive") {
				return r, 0, hotDecline
			}
		case equalFold(name, "Content-Length"), equalFold(name, "Transfer-Encoding"),
			equalFold(name, "Expect"), equalFold(name, "Upgrade"):
			return r, 0, hotDecline
		}
	}
	if hosts != 1 || inms != 1 {
		return r, 0, hotDecline
	}
	return r, end + 4, hotAnswer
}

// hotPrefixOK is a cheap early no for an incomplete request: its request
// line, once complete, must be one the front door takes.
func hotPrefixOK(b []byte) bool {
	line, _, complete := bytes.Cut(b, []byte("\r\n"))
	if !complete {
		return len(line) < hotMax
	}
	target, ok := bytes.CutSuffix(line[len("GET "):], []byte(" HTTP/1.1"))
	return ok && pathOK(target)
}

// cutLine splits b at its first CRLF; b always ends in one.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.Index(b, []byte("\r\n"))
	return b[:i], b[i+2:]
}

func pathOK(p []byte) bool { return len(p) > 0 && p[0] == '/' && charsOK(p, "-._~/") }

func hostOK(h []byte) bool { return charsOK(h, ".-:[]") }

// tokenOK reports a header name made of RFC 9110 token characters.
func tokenOK(b []byte) bool { return charsOK(b, "!#$%&'*+-.^_`|~") }

// charsOK reports b not empty and made of ASCII letters, digits and the
// bytes of extra.
func charsOK(b []byte, extra string) bool {
	for _, c := range b {
		if ('a' > c || c > 'z') && ('A' > c || c > 'Z') && ('0' > c || c > '9') && strings.IndexByte(extra, c) < 0 {
			return false
		}
	}
	return len(b) > 0
}

// valueOK reports a header value of visible ASCII, spaces and tabs.
func valueOK(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c > 0x7e {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	return bytes.TrimFunc(b, func(r rune) bool { return r == ' ' || r == '\t' })
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// answerHot returns the 304 for r appended to dst, or ok false when the
// request is not a conditional GET that still matches a file of the site.
// The bytes are those net/http writes for serveFile's 304.
func (s *Server) answerHot(dst []byte, r *hotRequest, now time.Time) (resp []byte, e *entry, ok bool) {
	if s.draining.Load() {
		return dst, nil, false // net/http says "Connection: close" while shutting down
	}
	snap := s.snap.Load()
	if snap == nil {
		return dst, nil, false
	}
	e = snap.files[string(r.path)]
	if e == nil {
		return dst, nil, false
	}
	noMod := &e.noMod
	if e.gz != nil && r.hasAE && acceptsGzip([]string{string(r.acceptEncoding)}) {
		if g := e.gzip(); g != nil {
			noMod = &g.noMod
		}
	}
	if !etagListMatch(string(r.ifNoneMatch), noMod.etagValue) {
		return dst, nil, false
	}
	dst = append(dst, noMod.raw...)
	dst = append(dst, "Date: "...)
	dst = now.UTC().AppendFormat(dst, http.TimeFormat)
	dst = append(dst, "\r\n\r\n"...)
	return dst, e, true
}

// rawNotModified is the head of a 304 for a file as net/http writes it: the
// status line and serveFile's headers in net/http's (sorted) order, up to
// the Date that net/http appends.
func rawNotModified(cache, etag string, vary bool) []byte {
	b := []byte("HTTP/1.1 304 Not Modified\r\nCache-Control: " + cache + "\r\nEtag: " + etag + "\r\n")
	if vary {
		b = append(b, "Vary: Accept-Encoding\r\n"...)
	}
	return b
}

// peekLen: between two requests net/http waits for this many bytes of the
// next one and closes the connection quietly if it ends before. Once the
// front door has answered, it does the same, so that net/http, which sees
// the next request as the connection's first, is never handed fewer.
const peekLen = 4

// frontRead is a connection's first Read, the front door's whole life. It
// reads into net/http's own buffer b, answers the hot requests it finds
// there, and returns when b holds the start of a request for net/http (or
// the connection has ended): net/http then reads on as if the answered
// requests had never been sent.
func (s *Server) frontRead(c *watchedConn, b []byte) (int, error) {
	c.front = nil // whatever comes next is net/http's
	buf, limit := b[:0], min(len(b), hotMax)
	var out []byte
	answered := false
	for {
		r, n, v := parseHot(buf)
		if v == hotMore && len(buf) == limit {
			v = hotDecline
		}
		if v == hotDecline && answered && len(buf) < peekLen {
			v = hotMore
		}
		switch v {
		case hotAnswer:
			var e *entry
			var ok bool
			if out, e, ok = s.answerHot(out[:0], &r, time.Now()); !ok {
				return len(buf), nil
			}
			if _, err := c.Conn.Write(out); err != nil {
				c.Conn.Close()
				return 0, io.EOF // the connection is gone; net/http closes quietly
			}
			s.loggedHot(e, r.path)
			answered = true
			buf = buf[:copy(buf, buf[n:])]
			if len(buf) == 0 {
				c.enter(phaseIdle)
			} else {
				c.enter(phaseHeader)
			}
		case hotDecline:
			return len(buf), nil
		case hotMore:
			if len(buf) == 0 {
				// Between requests: a shutdown closes the connection
				// here, or (closeQuiet) while the read below waits.
				c.quiet.Store(true)
				if s.draining.Load() {
					c.Conn.Close()
					return 0, io.EOF
				}
			}
			m, err := c.Conn.Read(buf[len(buf):limit])
			c.quiet.Store(false)
			if m > 0 {
				c.started()
				buf = buf[:len(buf)+m]
			}
			if err != nil {
				if len(buf) == 0 || (answered && len(buf) < peekLen) {
					return 0, err
				}
				return len(buf), nil // the error comes again at net/http's next Read
			}
		}
	}
}

// loggedHot does for a 304 of the front door what serveFile does for one.
func (s *Server) loggedHot(e *entry, path []byte) {
	if e.feed && s.observer != nil {
		s.observer.FeedRequest(e.path, http.StatusNotModified)
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.LogAttrs(context.Background(), slog.LevelDebug, "http_request",
			slog.String("method", http.MethodGet), slog.String("path", string(path)),
			slog.Int("status", http.StatusNotModified))
	}
}
