package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"briefcast/email/smtptest"
)

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
