package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	"briefcast/site"
)

// PingHub tells the WebSub hub, if any, about every feed whose bytes differ
// between prev (nil: none) and next. Failures are only logged: a missed ping
// delays readers until their next poll.
func (s *Server) PingHub(ctx context.Context, prev, next *site.Site) {
	hub := s.options.WebSubHub
	if hub == "" || next == nil {
		return
	}
	for _, p := range next.Feeds {
		nf := next.Files[p]
		if nf == nil || !strings.HasPrefix(p, "/") {
			continue
		}
		if prev != nil {
			if of := prev.Files[p]; of != nil && sameBytes(of, nf) {
				continue
			}
		}
		form := url.Values{"hub.mode": {"publish"}, "hub.url": {s.baseURL + p[1:]}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, hub, strings.NewReader(form.Encode()))
		if err != nil {
			s.log.Warn("websub_ping_failed", "feed", p, "err", err)
			return
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := s.client.Do(req)
		if err != nil {
			s.log.Warn("websub_ping_failed", "feed", p, "err", err)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			s.log.Warn("websub_ping_rejected", "feed", p, "status", resp.StatusCode)
			continue
		}
		s.log.Info("websub_pinged", "feed", p)
	}
}

// sameBytes compares two versions of a file by tag when both are on disk.
func sameBytes(a, b *site.File) bool {
	if a.Stored != nil && b.Stored != nil {
		return a.Stored.ETag == b.Stored.ETag
	}
	return bytes.Equal(a.Body, b.Body)
}
