package bounces

import (
	"regexp"
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// originalMarker starts the copy of the returned message that home-made
// bounces append to their text; addresses below it are not recipients.
var originalMarker = rx(`^\s*(-{2,}.*(original message|copy of (the|your) message|returned message|message follows|original headers|headers of the original|undelivered message)|original message headers:?\s*$|(below|here) is (a copy of )?(the |your )?original message|(the )?original message (was|follows):?\s*$|-+ ?original message ?-+|content-type: message/rfc822|------ ?this is a copy|--- below this line)`)

// humanText is the text of the message's readable parts, up to the copy of
// the returned message.
func humanText(m *mail) string {
	if m.human != nil {
		return *m.human
	}
	var b strings.Builder
	for _, t := range m.text {
		if b.Len() > maxHuman {
			break
		}
		for _, line := range strings.Split(strings.ReplaceAll(t, "\r\n", "\n"), "\n") {
			if originalMarker.MatchString(line) {
				break
			}
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	s := b.String()
	if len(s) > maxHuman {
		s = strings.ToValidUTF8(s[:maxHuman], "")
	}
	m.human = &s
	return s
}

// block is the text about one recipient in a home-made bounce.
type block struct {
	addr string
	text *strings.Builder
}

var anchors = []*regexp.Regexp{
	rx(`^\s*<([^<>\s@]+@[^<>\s]+)>`),
	rx(`^\s*["']?([^\s<>()"'@:;,\[\]]+@[^\s<>()"':;,\[\]]+?)["']?\.?\s*(?:$|[:(<\[]|\.\.\.|\s+(?:on|-|\())`),
	rx(`^\s*[^<>@:]{1,80}[<(\[]\s*(?:mailto:)?([^\s<>()\[\]@]+@[^\s<>()\[\]]+?)\s*[>)\]]\s*$`),
	rx(`(?:delivered to|delivery to|deliver (?:your |this |the )?(?:message |mail |e-?mail )?to|undeliverable to|failed (?:to|for)|recipients?(?: address)?:|following (?:address|recipient)(?:es|s)?:|rcpt to:|message to|addressed to|sent to|failed recipient:?)\s*["'<]?(?:mailto:)?([^\s<>()"',;@\[\]]+@[^\s<>()"',;\[\]]+)`),
}

var headerLine = rx(`^\s*(from|to|cc|bcc|sender|reply-to|return-path|subject|date|message-id|in-reply-to|references|received|x-[a-z-]+):`)

var skipLocal = map[string]bool{"mailer-daemon": true, "postmaster": true, "double-bounce": true, "noreply": false}

// textBlocks splits text at each line that names a recipient. Lines naming
// the same recipient again (a transcript's RCPT TO) join its block.
func textBlocks(text string, exclude map[string]bool) []block {
	var out []block
	cur := -1
	for _, line := range strings.Split(text, "\n") {
		if a := anchorAddress(line); a != "" && !exclude[a] {
			cur = indexOf(out, a)
			if cur < 0 {
				if len(out) >= maxResults {
					break
				}
				out = append(out, block{addr: a, text: &strings.Builder{}})
				cur = len(out) - 1
			}
		}
		if cur >= 0 {
			out[cur].text.WriteString(line)
			out[cur].text.WriteByte('\n')
		}
	}
	return out
}

func indexOf(bs []block, addr string) int {
	return slices.IndexFunc(bs, func(b block) bool { return b.addr == addr })
}

func anchorAddress(line string) string {
	line = line[:min(len(line), 2000)]
	header := headerLine.MatchString(line)
	for i, re := range anchors {
		if header && i < 3 {
			continue
		}
		sm := re.FindStringSubmatch(line)
		if sm == nil {
			continue
		}
		if a := plausibleAddress(sm[1]); a != "" {
			return a
		}
	}
	return ""
}

// plausibleAddress returns the cleaned address, or "" for a system
// mailbox or something that is not an address.
func plausibleAddress(s string) string {
	a := cleanAddress(strings.TrimRight(s, ".:,;"))
	if a == "" {
		return ""
	}
	local, domain, _ := strings.Cut(a, "@")
	if len(local) > 64 || !strings.Contains(domain, ".") || strings.ContainsAny(domain, "/=?&") || skipLocal[local] {
		return ""
	}
	return a
}

var bounceFrom = rx(`mailer-daemon|postmaster|mail delivery (sub)?system|mail administrator|microsoftexchange|mdaemon|mail ?gateway|no-?reply.*(bounce|dsn)`)
var bounceSubject = rx(`undeliver|undelivered|not (be )?delivered|delivery (status|failure|failed|has failed|notification|report|problem|unsuccessful)|returned mail|returned to sender|mail delivery failed|failure notice|could not (be )?deliver|unable to deliver|non.?delivery|nondeliverable|delivery error|address not found|message you sent|mail system error|failed delivery|bounced|rejected`)
var bounceBody = rx(`qmail-send program|mail delivery software|delivery has failed|could not be delivered|couldn't be delivered|was not delivered|wasn't delivered|permanent fatal errors|undeliverable|delivery to the following recipient|unable to deliver|address not found|permanent error|delivery failed|failed permanently|message could not be sent|not be delivered to|following addresses had delivery problems|the following recipient|transcript of session`)

func looksLikeBounce(m *mail) bool {
	if m.header.Get("X-Failed-Recipients") != "" || m.reportType == "delivery-status" {
		return true
	}
	if bounceFrom.MatchString(m.header.Get("From")) || bounceSubject.MatchString(m.header.Get("Subject")) {
		return true
	}
	return bounceBody.MatchString(humanText(m))
}

var delaySubject = rx(`^\s*(warning|delayed|delivery delayed)|\(delay\)|still being retried|delivery status notification \(delay\)|delayed mail`)
var delayBody = rx(`this is a warning message only|you do not need to resend|(has|have) not yet been delivered|not been delivered yet|not delivered yet|will (continue to )?(try|retry|attempt)|still (trying|being retried)|delivery (is|has been) delayed`)

var permanentMarker = rx(`permanent|fatal|failed|gave up|given up|removed from the (mail )?queue`)

// conditionalClause is a clause about what may happen later ("you'll be
// notified if the delivery fails permanently"): a delay notice's promise,
// not a final failure.
var conditionalClause = rx(`\b(if|when|once|should|until|in case)\b[^.!\n]*`)

// notFinal are words that deny a permanent failure ("transient non-fatal
// errors") and so must not be read as one.
var notFinal = rx(`non-?(fatal|permanent)|not (a )?(permanent|fatal)`)

// delayNotice: a warning that delivery is still being retried, not a final
// failure report, which would say it is permanent or has given up.
func delayNotice(m *mail) bool {
	subj, human := m.header.Get("Subject"), humanText(m)
	if !delaySubject.MatchString(subj) && !delayBody.MatchString(human) {
		return false
	}
	said := conditionalClause.ReplaceAllString(clip(subj+"\n"+human), "")
	said = notFinal.ReplaceAllString(said, "")
	return !permanentMarker.MatchString(said)
}

// fromText reads a home-made bounce: the recipients from X-Failed-Recipients
// or the lines that name them, and each one's reply from the text around it.
func fromText(m *mail) []Result {
	human := humanText(m)
	blocks := textBlocks(human, ownAddresses(m))
	rcpts := failedRecipients(m)
	if len(rcpts) == 0 {
		for _, b := range blocks {
			rcpts = append(rcpts, b.addr)
		}
	}
	if len(rcpts) == 0 {
		rcpts = append(rcpts, plausibleAddress(m.original.get("To")))
	}
	rcpts = rcpts[:min(len(rcpts), maxResults)]
	whole := newContext(human)
	var out []Result
	for _, a := range rcpts {
		if a == "" && whole.code == "" && whole.basic == "" && whole.why == nil {
			continue // names no one and says nothing: not a usable bounce
		}
		c := recipientContext(blocks, whole, a)
		diag := c.lines
		if diag == "" && len(rcpts) == 1 {
			diag = whole.lines
		}
		if diag == "" {
			diag = strings.TrimSpace(c.text)
		}
		out = append(out, decide(failure{recipient: a, diag: diag, context: c}))
	}
	return out
}

// failedRecipients are the addresses of X-Failed-Recipients, once each.
func failedRecipients(m *mail) []string {
	var out []string
	for _, v := range strings.Split(m.header.Get("X-Failed-Recipients"), ",") {
		if a := cleanAddress(v); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// ownAddresses are the bounce's own sender and addressee: never recipients.
func ownAddresses(m *mail) map[string]bool {
	own := map[string]bool{}
	for _, k := range []string{"From", "To", "Sender", "Reply-To", "Return-Path", "Delivered-To"} {
		for _, f := range strings.FieldsFunc(m.header.Get(k), func(r rune) bool { return r == ',' || r == ' ' || r == '<' || r == '>' }) {
			if a := cleanAddress(f); a != "" {
				own[a] = true
			}
		}
	}
	return own
}

// codeLines are the lines of text holding an SMTP reply code: the server's
// own words, more telling than the bounce's boilerplate around them.
//
// A reply that the bounce wraps goes on in indented lines ("said: 550
// 5.1.1 <a>:" then "    Recipient address rejected: User unknown"); those
// lines belong to it and often hold the only words that say why.
func codeLines(text string) string {
	var b strings.Builder
	text = clip(text)
	inReply := false
	for _, line := range strings.Split(text, "\n") {
		indented := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
		switch {
		case enhancedCode(line) != "" || basicCode(line) != "":
			inReply = true
		case inReply && indented && strings.TrimSpace(line) != "" && anchorAddress(line) == "":
		default:
			inReply = false
			continue
		}
		b.WriteString(strings.TrimSpace(line))
		b.WriteByte('\n')
	}
	return strings.TrimSpace(b.String())
}

// htmlToText keeps the text of an HTML part, a line per block element.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if tt == html.StartTagToken && string(name) == "a" && hasAttr && skip == 0 {
				writeMailto(&b, z)
			}
			switch string(name) {
			case "script", "style", "head":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "table":
				b.WriteByte('\n')
			}
		}
	}
}

// writeMailto writes the address of a mailto link before the link's text:
// a report that shows a recipient's name often holds the address only in
// the link.
func writeMailto(b *strings.Builder, z *html.Tokenizer) {
	for {
		key, val, more := z.TagAttr()
		if strings.EqualFold(string(key), "href") {
			v := string(val)
			if strings.HasPrefix(strings.ToLower(v), "mailto:") {
				if a := cleanAddress(strings.SplitN(v[len("mailto:"):], "?", 2)[0]); a != "" {
					b.WriteString("<" + a + "> ")
				}
			}
			return
		}
		if !more {
			return
		}
	}
}
