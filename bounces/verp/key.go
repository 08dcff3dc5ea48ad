package verp

import (
	"crypto/hmac"
	"crypto/sha256"
)

// keyLabel separates the return-path key from every other use of the
// subscriptions secret.
const keyLabel = "briefcast-verp-v1"

// Key derives the secret of Encode and Decode from the subscriptions
// secret, so one configured secret serves both while a return path can
// never stand in for a link token or the other way round.
func Key(subscriptionsSecret []byte) []byte {
	m := hmac.New(sha256.New, subscriptionsSecret)
	m.Write([]byte(keyLabel))
	return m.Sum(nil)
}
