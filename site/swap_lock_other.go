//go:build !unix

package site

// dirLocks is false where folders cannot be locked: a temporary folder is
// only taken for a killed build's leftover once it is old (see staleAge).
const dirLocks = false

// lockDir does nothing where folders cannot be locked.
func lockDir(p string, wait bool) (unlock func(), locked bool, err error) {
	return func() {}, true, nil
}
