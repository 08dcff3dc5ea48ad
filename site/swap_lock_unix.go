//go:build unix

package site

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// dirLocks is true where lockDir really locks; the lock dies with the
// process, however it ends.
const dirLocks = true

// lockDir takes an exclusive advisory lock on the folder p, waiting for it
// when wait is set; else it reports false when p is locked already.
func lockDir(p string, wait bool) (unlock func(), locked bool, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, false, fmt.Errorf("site: lock %s: %w", p, err)
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	err = unix.Flock(int(f.Fd()), how)
	for err == unix.EINTR {
		err = unix.Flock(int(f.Fd()), how)
	}
	if err == nil {
		return func() { f.Close() }, true, nil
	}
	f.Close()
	if errors.Is(err, unix.EWOULDBLOCK) {
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("site: lock %s: %w", p, err)
}
