package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Default debounce times of a Watcher.
const (
	DefaultQuiet   = 20 * time.Millisecond
	DefaultMaxWait = 2 * time.Second
)

// Watcher calls Rebuild once per burst of changes under a folder and its
// subfolders: a file added, edited, removed or renamed. A burst ends after
// Quiet without events, or MaxWait after its first event while changes keep
// coming, so a rebuild follows any change within MaxWait or so.
type Watcher struct {
	// Dir is the folder watched, with every subfolder, including ones
	// created later.
	Dir string
	// Rebuild is called once per burst. Its error (a broken article) is
	// logged and the watcher goes on: keeping the last good site is the
	// callback's business.
	Rebuild func(ctx context.Context) error
	// Changed, when set, is called instead of Rebuild with the files
	// changed in the burst (as fsnotify names them), or nil when events
	// were lost and anything may have changed.
	Changed func(ctx context.Context, names []string) error
	// Quiet and MaxWait debounce the events (defaults DefaultQuiet and
	// DefaultMaxWait).
	Quiet, MaxWait time.Duration

	log *slog.Logger
}

// NewWatcher returns a Watcher of dir that calls rebuild.
func NewWatcher(dir string, rebuild func(ctx context.Context) error, log *slog.Logger) *Watcher {
	return &Watcher{Dir: dir, Rebuild: rebuild, Quiet: DefaultQuiet, MaxWait: DefaultMaxWait, log: log}
}

// Run watches until ctx ends. It fails only if the folder cannot be watched
// at all.
func (w *Watcher) Run(ctx context.Context) error {
	wait, err := w.Start(ctx)
	if err != nil {
		return err
	}
	wait()
	return nil
}

// Start begins watching: once it returns without error every change is
// seen. The watching goes on in the background until ctx ends; wait blocks
// until it has stopped.
func (w *Watcher) Start(ctx context.Context) (wait func(), err error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("scheduler: watch %s: %w", w.Dir, err)
	}
	if err := w.addTree(fw, w.Dir); err != nil {
		fw.Close()
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
	quiet, maxWait := w.Quiet, w.MaxWait
	if quiet <= 0 {
		quiet = DefaultQuiet
	}
	if maxWait < quiet {
		maxWait = max(DefaultMaxWait, quiet)
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var first time.Time // start of the current burst; zero when none
	names := map[string]bool{}
	lost := false
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case err, ok := <-fw.Errors:
			if !ok {
				return
			}
			// An overflow of the kernel's queue loses events: rebuild to be safe.
			w.log.Warn("watch_error", "dir", w.Dir, "err", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				lost = true
				if first.IsZero() {
					first = time.Now()
					timer.Reset(quiet)
				}
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
			now := time.Now()
			if first.IsZero() {
				first = now
			}
			timer.Reset(min(quiet, first.Add(maxWait).Sub(now)))
		case <-timer.C:
			first = time.Time{}
			if err := w.fire(ctx, names, lost); err != nil && ctx.Err() == nil {
				w.log.Error("rebuild_failed", "trigger", "content_change", "err", err)
			}
			names, lost = map[string]bool{}, false
		}
	}
}

// fire reports one burst: the names changed to Changed (nil when events
// were lost), else a Rebuild.
func (w *Watcher) fire(ctx context.Context, names map[string]bool, lost bool) error {
	if w.Changed == nil {
		return w.Rebuild(ctx)
	}
	var list []string
	if !lost {
		list = make([]string, 0, len(names))
		for n := range names {
			list = append(list, n)
		}
		sort.Strings(list)
	}
	return w.Changed(ctx, list)
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
