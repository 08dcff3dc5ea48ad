//go:build !linux

package site

// exchange is only available on Linux; elsewhere the caller renames twice.
func exchange(a, b string) (bool, error) { return false, nil }
