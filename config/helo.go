package config

import (
	"fmt"
	"strings"
)

// HELOName is the name the smtp transport gives in EHLO ([email.smtp]
// helo): a host name, or an address literal such as "[192.0.2.1]". Empty
// means the domain of the From address, never the machine's own host
// name, which receivers check against its DNS and which often says
// "localhost" or an internal name.
type HELOName string

// UnmarshalText accepts a host name of letters, digits, "-" and "." (at
// most 253 characters, no empty label) or a bracketed address literal.
func (h *HELOName) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if err := checkHELO(s); err != nil {
		return err
	}
	*h = HELOName(s)
	return nil
}

func checkHELO(s string) error {
	if s == "" {
		return nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") && !strings.ContainsAny(s[1:len(s)-1], "[] \t\r\n") {
		return nil
	}
	if len(s) > 253 {
		return fmt.Errorf("helo: %q is longer than 253 characters", s)
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("helo: %q is not a host name", s)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("helo: %q is not a host name (character %q)", s, c)
			}
		}
	}
	return nil
}
