package articles

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// errTooBig is readLimited's answer to a reader with more than its limit.
var errTooBig = errors.New("over the size limit")

// read returns the bytes of the article s, read into buf, or a reason to
// skip it, or an *Error. Nothing of a file outside the content folder is
// ever read, so no error can quote it.
func (l *loader) read(s source, buf []byte) ([]byte, string, *Error) {
	p := s.path
	if s.link {
		target, skip, err := l.follow(p)
		if err != nil {
			return nil, "", &Error{Path: s.rel, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))}
		}
		if skip != "" {
			return nil, skip, nil
		}
		p = target
	}
	// The walk saw a regular file or a link to one, but either may have
	// been replaced since: openFlags make opening anything return at once,
	// and the type is checked on what was opened.
	f, err := os.OpenFile(p, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, "", &Error{Path: s.rel, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, "", &Error{Path: s.rel, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))}
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(st.Mode().Type()), nil
	}
	limit := l.opts.maxBytes()
	if st.Size() > limit {
		return nil, "", tooBig(s.rel, st.Size(), limit)
	}
	data, err := readLimited(f, st.Size(), limit, buf)
	if errors.Is(err, errTooBig) {
		return nil, "", tooBig(s.rel, 0, limit)
	}
	if err != nil {
		return nil, "", &Error{Path: s.rel, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))}
	}
	return data, "", nil
}

// follow resolves the link at p: the target when it is a file inside the
// content folder that the walk does not read on its own (twice would be a
// duplicate slug), else a reason to skip the link.
func (l *loader) follow(p string) (string, string, error) {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", "", err
	}
	rel, err := filepath.Rel(l.root, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", "a symbolic link to a file outside the content folder", nil
	}
	rel = filepath.ToSlash(rel)
	if walked(rel) {
		return "", fmt.Sprintf("a symbolic link to %s, which is read on its own", rel), nil
	}
	return target, "", nil
}

// walked reports whether the walk reads the file at rel by itself: nothing
// on its way is hidden and its name is an article's.
func walked(rel string) bool {
	for part := range strings.SplitSeq(rel, "/") {
		if hidden(part) {
			return false
		}
	}
	return layoutOf(rel) != ""
}

// readLimited reads r to its end into buf[:0], sized once for size bytes.
// It stops with errTooBig past limit, so a file that grows after it was
// measured (or a device that never ends) cannot make it hold more.
func readLimited(r io.Reader, size, limit int64, buf []byte) ([]byte, error) {
	buf = buf[:0]
	if size > 0 && size <= limit {
		buf = slices.Grow(buf, int(size)+1)
	}
	lr := io.LimitReader(r, limit+1)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4096)
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, errTooBig
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// tooBig is the error about a file over the size limit; size is 0 when the
// file grew past it while being read.
func tooBig(rel string, size, limit int64) *Error {
	if size > 0 {
		return &Error{Path: rel, Msg: fmt.Sprintf("the file is %d bytes, over the limit of %d bytes (site.max_article_bytes)", size, limit)}
	}
	return &Error{Path: rel, Msg: fmt.Sprintf("the file is over the limit of %d bytes (site.max_article_bytes)", limit)}
}

// notRegular is the warning that skips a file that is not a regular one.
func notRegular(t fs.FileMode) string {
	for _, k := range []struct {
		mode fs.FileMode
		what string
	}{{fs.ModeNamedPipe, "a named pipe"}, {fs.ModeSocket, "a socket"}, {fs.ModeDevice, "a device"}, {fs.ModeDir, "a folder"}, {fs.ModeSymlink, "a symbolic link"}} {
		if t&k.mode != 0 {
			return k.what + ", not a regular file; only regular files are read"
		}
	}
	return "not a regular file; only regular files are read"
}
