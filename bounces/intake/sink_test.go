package intake

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
)

// recorder is a Sink that keeps what it is given; fail makes it refuse.
type recorder struct {
	mu     sync.Mutex
	fail   bool
	msgs   [][]byte
	events []Event
	calls  int
	got    chan struct{} // when set, signalled after each accepted message
}

func (r *recorder) Message(_ context.Context, raw []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail {
		return errors.New("store is down")
	}
	r.msgs = append(r.msgs, append([]byte(nil), raw...))
	if r.got != nil {
		r.got <- struct{}{}
	}
	return nil
}

func (r *recorder) Event(_ context.Context, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail {
		return errors.New("store is down")
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) setFail(v bool) {
	r.mu.Lock()
	r.fail = v
	r.mu.Unlock()
}

func (r *recorder) messages() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.msgs...)
}

func (r *recorder) allEvents() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
