//go:build unix

package articles

import "syscall"

// openFlags keep opening an article from blocking or following a link: a
// named pipe opened without O_NONBLOCK waits for a writer forever, before
// Load could look at what it opened, and a file swapped for a link after
// the walk saw it must not lead out of the content folder.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOFOLLOW
