package email

import (
	"fmt"
	"strings"
	"time"
)

// Options are everything a Composer takes from the configuration.
type Options struct {
	From              string // the From header, "Name <address>"
	ReplyTo           string // "" = none
	UnsubscribeMailto string // the mailto: of List-Unsubscribe; "" = none
	ListIDDomain      string // the domain part of List-Id; "" = From's domain
	PostalAddress     string // shown in every message's footer
	BaseURL           string // the site's absolute URL, ending in "/"
	SiteTitle         string
	ContentDir        string         // the content folder, for the size of local lead images; "" = local images left out
	SiteLocation      *time.Location // the zone of a confirmation's expiry; nil = UTC
	ConfirmTTL        time.Duration  // how long a confirmation link works; 0 = not shown
	DKIM              *DKIMOptions   // nil = unsigned
	// Subjects are the digests' subject templates by digest name, parsed
	// at start so that a broken one stops start-up.
	Subjects map[string]string
}

// DKIMOptions name the signing key and where its public half is published.
type DKIMOptions struct {
	Domain, Selector, PrivateKeyFile string
}

// TransportOptions are everything a transport takes from the configuration.
type TransportOptions struct {
	Kind      string // "file" (or "") or "smtp"
	OutboxDir string // the file transport's folder
	SMTP      SMTPOptions
}

// SMTPOptions configure the smtp transport.
type SMTPOptions struct {
	Host     string
	Port     int
	Username string // "" = no AUTH
	Password string
	TLS      string        // "starttls" (default), "tls" or "none"
	Rate     float64       // messages per second over all connections; 0 = no limit
	Timeout  time.Duration // per step; 0 = 30s
	// HELO is the EHLO name. Empty means the domain of FromAddress; it is
	// never the machine's host name, which often says "localhost" or an
	// internal name that receivers hold against the message.
	HELO        string
	FromAddress string // the From header, for the default HELO
}

// heloName is the EHLO name: s.HELO, else the domain of the From address.
// go-mail would say the machine's host name, which receivers compare with
// its DNS and which is often "localhost" or a name only the LAN knows.
func heloName(s SMTPOptions) (string, error) {
	if h := strings.TrimSpace(s.HELO); h != "" {
		if strings.ContainsAny(h, " \t\r\n") {
			return "", fmt.Errorf("email: smtp helo %q holds a space or line break", h)
		}
		return h, nil
	}
	from, err := parseAddress(s.FromAddress)
	if err != nil {
		return "", fmt.Errorf("email: smtp helo: no name set and from: %w", err)
	}
	return domainOf(from.Address), nil
}
