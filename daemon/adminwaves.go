package daemon

import (
	"time"

	"briefcast/admin"
	"briefcast/digest"
)

// wavePlanner shows /admin/ the local-time digests of the config in use
// and when their waves fall; it reads the config at each request, so the
// page (kept across reloads) follows a reload.
type wavePlanner struct{ d *Daemon }

// LocalDigests names the digests with send_at = "subscriber".
func (p wavePlanner) LocalDigests() []string {
	g := p.d.cur.Load()
	if g == nil {
		return nil
	}
	var out []string
	for _, dg := range g.cfg.Digests {
		if dg.PerSubscriber() {
			out = append(out, dg.Name)
		}
	}
	return out
}

// PlanWaves returns the waves of digest name due in (from, to]; zones
// that cannot be loaded are left out, as the scheduler leaves them out.
func (p wavePlanner) PlanWaves(name string, zones []string, from, to time.Time) []admin.PlannedWave {
	g := p.d.cur.Load()
	if g == nil {
		return nil
	}
	dg, ok := g.cfg.Digest(name)
	if !ok {
		return nil
	}
	waves, _ := digest.Waves(*dg, zones, from, to)
	out := make([]admin.PlannedWave, len(waves))
	for i, w := range waves {
		out[i] = admin.PlannedWave{At: w.At, Zones: w.Zones}
	}
	return out
}
