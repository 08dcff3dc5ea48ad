package metrics

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// EditionRates are the bounce and complaint rates of one edition: each a
// share of the edition's sent messages.
type EditionRates struct {
	Digest, Edition        string
	Hard, Soft, Complaints float64
}

var editionRateDesc = prometheus.NewDesc("briefcast_edition_bounce_rate",
	"Bounce and complaint reports about the newest edition of each digest, as a share of its sent messages, by kind: hard, soft or complaint.",
	[]string{"digest", "edition", "kind"}, nil)

// WatchEditions exposes briefcast_edition_bounce_rate{digest,edition,kind}
// on m, read from newest at each scrape: the newest edition of each digest
// only, so the series stay few while the rate a mailbox provider judges
// the sender by is there to alert on (complaints over 0.001, hard bounces
// over 0.02).
func (m *Metrics) WatchEditions(newest func(ctx context.Context) ([]EditionRates, error), log *slog.Logger) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&scrapeCollector{desc: editionRateDesc, failure: "metrics_edition_rates_failed", log: log,
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
