package digest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/editions"
	"briefcast/email"
	"briefcast/email/smtptest"
	"briefcast/store"
	"briefcast/store/storetest"
	"briefcast/subscribers"
	"briefcast/templates"
	"briefcast/tokens"
)

// cutoff is the scheduled time of the editions in these tests.
var cutoff = time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)

func testArticles() []*articles.Article {
	return []*articles.Article{
		art("grid-upgrade", cutoff.Add(-1*time.Hour), "energy"),
		art("rate-decision", cutoff.Add(-2*time.Hour), "markets"),
		art("port-strike", cutoff.Add(-3*time.Hour), "trade", "markets"),
	}
}

// mustConfig writes a config for an smtp transport to port and loads it.
func mustConfig(t testing.TB, port int, connections int) *config.Config {
	t.Helper()
	dir := t.TempDir()
	text := fmt.Sprintf(`data_dir = "data"
[site]
title = "Test Brief"
base_url = "https://news.example.org/"
[email]
from = "The Brief <brief@example.org>"
postal_address = "1 Example Street, Exampleton"
transport = "smtp"
[email.smtp]
host = "127.0.0.1"
port = %d
tls = "none"
connections = %d
[[digests]]
name = "daily"
title = "The Daily Brief"
schedule = "0 7 * * *"
timezone = "UTC"
subject = "{{.Title}}"
max_items = 10
`, port, connections)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mustComposer(t testing.TB, cfg *config.Config) *email.Composer {
	t.Helper()
	signer, err := tokens.NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := email.NewComposer(email.OptionsOf(cfg), templates.Embedded(), signer)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustImport adds n active subscribers of the daily digest, the i-th at
// user<i>@example.net.
func mustImport(t testing.TB, st *store.DB, n int) {
	t.Helper()
	const chunk = 1000
	for start := 0; start < n; start += chunk {
		var rows []subscribers.ImportRow
		for i := start; i < min(n, start+chunk); i++ {
			rows = append(rows, subscribers.ImportRow{Line: i + 1, Email: fmt.Sprintf("user%d@example.net", i),
				Name: fmt.Sprintf("User %d", i), Digests: []string{"daily"}, Status: subscribers.Active})
		}
		if _, err := st.Import(context.Background(), rows); err != nil {
			t.Fatal(err)
		}
	}
}

// mustSubscribers is mustImport returning the subscribers in id order.
func mustSubscribers(t testing.TB, st *store.DB, n int) []*subscribers.Subscriber {
	t.Helper()
	ctx := context.Background()
	mustImport(t, st, n)
	var subs []*subscribers.Subscriber
	err := st.List(ctx, subscribers.Filter{Digest: "daily"}, func(s *subscribers.Subscriber) error {
		subs = append(subs, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != n {
		t.Fatalf("imported %d subscribers, want %d", len(subs), n)
	}
	return subs
}

type fixture struct {
	cfg   *config.Config
	store *store.DB
	srv   *smtptest.Server
	subs  []*subscribers.Subscriber
}

func newFixture(t *testing.T, n int, opts smtptest.Options) *fixture {
	t.Helper()
	srv := smtptest.Start(t, opts)
	cfg := mustConfig(t, srv.Port(), 3)
	st := storetest.SQLite(t)
	return &fixture{cfg: cfg, store: st, srv: srv, subs: mustSubscribers(t, st, n)}
}

func (f *fixture) sender(t *testing.T) *Sender {
	t.Helper()
	tr, err := email.NewTransport(email.TransportOptionsOf(f.cfg), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &Sender{
		Store: f.store, Composer: mustComposer(t, f.cfg), Transport: tr,
		Log:         slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Connections: 3, Owner: "test-" + t.Name(),
		RetryMaxAge: time.Hour, BackoffBase: 5 * time.Millisecond, BackoffMax: 40 * time.Millisecond,
		Lease: time.Minute, Poll: 20 * time.Millisecond, SingleInstance: true,
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// received counts the messages the server accepted per recipient.
func (f *fixture) received() map[string]int {
	got := map[string]int{}
	for _, m := range f.srv.Messages() {
		for _, to := range m.To {
			got[strings.ToLower(to)]++
		}
	}
	return got
}

// want describes the expected final state of every recipient.
type want struct {
	failed  map[int]string // subscriber index -> substring of the last reply
	bounced map[int]bool
	skipped map[int]bool
	cancel  map[int]bool
}

// check asserts the edition's counts, that every recipient meant to get
// the edition got it exactly once, and the state of every other one.
func (f *fixture) check(t *testing.T, rep *Report, w want) {
	t.Helper()
	ctx := context.Background()
	if rep.Edition == nil {
		t.Fatal("no edition")
	}
	p, err := f.store.Progress(ctx, rep.Edition.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(f.subs))
	wantP := editions.Progress{Failed: int64(len(w.failed)), Skipped: int64(len(w.skipped)), Cancelled: int64(len(w.cancel))}
	wantP.Sent = n - wantP.Failed - wantP.Skipped - wantP.Cancelled
	if p != wantP {
		t.Errorf("progress = %+v, want %+v", p, wantP)
	}
	if !rep.Done {
		t.Errorf("report not done: %+v", rep)
	}
	got := f.received()
	for i, s := range f.subs {
		_, failed := w.failed[i]
		shouldGet := !failed && !w.skipped[i] && !w.cancel[i]
		if c := got[s.Email]; (shouldGet && c != 1) || (!shouldGet && c != 0) {
			t.Errorf("subscriber %d received %d copies, want %v", i, c, shouldGet)
		}
		cur, err := f.store.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := w.bounced[i]; want != (cur.Status == subscribers.Bounced) {
			t.Errorf("subscriber %d status %s, want bounced=%v", i, cur.Status, want)
		}
	}
	fails, err := f.store.Failures(ctx, rep.Edition.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]editions.Delivery{}
	for _, d := range fails {
		byID[d.Subscriber.ID] = d
	}
	if len(fails) != len(w.failed) {
		t.Errorf("%d failures listed, want %d", len(fails), len(w.failed))
	}
	for i, reply := range w.failed {
		d, ok := byID[f.subs[i].ID]
		switch {
		case !ok:
			t.Errorf("subscriber %d not listed as failed", i)
		case d.State != editions.DeliveryFailed || !strings.Contains(d.LastReply, reply):
			t.Errorf("subscriber %d: state %s reply %q, want failed with %q", i, d.State, d.LastReply, reply)
		}
	}
}

// faultOnce fails the first attempt of every recipient that pick selects.
type faultOnce struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (o *faultOnce) first(rcpt string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	if o.seen[rcpt] {
		return false
	}
	o.seen[rcpt] = true
	return true
}

func index(rcpt string) int {
	var i int
	fmt.Sscanf(strings.TrimPrefix(strings.ToLower(rcpt), "user"), "%d@", &i)
	return i
}

func TestDeliverFaults(t *testing.T) {
	const n = 40
	every := func(k int) map[int]bool {
		m := map[int]bool{}
		for i := 0; i < n; i += k {
			m[i] = true
		}
		return m
	}
	failing := func(sel map[int]bool, reply string) map[int]string {
		m := map[int]string{}
		for i := range sel {
			m[i] = reply
		}
		return m
	}
	tests := []struct {
		name    string
		opts    func() smtptest.Options
		want    want
		retried bool // some recipients needed a second attempt
	}{
		{
			name: "no faults",
			opts: func() smtptest.Options { return smtptest.Options{} },
		},
		{
			name: "421 and 451 are retried then sent",
			opts: func() smtptest.Options {
				var once faultOnce
				return smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
					i := index(f.Rcpt)
					switch {
					case f.Stage == "rcpt" && i%5 == 1 && once.first(f.Rcpt):
						return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
					case f.Stage == "data" && i%7 == 2 && once.first(f.Rcpt):
						return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "too busy"}
					}
					return nil
				}}
			},
			retried: true,
		},
		{
			name: "550 5.1.1 fails at once and bounces",
			opts: func() smtptest.Options {
				return smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
					if f.Stage == "rcpt" && index(f.Rcpt)%4 == 0 {
						return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
					}
					return nil
				}}
			},
			want: want{failed: failing(every(4), "550"), bounced: every(4)},
		},
		{
			name: "550 5.7.1 fails at once without a bounce",
			opts: func() smtptest.Options {
				return smtptest.Options{Fault: func(f smtptest.FaultPoint) *smtp.SMTPError {
					if f.Stage == "data" && index(f.Rcpt)%6 == 0 {
						return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected by policy"}
					}
					return nil
				}}
			},
			want: want{failed: failing(every(6), "5.7.1")},
		},
		{
			name: "a connection dropped mid-DATA is retried",
			opts: func() smtptest.Options {
				var once faultOnce
				return smtptest.Options{DropMidData: func(rcpt string, _ int) bool {
					return index(rcpt)%3 == 0 && once.first(rcpt)
				}}
			},
			retried: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, n, tt.opts())
			s := f.sender(t)
			rep, err := s.Run(context.Background(), f.cfg.Digests[0], testArticles(), cutoff)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Created {
				t.Error("edition not reported as created")
			}
			if got := rep.Retried > 0; got != tt.retried {
				t.Errorf("retried %d deliveries, want some: %v", rep.Retried, tt.retried)
			}
			f.check(t, rep, tt.want)
		})
	}
}

func TestDeliverServerDown(t *testing.T) {
	f := newFixture(t, 25, smtptest.Options{})
	f.srv.Refuse(true)
	s := f.sender(t)
	attempts := make(chan struct{}, 1000)
	s.OnResult = func(r editions.Result) {
		if r.State == editions.DeliveryRetrying {
			select {
			case attempts <- struct{}{}:
			default:
			}
		}
	}
	// The server comes back once the sender has seen it down a few times.
	go func() {
		for range 5 {
			<-attempts
		}
		f.srv.Refuse(false)
	}()
	rep, err := s.Run(context.Background(), f.cfg.Digests[0], testArticles(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Retried < 5 {
		t.Errorf("retried %d, want at least 5 while the server was down", rep.Retried)
	}
	f.check(t, rep, want{})
}

func TestDeliverGivesUpAfterMaxAge(t *testing.T) {
	f := newFixture(t, 6, smtptest.Options{Fault: func(fp smtptest.FaultPoint) *smtp.SMTPError {
		if fp.Stage == "rcpt" && index(fp.Rcpt) == 2 {
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
		}
		return nil
	}})
	s := f.sender(t)
	s.RetryMaxAge = 30 * time.Millisecond
	rep, err := s.Run(context.Background(), f.cfg.Digests[0], testArticles(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, rep, want{failed: map[int]string{2: "gave up after"}})
}

func TestDeliverUnsubscribedAndTagFilters(t *testing.T) {
	f := newFixture(t, 10, smtptest.Options{})
	ctx := context.Background()
	s := f.sender(t)
	d := f.cfg.Digests[0]
	// Subscriber 3 only wants sport, which no article has: no message.
	if err := f.store.UpdatePreferences(ctx, f.subs[3].ID, subscribers.Preferences{Digests: []string{"daily"}, Tags: []string{"sport"}}); err != nil {
		t.Fatal(err)
	}
	// Subscriber 4 wants markets: a message with two of the three articles.
	if err := f.store.UpdatePreferences(ctx, f.subs[4].ID, subscribers.Preferences{Digests: []string{"daily"}, Tags: []string{"markets"}}); err != nil {
		t.Fatal(err)
	}
	e := &editions.Edition{Digest: d.Name, Key: EditionKey(cutoff), Cutoff: cutoff}
	for _, a := range testArticles() {
		e.Articles = append(e.Articles, a.ID)
	}
	if err := f.store.CreateEdition(ctx, e); err != nil {
		t.Fatal(err)
	}
	// Subscriber 7 leaves between the edition's creation and its sending.
	if err := f.store.SetStatus(ctx, f.subs[7].ID, subscribers.Unsubscribed, "test"); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Run(ctx, d, testArticles(), cutoff.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Resumed || rep.Edition.ID != e.ID {
		t.Errorf("Run did not resume edition %d: %+v", e.ID, rep)
	}
	f.check(t, rep, want{skipped: map[int]bool{3: true}, cancel: map[int]bool{7: true}})
	for _, m := range f.srv.Messages() {
		if slices.Contains(m.To, f.subs[4].Email) {
			body := string(m.Data)
			if !strings.Contains(body, "Title rate-decision") || strings.Contains(body, "Title grid-upgrade") {
				t.Errorf("subscriber 4's message does not hold exactly the markets articles")
			}
		}
	}
}
