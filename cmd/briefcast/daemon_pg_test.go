package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"briefcast/daemon"
	"briefcast/email/smtptest"
	"briefcast/store/storetest"
)

// mustImportSubscribers writes n active subscribers of "fast" to a CSV and
// imports it with the binary; it returns their addresses.
func (e *e2eEnv) mustImportSubscribers(t *testing.T, n int) []string {
	t.Helper()
	var b strings.Builder
	b.WriteString("email,digests,status\n")
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("reader%03d@example.org", i)
		fmt.Fprintf(&b, "%s,fast,active\n", addrs[i])
	}
	path := filepath.Join(e.dir, "subscribers.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e.run(t, "subscribers", "import", path)
	return addrs
}

// slowSMTP delays every DATA a little, pacing the send so several
// instances share it and one can be killed while it holds claims. It is
// a slow server, not a wait: no assertion depends on the delay.
func slowSMTP(delay time.Duration) smtptest.Options {
	return smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
		if f.Stage == "data" {
			time.Sleep(delay)
		}
		return nil
	}}
}

// smtpGate lets the first pass messages through the mail server and holds
// every later one at DATA until Open, reporting each one it holds on held.
type smtpGate struct {
	pass int
	held chan struct{}
	open chan struct{}
	once sync.Once
}

func newSMTPGate(t *testing.T, pass int) *smtpGate {
	g := &smtpGate{pass: pass, held: make(chan struct{}, 1), open: make(chan struct{})}
	t.Cleanup(g.Open) // never leave the server's sessions blocked
	return g
}

// Open lets every held and later message through.
func (g *smtpGate) Open() { g.once.Do(func() { close(g.open) }) }

func (g *smtpGate) options() smtptest.Options {
	return smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
		if f.Stage == "data" && f.N > g.pass {
			select {
			case g.held <- struct{}{}:
			default:
			}
			<-g.open
		}
		return nil
	}}
}

// TestDaemonPostgresThreeInstances runs three `briefcast serve` on one
// PostgreSQL database. The lease is 2 s (the config keeps delivery_lease
// at 5 s or more, so the instances are this test binary running serve
// with daemon.Options.Lease; see serveWithLease), so a killed instance's
// deliveries are taken over within seconds. Every wait is for something
// the instances log or the mail server receives.
func TestDaemonPostgresThreeInstances(t *testing.T) {
	t.Parallel()
	const n = 200
	article := e2eArticle{"breakwater.md", "Breakwater repairs finish early", time.Now().Add(-time.Minute),
		[2]string{"The last blocks went in on Monday.", "Boats may use the east channel again."}}
	setUp := func(t *testing.T, smtp smtptest.Options) (*e2eEnv, []string) {
		e := mustE2EEnv(t, "@every 1s", storetest.PostgresURL(t), smtp)
		e.lease = 2 * time.Second
		return e, e.mustImportSubscribers(t, n)
	}
	serve := func(t *testing.T, e *e2eEnv, procs *[]*daemonProc) {
		p := e.startServe(t)
		if p.base == "" {
			t.Fatalf("serve exited: %v\n%s", p.err, p.stderr.String())
		}
		*procs = append(*procs, p)
	}

	// All three run before the article exists; the first tick after
	// their watchers find it creates the edition, and every instance
	// helps deliver it.
	t.Run("exactly once", func(t *testing.T) {
		t.Parallel()
		e, addrs := setUp(t, slowSMTP(5*time.Millisecond))
		var procs []*daemonProc
		for range 3 {
			serve(t, e, &procs)
		}
		e.writeArticle(t, article)
		waitUntil(t, e2eWait, "the edition to reach every subscriber", func() bool { return len(e.smtp.Messages()) >= n })
		// Every instance ticks at least twice more: nothing more is sent.
		waitTicks(t, 2, procs...)
		got := byRecipient(e.smtp.Messages())
		for _, a := range addrs {
			if len(got[a]) != 1 {
				t.Errorf("%s got %d messages, want exactly 1", a, len(got[a]))
			}
		}
		if len(got) != n {
			t.Errorf("%d recipients, want %d", len(got), n)
		}
		created := 0
		for _, p := range procs {
			created += p.count("digest_edition_created")
		}
		if created != 1 {
			t.Errorf("%d instances logged digest_edition_created, want 1", created)
		}
		for _, p := range procs {
			if err := p.signalAndWait(t, syscall.SIGTERM); err != nil {
				t.Errorf("serve exit after SIGTERM: %v", err)
			}
		}
	})

	// One instance creates the edition and claims its deliveries; the
	// mail server takes three messages, then holds the next at DATA, so
	// the instance is mid-send and holds claims when the other two start
	// and it is killed. They take its deliveries over once the lease
	// expires.
	t.Run("kill one mid-send", func(t *testing.T) {
		t.Parallel()
		gate := newSMTPGate(t, 3)
		e, addrs := setUp(t, gate.options())
		e.writeArticle(t, article)
		var procs []*daemonProc
		serve(t, e, &procs)
		victim := procs[0]
		select {
		case <-gate.held:
		case <-time.After(e2eWait):
			t.Fatalf("no message reached the mail server within %v\n%s", e2eWait, victim.stderr.String())
		}
		serve(t, e, &procs)
		serve(t, e, &procs)
		if err := victim.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-victim.done
		gate.Open()
		waitUntil(t, e2eWait, "the survivors to reach every subscriber", func() bool {
			return len(byRecipient(e.smtp.Messages())) >= n
		})
		if victim.count("digest_edition_created") != 1 {
			t.Errorf("the killed instance did not create the edition")
		}
		got := byRecipient(e.smtp.Messages())
		dups := 0
		for _, a := range addrs {
			switch c := len(got[a]); {
			case c == 0:
				t.Errorf("%s got nothing", a)
			case c > 2:
				t.Errorf("%s got %d messages", a, c)
			case c == 2:
				dups++
			}
		}
		// The message each connection of the dead process held at DATA
		// may have been accepted by the server but not recorded.
		if dups > 2 {
			t.Errorf("%d recipients got the edition twice, want at most 2 (one per connection of the killed instance)", dups)
		}
		for _, p := range procs[1:] {
			if err := p.signalAndWait(t, syscall.SIGTERM); err != nil {
				t.Errorf("serve exit after SIGTERM: %v", err)
			}
		}
	})
}

// serveLeaseEnv, set to a duration, makes the test binary run `briefcast
// serve` itself with that delivery lease (see TestMain), for the tests
// that need a lease shorter than the config allows.
const serveLeaseEnv = "BRIEFCAST_TEST_SERVE_LEASE"

// serveWithLease is main for a test binary started with serveLeaseEnv:
// the program, with daemon.Options.Lease set from the variable.
func serveWithLease(lease string) int {
	d, err := time.ParseDuration(lease)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", serveLeaseEnv, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := newApp(os.Stdout, os.Stderr, os.Getenv)
	a.serveOptions = func(o *daemon.Options) { o.Lease = d }
	return a.run(ctx, os.Args[1:])
}
