// Package rawsend is the yardstick of the digest send benchmarks: bare
// go-mail sending pre-built messages, with no store and no rendering.
package rawsend

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Rate sends total messages with bare go-mail over conns persistent
// plain-text connections to host:port (no TLS, no AUTH, no NOOP or RSET)
// and returns the messages per second achieved. msg(i) supplies the i-th
// message; it is the ceiling a full delivery pipeline is measured against.
func Rate(ctx context.Context, host string, port, conns, total int, msg func(i int) *gomail.Msg) (float64, error) {
	if conns < 1 {
		conns = 1
	}
	clients := make([]*gomail.Client, conns)
	for i := range clients {
		c, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithTLSPolicy(gomail.NoTLS),
			gomail.WithoutNoop(), gomail.WithoutRset(), gomail.WithTimeout(30*time.Second))
		if err != nil {
			return 0, fmt.Errorf("rawsend: %w", err)
		}
		if err := c.DialWithContext(ctx); err != nil {
			return 0, fmt.Errorf("rawsend: %w", err)
		}
		clients[i] = c
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	start := time.Now()
	for _, c := range clients {
		wg.Add(1)
		go func(c *gomail.Client) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				if err := c.Send(msg(i)); err != nil {
					errs <- err
					return
				}
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, c := range clients {
		c.Close()
	}
	select {
	case err := <-errs:
		return 0, fmt.Errorf("rawsend: %w", err)
	default:
	}
	return float64(total) / elapsed.Seconds(), nil
}
