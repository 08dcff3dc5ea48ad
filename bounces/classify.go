package bounces

import (
	"cmp"
	"strings"
	"unicode/utf8"
)

// classify turns a parsed message into results: a complaint first (it may
// also look like a bounce), then a standard delivery report, then an
// auto-reply, then a server's home-made bounce text.
func classify(m *mail) []Result {
	if rs := complaint(m); rs != nil {
		return rs
	}
	if m.dsn != nil && len(m.dsn.recipients) > 0 {
		return fromDSN(m)
	}
	if rs := sesNotification(m); rs != nil {
		return rs
	}
	if autoReply(m) {
		return []Result{{Kind: None, Reason: "auto-reply: " + shorten(m.header.Get("Subject"), 80)}}
	}
	if looksLikeBounce(m) {
		if delayNotice(m) {
			return []Result{{Kind: None, Reason: "delay notice: delivery is still being retried"}}
		}
		if rs := fromText(m); rs != nil {
			return rs
		}
	}
	return []Result{{Kind: None, Reason: "not a bounce or complaint"}}
}

// failure holds what is known about one recipient's failed delivery.
type failure struct {
	recipient string
	status    string // enhanced status given by a report field, if any
	diag      string // the server's reply, most specific text first
	context   *context
}

// context is what the text around all recipients says, read once per
// message however many recipients it has.
type context struct {
	text        string
	lines       string // its lines holding reply codes
	why         *reason
	code, basic string
}

func newContext(text string) *context {
	c := &context{text: text, lines: codeLines(text), why: findReason(text)}
	c.code, c.basic = enhancedCode(c.lines), basicCode(c.lines)
	return c
}

// clip cuts s to the length that one search looks at.
func clip(s string) string {
	return s[:min(len(s), maxMatch)]
}

// decide combines status and text into a Result.
//
// Soft wins for class 4: a 4xx reply is the server's own word that the
// condition may pass, so even "450 user unknown" (what Postfix answers
// with unknown_local_recipient_reject_code = 450, or a directory that is
// down) stays soft; a hard bounce ends a subscription, a soft one only
// counts toward that, so a wrong soft costs less than a wrong hard.
func decide(f failure) Result {
	f.diag = clip(f.diag)
	code := f.status
	textCode := enhancedCode(f.diag)
	if code == "" || (strings.HasSuffix(code, ".0.0") && textCode != "" && textCode[0] == code[0]) {
		code = textCode
	}
	basic := basicCode(f.diag)
	why := cmp.Or(findReason(f.diag), f.context.why)
	if code == "" && basic == "" && f.diag == "" {
		// Report fields often carry no code; the human text may.
		code, basic = f.context.code, f.context.basic
	}
	class := cmp.Or(code, basic, "?")[0] // the reply's class: '4', '5', or '?' when unknown
	if code == "" && basic != "" {
		code = cmp.Or(basicStatus[basic], string(basic[0])+".0.0")
		if why != nil {
			code = string(basic[0]) + "." + why.detail
		}
	}
	if strings.HasSuffix(code, ".4.7") && (why == nil || why.kind == Soft) {
		why = reasonNamed("expired") // the queue lifetime ran out, whatever the last error was
	}
	r := Result{Recipient: f.recipient, Status: code}
	switch {
	case why != nil && class == '4':
		r.Kind = Soft
	case why != nil:
		r.Kind = why.kind
	case class == '4':
		r.Kind = Soft
	case class == '5': // code is set: from the reply, or from basic above
		r.Kind = statusKind(code)
	default:
		r.Kind = Soft // a failure that says nothing more: do not end the address on it
	}
	r.Reason = describe(why, r.Kind, f.diag)
	return r
}

func describe(why *reason, k Kind, diag string) string {
	name := "undetermined " + string(k) + " failure"
	if why != nil {
		name = why.name
	}
	if d := shorten(diag, 160); d != "" {
		return name + ": " + d
	}
	return name
}

// shorten collapses white space and cuts s to n bytes at a rune boundary.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// fromDSN reads each recipient of a delivery-status report.
func fromDSN(m *mail) []Result {
	human := humanText(m)
	blocks := textBlocks(human, ownAddresses(m))
	whole := newContext(human)
	listed := failedRecipients(m) // X-Failed-Recipients
	var out []Result
	failed := false
	rcpts := m.dsn.recipients[:min(len(m.dsn.recipients), maxResults)]
	for _, rc := range rcpts {
		addr := cmp.Or(rc.final, rc.original)
		if addr == "" && len(listed) > 0 {
			addr = listed[0]
		}
		if addr == "" && len(rcpts) == 1 && len(blocks) > 0 {
			addr = blocks[0].addr
		}
		switch {
		case rc.action == "delivered" || rc.action == "relayed" || rc.action == "expanded" ||
			(rc.action == "" && strings.HasPrefix(rc.status, "2.")):
			out = append(out, Result{Kind: None, Recipient: addr, Status: rc.status, Reason: rc.action + ": not a failure"})
		case rc.action == "delayed":
			// A delay notice is not a failure: the server still retries and
			// will send a final report, which is the one to count.
			out = append(out, Result{Kind: None, Recipient: addr, Status: rc.status, Reason: "delayed: delivery is still being retried"})
		default:
			failed = true
			out = append(out, decide(failure{recipient: addr, status: rc.status,
				diag: diagnosticText(rc.diagnostic), context: recipientContext(blocks, whole, addr)}))
		}
	}
	if !failed {
		return out[:1]
	}
	return out
}

// recipientContext is what the human text says about addr, or all of it.
func recipientContext(blocks []block, whole *context, addr string) *context {
	if i := indexOf(blocks, addr); i >= 0 && addr != "" {
		return newContext(blocks[i].text.String())
	}
	return whole
}
