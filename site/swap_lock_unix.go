//go:build unix

package site

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// dirLocks is true where lockDir really locks: a temporary folder that a
// running build holds locked is never taken for the leftover of a killed
// one. The lock dies with the process, however it ends.
const dirLocks = true

// lockDir takes an exclusive advisory lock on the folder p, waiting for
// it when wait is set. It reports false, with no error, when the folder is
// locked already and wait is not set. unlock releases the lock.
func lockDir(p string, wait bool) (unlock func(), locked bool, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, false, fmt.Errorf("site: lock %s: %w", p, err)
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	switch {
	case err == nil:
		return func() { f.Close() }, true, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		f.Close()
		return nil, false, nil
	default:
		f.Close()
		return nil, false, fmt.Errorf("site: lock %s: %w", p, err)
	}
}
