package smtptest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"
)

func dial(t *testing.T, s *Server) (*gomail.Client, error) {
	t.Helper()
	c, err := gomail.NewClient("127.0.0.1", gomail.WithPort(s.Port()), gomail.WithTLSPolicy(gomail.NoTLS),
		gomail.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c, c.DialWithContext(context.Background())
}

func msg(t *testing.T, to string) *gomail.Msg {
	t.Helper()
	m := gomail.NewMsg()
	if err := m.From("a@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := m.To(to); err != nil {
		t.Fatal(err)
	}
	m.Subject("hi")
	m.SetBodyString(gomail.TypeTextPlain, "hello\n.leading dot\n")
	return m
}

func TestRecordAndFaults(t *testing.T) {
	s := Start(t, Options{Fault: func(f FaultPoint) *smtp.SMTPError {
		if f.Stage == "rcpt" && f.Rcpt == "no@example.org" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no"}
		}
		return nil
	}})
	c, err := dial(t, s)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(msg(t, "yes@example.org")); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(msg(t, "no@example.org")); err == nil {
		t.Fatal("550 recipient accepted")
	}
	got := s.Messages()
	if len(got) != 1 || got[0].From != "a@example.org" || got[0].To[0] != "yes@example.org" || s.Count() != 1 {
		t.Fatalf("messages = %+v", got)
	}
}

func TestRefuse(t *testing.T) {
	s := Start(t, Options{})
	c, err := dial(t, s)
	if err != nil {
		t.Fatal(err)
	}
	s.Refuse(true)
	if err := c.Send(msg(t, "x@example.org")); err == nil {
		t.Error("an open connection survived Refuse(true)")
	}
	if _, err := dial(t, s); err == nil {
		t.Error("a new connection was served while refusing")
	}
	s.Refuse(false)
	c2, err := dial(t, s)
	if err != nil {
		t.Fatalf("dial after Refuse(false): %v", err)
	}
	defer c2.Close()
	if err := c2.Send(msg(t, "x@example.org")); err != nil {
		t.Fatal(err)
	}
	if s.Connections() != 3 {
		t.Errorf("Connections = %d, want 3", s.Connections())
	}
}

func TestDiscardConcurrent(t *testing.T) {
	s := Start(t, Options{Discard: true})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := dial(t, s)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := 0; j < 50; j++ {
				if err := c.Send(msg(t, fmt.Sprintf("r%d-%d@example.org", i, j))); err != nil {
					errs <- err
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if s.Count() != 800 || len(s.Messages()) != 0 {
		t.Errorf("Count = %d, kept %d; want 800 counted, none kept", s.Count(), len(s.Messages()))
	}
}
