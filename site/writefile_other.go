//go:build !unix

package site

import "os"

// writeFile creates (or truncates) the file name and writes body into it.
func writeFile(name string, body []byte) error {
	return os.WriteFile(name, body, 0o644)
}
