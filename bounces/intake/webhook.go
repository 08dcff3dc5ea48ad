package intake

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// MaxWebhookBytes caps a webhook request body.
const MaxWebhookBytes = 1 << 20

// webhook is what every provider's handler shares: reading the body under
// the cap, handing events to the sink once each, and the replies. Replies
// never depend on who the recipients are, so they tell nothing about who is
// subscribed.
type webhook struct {
	provider string
	sink     Sink
	log      *slog.Logger
	seen     *recent
}

func newWebhook(provider string, sink Sink, l *slog.Logger) (webhook, error) {
	if sink == nil {
		return webhook{}, errors.New("intake: " + provider + ": no sink")
	}
	return webhook{provider: provider, sink: sink, log: cmp.Or(l, slog.Default()), seen: newRecent(10000)}, nil
}

// body reads the request body; false means a reply was written.
func (h webhook) body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reply(w, http.StatusMethodNotAllowed, "POST only")
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		h.reply(w, http.StatusRequestEntityTooLarge, "body over 1 MB")
	case err != nil:
		h.reply(w, http.StatusBadRequest, "unreadable body")
	default:
		return b, true
	}
	return nil, false
}

// readJSON reads the request body into v, answering 400 "not <what>" when
// it is not that JSON; false means a reply was written.
func (h webhook) readJSON(w http.ResponseWriter, r *http.Request, v any, what string) bool {
	body, ok := h.body(w, r)
	if !ok {
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		h.refuse(w, r, http.StatusBadRequest, "not "+what, err)
		return false
	}
	return true
}

// deliver hands each event not seen lately to the sink and answers: 204
// when all are taken, 500 (so the provider sends them again) when not.
// An event of no kind the sink takes, or naming no recipient, is skipped.
func (h webhook) deliver(ctx context.Context, w http.ResponseWriter, events ...Event) {
	for _, e := range events {
		key := e.Key()
		if e.Kind == "" || e.Recipient == "" {
			continue
		}
		if h.seen.has(key) {
			h.log.Debug("bounces: webhook: event already taken", "provider", h.provider, "id", e.ID)
			continue
		}
		if err := h.sink.Event(ctx, e); err != nil {
			h.log.Error("bounces: webhook: event not processed, provider told to retry", "provider", h.provider, "id", e.ID, "err", err)
			h.reply(w, http.StatusInternalServerError, "try again later")
			return
		}
		h.seen.add(key)
	}
	w.WriteHeader(http.StatusNoContent)
}

// refuse logs why a request was refused and answers with status.
func (h webhook) refuse(w http.ResponseWriter, r *http.Request, status int, why string, err error) {
	h.log.Warn("bounces: webhook: request refused", "provider", h.provider, "remote", r.RemoteAddr, "status", status, "why", why, "err", err)
	h.reply(w, status, why)
}

func (h webhook) reply(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, text+"\n")
}

// recent remembers the last max keys, forgetting the oldest first: a
// redelivery within that window is dropped before reaching the sink (the
// store dedupes beyond it, by Event.Key).
type recent struct {
	mu   sync.Mutex
	keys map[string]struct{}
	ring []string
	next int
}

func newRecent(max int) *recent {
	return &recent{keys: make(map[string]struct{}, max), ring: make([]string, max)}
}

func (r *recent) has(k string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.keys[k]
	return ok
}

func (r *recent) add(k string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.keys[k]; ok {
		return
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.keys, old)
	}
	r.ring[r.next] = k
	r.keys[k] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
}

// parseTime reads an RFC 3339 time; the zero time when it cannot.
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
