// Package email composes and delivers briefcast's messages, the digest
// editions and the double opt-in confirmation, built with go-mail. A digest
// edition is rendered once per distinct article set and personalised per
// recipient by substituting a few pre-escaped values, so composing stays
// cheap at newsletter scale. The file transport writes .eml files; the smtp
// transport keeps persistent connections to a relay.
package email

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	gomail "github.com/wneessen/go-mail"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/tokens"
)

// Recipient is who one message goes to.
type Recipient struct {
	ID       int64  // subscriber id, signs the unsubscribe/preferences tokens
	TokenKey []byte // the subscriber's token key, signs them too (see tokens)
	Email    string
	Name     string
	Timezone string // IANA; "" = the digest's zone
	Depth    string // "take" or "digest"; "" = the digest's depth
}

// Edition is what one digest edition shows, rendered once and personalised
// per recipient.
type Edition struct {
	ID       int64               // the stored edition's id, named by the return path (0 = none yet)
	Digest   config.Digest       // name, title, subject template, location
	Key      string              // the edition's stable key (List-Id, file names, Message-ID)
	Date     time.Time           // the cut-off (shown in the subject as .Date, in the digest's zone)
	Articles []*articles.Article // newest first, already capped at max_items
}

// Message is one composed message ready for a transport.
type Message struct {
	// From is the envelope sender (bare address): the From address, or the
	// message's own return path (WithReturnPath) so bounces name it.
	From   string
	To     string      // envelope recipient (bare address)
	Folder string      // file transport sub-folder, e.g. "daily/20261125T0700Z" ("confirm" for confirmations)
	Name   string      // file transport file name without extension, unique within Folder
	Msg    *gomail.Msg // the message with every header set

	dkim *dkim.SignOptions // signs the final bytes in WriteTo; nil = unsigned
}

// WriteTo writes the message as it goes on the wire, DKIM-signed when the
// Composer has a key: the signature covers exactly the bytes written, after
// go-mail has folded every header and encoded every part.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	if m.dkim == nil {
		return m.Msg.WriteTo(w)
	}
	var raw bytes.Buffer
	if _, err := m.Msg.WriteTo(&raw); err != nil {
		return 0, err
	}
	s, err := dkim.NewSigner(m.dkim)
	if err == nil {
		s.Write(raw.Bytes()) // an error shows on Close
		err = s.Close()
	}
	if err != nil {
		return 0, fmt.Errorf("email: dkim: %w", err)
	}
	return io.Copy(w, io.MultiReader(strings.NewReader(s.Signature()), &raw))
}

// TokenTTL is how long the unsubscribe and preferences links of a digest
// stay valid from the edition's date, so an archived message still works.
const TokenTTL = 400 * 24 * time.Hour

// Template file names, in templates.Embedded() or an override folder.
const (
	DigestHTML  = "digest.html"
	DigestText  = "digest.txt"
	ConfirmHTML = "confirm_email.html"
	ConfirmText = "confirm_email.txt"
)

// Option configures a Composer.
type Option func(*Composer)

// WithClock sets the clock used for the Date header and DKIM timestamps.
func WithClock(now func() time.Time) Option { return func(c *Composer) { c.now = now } }

// ReturnPath returns the envelope sender of one message to a subscriber
// with an id; editionID is 0 for a confirmation.
type ReturnPath func(editionID, subscriberID int64) string

// WithReturnPath gives every message to a known subscriber its own
// envelope sender (a VERP address, say) instead of the From address.
func WithReturnPath(rp ReturnPath) Option { return func(c *Composer) { c.returnPath = rp } }

// Options are a Composer's settings (OptionsOf fills them from the config).
type Options struct {
	From          string            // the From header, "Name <address>"
	ReplyTo       string            // "" = none
	UnsubscribeTo string            // the mailto address of List-Unsubscribe; "" = none
	ListIDDomain  string            // the domain part of List-Id; "" = From's domain
	PostalAddress string            // shown in every message's footer
	BaseURL       string            // the site's absolute URL, ending in "/"
	SiteTitle     string            // the site's name, shown in every message
	ContentDir    string            // the content folder, for the size of local lead images; "" = none
	Location      *time.Location    // the site's zone, a confirmation's expiry is shown in; nil = UTC
	ConfirmTTL    time.Duration     // how long a confirmation link works; 0 = not shown
	DKIM          *DKIMOptions      // nil = unsigned
	Subjects      map[string]string // the digests' subject templates by name, checked at start
}

// DKIMOptions name the signing key and where its public half is published.
type DKIMOptions struct{ Domain, Selector, PrivateKeyFile string }

