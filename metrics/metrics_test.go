package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

type status string

// scrape fetches the handler's text and parses it.
func scrape(t *testing.T, m *Metrics) (string, map[string]float64) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape status %d", rec.Code)
	}
	body := rec.Body.String()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse scrape: %v\n%s", err, body)
	}
	values := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			key := name
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				values[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				values[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				values[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return body, values
}

func TestMetrics(t *testing.T) {
	m := New(prometheus.NewRegistry())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Build(1500*time.Millisecond, 2)
	m.Build(time.Second, 1)
	m.FeedRequest("/feed.xml", 200)
	m.FeedRequest("/feed.xml", 304)
	m.FeedRequest("/feed.xml", 304)
	m.FeedRequest("/tags/rail/atom.xml", 304)
	m.FeedRequest("/tags/rail/atom.xml", 500)
	m.EditionCreated("daily")
	m.Message("daily", ResultSent)
	m.Message("daily", ResultSent)
	m.Message("daily", ResultRetried)
	m.Message("daily", ResultFailed)
	m.Bounce("daily", "hard")
	m.Bounce("daily", "hard")
	m.Bounce("", "complaint")
	m.JobNextRun("digest:daily", time.Unix(1795000000, 0))
	m.JobRun("digest:daily", OutcomeOK)
	m.JobRun("digest:daily", OutcomePanic)
	m.WatchQueue(func(context.Context) (int64, error) { return 42, nil }, log)
	WatchSubscribers(m, func(context.Context) (map[status]int64, error) {
		return map[status]int64{"active": 7, "pending": 2}, nil
	}, log)

	_, got := scrape(t, m)
	want := map[string]float64{
		"briefcast_builds_total":                                           2,
		"briefcast_build_duration_seconds_count":                           2,
		"briefcast_build_rejected_articles":                                1,
		"briefcast_feed_requests_total{code=200,path=/feed.xml}":           1,
		"briefcast_feed_requests_total{code=304,path=/feed.xml}":           2,
		"briefcast_feed_requests_total{code=304,path=/tags/rail/atom.xml}": 1,
		"briefcast_feed_requests_total{code=500,path=/tags/rail/atom.xml}": 1,
		"briefcast_editions_created_total{digest=daily}":                   1,
		"briefcast_messages_total{digest=daily,result=sent}":               2,
		"briefcast_messages_total{digest=daily,result=retried}":            1,
		"briefcast_messages_total{digest=daily,result=failed}":             1,
		"briefcast_bounces_total{digest=daily,kind=hard}":                  2,
		"briefcast_bounces_total{digest=unknown,kind=complaint}":           1,
		"briefcast_job_next_run_timestamp_seconds{job=digest:daily}":       1795000000,
		"briefcast_job_runs_total{job=digest:daily,outcome=ok}":            1,
		"briefcast_job_runs_total{job=digest:daily,outcome=panic}":         1,
		"briefcast_job_panics_total{job=digest:daily}":                     1,
		"briefcast_send_queue_size":                                        42,
		"briefcast_subscribers{status=active}":                             7,
		"briefcast_subscribers{status=pending}":                            2,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}

	m.ForgetJob("digest:daily")
	if _, got := scrape(t, m); got["briefcast_job_next_run_timestamp_seconds{job=digest:daily}"] != 0 {
		t.Errorf("ForgetJob kept the next-run gauge")
	}
}

func TestMetricsStoreDown(t *testing.T) {
	m := New(prometheus.NewRegistry())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m.WatchQueue(func(context.Context) (int64, error) { return 0, errors.New("down") }, log)
	WatchSubscribers(m, func(context.Context) (map[status]int64, error) { return nil, errors.New("down") }, log)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	// The scrape still works: the queue reads -1, the subscriber counts are
	// left out, the rest is there.
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "briefcast_send_queue_size -1") ||
		strings.Contains(body, "briefcast_subscribers{") || !strings.Contains(body, "briefcast_builds_total 0") {
		t.Errorf("store down: status %d body:\n%s", rec.Code, body)
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.Build(time.Second, 0)
	m.FeedRequest("/feed.xml", 200)
	m.EditionCreated("d")
	m.Message("d", ResultSent)
	m.JobNextRun("j", time.Now())
	m.JobRun("j", OutcomeOK)
	m.ForgetJob("j")
	m.WatchQueue(nil, nil)
	WatchSubscribers[status](m, nil, nil)
}

func TestDefaultRegistry(t *testing.T) {
	m := New(nil)
	body, _ := scrape(t, m)
	if !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "briefcast_builds_total 0") {
		t.Errorf("New(nil) scrape lacks the runtime or briefcast metrics:\n%.500s", body)
	}
}

// BenchmarkFeedRequest is the metrics share of every feed request, from
// both cores at once as under load.
func BenchmarkFeedRequest(b *testing.B) {
	m := New(prometheus.NewRegistry())
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			m.FeedRequest("/feed.xml", 200+104*(i&1))
		}
	})
}
