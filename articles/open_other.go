//go:build !unix

package articles

// openFlags are the extra flags an article is opened with; the systems
// without named pipes in the file tree need none.
const openFlags = 0
