// Package verp builds and reads the envelope sender (Return-Path) of each
// message sent: bounces+<token>@<bounce domain>, where the token carries the
// edition and subscriber ids and an HMAC tag over them. A bounce that comes
// back to such an address names its delivery without any lookup table, and
// a forged or damaged token is refused.
package verp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"
)

// Prefix is the local part before the token.
const Prefix = "bounces+"

// tagLen is the number of HMAC bytes kept: 80 bits is far beyond what an
// attacker can guess through a mail server, and keeps the local part short.
const tagLen = 10

// encoding is RFC 4648 base32 in lower case without padding: letters and
// digits only, so an MTA that folds the local part's case or quotes odd
// characters cannot damage it (Decode folds it back).
var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Key derives the secret of Encode and Decode from the subscriptions
// secret, so one configured secret serves both while a return path can
// never stand in for a link token or the other way round.
func Key(subscriptionsSecret []byte) []byte {
	m := hmac.New(sha256.New, subscriptionsSecret)
	m.Write([]byte("briefcast-verp-v1"))
	return m.Sum(nil)
}

// Encode returns bounces+<token>@domain for one delivery. editionID 0 marks a
// confirmation message. The ids are written as zig-zag varints, so the local
// part stays under 64 characters for any int64.
func Encode(secret []byte, editionID, subscriberID int64, domain string) string {
	domain = strings.ToLower(strings.TrimSpace(domain))
	payload := binary.AppendVarint(nil, editionID)
	payload = binary.AppendVarint(payload, subscriberID)
	token := append(payload, tag(secret, payload, domain)...)
	return Prefix + encoding.EncodeToString(token) + "@" + domain
}

// Decode reads an address made by Encode with the same secret. ok is false
// for anything else: another local part, a token changed in any way, a token
// moved to another domain, or a different secret. Case is ignored, since
// MTAs may fold it. Angle brackets around the address are allowed.
func Decode(secret []byte, addr string) (editionID, subscriberID int64, ok bool) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	at := strings.LastIndexByte(addr, '@')
	text, isOurs := strings.CutPrefix(addr[:max(at, 0)], Prefix)
	// 64 is RFC 5321's limit on a local part.
	if at < 0 || at > 64 || at == len(addr)-1 || !isOurs {
		return 0, 0, false
	}
	domain := addr[at+1:]
	token, err := encoding.DecodeString(text)
	// Re-encoding must give the same text: base32 ignores the unused
	// bits of the last character, and a changed character is damage.
	if err != nil || encoding.EncodeToString(token) != text || len(token) <= tagLen {
		return 0, 0, false
	}
	payload, got := token[:len(token)-tagLen], token[len(token)-tagLen:]
	if !hmac.Equal(got, tag(secret, payload, domain)) {
		return 0, 0, false
	}
	ids := bytes.NewReader(payload)
	editionID, err1 := binary.ReadVarint(ids)
	subscriberID, err2 := binary.ReadVarint(ids)
	if err1 != nil || err2 != nil || ids.Len() != 0 {
		return 0, 0, false
	}
	return editionID, subscriberID, true
}

// tag is the truncated HMAC-SHA256 of the payload, bound to the domain and
// to this use of the secret, so a tag made for anything else never fits.
func tag(secret, payload []byte, domain string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("briefcast verp v1\x00" + domain + "\x00"))
	m.Write(payload)
	return m.Sum(nil)[:tagLen]
}
