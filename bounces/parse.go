// Package bounces reads the mail that comes back after a send: delivery
// status notifications (RFC 3464), feedback-loop complaints (RFC 5965), the
// home-made bounce shapes of common mail servers, and auto-replies, and
// says for each recipient whether the address bounced hard, bounced soft,
// complained, or none of these.
package bounces

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode the legacy charsets bounces come in
)

// Kind is what a message says about a recipient.
type Kind string

// The kinds. Soft failures include a full mailbox, a policy block, a
// time-out and an expired queue.
const (
	Hard      Kind = "hard"      // the address does not exist or will never accept mail
	Soft      Kind = "soft"      // delivery failed for a reason that may pass
	Complaint Kind = "complaint" // the recipient reported the mail as spam
	None      Kind = "none"      // not a failure (auto-reply, ordinary mail, success or delay notice)
)

// Result is one recipient's outcome in a message.
type Result struct {
	Kind      Kind   `json:"kind"`
	Recipient string `json:"recipient"` // lower-cased address, "" when unknown
	Status    string `json:"status"`    // enhanced status such as 5.1.1, "" when unknown
	Reason    string `json:"reason"`    // short text for a person
}

// Limits on hostile input. A message over MaxSize is refused; deeper or more
// numerous MIME parts than these are skipped, not parsed.
const (
	MaxSize      = 10 << 20
	maxDepth     = 8
	maxParts     = 200
	maxPartBytes = 2 << 20   // text read from any one part
	maxText      = 4 << 20   // text kept from all parts together
	maxHuman     = 256 << 10 // readable text searched for recipients and reasons
	maxMatch     = 64 << 10  // text one reason or code search looks at
	maxResults   = 500       // recipients reported for one message
)

// ErrTooLarge is returned for a message over MaxSize bytes.
var ErrTooLarge = errors.New("bounces: message larger than 10 MB")

// Parse reads one raw message (headers and body) and returns one Result
// per recipient it reports on, or a single Result of kind None when it is
// neither a bounce nor a complaint. It fails only when the message cannot
// be read at all: over MaxSize, or a header block that is not a header.
func Parse(r io.Reader) ([]Result, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("bounces: read: %w", err)
	}
	if len(data) > MaxSize {
		return nil, ErrTooLarge
	}
	e, err := message.Read(bytes.NewReader(data))
	if e == nil {
		return nil, fmt.Errorf("bounces: header: %w", cmp.Or(err, errors.New("empty message")))
	}
	if !e.Header.Fields().Next() {
		return nil, errors.New("bounces: no header fields: not a mail message")
	}
	m := &mail{header: e.Header}
	m.walk(e, 0)
	return classify(m), nil
}

// mail is what the classifier needs from a parsed message.
type mail struct {
	header     message.Header
	reportType string   // report-type of a multipart/report, lower case
	text       []string // human-readable parts, decoded to UTF-8
	textLen    int      // bytes in text
	dsn        *dsnReport
	feedback   *fieldBlock // the machine-readable part of an ARF report
	original   *fieldBlock // headers of the returned or reported message
	parts      int
	human      *string // humanText, computed once
}

// walk visits e and its parts, depth first, within the limits above. A
// part that cannot be decoded is skipped so the rest still counts.
func (m *mail) walk(e *message.Entity, depth int) {
	m.parts++
	if depth > maxDepth || m.parts > maxParts {
		return
	}
	mt, params, err := e.Header.ContentType()
	if err != nil || mt == "" {
		mt = "text/plain"
	}
	mt = strings.ToLower(mt)
	if strings.HasPrefix(mt, "multipart/") {
		if params["boundary"] == "" {
			m.addText(e.Body, false) // no boundary: read it as the text it probably is
			return
		}
		if mt == "multipart/report" && m.reportType == "" {
			m.reportType = strings.ToLower(strings.TrimSpace(params["report-type"]))
		}
		mr := e.MultipartReader()
		for {
			p, err := mr.NextPart()
			if p == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
				return
			}
			m.walk(p, depth+1)
			if m.parts > maxParts {
				return
			}
		}
	}
	m.leaf(e, mt, depth)
}

func (m *mail) leaf(e *message.Entity, mt string, depth int) {
	body := io.LimitReader(e.Body, maxPartBytes)
	switch mt {
	case "message/delivery-status", "message/global-delivery-status":
		if m.dsn == nil {
			m.dsn = parseDSN(body)
		}
	case "message/feedback-report":
		if m.feedback == nil {
			m.feedback = firstFieldBlock(body)
		}
	case "text/rfc822-headers", "message/rfc822-headers", "text/rfc822-header", "message/rfc822", "message/global":
		if m.original == nil {
			m.original = firstFieldBlock(body)
		}
	case "text/plain", "text/html", "text/enriched", "text":
		if depth > 0 && m.original != nil && m.dsn == nil && m.feedback == nil && len(m.text) > 0 {
			return // parts after a returned message belong to it
		}
		m.addText(body, mt == "text/html")
	}
}

// addText keeps the text of a readable part, while all parts' text
// together stays within maxText.
func (m *mail) addText(r io.Reader, html bool) {
	b, _ := io.ReadAll(io.LimitReader(r, maxPartBytes))
	s := string(b)
	if html {
		s = htmlToText(s)
	}
	if m.textLen+len(s) > maxText {
		return
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	m.textLen += len(s)
	m.text = append(m.text, s)
}
