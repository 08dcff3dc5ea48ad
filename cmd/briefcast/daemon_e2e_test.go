package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
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

// The end-to-end tests of `briefcast serve`: the real binary (built once
// by TestMain into briefcastBin), a real SMTP server on loopback, a real
// store, signals sent to the process. Each test has its own folder, store,
// SMTP server and ports, so they run in parallel: most of their time is
// spent waiting for schedule ticks.

// e2eSecret is the token secret every daemon of these tests reads.
const e2eSecret = "e2e-secret-0123456789-abcdefghij-klmnopq"

// e2eWait bounds every wait: generous, for a loaded 2-core machine.
const e2eWait = 30 * time.Second

const e2eConfig = `data_dir = "data"

[site]
title = "Harbour Notes"
base_url = "http://127.0.0.1/"
timezone = "UTC"
content_dir = "content"
output_dir = "public"

[store]
driver = "DRIVER"
dsn = "DSN"

[email]
from = "Harbour Notes <notes@example.org>"
postal_address = "Harbour Notes, 2 Quay Road, Example Town"
transport = "smtp"
delivery_lease = "8s"

[email.smtp]
host = "127.0.0.1"
port = SMTPPORT
tls = "none"
connections = 2

[[digests]]
name = "fast"
title = "Fast Notes"
schedule = "SCHEDULE"
subject = "{{.Title}}: {{.Count}} new"
catch_up = "0"
skip_empty = true

[server]
listen = "127.0.0.1:0"
metrics_listen = "127.0.0.1:0"

[subscriptions]
secret_env = "BRIEFCAST_SECRET"
`

// e2eEnv is one test's folder: config.toml, content/, data/ and the SMTP
// server the daemons send to.
type e2eEnv struct {
	dir, cfgPath string
	smtp         *smtptest.Server
	env          []string // added to every process's environment
	driver, dsn  string
	// lease, when set, runs serve from the test binary with this
	// delivery lease (see serveWithLease).
	lease time.Duration
}

