package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// healthTTL is how long a write probe's result is reused: /healthz is
// public, and without it every request would be a committed write.
const healthTTL = 2 * time.Second

// healthCheck runs the store's write probe at most once per healthTTL;
// requests arriving while one runs wait for it and share its result.
type healthCheck struct {
	now func() time.Time // the wall clock, not the server's, which tests fix
	mu  sync.Mutex
	at  time.Time // when err was found; zero before the first probe
	err error
}

// check returns the last probe's result; fresh means probed by this call.
func (h *healthCheck) check(ctx context.Context, probe func(context.Context) error) (err error, fresh bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.at.IsZero() && h.now().Sub(h.at) < healthTTL {
		return h.err, false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	h.err = probe(ctx)
	h.at = h.now()
	return h.err, true
}

// healthz answers 200 when a site is loaded and the store takes writes.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The probe is not tied to this request: one client hanging up must not
	// record a failure that the next ones would be served.
	status, text := http.StatusOK, "ok"
	if s.snap.Load() == nil {
		status, text = http.StatusServiceUnavailable, "no site loaded"
	} else if err, fresh := s.health.check(context.WithoutCancel(r.Context()), s.store.PingWrite); err != nil {
		if fresh { // logged once per probe, not once per request
			s.log.Warn("healthz_store_unwritable", "err", err)
		}
		status, text = http.StatusServiceUnavailable, "store not writable"
	}
	w.WriteHeader(status)
	fmt.Fprintln(w, text)
}
