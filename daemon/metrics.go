package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"briefcast/config"
	"briefcast/metrics"
	"briefcast/server"
)

// startMetrics binds server.metrics_listen and serves /metrics there until
// ctx ends; stop waits for that. The public listener never serves them. It
// returns the bound address, or "off" when the key turns metrics off.
func startMetrics(ctx context.Context, cfg *config.Config, m *metrics.Metrics, log *slog.Logger) (addr string, stop func(), err error) {
	want := cfg.Server.MetricsAddr()
	if want == "" {
		return "off", func() {}, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", want)
	if err != nil {
		return "", nil, fmt.Errorf("server.metrics_listen: %w", err)
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil && !ap.Addr().IsLoopback() {
		log.Warn("metrics_not_loopback", "addr", ln.Addr().String(),
			"reason", "the metrics include subscriber counts; keep this address private")
	}
	// The metrics outlive Run's context until stop: they report the
	// shutdown too.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := server.Serve(ctx, ln, m.Handler(), log); err != nil {
			log.Error("metrics_serve_failed", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return ln.Addr().String(), func() { cancel(); <-done }, nil
}
