package subscribers

import (
	"fmt"
	"regexp"
)

// MaxDigestNameLen bounds a digest name: it appears in URLs, edition keys,
// job names and the comma-joined digests column of the store.
const MaxDigestNameLen = 64

var digestNameShape = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// CheckDigestName is the one rule for the shape of a digest name, for the
// config, the store's subscriber fields, the CLI and the sign-up form: 1
// to 64 lower-case ASCII letters, digits, - or _, starting with a letter
// or digit. The shape keeps a name safe unescaped in a URL path, a log
// line, a CSV cell and a comma-joined list.
func CheckDigestName(name string) error {
	if len(name) > MaxDigestNameLen || !digestNameShape.MatchString(name) {
		return fmt.Errorf("digest name %q must be 1 to %d lower-case letters, digits, - or _, starting with a letter or digit", name, MaxDigestNameLen)
	}
	return nil
}
