// Package dnstest runs a DNS server on loopback for tests: it serves the
// TXT records of a zone given in the test over UDP (truncating answers
// larger than the client's UDP size, as real servers do) and TCP, and
// injects faults on demand: an rcode for a name, or no answer at all.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// Zone maps a lower-case name (no final dot) to its TXT records. A name
// present with no records answers NOERROR with nothing; a missing name
// answers NXDOMAIN. Records longer than 255 bytes are served split into
// several character-strings.
type Zone map[string][]string

// Server is a DNS server on loopback serving a Zone over UDP and TCP on
// the same port. The zone is the server's once started: change it before.
type Server struct {
	Addr    string       // HOST:PORT, for UDP and TCP
	TCP     atomic.Int32 // queries that came over TCP
	mu      sync.Mutex
	zone    Zone
	rcode   map[string]int  // names answered with this rcode instead
	silence map[string]bool // names never answered
}

// Start starts a server for z and stops it when the test ends.
func Start(t testing.TB, z Zone) *Server {
	t.Helper()
	s := &Server{zone: z, rcode: map[string]int{}, silence: map[string]bool{}}
	pc, ln := mustListenPair(t)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: s}, {Listener: ln, Handler: s}} {
		// Shutdown fails on a server not started yet, which would leak it.
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	s.Addr = pc.LocalAddr().String()
	return s
}

// mustListenPair binds UDP and TCP on the same loopback port, as a
// resolver has: the client falls back to TCP on the same address.
func mustListenPair(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
	}
	t.Fatal("no free port for UDP and TCP")
	return nil, nil
}

// SetRcode makes queries for name answer rcode (dns.RcodeServerFailure...).
func (s *Server) SetRcode(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcode[name] = rcode
}

// SetSilent makes queries for name go unanswered, so clients time out.
func (s *Server) SetSilent(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silence[name] = true
}

// ServeDNS answers one query from the zone.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	_, isTCP := w.LocalAddr().(*net.TCPAddr)
	if isTCP {
		s.TCP.Add(1)
	}
	m := new(dns.Msg)
	m.SetReply(req)
	name := strings.ToLower(strings.TrimSuffix(req.Question[0].Name, "."))
	s.mu.Lock()
	rcode, forced := s.rcode[name]
	silent := s.silence[name]
	recs, exists := s.zone[name]
	s.mu.Unlock()
	switch {
	case silent:
		return
	case forced:
		m.Rcode = rcode
	case !exists:
		m.Rcode = dns.RcodeNameError
	case req.Question[0].Qtype == dns.TypeTXT:
		for _, r := range recs {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300},
				Txt: split255(r),
			})
		}
	}
	if !isTCP {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

// split255 cuts a record into character-strings as a zone file must.
func split255(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}
