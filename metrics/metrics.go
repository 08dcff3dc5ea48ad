// Package metrics holds briefcast's Prometheus metrics. Every method is safe
// on a nil *Metrics, so code under test may pass nil instead of a registry.
package metrics

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of briefcast's metrics, registered on one registry.
type Metrics struct {
	reg           prometheus.Registerer
	builds        prometheus.Counter
	buildDuration prometheus.Histogram
	rejected      prometheus.Gauge
	feedRequests  *prometheus.CounterVec
	feedCounters  sync.Map // path -> *feedCounters, the hot statuses' children of feedRequests
	jobNextRun    *prometheus.GaugeVec

	editions, messages, bounces, jobPanics, jobRuns *prometheus.CounterVec
}

// The results a message can have, for Message.
const (
	ResultSent    = "sent"
	ResultRetried = "retried"
	ResultFailed  = "failed"
)

// The outcomes of a job run, for JobRun.
const (
	OutcomeOK      = "ok"
	OutcomeError   = "error"
	OutcomePanic   = "panic"
	OutcomeSkipped = "skipped" // the previous run was still going
)

// New creates the metrics and registers them on reg; a nil reg means a new
// registry with the Go runtime and process collectors. Handler serves what
// reg gathers when it is also a Gatherer (a *prometheus.Registry is).
func New(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg = r
	}
	m := &Metrics{
		reg:    reg,
		builds: prometheus.NewCounter(prometheus.CounterOpts{Name: "briefcast_builds_total", Help: "Site builds run, successful or not."}),
		buildDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "briefcast_build_duration_seconds",
			Help: "How long each site build took.", Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}),
		rejected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "briefcast_build_rejected_articles",
			Help: "Articles the last build rejected (logged with file:line)."}),
		feedRequests: counterVec("briefcast_feed_requests_total",
			"Feed requests by path and HTTP status; code=\"304\" counts conditional hits.", "path", "code"),
		editions: counterVec("briefcast_editions_created_total", "Digest editions this process created.", "digest"),
		messages: counterVec("briefcast_messages_total",
			"Digest messages by result: sent, retried (temporary failure) or failed.", "digest", "result"),
		bounces: counterVec("briefcast_bounces_total",
			"Bounce reports taken, by digest (\"unknown\" when no return path names one) and kind: hard, soft or complaint.", "digest", "kind"),
		jobNextRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "briefcast_job_next_run_timestamp_seconds",
			Help: "Unix time of each scheduled job's next run."}, []string{"job"}),
		jobPanics: counterVec("briefcast_job_panics_total", "Scheduled job runs that panicked (recovered and logged).", "job"),
		jobRuns:   counterVec("briefcast_job_runs_total", "Scheduled job runs by outcome: ok, error, panic or skipped.", "job", "outcome"),
	}
	reg.MustRegister(m.builds, m.buildDuration, m.rejected, m.feedRequests, m.editions,
		m.messages, m.bounces, m.jobNextRun, m.jobPanics, m.jobRuns)
	return m
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// Handler answers GET /metrics, leaving out a failed collector rather than
// failing the scrape. The daemon serves it on a listener of its own, because
// the metrics describe the subscriber list: nobody on the public port should
// watch it grow.
func (m *Metrics) Handler() http.Handler {
	g, ok := m.reg.(prometheus.Gatherer)
	if !ok {
		g = prometheus.DefaultGatherer
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	return mux
}

// Build records one site build: its time and the articles it rejected.
func (m *Metrics) Build(d time.Duration, rejected int) {
	if m != nil {
		m.builds.Inc()
		m.buildDuration.Observe(d.Seconds())
		m.rejected.Set(float64(rejected))
	}
}

// FeedRequest counts one request for a feed with its status (the web
// server's Observer). The counters of a path's 200s and 304s are kept, so
// the feed's hot path costs a lock-free map read and an atomic add.
func (m *Metrics) FeedRequest(path string, status int) {
	if m == nil {
		return
	}
	v, ok := m.feedCounters.Load(path)
	if !ok {
		v, _ = m.feedCounters.LoadOrStore(path, &feedCounters{m.feedRequests.WithLabelValues(path, "200"),
			m.feedRequests.WithLabelValues(path, "304")})
	}
	c := v.(*feedCounters)
	switch status {
	case http.StatusOK:
		c.ok.Inc()
	case http.StatusNotModified:
		c.notModified.Inc()
	default:
		m.feedRequests.WithLabelValues(path, strconv.Itoa(status)).Inc()
	}
}

// feedCounters are one feed path's counters for its common statuses.
type feedCounters struct{ ok, notModified prometheus.Counter }

// EditionCreated counts an edition this process created.
func (m *Metrics) EditionCreated(digest string) {
	if m != nil {
		m.editions.WithLabelValues(digest).Inc()
	}
}

// Message counts one delivery attempt of digest: result is ResultSent,
// ResultRetried or ResultFailed.
func (m *Metrics) Message(digest, result string) {
	if m != nil {
		m.messages.WithLabelValues(digest, result).Inc()
	}
}

// Bounce counts one bounce report newly taken about a message of digest
// ("" when unknown); kind is hard, soft or complaint.
func (m *Metrics) Bounce(digest, kind string) {
	if m != nil {
		m.bounces.WithLabelValues(cmp.Or(digest, "unknown"), kind).Inc()
	}
}

// JobNextRun records when job runs next.
func (m *Metrics) JobNextRun(job string, t time.Time) {
	if m != nil {
		m.jobNextRun.WithLabelValues(job).Set(float64(t.UnixNano()) / 1e9)
	}
}

// ForgetJob drops the gauges of a job a reload unscheduled.
func (m *Metrics) ForgetJob(job string) {
	if m != nil {
		m.jobNextRun.DeleteLabelValues(job)
	}
}

// JobRun counts one run of job with its outcome (an Outcome constant); a
// panic is also counted in briefcast_job_panics_total.
func (m *Metrics) JobRun(job, outcome string) {
	if m == nil {
		return
	}
	m.jobRuns.WithLabelValues(job, outcome).Inc()
	if outcome == OutcomePanic {
		m.jobPanics.WithLabelValues(job).Inc()
	}
}

// WatchQueue exposes briefcast_send_queue_size, read from size at each
// scrape; a failed read is -1, lest a broken store look like an empty queue.
func (m *Metrics) WatchQueue(size func(ctx context.Context) (int64, error), log *slog.Logger) {
	m.watch(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "briefcast_send_queue_size",
		Help: "Deliveries queued or waiting to retry over all unfinished editions (-1: store unreachable).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		defer cancel()
		n, err := size(ctx)
		if err != nil {
			log.Warn("metrics_queue_size_failed", "err", err)
			return -1
		}
		return float64(n)
	}))
}

