package scheduler

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"briefcast/metrics"
)

// harness runs a Scheduler on a fake clock and reports each run and each
// finished firing on channels.
type harness struct {
	t     *testing.T
	clock *FakeClock
	s     *Scheduler
	m     *metrics.Metrics
	logs  *syncBuffer
	fired chan string
	runs  chan time.Time
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newHarness(t *testing.T, now string) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		clock: NewFakeClock(utc(now)),
		m:     metrics.New(nil),
		logs:  &syncBuffer{},
		fired: make(chan string, 16),
		runs:  make(chan time.Time, 16),
	}
	log := slog.New(slog.NewTextHandler(h.logs, nil))
	h.s = New(log, h.clock, h.m)
	h.s.afterFire = func(name string) { h.fired <- name }
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return h
}

// wait returns the next value of ch, failing the test if none comes (a
// guard against a hang, not a timing assertion).
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

// recordRun is a Job.Run that reports its scheduled time.
func (h *harness) recordRun(ctx context.Context, scheduled time.Time) error {
	h.runs <- scheduled
	return nil
}

// advanceTo waits until the job loops are waiting, then moves the clock.
func (h *harness) advanceTo(waiters int, when string) {
	h.clock.BlockUntil(waiters)
	h.clock.Set(utc(when))
}

func (h *harness) scrape() string {
	rec := httptest.NewRecorder()
	h.m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func lastAt(s string) func(context.Context) (time.Time, bool, error) {
	return func(context.Context) (time.Time, bool, error) {
		if s == "" {
			return time.Time{}, false, nil
		}
		return utc(s), true, nil
	}
}

func TestCatchUp(t *testing.T) {
	tests := []struct {
		name    string
		last    string // "" = never an edition
		catchUp time.Duration
		now     string
		want    string // the catch-up run's scheduled time, "" = none
	}{
		{"three missed runs collapse into one", "2026-11-20T07:00:00Z", 6 * time.Hour, "2026-11-23T09:00:00Z", "2026-11-23T07:00:00Z"},
		{"missed beyond the window", "2026-11-20T07:00:00Z", 6 * time.Hour, "2026-11-23T14:00:00Z", ""},
		{"catch_up 0 never catches up", "2026-11-20T07:00:00Z", 0, "2026-11-23T07:30:00Z", ""},
		{"never an edition", "", 6 * time.Hour, "2026-11-23T09:00:00Z", ""},
		{"nothing missed", "2026-11-23T07:00:00Z", 6 * time.Hour, "2026-11-23T09:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.now)
			err := h.s.Add(Job{Name: "daily", Spec: "0 7 * * *", CatchUp: tt.catchUp, Run: h.recordRun, Last: lastAt(tt.last)})
			if err != nil {
				t.Fatal(err)
			}
			h.s.Start(context.Background())
			h.clock.BlockUntil(1) // the catch-up, if any, has been fired
			h.s.runs.Wait()
			var got []string
			for len(h.runs) > 0 {
				got = append(got, (<-h.runs).UTC().Format(time.RFC3339))
			}
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("catch-up runs mismatch (-want +got):\n%s", diff)
			}
			// The regular schedule goes on.
			h.clock.Set(utc("2026-11-24T07:00:00Z"))
			if next := wait(t, h.runs, "next run"); !next.Equal(utc("2026-11-24T07:00:00Z")) {
				t.Fatalf("next run for %v", next)
			}
		})
	}
}

