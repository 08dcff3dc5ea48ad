package scheduler

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// ErrLocked is returned by LockFile when another process holds the lock.
var ErrLocked = errors.New("another briefcast process runs the scheduler on this database")

// LockFile takes an exclusive, non-blocking flock on path (creating it),
// so only one process runs the scheduler on a SQLite database. The kernel
// drops the lock when the process dies, so a crash never leaves a stale
// lock behind. A second taker, in this process or another, gets an error
// wrapping ErrLocked that names the file. release gives the lock up.
func LockFile(path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("scheduler: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("scheduler: %w (lock file %s is held; with SQLite only one process may run the scheduler: stop the other one, or use PostgreSQL for several instances)", ErrLocked, path)
		}
		return nil, fmt.Errorf("scheduler: lock %s: %w", path, err)
	}
	// The pid is only a hint for the operator; the flock is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			_ = f.Close()
		})
	}, nil
}
