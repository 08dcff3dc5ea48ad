//go:build unix

package articles

import (
	"io/fs"
	"slices"

	"golang.org/x/sys/unix"
)

// readInto reads the file p into buf, growing it as needed, as os.ReadFile
// does into a fresh slice. It calls the system directly: an os.File would
// add five system calls to each file (setting up and undoing non-blocking
// mode for a poller that refuses regular files), which at ten thousand
// articles costs more than reading them.
func readInto(p string, buf []byte) ([]byte, error) {
	fd, err := retry(func() (int, error) { return unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0) })
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err == nil && st.Size > 0 && int64(int(st.Size)) == st.Size {
		buf = slices.Grow(buf, int(st.Size)+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 512)
		}
		n, err := retry(func() (int, error) { return unix.Read(fd, buf[len(buf):cap(buf)]) })
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: p, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
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