func TestNoOverlap(t *testing.T) {
	h := newHarness(t, "2026-11-25T10:00:00Z")
	release := make(chan struct{})
	var mu sync.Mutex
	calls := 0
	err := h.s.Add(Job{Name: "slow", Spec: "* * * * *", Run: func(ctx context.Context, scheduled time.Time) error {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		h.runs <- scheduled
		if n == 1 {
			<-release
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	h.s.Start(context.Background())

	h.advanceTo(1, "2026-11-25T10:01:00Z")
	if got := wait(t, h.runs, "first run"); !got.Equal(utc("2026-11-25T10:01:00Z")) {
		t.Fatalf("first run for %v", got)
	}
	// The next minute comes while the first run is still going: skipped.
	h.advanceTo(1, "2026-11-25T10:02:00Z")
	if name := wait(t, h.fired, "skipped firing"); name != "slow" {
		t.Fatalf("fired %q", name)
	}
	mu.Lock()
	if calls != 1 {
		t.Errorf("calls = %d while the first run was going, want 1", calls)
	}
	mu.Unlock()
	close(release)
	wait(t, h.fired, "first firing end")

	h.advanceTo(1, "2026-11-25T10:03:00Z")
	if got := wait(t, h.runs, "third run"); !got.Equal(utc("2026-11-25T10:03:00Z")) {
		t.Fatalf("third run for %v", got)
	}
	wait(t, h.fired, "third firing end")
	body := h.scrape()
	for _, line := range []string{
		`briefcast_job_runs_total{job="slow",outcome="skipped"} 1`,
		`briefcast_job_runs_total{job="slow",outcome="ok"} 2`,
	} {
		if !strings.Contains(body, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
	if !strings.Contains(h.logs.String(), "job_skipped_still_running") {
		t.Errorf("the skip was not logged:\n%s", h.logs)
	}
}

func TestPanicRecovery(t *testing.T) {
	h := newHarness(t, "2026-11-25T10:00:00Z")
	var mu sync.Mutex
	calls := 0
	err := h.s.Add(Job{Name: "fragile", Spec: "@every 1m", Run: func(ctx context.Context, scheduled time.Time) error {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		h.runs <- scheduled
		if n == 1 {
			panic("boom")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	h.s.Start(context.Background())
	h.advanceTo(1, "2026-11-25T10:01:00Z")
	wait(t, h.runs, "panicking run")
	wait(t, h.fired, "panicking firing end")
	// The panic must not have leaked SkipIfStillRunning's token: the next
	// time runs rather than being skipped.
	h.advanceTo(1, "2026-11-25T10:02:00Z")
	if got := wait(t, h.runs, "run after the panic"); !got.Equal(utc("2026-11-25T10:02:00Z")) {
		t.Fatalf("run after the panic for %v", got)
	}
	wait(t, h.fired, "firing end")
	body := h.scrape()
	for _, line := range []string{
		`briefcast_job_panics_total{job="fragile"} 1`,
		`briefcast_job_runs_total{job="fragile",outcome="ok"} 1`,
	} {
		if !strings.Contains(body, line) {
			t.Errorf("metrics lack %s:\n%s", line, body)
		}
	}
	if strings.Contains(body, `outcome="skipped"`) {
		t.Errorf("a run was skipped after the panic")
	}
	if logs := h.logs.String(); !strings.Contains(logs, "job_panic") || !strings.Contains(logs, "boom") {
		t.Errorf("the panic was not logged:\n%s", logs)
	}
}

func TestRunsAcrossDST(t *testing.T) {
	tests := []struct {
		name, spec, zone, now string
		want                  []string
	}{
		{"new york spring gap", "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{"new york autumn overlap", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"london spring gap", "30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		{"london autumn overlap", "30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.now)
			if err := h.s.Add(Job{Name: "d", Spec: tt.spec, Location: mustZone(t, tt.zone), Run: h.recordRun}); err != nil {
				t.Fatal(err)
			}
			h.s.Start(context.Background())
			// Walk two days ten minutes at a time, as the clock would.
			var got []string
			for range 2 * 24 * 6 {
				h.clock.BlockUntil(1)
				h.clock.Advance(10 * time.Minute)
				h.clock.BlockUntil(1) // any firing for this step has started
				h.s.runs.Wait()
				for len(h.runs) > 0 {
					got = append(got, (<-h.runs).UTC().Format(time.RFC3339))
				}
				for len(h.fired) > 0 {
					<-h.fired
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("runs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReplace(t *testing.T) {
	h := newHarness(t, "2026-11-25T10:00:00Z")
	if err := h.s.Add(Job{Name: "a", Spec: "0 12 * * *", Run: h.recordRun}); err != nil {
		t.Fatal(err)
	}
	h.s.Start(context.Background())
	h.clock.BlockUntil(1)

	bad := []Job{{Name: "a", Spec: "TZ=0 0 12 * * *", Run: h.recordRun}}
	err := h.s.Replace(bad)
	if err == nil || !strings.Contains(err.Error(), `job "a"`) {
		t.Fatalf("Replace(bad) = %v, want an error naming the job", err)
	}
	if got := h.s.Entries(); len(got) != 1 || got[0].Spec != "0 12 * * *" {
		t.Fatalf("after a rejected reload: %+v", got)
	}

	if err := h.s.Replace([]Job{{Name: "a", Spec: "0 11 * * *", Run: h.recordRun}}); err != nil {
		t.Fatal(err)
	}
	e := h.s.Entries()
	if len(e) != 1 || e[0].Spec != "0 11 * * *" || !e[0].Next[0].Equal(utc("2026-11-25T11:00:00Z")) {
		t.Fatalf("after reload: %+v", e)
	}
	// The old loop's waiter is abandoned, so two are registered now.
	h.advanceTo(2, "2026-11-25T11:00:00Z")
	if got := wait(t, h.runs, "run on the new schedule"); !got.Equal(utc("2026-11-25T11:00:00Z")) {
		t.Fatalf("ran for %v", got)
	}
	wait(t, h.fired, "firing end")
}

func TestAddRejects(t *testing.T) {
	run := func(context.Context, time.Time) error { return nil }
	tests := []struct {
		name string
		job  Job
		want string
	}{
		{"bad spec", Job{Name: "daily", Spec: "61 * * * *", Run: run}, `job "daily": schedule "61 * * * *"`},
		{"tz prefix", Job{Name: "daily", Spec: "CRON_TZ= 0 7 * * *", Run: run}, `job "daily"`},
		{"no run", Job{Name: "daily", Spec: "@daily"}, "no Run"},
		{"no name", Job{Spec: "@daily", Run: run}, "without a name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(slog.New(slog.NewTextHandler(io.Discard, nil)), NewFakeClock(time.Now()), nil)
			err := s.Add(tt.job)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Add = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestStopWaitsAndCancels(t *testing.T) {
	h := newHarness(t, "2026-11-25T10:00:00Z")
	started := make(chan struct{})
	if err := h.s.Add(Job{Name: "long", Spec: "@every 1m", Run: func(ctx context.Context, _ time.Time) error {
		close(started)
		<-ctx.Done() // a sender finishing the message in hand, then stopping
		return ctx.Err()
	}}); err != nil {
		t.Fatal(err)
	}
	h.s.Start(context.Background())
	h.advanceTo(1, "2026-11-25T10:01:00Z")
	wait(t, started, "start")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if e := h.s.Entries(); e[0].Running || e[0].LastOutcome != metrics.OutcomeError {
		t.Errorf("after Stop: %+v", e[0])
	}
}

// TestResume runs in a synctest bubble: synctest.Wait lets every
// goroutine settle after each tick, so the test knows a periodic resume
// has had its chance without waiting on the wall clock.
func TestResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, "2026-11-25T10:00:00Z")
		resumed := make(chan struct{}, 4)
		calls := 0
		if err := h.s.Add(Job{Name: "d", Spec: "@daily", Run: h.recordRun, Resume: func(context.Context) error {
			calls++ // never concurrent: SkipIfStillRunning guards it
			resumed <- struct{}{}
			if calls == 1 {
				return errors.New("store down")
			}
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		h.s.Start(context.Background())
		synctest.Wait()
		if len(resumed) != 1 {
			t.Fatalf("%d resumes on start, want 1", len(resumed))
		}
		<-resumed
		// Both loops (the job's and its resume's) are waiting on the clock.
		h.clock.BlockUntil(2)
		h.clock.Advance(15 * time.Second)
		synctest.Wait()
		if len(resumed) != 1 {
			t.Fatalf("%d resumes after one ResumeEvery, want 1", len(resumed))
		}
		if !strings.Contains(h.logs.String(), "job_resume_failed") {
			t.Errorf("the failed resume was not logged")
		}
	})
}

func TestEntries(t *testing.T) {
	h := newHarness(t, "2026-11-25T10:00:00Z")
	ny := mustZone(t, "America/New_York")
	if err := h.s.Add(Job{Name: "daily", Spec: "0 7 * * *", Location: ny, Run: h.recordRun}); err != nil {
		t.Fatal(err)
	}
	e := h.s.Entries()
	want := []string{"2026-11-25T07:00:00-05:00", "2026-11-26T07:00:00-05:00", "2026-11-27T07:00:00-05:00"}
	if len(e) != 1 || len(e[0].Next) != 3 {
		t.Fatalf("Entries = %+v", e)
	}
	for i, w := range want {
		if got := e[0].Next[i].Format(time.RFC3339); got != w {
			t.Errorf("next[%d] = %s, want %s", i, got, w)
		}
	}
}
