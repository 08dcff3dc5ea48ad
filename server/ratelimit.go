package server

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// limiter is a set of token buckets keyed by client IP or address, in a
// bounded map: when full, it drops refilled buckets, then arbitrary ones.
type limiter struct {
	rate RateLimit
	max  int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// newLimiter holds up to 10,000 buckets.
func newLimiter(rate RateLimit) *limiter {
	return &limiter{rate: rate, max: 10000, buckets: make(map[string]*bucket)}
}

// allow takes a token from key's bucket if it has one; no burst allows everything.
func (l *limiter) allow(key string, now time.Time) bool {
	if l.rate.Burst <= 0 || l.rate.Every <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: float64(l.rate.Burst), last: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(float64(l.rate.Burst), b.tokens+float64(el)/float64(l.rate.Every))
		b.last = now
	}
}

// evict frees at least a tenth of the map.
func (l *limiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if l.refill(b, now); b.tokens >= float64(l.rate.Burst) {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets { // random order
		if len(l.buckets) < l.max-l.max/10 {
			break
		}
		delete(l.buckets, k)
	}
}

// ClientIP is the address of the client that sent r: the peer, or the one
// its X-Forwarded-For names, read right to left past trusted proxies.
func (s *Server) ClientIP(r *http.Request) netip.Addr {
	ip, _ := netip.ParseAddr(r.RemoteAddr) // a bare address, or the zero one
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	trusted := func(ip netip.Addr) bool {
		return slices.ContainsFunc(s.trusted, func(p netip.Prefix) bool { return p.Contains(ip) })
	}
	if !trusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if ip = a.Unmap(); !trusted(ip) {
			break
		}
	}
	return ip
}

// ClientKey is the key an address is limited by: IPv6 clients count per
// /64, since one host usually holds a whole one.
func ClientKey(ip netip.Addr) string {
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
