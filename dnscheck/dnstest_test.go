package dnscheck

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// zone maps a lower-case name (no final dot) to its TXT records. A name
// present with no records answers NOERROR with nothing; a missing name
// answers NXDOMAIN.
type zone map[string][]string

// testServer is a DNS server on loopback serving a zone over UDP and TCP.
type testServer struct {
	Addr    string
	TCP     atomic.Int32 // queries that came over TCP
	mu      sync.Mutex
	zone    zone
	rcode   map[string]int  // names answered with this rcode instead
	silence map[string]bool // names never answered
}

// mustDNSServer starts a server for z and stops it when the test ends.
func mustDNSServer(t *testing.T, z zone) *testServer {
	t.Helper()
	s := &testServer{zone: z, rcode: map[string]int{}, silence: map[string]bool{}}
	pc, ln := mustListenPair(t)
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	for _, srv := range []*dns.Server{udp, tcp} {
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
	}
	s.Addr = pc.LocalAddr().String()
	return s
}

// mustListenPair binds UDP and TCP on the same loopback port, as a
// resolver has: the client falls back to TCP on the same address.
func mustListenPair(t *testing.T) (net.PacketConn, net.Listener) {
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

func (s *testServer) setRcode(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcode[name] = rcode
}

func (s *testServer) setSilent(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silence[name] = true
}

func (s *testServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
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

var (
	rsaKeyOnce sync.Once
	rsaKeys    [2]*rsa.PrivateKey
)

// testRSAKeys returns two RSA keys, made once: generating them is slow.
func testRSAKeys(t *testing.T) [2]*rsa.PrivateKey {
	t.Helper()
	rsaKeyOnce.Do(func() {
		for i := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[i] = k
		}
	})
	return rsaKeys
}

func mustEd25519(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
