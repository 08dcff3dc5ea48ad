package email

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"briefcast/config"
	"briefcast/email/smtptest"
)

func TestFileTransport(t *testing.T) {
	cfg := mustConfig(t, "")
	c := mustComposer(t, cfg)
	e := testEdition(cfg)
	conn := mustOpen(t, cfg)
	want := map[string][]byte{}
	for id := int64(1); id <= 3; id++ {
		m, _, err := c.Digest(e, Recipient{ID: id, Email: fmt.Sprintf("r%d@example.com", id)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Send(context.Background(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		want[filepath.Join("daily", "20261125T1200Z", fmt.Sprintf("%d.eml", id))] = withReturnPath(m.From, msgBytes(t, m))
	}
	cm, err := c.Confirmation(Recipient{ID: 9, Email: "n@example.com"}, "https://example.org/news/confirm?token=t")
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	want[filepath.Join("confirm", cm.Name+".eml")] = withReturnPath(cm.From, msgBytes(t, cm))

	got := map[string]bool{}
	err = filepath.WalkDir(cfg.Email.OutboxDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(cfg.Email.OutboxDir, path)
		got[rel] = true
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if w, ok := want[rel]; !ok {
			t.Errorf("unexpected file %s", rel)
		} else if !bytes.Equal(body, w) {
			t.Errorf("%s differs from the message", rel)
		}
		if st, _ := d.Info(); st.Mode().Perm() != 0o640 {
			t.Errorf("%s mode = %v, want 0640", rel, st.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range want {
		if !got[rel] {
			t.Errorf("missing %s", rel)
		}
	}
}

func TestFilePathSanitised(t *testing.T) {
	ft := &FileTransport{Dir: "/out"}
	tests := []struct {
		folder, name, want string
	}{
		{"daily/20261125T0700Z", "42", "/out/daily/20261125T0700Z/42.eml"},
		{"../../etc", "passwd", "/out/_/_/etc/passwd.eml"},
		{"daily/..", "..", "/out/daily/_/_.eml"},
		{"/abs/path", "a/b", "/out/abs/path/a-b.eml"},
		{`we\ird:na me`, "x\x00y", "/out/we-ird-na-me/x-y.eml"},
		{"", "7-abc", "/out/7-abc.eml"},
	}
	for _, tt := range tests {
		got, err := ft.Path(&Message{Folder: tt.folder, Name: tt.name, Msg: newTestMsg()})
		if err != nil || got != tt.want {
			t.Errorf("Path(%q, %q) = %q, %v; want %q", tt.folder, tt.name, got, err, tt.want)
		}
	}
	if _, err := ft.Path(&Message{Folder: "x", Name: "", Msg: newTestMsg()}); err == nil {
		t.Error("Path accepted an empty name")
	}
}

// smtpConfig points a config at a test server.
func smtpConfig(t *testing.T, srv *smtptest.Server, tlsMode, user, pass string) *config.Config {
	t.Helper()
	return smtpConfigPort(t, srv.Port(), tlsMode, user, pass)
}

// smtpConfigPort is smtpConfig for a server on port of 127.0.0.1.
func smtpConfigPort(t *testing.T, port int, tlsMode, user, pass string) *config.Config {
	t.Helper()
	cfg := mustConfig(t, fmt.Sprintf(`
[email.smtp]
host = "127.0.0.1"
port = %d
tls = %q
username = %q
timeout = "5s"
`, port, tlsMode, user))
	cfg.Email.Transport = "smtp"
	cfg.Email.SMTPPassword = pass
	return cfg
}

// mustOpen opens a connection of cfg's transport; an smtp transport
// trusts the certificates of roots when given.
func mustOpen(t *testing.T, cfg *config.Config, roots ...*x509.CertPool) Conn {
	t.Helper()
	tr, err := NewTransport(TransportOptionsOf(cfg), nil)
	if len(roots) > 0 {
		tr, err = newSMTPTransport(TransportOptionsOf(cfg), slog.New(slog.DiscardHandler), roots[0])
	}
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tr.Open(context.Background())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestSMTPTransport(t *testing.T) {
	certs, pool := mustCert(t)
	serverTLS := &tls.Config{Certificates: certs}
	tests := []struct {
		name       string
		opts       smtptest.Options
		mode       string
		user, pass string
	}{
		{name: "plain", opts: smtptest.Options{}, mode: "none"},
		{name: "auth", opts: smtptest.Options{Username: "u", Password: "secret"}, mode: "none", user: "u", pass: "secret"},
		{name: "starttls", opts: smtptest.Options{TLSConfig: serverTLS}, mode: "starttls"},
		{name: "starttls auth", opts: smtptest.Options{TLSConfig: serverTLS, Username: "u", Password: "p"}, mode: "starttls", user: "u", pass: "p"},
		{name: "implicit tls", opts: smtptest.Options{TLSConfig: serverTLS, ImplicitTLS: true}, mode: "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			cfg := smtpConfig(t, srv, tt.mode, tt.user, tt.pass)
			c := mustComposer(t, cfg)
			e := testEdition(cfg)
			conn := mustOpen(t, cfg, pool)
			for id := int64(1); id <= 3; id++ {
				m, _, err := c.Digest(e, Recipient{ID: id, Email: fmt.Sprintf("r%d@example.com", id), Name: "R"}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := conn.Send(context.Background(), m); err != nil {
					t.Fatalf("Send %d: %v", id, err)
				}
			}
			got := srv.Messages()
			if len(got) != 3 || srv.Connections() != 1 {
				t.Fatalf("server got %d messages over %d connections, want 3 over 1", len(got), srv.Connections())
			}
			for i, m := range got {
				if m.From != "brief@example.org" || len(m.To) != 1 || m.To[0] != fmt.Sprintf("r%d@example.com", i+1) {
					t.Errorf("message %d: envelope %q -> %v", i, m.From, m.To)
				}
				mustParse(t, m.Data)
			}
		})
	}
}

func TestSMTPOpenFailures(t *testing.T) {
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	tests := []struct {
		name     string
		opts     smtptest.Options
		mode     string
		user     string
		pass     string
		refuse   bool
		dead     bool
		wantTemp bool
		wantCode int
	}{
		{name: "wrong password", opts: smtptest.Options{Username: "u", Password: "right"}, mode: "none", user: "u", pass: "wr0ng-pass", wantTemp: true, wantCode: 535},
		{name: "starttls unsupported", opts: smtptest.Options{}, mode: "starttls", wantTemp: true},
		{name: "auth unsupported", opts: smtptest.Options{}, mode: "none", user: "u", pass: "s3cr3t-pass", wantTemp: true},
		{name: "server down", opts: smtptest.Options{}, mode: "none", refuse: true, wantTemp: true},
		{name: "connection refused", opts: smtptest.Options{}, mode: "none", dead: true, wantTemp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			cfg := smtpConfig(t, srv, tt.mode, tt.user, tt.pass)
			if tt.dead {
				cfg.Email.SMTP.Port = deadPort
			}
			srv.Refuse(tt.refuse)
			tr, err := NewTransport(TransportOptionsOf(cfg), nil)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := tr.Open(context.Background())
			if err == nil {
				conn.Close()
				t.Fatal("Open succeeded")
			}
			se := Classify(err)
			if se.Temporary != tt.wantTemp || se.Code != tt.wantCode || !se.Broken || se.Bounce {
				t.Errorf("Classify(%v) = {Temporary:%v Code:%d Broken:%v Bounce:%v}, want {%v %d true false}",
					err, se.Temporary, se.Code, se.Broken, se.Bounce, tt.wantTemp, tt.wantCode)
			}
			if strings.Contains(err.Error(), tt.pass) && tt.pass != "" {
				t.Error("error shows the password")
			}
		})
	}
}

// TestSMTPPrepare checks that a prepared message is delivered only by
// Finish: until then the server holds all of it but the final "." line,
// and after Abort it sees the data cut off and discards the message.
func TestSMTPPrepare(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := smtpConfig(t, srv, "none", "", "")
	c := mustComposer(t, cfg)
	e := testEdition(cfg)
	msg := func(id int64) *Message {
		m, _, err := c.Digest(e, Recipient{ID: id, Email: fmt.Sprintf("r%d@example.com", id)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ctx := context.Background()
	conn := mustOpen(t, cfg)
	p, err := conn.Prepare(ctx, msg(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(ctx, msg(9)); err == nil {
		t.Error("Send while a prepared message is open succeeded")
	}
	if n := srv.Count(); n != 0 {
		t.Fatalf("server accepted %d messages before Finish", n)
	}
	if err := p.Finish(ctx); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if n := srv.Count(); n != 1 {
		t.Fatalf("server accepted %d messages after Finish, want 1", n)
	}

	// Abort gives up the connection without ending the data.
	p, err = conn.Prepare(ctx, msg(2))
	if err != nil {
		t.Fatal(err)
	}
	p.Abort()
	p.Abort() // a second Abort is harmless
	if err := p.Finish(ctx); err == nil {
		t.Error("Finish after Abort succeeded")
	}
	if err := conn.Send(ctx, msg(3)); err == nil || !Classify(err).Broken {
		t.Errorf("Send after Abort = %v, want a broken connection", err)
	}
	smtptest.WaitFor(t, "the server to see the aborted data", func() bool { return srv.Unfinished() == 1 })

	// A new connection carries on.
	conn = mustOpen(t, cfg)
	if err := conn.Send(ctx, msg(4)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range srv.Messages() {
		got = append(got, m.To...)
	}
	if want := []string{"r1@example.com", "r4@example.com"}; !slices.Equal(got, want) {
		t.Errorf("server accepted messages to %v, want %v", got, want)
	}
}

func TestFilePrepare(t *testing.T) {
	cfg := mustConfig(t, "")
	c := mustComposer(t, cfg)
	e := testEdition(cfg)
	ctx := context.Background()
	conn := mustOpen(t, cfg)
	for _, finish := range []bool{false, true} {
		m, _, err := c.Digest(e, Recipient{ID: 1, Email: "r1@example.com"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := conn.Prepare(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if finish {
			if err := p.Finish(ctx); err != nil {
				t.Fatal(err)
			}
		} else {
			p.Abort()
		}
		path := filepath.Join(cfg.Email.OutboxDir, "daily", "20261125T1200Z", "1.eml")
		if _, err := os.Stat(path); (err == nil) != finish {
			t.Errorf("finish=%v: stat %s: %v", finish, path, err)
		}
	}
}

func TestSMTPCancel(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := smtpConfig(t, srv, "none", "", "")
	cfg.Email.SMTP.Rate = 0.001 // one message every 1000 s: the second Send waits
	c := mustComposer(t, cfg)
	conn := mustOpen(t, cfg)
	m, _, err := c.Digest(testEdition(cfg), Recipient{ID: 1, Email: "a@example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := conn.Send(ctx, m); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v, want context.Canceled", err)
	}
	// The limiter is shared: a second connection of the same transport
	// also has to wait its turn, far beyond this deadline.
	tr, err := NewTransport(TransportOptionsOf(cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := tr.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := tr.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c1.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := c2.Send(ctx2, m); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second connection's Send = %v, want it held back by the shared limiter", err)
	}
}

// mustCert makes a self-signed certificate for 127.0.0.1.
func mustCert(t *testing.T) ([]tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smtptest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, pool
}
