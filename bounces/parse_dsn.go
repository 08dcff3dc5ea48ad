package bounces

import (
	"bufio"
	"bytes"
	"cmp"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// fieldBlock is one block of "Name: value" fields: a header, or one group
// of a delivery-status or feedback-report body.
type fieldBlock struct {
	h textproto.Header
}

// get returns the first value of the named field, unfolded and trimmed.
func (b *fieldBlock) get(name string) string {
	if b == nil {
		return ""
	}
	return unfold(b.h.Get(name))
}

// values returns every value of the named field.
func (b *fieldBlock) values(name string) []string {
	if b == nil {
		return nil
	}
	var out []string
	for f := b.h.FieldsByKey(name); f.Next(); {
		out = append(out, unfold(f.Value()))
	}
	return out
}

// unfold joins a folded value's lines and trims it.
func unfold(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// readFieldBlocks reads up to max blank-line separated field blocks from r.
// Each block goes through the MIME library's header reader; a block it
// refuses (real reports hold stray lines) is read leniently instead.
func readFieldBlocks(r io.Reader, max int) []*fieldBlock {
	data, _ := io.ReadAll(io.LimitReader(r, maxPartBytes))
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	var out []*fieldBlock
	for _, raw := range bytes.Split(data, []byte("\n\n")) {
		if len(out) >= max {
			break
		}
		raw = bytes.Trim(raw, "\n")
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		out = append(out, readFieldBlock(raw))
	}
	return out
}

func firstFieldBlock(r io.Reader) *fieldBlock {
	if blocks := readFieldBlocks(r, 1); len(blocks) > 0 {
		return blocks[0]
	}
	return nil
}

func readFieldBlock(raw []byte) *fieldBlock {
	in := append(append([]byte{}, raw...), "\n\n"...)
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(in)))
	if err == nil {
		return &fieldBlock{h: h}
	}
	var lh textproto.Header
	var key, val string
	flush := func() {
		if key != "" {
			lh.Add(key, val)
		}
		key, val = "", ""
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && key != "" {
			val += " " + strings.TrimSpace(line)
			continue
		}
		flush()
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(k, " \t") || k == "" {
			continue
		}
		key, val = k, strings.TrimSpace(v)
	}
	flush()
	return &fieldBlock{h: lh}
}

// dsnReport is a message/delivery-status body (RFC 3464 section 2).
type dsnReport struct {
	recipients []dsnRecipient
}

type dsnRecipient struct {
	final, original string // addresses, "" when absent
	action          string // lower case: failed, delayed, delivered, relayed, expanded
	status          string
	diagnostic      string
}

func parseDSN(r io.Reader) *dsnReport {
	d := &dsnReport{}
	for _, b := range readFieldBlocks(r, 1000) {
		rcpt := dsnRecipient{
			final:      typedAddress(b.get("Final-Recipient")),
			original:   typedAddress(b.get("Original-Recipient")),
			action:     strings.ToLower(b.get("Action")),
			status:     b.get("Status"),
			diagnostic: b.get("Diagnostic-Code"),
		}
		if rcpt.final == "" && rcpt.original == "" && rcpt.action == "" && rcpt.status == "" {
			continue // the per-message fields, or a group about no recipient
		}
		rcpt.final = cmp.Or(rcpt.final, typedAddress(b.get("X-Actual-Recipient")))
		d.recipients = append(d.recipients, rcpt)
	}
	return d
}

// typedAddress turns "rfc822; a@example.com" into "a@example.com".
func typedAddress(v string) string {
	if _, rest, ok := strings.Cut(v, ";"); ok {
		v = rest
	}
	return cleanAddress(v)
}

// cleanAddress lower-cases an address and strips brackets and quotes, or
// returns "" when v does not look like an address.
func cleanAddress(v string) string {
	v = strings.TrimSpace(v)
	v = strings.Trim(v, "<>\"'()[].,;: \t")
	if strings.HasPrefix(strings.ToLower(v), "mailto:") {
		v = v[len("mailto:"):]
	}
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 || strings.ContainsAny(v, " \t<>\"") {
		return ""
	}
	return strings.ToLower(v)
}

// diagnosticText drops the "smtp;" type prefix of a Diagnostic-Code.
func diagnosticText(v string) string {
	t, rest, ok := strings.Cut(v, ";")
	if ok && !strings.ContainsAny(t, " \t") && len(t) < 12 {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(v)
}
