package admin

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"time"
)

// waveWindow is how far back and ahead the page shows waves: every zone's last and next.
const waveWindow = 24 * time.Hour

// WithWaves shows, for each digest p names, the waves of the last day with
// their delivery progress and the waves due in the next day.
func WithWaves(p WavePlanner) Option { return func(h *Handler) { h.waves = p } }

// waveDigest is one local-time digest's section of the page.
type waveDigest struct {
	Name, Error string
	Rows        []waveRow
}

// waveRow is one wave: sent or sending (Key set) or still to come.
type waveRow struct {
	At, Key, Zones                                      string
	Recipients, Sent, Skipped, Failed, Pending, Percent int64
	Finished, Due                                       bool
}

// collectWaves reads the waves of every local-time digest around now.
func (h *Handler) collectWaves(ctx context.Context, now time.Time) []waveDigest {
	if h.waves == nil {
		return nil
	}
	var out []waveDigest
	for _, name := range h.waves.LocalDigests() {
		wd := waveDigest{Name: name}
		if err := h.waveRows(ctx, &wd, now); err != nil {
			h.log.Error("admin_waves_failed", "digest", name, "err", err)
			wd.Error = "The waves of this digest could not be read from the store."
		}
		out = append(out, wd)
	}
	return out
}

func (h *Handler) waveRows(ctx context.Context, wd *waveDigest, now time.Time) error {
	past, err := h.store.Waves(ctx, wd.Name, now.Add(-waveWindow), now.Add(time.Nanosecond))
	if err != nil {
		return err
	}
	for _, ws := range past {
		e, p := ws.Edition, ws.Progress
		row := waveRow{At: e.Cutoff.UTC().Format(timeLayout), Key: e.Key, Zones: zoneNames(e.Zones),
			Recipients: p.Total(), Sent: p.Sent, Skipped: p.Skipped, Failed: p.Failed,
			Pending: p.Queued + p.InFlight + p.Retrying, Finished: !e.FinishedAt.IsZero(), Percent: percentDone(p)}
		wd.Rows = append(wd.Rows, row)
	}
	counts, err := h.store.ZoneCounts(ctx, wd.Name)
	if err != nil {
		return err
	}
	for _, w := range h.waves.PlanWaves(wd.Name, slices.Sorted(maps.Keys(counts)), now, now.Add(waveWindow)) {
		row := waveRow{At: w.At.UTC().Format(timeLayout), Zones: zoneNames(w.Zones), Due: true}
		for _, z := range w.Zones {
			row.Recipients += counts[z]
		}
		wd.Rows = append(wd.Rows, row)
	}
	return nil
}

// zoneNames lists a wave's zones, "" being the digest's own.
func zoneNames(zones []string) string {
	out := make([]string, len(zones))
	for i, z := range zones {
		out[i] = cmp.Or(z, "digest zone")
	}
	return strings.Join(out, ", ")
}