// Composer renders digest and confirmation messages. It is safe for
// concurrent use.
type Composer struct {
	o      Options
	signer *tokens.Signer
	now    func() time.Time
	rand   io.Reader  // the Message-ID and MIME boundaries; tests fix it
	randMu sync.Mutex // a caller's io.Reader need not be safe for concurrent use

	from       *mail.Address
	fromDomain string
	replyTo    *mail.Address
	unsubMail  string
	dkim       *dkim.SignOptions
	returnPath ReturnPath

	digestTmpl, confirmTmpl *pageTemplates

	cacheMu  sync.Mutex
	cache    map[string]*variant
	cacheMax int

	zoneMu sync.Mutex
	zones  map[string]*time.Location

	ph placeholders
}

// NewComposer parses the email templates of tmpl (a missing or broken one
// is an error), loads the DKIM key when o has one and returns a Composer.
func NewComposer(o Options, tmpl fs.FS, signer *tokens.Signer, opts ...Option) (*Composer, error) {
	if signer == nil || tmpl == nil {
		return nil, errors.New("email: config, templates and signer are required")
	}
	c := &Composer{
		o:        o,
		signer:   signer,
		now:      time.Now,
		rand:     rand.Reader,
		cache:    map[string]*variant{},
		cacheMax: 256,
		zones:    map[string]*time.Location{},
		ph:       newPlaceholders(),
	}
	for _, opt := range opts {
		opt(c)
	}
	from, err := parseAddress(o.From)
	if err != nil {
		return nil, fmt.Errorf("email: from: %w", err)
	}
	c.from, c.fromDomain = from, domainOf(from.Address)
	if o.ReplyTo != "" {
		if c.replyTo, err = parseAddress(o.ReplyTo); err != nil {
			return nil, fmt.Errorf("email: reply_to: %w", err)
		}
	}
	if o.UnsubscribeTo != "" {
		a, err := parseAddress(o.UnsubscribeTo)
		if err != nil {
			return nil, fmt.Errorf("email: unsubscribe_mailto: %w", err)
		}
		c.unsubMail = a.Address
	}
	if c.digestTmpl, err = parsePage(tmpl, DigestHTML, DigestText); err != nil {
		return nil, err
	}
	if c.confirmTmpl, err = parsePage(tmpl, ConfirmHTML, ConfirmText); err != nil {
		return nil, err
	}
	if err := checkConfirmTemplates(c.confirmTmpl); err != nil {
		return nil, err
	}
	// A broken subject template stops start-up.
	for name, src := range o.Subjects {
		if _, err := parseSubject(name, src); err != nil {
			return nil, err
		}
	}
	if d := o.DKIM; d != nil {
		if c.dkim, err = loadDKIM(d); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// randomBytes fills b from the Composer's source of randomness.
func (c *Composer) randomBytes(b []byte) error {
	c.randMu.Lock()
	defer c.randMu.Unlock()
	if _, err := io.ReadFull(c.rand, b); err != nil {
		return fmt.Errorf("email: randomness: %w", err)
	}
	return nil
}

// location returns the zone named name, loaded once; fallback when name is
// empty or unknown, and UTC when fallback is nil.
func (c *Composer) location(name string, fallback *time.Location) *time.Location {
	if name == "" {
		return cmp.Or(fallback, time.UTC)
	}
	c.zoneMu.Lock()
	defer c.zoneMu.Unlock()
	loc, ok := c.zones[name]
	if !ok {
		var err error
		if loc, err = time.LoadLocation(name); err != nil || len(c.zones) > 1024 {
			loc = nil
		}
		c.zones[name] = loc
	}
	return cmp.Or(loc, fallback, time.UTC)
}

func loadDKIM(d *DKIMOptions) (*dkim.SignOptions, error) {
	pemBytes, err := os.ReadFile(d.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("email: dkim key: %w", err)
	}
	key, err := gomail.PrivKeyFromPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("email: dkim key %s: %w", d.PrivateKeyFile, err)
	}
	o := &dkim.SignOptions{
		Domain:                 d.Domain,
		Selector:               d.Selector,
		Signer:                 key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             dkimHeaders,
	}
	// A trial signature checks the key at start-up.
	if err := dkim.Sign(io.Discard, strings.NewReader("From: a@b\r\n\r\nx\r\n"), o); err != nil {
		return nil, fmt.Errorf("email: dkim key %s: %w", d.PrivateKeyFile, err)
	}
	return o, nil
}

// dkimHeaders are the header fields every DKIM signature covers, in h=
// order. From is named twice, so a second From added in transit breaks the
// signature (RFC 6376 8.15); a name with no field in the message (Reply-To,
// List-Id on a confirmation) is signed as absent, so it cannot be added.
var dkimHeaders = []string{
	"From", "From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
	"Reply-To", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
}

// envelopeFrom is the envelope sender of a message of edition editionID
// (0 for a confirmation) to subscriber id.
func (c *Composer) envelopeFrom(editionID, id int64) string {
	if c.returnPath != nil && id != 0 {
		if rp := c.returnPath(editionID, id); rp != "" {
			return rp
		}
	}
	return c.from.Address
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return "localhost"
}