// mustE2EEnv makes the folder with a config for schedule; dsn "" means a
// SQLite file in the folder, otherwise a PostgreSQL URL passed through
// BRIEFCAST_STORE_DSN.
func mustE2EEnv(t *testing.T, schedule, pgURL string, opts smtptest.Options) *e2eEnv {
	t.Helper()
	e := &e2eEnv{dir: t.TempDir(), smtp: smtptest.Start(t, opts), driver: "sqlite", dsn: "data/briefcast.db"}
	e.cfgPath = filepath.Join(e.dir, "config.toml")
	for _, d := range []string{"content", "data"} {
		if err := os.MkdirAll(filepath.Join(e.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.env = []string{
		"BRIEFCAST_CONFIG=" + e.cfgPath,
		"BRIEFCAST_SECRET=" + e2eSecret,
		"BRIEFCAST_LOG_FORMAT=json",
		"BRIEFCAST_LOG_LEVEL=info",
	}
	if pgURL != "" {
		e.driver, e.dsn = "postgres", "postgres://placeholder/replaced-by-env"
		e.env = append(e.env, "BRIEFCAST_STORE_DSN="+pgURL)
	}
	e.writeConfig(t, schedule)
	return e
}

func (e *e2eEnv) writeConfig(t *testing.T, schedule string) {
	t.Helper()
	text := strings.NewReplacer("DRIVER", e.driver, "DSN", e.dsn, "SMTPPORT", fmt.Sprint(e.smtp.Port()), "SCHEDULE", schedule).Replace(e2eConfig)
	mustWriteFile(t, e.cfgPath, text)
}

func mustWriteFile(t *testing.T, path, data string) {
	t.Helper()
	// Write beside the folder, then rename, so the content watcher never
	// reads half a file.
	tmp := filepath.Join(filepath.Dir(filepath.Dir(path)), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// e2eArticle is an original test article: its take bullets are what the
// test looks for in the messages.
type e2eArticle struct {
	file, title string
	date        time.Time
	bullets     [2]string
}

func (e *e2eEnv) writeArticle(t *testing.T, a e2eArticle) {
	t.Helper()
	mustWriteFile(t, filepath.Join(e.dir, "content", a.file), fmt.Sprintf(`+++
title = %q
date = %s
tags = ["harbour"]
+++

## 30-Second Take
- %s
- %s
`, a.title, a.date.UTC().Format(time.RFC3339), a.bullets[0], a.bullets[1]))
}

// run runs a one-shot subcommand of the binary and fails on error.
func (e *e2eEnv) run(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(briefcastBin, args...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), e.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("briefcast %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// daemonProc is one running `briefcast serve`.
type daemonProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	base   string // http://addr
	mbase  string // http://addr of the metrics listener
	done   chan struct{}
	err    error // the exit status, once done is closed
}

// startServe starts `briefcast serve` and waits for its "serving" line,
// or for it to exit (then base is "" and the caller looks at err).
func (e *e2eEnv) startServe(t *testing.T) *daemonProc {
	t.Helper()
	p := &daemonProc{stderr: &lockedBuffer{}, done: make(chan struct{})}
	// E2E_BIN runs another build instead, e.g. one made with -race to
	// check the daemon itself for data races.
	bin, env := briefcastBin, append(os.Environ(), e.env...)
	if b := os.Getenv("E2E_BIN"); b != "" {
		bin = b
	}
	if e.lease > 0 {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		bin, env = exe, append(env, serveLeaseEnv+"="+e.lease.String())
	}
	p.cmd = exec.Command(bin, "serve", "--listen", "127.0.0.1:0")
	p.cmd.Dir = e.dir
	p.cmd.Env = env
	p.cmd.Stdout = io.Discard
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("serve pid %d stderr:\n%s", p.cmd.Process.Pid, p.stderr.String())
		}
	})
	deadline := time.Now().Add(e2eWait)
	for time.Now().Before(deadline) {
		for _, l := range p.logs() {
			if l["msg"] == "serving" {
				if addr, _ := l["addr"].(string); addr != "" {
					p.base = "http://" + addr
					maddr, _ := l["metrics"].(string)
					p.mbase = "http://" + maddr
					return p
				}
			}
		}
		select {
		case <-p.done:
			return p
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start within %v:\n%s", e2eWait, p.stderr.String())
	return nil
}

func (p *daemonProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// logs parses the process's JSON log lines so far.
func (p *daemonProc) logs() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// count is how many log lines have message msg.
func (p *daemonProc) count(msg string) int {
	n := 0
	for _, l := range p.logs() {
		if l["msg"] == msg {
			n++
		}
	}
	return n
}

// ticks is how many runs of digest job "fast" have finished.
func (p *daemonProc) ticks() int {
	n := 0
	for _, l := range p.logs() {
		if l["msg"] == "job_finished" && l["job"] == "digest:fast" {
			n++
		}
	}
	return n
}

// waitTicks waits for n more finished runs of digest "fast" on each of
// procs.
func waitTicks(t *testing.T, n int, procs ...*daemonProc) {
	t.Helper()
	from := make([]int, len(procs))
	for i, p := range procs {
		from[i] = p.ticks()
	}
	waitUntil(t, e2eWait, fmt.Sprintf("%d more ticks", n), func() bool {
		for i, p := range procs {
			if p.ticks() < from[i]+n {
				return false
			}
		}
		return true
	})
}

func (p *daemonProc) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return getURL(p.base + path)
}

// scrape fetches /metrics from the metrics listener.
func (p *daemonProc) scrape(t *testing.T) (int, string) {
	t.Helper()
	return getURL(p.mbase + "/metrics")
}

func getURL(u string) (int, string) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signalAndWait sends sig and waits up to 10 s for the exit.
func (p *daemonProc) signalAndWait(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not exit within 10 s of %v", sig)
		return nil
	}
}

// waitUntil polls cond until it holds, failing the test at the deadline.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// byRecipient groups messages by their (single) recipient.
func byRecipient(msgs []smtptest.Received) map[string][]smtptest.Received {
	out := map[string][]smtptest.Received{}
	for _, m := range msgs {
		for _, to := range m.To {
			out[strings.ToLower(to)] = append(out[strings.ToLower(to)], m)
		}
	}
	return out
}

// subjectOf returns the Subject header of a raw message.
func subjectOf(data []byte) string {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			return v
		}
	}
	return ""
}

func TestDaemonEndToEnd(t *testing.T) {
	t.Parallel()
	e := mustE2EEnv(t, "@every 1s", "", smtptest.Options{})
	recipients := []string{"ana@example.org", "ben@example.org", "cleo@example.org"}
	for _, r := range recipients {
		e.run(t, "subscribers", "add", "--active", "--digest", "fast", r)
	}
	date := time.Now().Add(-time.Minute)
	first := []e2eArticle{
		{"tide-gauge.md", "Tide gauge moves to the north pier", date, [2]string{"The gauge now sits on firmer ground.", "Readings resume next week."}},
		{"ferry-winter.md", "Ferry keeps its winter timetable", date, [2]string{"Sailings stay hourly until March.", "The last boat leaves at ten."}},
	}
	for _, a := range first {
		e.writeArticle(t, a)
	}
	p := e.startServe(t)
	if p.base == "" {
		t.Fatalf("serve exited: %v\n%s", p.err, p.stderr.String())
	}

	t.Run("serves", func(t *testing.T) {
		code, body := p.get(t, "/feed.xml")
		if code != http.StatusOK {
			t.Fatalf("GET /feed.xml = %d, want 200", code)
		}
		for _, a := range first {
			if !strings.Contains(body, a.title) {
				t.Errorf("feed lacks %q", a.title)
			}
		}
		if code, _ := p.get(t, "/healthz"); code != http.StatusOK {
			t.Errorf("GET /healthz = %d, want 200", code)
		}
		code, body = p.scrape(t)
		if code != http.StatusOK || !strings.Contains(body, "briefcast_builds_total") {
			t.Errorf("GET /metrics on the metrics listener = %d, has briefcast_builds_total %v", code, strings.Contains(body, "briefcast_builds_total"))
		}
		if code, _ := p.get(t, "/metrics"); code != http.StatusNotFound {
			t.Errorf("GET /metrics on the public listener = %d, want 404", code)
		}
	})

	// The first tick sends them to all 3: a digest's first edition takes
	// the newest articles however old.
	waitUntil(t, e2eWait, "the first edition to reach 3 subscribers", func() bool { return len(e.smtp.Messages()) >= 3 })
	// Let a few more ticks pass: they must not send it again.
	waitTicks(t, 2, p)
	msgs := e.smtp.Messages()
	if len(msgs) != 3 {
		t.Fatalf("first edition: %d messages, want 3", len(msgs))
	}
	got := byRecipient(msgs)
	for _, r := range recipients {
		if len(got[r]) != 1 {
			t.Fatalf("first edition: %s got %d messages, want 1", r, len(got[r]))
		}
		m := got[r][0]
		if s := subjectOf(m.Data); s != "Fast Notes: 2 new" {
			t.Errorf("first edition to %s: subject %q, want %q", r, s, "Fast Notes: 2 new")
		}
		for _, a := range first {
			for _, b := range a.bullets {
				if !bytes.Contains(m.Data, []byte(b)) {
					t.Errorf("first edition to %s lacks bullet %q", r, b)
				}
			}
		}
	}

	// A new article file: the site rebuilds, and the next edition has it
	// alone.
	added := e2eArticle{"crane-motor.md", "Harbour cranes get a quieter motor", time.Now().Add(-time.Minute), [2]string{"Night shifts should be less noisy.", "The refit takes two weeks."}}
	e.writeArticle(t, added)
	waitUntil(t, e2eWait, "the feed to show the added article", func() bool {
		code, body := p.get(t, "/feed.xml")
		return code == http.StatusOK && strings.Contains(body, added.title)
	})
	ticksBefore := p.ticks()
	waitUntil(t, e2eWait, "the second edition to reach 3 subscribers", func() bool { return len(e.smtp.Messages()) >= 6 })
	// The tick that was already running when the feed changed may have
	// missed it; the one after must not.
	if n := p.ticks() - ticksBefore; n > 2 {
		t.Errorf("the added article went out %d ticks after the rebuild, want at most 2", n)
	}
	second := e.smtp.Messages()[3:]
	got = byRecipient(second)
	for _, r := range recipients {
		if len(got[r]) != 1 {
			t.Fatalf("second edition: %s got %d messages, want 1", r, len(got[r]))
		}
		m := got[r][0]
		if s := subjectOf(m.Data); s != "Fast Notes: 1 new" {
			t.Errorf("second edition to %s: subject %q, want %q", r, s, "Fast Notes: 1 new")
		}
		for _, b := range added.bullets {
			if !bytes.Contains(m.Data, []byte(b)) {
				t.Errorf("second edition to %s lacks bullet %q", r, b)
			}
		}
		for _, a := range first {
			if bytes.Contains(m.Data, []byte(a.bullets[0])) {
				t.Errorf("second edition to %s repeats %q", r, a.title)
			}
		}
	}

	// Nothing new: the next ticks send nothing.
	waitTicks(t, 2, p)
	if c := len(e.smtp.Messages()); c != 6 {
		t.Errorf("after ticks with nothing new: %d messages, want 6", c)
	}

	// The metrics count what happened.
	_, metricsText := p.scrape(t)
	for _, want := range []string{
		`briefcast_messages_total{digest="fast",result="sent"} 6`,
		`briefcast_editions_created_total{digest="fast"} 2`,
	} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A broken article is logged with its file:line, and the last good
	// site stays up.
	mustWriteFile(t, filepath.Join(e.dir, "content", "broken.md"), "+++\ntitle = \"No take here\"\ndate = 2026-01-02T08:00:00Z\n+++\n\nJust prose.\n")
	waitUntil(t, e2eWait, "article_rejected naming broken.md", func() bool {
		for _, l := range p.logs() {
			if err, _ := l["err"].(string); l["msg"] == "article_rejected" && strings.Contains(err, "broken.md:") {
				return true
			}
		}
		return false
	})
	code, body := p.get(t, "/feed.xml")
	if code != http.StatusOK {
		t.Errorf("GET /feed.xml with a broken article = %d, want 200", code)
	}
	for _, a := range append(first, added) {
		if !strings.Contains(body, a.title) {
			t.Errorf("feed with a broken article lacks %q", a.title)
		}
	}

	if err := p.signalAndWait(t, syscall.SIGTERM); err != nil {
		t.Errorf("serve exit after SIGTERM: %v, want status 0\n%s", err, p.stderr.String())
	}
	if p.count("stopped") != 1 {
		t.Errorf("no \"stopped\" log line after SIGTERM")
	}
}

func TestDaemonSQLiteSingleInstance(t *testing.T) {
	t.Parallel()
	e := mustE2EEnv(t, "@every 1h", "", smtptest.Options{})
	first := e.startServe(t)
	if first.base == "" {
		t.Fatalf("first serve exited: %v\n%s", first.err, first.stderr.String())
	}
	second := e.startServe(t)
	select {
	case <-second.done:
	case <-time.After(e2eWait):
		t.Fatalf("second serve on the same SQLite file still runs after %v", e2eWait)
	}
	if second.err == nil {
		t.Fatalf("second serve exited 0, want non-zero")
	}
	msg := second.stderr.String()
	if !strings.Contains(msg, "lock") || !strings.Contains(msg, "briefcast.db.scheduler.lock") {
		t.Errorf("second serve's message does not name the lock:\n%s", msg)
	}
	if first.exited() {
		t.Fatalf("first serve exited: %v", first.err)
	}
	if code, _ := first.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("first serve: GET /healthz = %d, want 200", code)
	}
	if err := first.signalAndWait(t, syscall.SIGTERM); err != nil {
		t.Errorf("first serve exit: %v", err)
	}
}

func TestDaemonReloadSignal(t *testing.T) {
	t.Parallel()
	e := mustE2EEnv(t, "@every 1h", "", smtptest.Options{})
	e.run(t, "subscribers", "add", "--active", "--digest", "fast", "dana@example.org")
	p := e.startServe(t)
	if p.base == "" {
		t.Fatalf("serve exited: %v\n%s", p.err, p.stderr.String())
	}

	// An invalid config is rejected; the old one keeps running.
	e.writeConfig(t, "61 * * * *")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, e2eWait, "reload_rejected in the log", func() bool { return p.count("reload_rejected") >= 1 })
	for _, l := range p.logs() {
		if err, _ := l["err"].(string); l["msg"] == "reload_rejected" && !strings.Contains(err, "digests[0] (fast).schedule") {
			t.Errorf("reload_rejected does not name the digest and key: %q", err)
		}
	}
	if p.exited() {
		t.Fatalf("serve exited after a bad reload: %v", p.err)
	}
	if code, _ := p.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("after a bad reload: GET /healthz = %d, want 200", code)
	}

	// A valid config with a 1 s schedule takes effect without a restart:
	// the article, which the hourly schedule has not sent, goes out at
	// the first tick after the reload.
	e.writeArticle(t, e2eArticle{"quay-lights.md", "Quay lights switch to LED", time.Now().Add(-time.Minute), [2]string{"The new lamps use a third of the power.", "Work is done at night."}})
	e.writeConfig(t, "@every 1s")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, e2eWait, "the reloaded line in the log", func() bool { return p.count("reloaded") >= 1 })
	waitUntil(t, e2eWait, "an edition on the reloaded schedule", func() bool { return len(e.smtp.Messages()) >= 1 })
	if m := e.smtp.Messages()[0]; !bytes.Contains(m.Data, []byte("The new lamps use a third of the power.")) {
		t.Errorf("the edition lacks the article's take")
	}
	if err := p.signalAndWait(t, syscall.SIGTERM); err != nil {
		t.Errorf("serve exit after SIGTERM: %v", err)
	}
}

