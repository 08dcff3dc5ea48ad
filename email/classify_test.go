package email

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"

	"briefcast/email/smtptest"
)

func TestClassifyFaults(t *testing.T) {
	tests := []struct {
		name       string
		opts       smtptest.Options
		wantCode   int
		wantEnh    string
		wantTemp   bool
		wantBounce bool
		wantBroken bool
	}{
		{name: "550 5.1.1 at rcpt", opts: failBad("rcpt", 550, smtp.EnhancedCode{5, 1, 1}, "No such user bad@example.com"), wantCode: 550, wantEnh: "5.1.1", wantBounce: true},
		{name: "451 at rcpt", opts: failBad("rcpt", 451, smtp.EnhancedCode{4, 3, 0}, "Try again later"), wantCode: 451, wantEnh: "4.3.0", wantTemp: true},
		{name: "451 at data", opts: failBad("data", 451, smtp.EnhancedCode{4, 7, 1}, "Greylisted"), wantCode: 451, wantEnh: "4.7.1", wantTemp: true},
		{name: "554 at data", opts: failBad("data", 554, smtp.EnhancedCode{5, 6, 0}, "Content rejected"), wantCode: 554, wantEnh: "5.6.0"},
		{name: "421 at rcpt", opts: failBad("rcpt", 421, smtp.EnhancedCode{4, 4, 2}, "Service shutting down"), wantCode: 421, wantEnh: "4.4.2", wantTemp: true, wantBroken: true},
		// The text names a status code, but not where RFC 2034 puts one:
		// it is no enhanced code, and no bounce.
		{name: "550 without enhanced code", opts: failBad("rcpt", 550, smtp.NoEnhancedCode, "Policy rejection, see 5.1.1 in our FAQ"), wantCode: 550},
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

// failBad is a server that answers code, enh and text to bad@example.com
// at stage ("rcpt" or "data").
func failBad(stage string, code int, enh smtp.EnhancedCode, text string) smtptest.Options {
	return smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
		if f.Stage == stage && f.Rcpt == "bad@example.com" {
			return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: text}
		}
		return nil
	}}
}
