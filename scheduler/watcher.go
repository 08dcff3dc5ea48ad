package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Default debounce times of a Watcher.
const (
	DefaultQuiet   = 20 * time.Millisecond
	DefaultMaxWait = 2 * time.Second
)

// Watcher calls Changed once per burst of changes (files added, edited,
// removed or renamed) under a folder and its subfolders, even new ones. A
// burst ends after Quiet without events, or MaxWait after its first event.
type Watcher struct {
	Dir string
	// Changed gets the files changed in the burst (as fsnotify names them),
	// nil when events were lost. Its error is logged and the watcher goes on.
	Changed func(ctx context.Context, names []string) error
	// Quiet and MaxWait debounce the events; MaxWait is at least Quiet.
	Quiet, MaxWait time.Duration

	log *slog.Logger
}

// NewWatcher returns a Watcher of dir with the default debounce times.
func NewWatcher(dir string, changed func(ctx context.Context, names []string) error, log *slog.Logger) *Watcher {
	return &Watcher{Dir: dir, Changed: changed, Quiet: DefaultQuiet, MaxWait: DefaultMaxWait, log: log}
}

// Start begins watching, in the background until ctx ends; once it returns
// without error every change is seen. wait blocks until it has stopped.
func (w *Watcher) Start(ctx context.Context) (wait func(), err error) {
	fw, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.addTree(fw, w.Dir); err != nil {
			fw.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("scheduler: watch %s: %w", w.Dir, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer fw.Close()
		w.loop(ctx, fw)
	}()
	return func() { <-done }, nil
}

func (w *Watcher) loop(ctx context.Context, fw *fsnotify.Watcher) {
	maxWait := max(w.MaxWait, w.Quiet)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var first time.Time // start of the current burst; zero when none
	names := map[string]bool{}
	lost := false
	extend := func() { // the burst goes on
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		timer.Reset(min(w.Quiet, first.Add(maxWait).Sub(now)))
	}
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case err, ok := <-fw.Errors:
			if !ok {
				return
			}
			w.log.Warn("watch_error", "dir", w.Dir, "err", err)
			// An overflow of the kernel's queue loses events: rebuild to be safe.
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				lost = true
				extend()
			}
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue // attribute changes (touch, backup tools) change no content
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Lstat(ev.Name); err == nil && st.IsDir() {
					// A new subfolder: watch it, and its files already there.
					if err := w.addTree(fw, ev.Name); err != nil {
						w.log.Warn("watch_add_failed", "dir", ev.Name, "err", err)
					}
				}
			}
			names[ev.Name] = true
			extend()
		case <-timer.C:
			var list []string // nil when events were lost
			if !lost {
				list = slices.Sorted(maps.Keys(names))
			}
			if err := w.Changed(ctx, list); err != nil && ctx.Err() == nil {
				w.log.Error("rebuild_failed", "trigger", "content_change", "err", err)
			}
			first, names, lost = time.Time{}, map[string]bool{}, false
		}
	}
}

// addTree watches dir and every folder under it.
func (w *Watcher) addTree(fw *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != dir && errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if err := fw.Add(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}