func TestDaemonSIGTERMMidSend(t *testing.T) {
	t.Parallel()
	const n = 40
	// The mail server takes the first messages, then holds every other one
	// at DATA: the signal is certain to come mid-send, however fast the
	// machine.
	gate := newSMTPGate(t, 3)
	e := mustE2EEnv(t, "@every 1s", "", gate.options())
	addrs := e.mustImportSubscribers(t, n)
	e.writeArticle(t, e2eArticle{"slipway.md", "Old slipway becomes a public garden", time.Now().Add(-time.Minute), [2]string{"Planting starts in April.", "Benches face the estuary."}})
	p := e.startServe(t)
	if p.base == "" {
		t.Fatalf("serve exited: %v\n%s", p.err, p.stderr.String())
	}
	select {
	case <-gate.held:
	case <-time.After(e2eWait):
		t.Fatalf("no message reached the mail server within %v\n%s", e2eWait, p.stderr.String())
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Let the held messages through only once the daemon has stopped
	// serving, so they are the messages in hand when the signal came.
	waitUntil(t, e2eWait, "the stopped line after SIGTERM", func() bool { return p.count("stopped") >= 1 })
	gate.Open()
	select {
	case <-p.done:
	case <-time.After(e2eWait):
		t.Fatalf("serve did not exit within %v of SIGTERM", e2eWait)
	}
	if p.err != nil {
		t.Fatalf("serve exit after SIGTERM mid-send: %v, want status 0\n%s", p.err, p.stderr.String())
	}
	atStop := len(e.smtp.Messages())
	if atStop >= n {
		t.Fatalf("the whole edition (%d messages) went out after SIGTERM: the send did not stop", atStop)
	}
	// A restart resumes the edition: everyone gets it, nobody twice.
	p = e.startServe(t)
	if p.base == "" {
		t.Fatalf("serve exited: %v\n%s", p.err, p.stderr.String())
	}
	waitUntil(t, e2eWait, "the resumed edition to reach every subscriber", func() bool { return len(e.smtp.Messages()) >= n })
	waitTicks(t, 2, p)
	got := byRecipient(e.smtp.Messages())
	for _, a := range addrs {
		if len(got[a]) != 1 {
			t.Errorf("%s got %d messages, want exactly 1", a, len(got[a]))
		}
	}
	t.Logf("stopped after %d of %d messages; the restart sent the rest", atStop, n)
	if err := p.signalAndWait(t, syscall.SIGTERM); err != nil {
		t.Errorf("serve exit after SIGTERM: %v", err)
	}
}

func TestDaemonBadScheduleAtStart(t *testing.T) {
	t.Parallel()
	e := mustE2EEnv(t, "0 25 * * *", "", smtptest.Options{})
	p := e.startServe(t)
	select {
	case <-p.done:
	case <-time.After(e2eWait):
		t.Fatalf("serve with a bad schedule still runs after %v", e2eWait)
	}
	if p.err == nil || p.base != "" {
		t.Fatalf("serve with a bad schedule: exit %v, serving %q; want a non-zero exit before serving", p.err, p.base)
	}
	if msg := p.stderr.String(); !strings.Contains(msg, "digests[0] (fast).schedule") {
		t.Errorf("the message does not name the digest and key:\n%s", msg)
	}
}

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
	a := newApp(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	a.serveOptions = func(o *daemon.Options) { o.Lease = d }
	return a.run(ctx, os.Args[1:])
}