// WatchSubscribers exposes briefcast_subscribers{status} on m, read from
// counts at each scrape (a function: methods take no type parameters).
func WatchSubscribers[S ~string](m *Metrics, counts func(ctx context.Context) (map[S]int64, error), log *slog.Logger) {
	desc := prometheus.NewDesc("briefcast_subscribers", "Subscribers by status.", []string{"status"}, nil)
	m.watch(&scrapeCollector{desc: desc, failure: "metrics_subscriber_counts_failed", log: log,
		read: func(ctx context.Context, emit func(v float64, labels ...string)) error {
			c, err := counts(ctx)
			for status, n := range c {
				emit(float64(n), string(status))
			}
			return err
		}})
}

// watch registers c, which reads the store at each scrape.
func (m *Metrics) watch(c prometheus.Collector) {
	if m != nil {
		m.reg.MustRegister(c)
	}
}

// scrapeTimeout bounds each store query of a scrape, lest it hang Prometheus.
const scrapeTimeout = 3 * time.Second

// scrapeCollector reads one metric's values from the store at each scrape,
// since other processes change the tables too. A failed read is logged and
// reported as an invalid metric.
type scrapeCollector struct {
	desc    *prometheus.Desc
	failure string // the log message of a failed read
	log     *slog.Logger
	read    func(ctx context.Context, emit func(v float64, labels ...string)) error
}

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var ms []prometheus.Metric
	err := c.read(ctx, func(v float64, labels ...string) {
		ms = append(ms, prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, labels...))
	})
	if err != nil {
		c.log.Warn(c.failure, "err", err)
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, m := range ms {
		ch <- m
	}
}

// EditionRates are the bounce and complaint rates of one edition's sent messages.
type EditionRates struct {
	Digest, Edition        string
	Hard, Soft, Complaints float64
}

// WatchEditions exposes briefcast_edition_bounce_rate{digest,edition,kind}
// of the newest edition of each digest, read from newest at each scrape: few
// series, and the rates mailbox providers judge the sender by.
func (m *Metrics) WatchEditions(newest func(ctx context.Context) ([]EditionRates, error), log *slog.Logger) {
	desc := prometheus.NewDesc("briefcast_edition_bounce_rate",
		"Bounce and complaint reports about the newest edition of each digest, as a share of its sent messages, by kind: hard, soft or complaint.",
		[]string{"digest", "edition", "kind"}, nil)
	m.watch(&scrapeCollector{desc: desc, failure: "metrics_edition_rates_failed", log: log,
		read: func(ctx context.Context, emit func(v float64, labels ...string)) error {
			rates, err := newest(ctx)
			for _, r := range rates {
				for kind, v := range map[string]float64{"hard": r.Hard, "soft": r.Soft, "complaint": r.Complaints} {
					emit(v, r.Digest, r.Edition, kind)
				}
			}
			return err
		}})
}
