package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"briefcast/email/smtptest"
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
