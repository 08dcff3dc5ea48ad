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

	"github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"

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

func TestClassifyFaults(t *testing.T) {
	smtpErr := func(code int, enh smtp.EnhancedCode, msg string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
	}
	tests := []struct {
		name       string
		opts       smtptest.Options
		wantCode   int
		wantEnh    string
		wantTemp   bool
		wantBounce bool
		wantBroken bool
	}{
		{name: "550 5.1.1 at rcpt", opts: smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
			if f.Stage == "rcpt" && f.Rcpt == "bad@example.com" {
				return smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "No such user bad@example.com")
			}
			return nil
		}}, wantCode: 550, wantEnh: "5.1.1", wantBounce: true},
		{name: "451 at rcpt", opts: smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
			if f.Stage == "rcpt" && f.Rcpt == "bad@example.com" {
				return smtpErr(451, smtp.EnhancedCode{4, 3, 0}, "Try again later")
			}
			return nil
		}}, wantCode: 451, wantEnh: "4.3.0", wantTemp: true},
		{name: "451 at data", opts: smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
			if f.Stage == "data" && f.Rcpt == "bad@example.com" {
				return smtpErr(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted")
			}
			return nil
		}}, wantCode: 451, wantEnh: "4.7.1", wantTemp: true},
		{name: "554 at data", opts: smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
			if f.Stage == "data" && f.Rcpt == "bad@example.com" {
				return smtpErr(554, smtp.EnhancedCode{5, 6, 0}, "Content rejected")
			}
			return nil
		}}, wantCode: 554, wantEnh: "5.6.0"},
		{name: "421 at rcpt", opts: smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
			if f.Stage == "rcpt" && f.Rcpt == "bad@example.com" {
				return smtpErr(421, smtp.EnhancedCode{4, 4, 2}, "Service shutting down")
			}
			return nil
		}}, wantCode: 421, wantEnh: "4.4.2", wantTemp: true, wantBroken: true},
		{name: "550 without enhanced code", opts: smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
			// The text names a status code, but not where RFC 2034 puts
			// one: it is no enhanced code, and no bounce.
			if f.Stage == "rcpt" && f.Rcpt == "bad@example.com" {
				return smtpErr(550, smtp.NoEnhancedCode, "Policy rejection, see 5.1.1 in our FAQ")
			}
			return nil
		}}, wantCode: 550},
		{name: "dropped mid-DATA", opts: smtptest.Options{DropMidData: func(rcpt string, n int) bool {
			return rcpt == "bad@example.com"
		}}, wantTemp: true, wantBroken: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			cfg := smtpConfig(t, srv, "none", "", "")
			c := mustComposer(t, cfg)
			e := testEdition(cfg)
			conn := mustOpen(t, cfg)
			send := func(addr string) error {
				m, _, err := c.Digest(e, Recipient{ID: 1, Email: addr}, nil)
				if err != nil {
					t.Fatal(err)
				}
				return conn.Send(context.Background(), m)
			}
			if err := send("good@example.com"); err != nil {
				t.Fatalf("first Send: %v", err)
			}
			err := send("bad@example.com")
			if err == nil {
				t.Fatal("Send succeeded")
			}
			se := Classify(err)
			if se.Code != tt.wantCode || se.Enhanced != tt.wantEnh || se.Temporary != tt.wantTemp ||
				se.Bounce != tt.wantBounce || se.Broken != tt.wantBroken {
				t.Errorf("Classify = {Code:%d Enhanced:%q Temporary:%v Bounce:%v Broken:%v}, want {%d %q %v %v %v} (%v)",
					se.Code, se.Enhanced, se.Temporary, se.Bounce, se.Broken,
					tt.wantCode, tt.wantEnh, tt.wantTemp, tt.wantBounce, tt.wantBroken, err)
			}
			if strings.Contains(se.Reply, "@") {
				t.Errorf("Reply %q shows an address", se.Reply)
			}
			// After a reply the connection stays usable; after a break it
			// refuses at once and the caller opens a new one.
			err = send("good@example.com")
			if tt.wantBroken {
				if err == nil || !Classify(err).Broken {
					t.Errorf("Send on a broken connection: %v", err)
				}
			} else if err != nil {
				t.Errorf("Send after the fault: %v", err)
			}
			if want := map[bool]int64{true: 1, false: 2}[tt.wantBroken]; srv.Count() != want {
				t.Errorf("server accepted %d messages, want %d", srv.Count(), want)
			}
		})
	}
}

// TestClassifyGoMailSendError classifies the *mail.SendError go-mail's own
// Client.Send returns for real replies of a server.
func TestClassifyGoMailSendError(t *testing.T) {
	tests := []struct {
		name       string
		reply      *smtp.SMTPError
		stage      string
		wantTemp   bool
		wantBounce bool
	}{
		{"550 5.1.1 at rcpt", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}, "rcpt", false, true},
		{"452 4.2.2 at rcpt", &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}, "rcpt", true, false},
		{"554 5.7.1 at data", &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Spam"}, "data", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
				if f.Stage == tt.stage {
					return tt.reply
				}
				return nil
			}})
			client, err := gomail.NewClient("127.0.0.1", gomail.WithPort(srv.Port()), gomail.WithTLSPolicy(gomail.NoTLS))
			if err != nil {
				t.Fatal(err)
			}
			msg := gomail.NewMsg()
			if err := msg.From("brief@example.org"); err != nil {
				t.Fatal(err)
			}
			if err := msg.To("reader@example.com"); err != nil {
				t.Fatal(err)
			}
			msg.SetBodyString(gomail.TypeTextPlain, "hello")
			err = client.DialAndSend(msg)
			var ge *gomail.SendError
			if !errors.As(err, &ge) {
				t.Fatalf("DialAndSend = %v, want a *mail.SendError", err)
			}
			se := Classify(err)
			wantEnh := fmt.Sprintf("%d.%d.%d", tt.reply.EnhancedCode[0], tt.reply.EnhancedCode[1], tt.reply.EnhancedCode[2])
			if se.Code != tt.reply.Code || se.Enhanced != wantEnh || se.Temporary != tt.wantTemp || se.Bounce != tt.wantBounce || se.Broken {
				t.Errorf("Classify = {Code:%d Enhanced:%q Temporary:%v Bounce:%v Broken:%v}, want {%d %q %v %v false} (%v)",
					se.Code, se.Enhanced, se.Temporary, se.Bounce, se.Broken, tt.reply.Code, wantEnh, tt.wantTemp, tt.wantBounce, err)
			}
			if strings.Contains(se.Error(), "@") {
				t.Errorf("Error() %q shows an address", se.Error())
			}
		})
	}
}

func TestClassifyErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantTemp bool
	}{
		{"timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, true},
		{"eof", fmt.Errorf("x: %w", errors.New("EOF")), true},
		{"canceled", context.Canceled, true},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got.Temporary != tt.wantTemp || got.Code != 0 || !got.Broken {
			t.Errorf("%s: Classify = %+v", tt.name, got)
		}
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
	se := &SendError{Code: 550}
	if Classify(fmt.Errorf("wrapped: %w", se)) != se {
		t.Error("Classify does not return a wrapped *SendError")
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
