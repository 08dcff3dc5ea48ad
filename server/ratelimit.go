package server

import (
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Bounded is a map for concurrent use holding at most Max keys: a new key
// finding it full first drops the values Idle says can go at now, then
// arbitrary ones until a tenth of it is free.
type Bounded[V any] struct {
	Max  int
	Idle func(v V, now time.Time) bool

	mu sync.Mutex
	m  map[string]V
}

// Get returns key's value, the zero V when there is none.
func (b *Bounded[V]) Get(key string) V {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[key]
}

// Update lets f change key's value (the zero V when new) under the lock,
// and returns what f does.
func (b *Bounded[V]) Update(key string, now time.Time, f func(v *V) bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[key]
	if b.m == nil {
		b.m = make(map[string]V)
	} else if !ok && len(b.m) >= b.Max {
		maps.DeleteFunc(b.m, func(_ string, v V) bool { return b.Idle(v, now) })
		for k := range b.m { // random order
			if len(b.m) < b.Max-b.Max/10 {
				break
			}
			delete(b.m, k)
		}
	}
	res := f(&v)
	b.m[key] = v
	return res
}

// limiter is a set of token buckets keyed by client IP or address.
type limiter struct {
	rate    RateLimit
	buckets Bounded[bucket]
}

// bucket is a token bucket; a new one (zero last) is full.
type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate RateLimit) *limiter {
	l := &limiter{rate: rate}
	l.buckets = Bounded[bucket]{Max: 10000, Idle: func(b bucket, now time.Time) bool {
		return l.refill(&b, now) >= float64(rate.Burst)
	}}
	return l
}

// allow takes a token from key's bucket if it has one; no burst allows everything.
func (l *limiter) allow(key string, now time.Time) bool {
	if l.rate.Burst <= 0 || l.rate.Every <= 0 {
		return true
	}
	return l.buckets.Update(key, now, func(b *bucket) bool {
		ok := l.refill(b, now) >= 1
		if ok {
			b.tokens--
		}
		return ok
	})
}

// refill adds the tokens earned since b.last and returns how many b has.
func (l *limiter) refill(b *bucket, now time.Time) float64 {
	if b.last.IsZero() {
		b.tokens, b.last = float64(l.rate.Burst), now
	} else if el := now.Sub(b.last); el > 0 {
		b.tokens = min(float64(l.rate.Burst), b.tokens+float64(el)/float64(l.rate.Every))
		b.last = now
	}
	return b.tokens
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
