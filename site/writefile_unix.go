//go:build unix

package site

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// writeFile creates (or truncates) the file name and writes body into it,
// as os.WriteFile does with mode 0644. It calls the system directly: an
// os.File would add five system calls to each file (setting up and undoing
// non-blocking mode for a poller that refuses regular files), which at ten
// thousand pages is a measurable share of a build.
func writeFile(name string, body []byte) error {
	fd, err := retry(func() (int, error) {
		return unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	})
	if err != nil {
		return &fs.PathError{Op: "open", Path: name, Err: err}
	}
	for len(body) > 0 {
		n, err := retry(func() (int, error) { return unix.Write(fd, body) })
		if err != nil {
			unix.Close(fd)
			return &fs.PathError{Op: "write", Path: name, Err: err}
		}
		body = body[n:]
	}
	if err := unix.Close(fd); err != nil {
		return &fs.PathError{Op: "close", Path: name, Err: err}
	}
	return nil
}

// retry calls fn again while it is interrupted by a signal.
func retry(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if err != unix.EINTR {
			return n, err
		}
	}
}
