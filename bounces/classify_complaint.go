package bounces

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
)

var complaintFrom = rx(`\b(fbl|feedback|complaints?|abuse|scomp|jmrp|arf)\b|staff@hotmail|feedbackloop`)
var complaintSubject = rx(`complaint|abuse report|feedback.?loop|spam report|\bfbl\b|\barf\b|reported as spam`)

// complaint recognises a spam report: an ARF report (RFC 5965), or the
// near-ARF feedback loops that attach the reported message without a
// machine-readable part but come from a feedback address or say so.
func complaint(m *mail) []Result {
	arf := m.feedback != nil || m.reportType == "feedback-report"
	near := m.original != nil && m.dsn == nil &&
		(complaintFrom.MatchString(m.header.Get("From")) || complaintSubject.MatchString(m.header.Get("Subject")))
	if !arf && !near {
		return nil
	}
	return []Result{feedback(m.feedback.get("Feedback-Type"), complainer(m))}
}

// feedback is what a feedback report of type ftype ("abuse" when empty)
// says about rcpt. "not-spam" takes a complaint back; "auth-failure" (RFC
// 6591) is a machine's report that the mail failed SPF, DKIM or DMARC,
// which no person made.
func feedback(ftype, rcpt string) Result {
	ftype = cmp.Or(strings.ToLower(ftype), "abuse")
	r := Result{Kind: Complaint, Recipient: rcpt, Reason: "feedback report: " + shorten(ftype, 40)}
	if ftype == "not-spam" || ftype == "auth-failure" {
		r.Kind, r.Reason = None, r.Reason+": not a complaint"
	}
	return r
}

// complainer is the address that reported the message: the report's
// Original-Rcpt-To, else what the reported message was addressed to.
func complainer(m *mail) string {
	for _, v := range m.feedback.values("Original-Rcpt-To") {
		if a := cleanAddress(v); a != "" {
			return a
		}
	}
	for _, k := range []string{"X-HmXmrOriginalRecipient", "X-Original-To", "Delivered-To", "To"} {
		if a := singleAddress(m.original.get(k)); a != "" {
			return a
		}
	}
	return ""
}

// singleAddress is the address in a one-address header value like
// "Ann <ann@example.com>", or "" for none or several.
func singleAddress(v string) string {
	if strings.Count(v, "@") != 1 {
		return ""
	}
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return cleanAddress(v[i+1 : i+j])
		}
	}
	return cleanAddress(v)
}

// SESNotification is the JSON Amazon SES publishes about a bounce or a
// complaint, by notification ("notificationType") or by event publishing
// ("eventType"). It reaches briefcast posted to the webhook through SNS, or
// forwarded by mail.
type SESNotification struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Bounce           struct {
		BounceType        string `json:"bounceType"`
		BounceSubType     string `json:"bounceSubType"`
		FeedbackID        string `json:"feedbackId"`
		Timestamp         string `json:"timestamp"`
		BouncedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint struct {
		FeedbackID           string `json:"feedbackId"`
		Timestamp            string `json:"timestamp"`
		FeedbackType         string `json:"complaintFeedbackType"`
		ComplainedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Mail struct {
		MessageID string `json:"messageId"`
		Source    string `json:"source"`
	} `json:"mail"`
}

// Type is what the notification is about: "Bounce", "Complaint", or
// another of SES's types.
func (n *SESNotification) Type() string {
	return cmp.Or(n.NotificationType, n.EventType)
}

// sesNotification reads an SES bounce or complaint notification.
func sesNotification(m *mail) []Result {
	var n SESNotification
	if !slices.ContainsFunc(m.text, func(t string) bool { return readSESNotice(t, &n) }) {
		return nil
	}
	var out []Result
	switch n.Type() {
	case "Complaint":
		for _, r := range n.Complaint.ComplainedRecipients {
			out = append(out, feedback(n.Complaint.FeedbackType, cleanAddress(r.EmailAddress)))
		}
	case "Bounce":
		for _, r := range n.Bounce.BouncedRecipients {
			res := decide(failure{recipient: cleanAddress(r.EmailAddress), status: r.Status,
				diag: diagnosticText(r.DiagnosticCode), context: newContext(n.Bounce.BounceSubType)})
			if n.Bounce.BounceType == "Transient" {
				res.Kind = Soft
			}
			out = append(out, res)
		}
	}
	return out
}

// readSESNotice decodes the SES notification that text starts with, bare
// or inside the Amazon SNS envelope it arrives in when the topic's
// subscriber gets the raw JSON (then the notification is a JSON string in
// Message). Text after the JSON (a topic's unsubscribe footer) is ignored.
func readSESNotice(text string, n *SESNotification) bool {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "{") || !strings.Contains(text, "Type\"") {
		return false
	}
	var raw json.RawMessage
	if json.NewDecoder(strings.NewReader(text)).Decode(&raw) != nil {
		return false
	}
	var env struct{ Message string }
	if json.Unmarshal(raw, &env) == nil && env.Message != "" && strings.HasPrefix(strings.TrimSpace(env.Message), "{") {
		raw = json.RawMessage(env.Message)
	}
	if json.Unmarshal(raw, n) != nil {
		return false
	}
	return n.Type() != ""
}

var autoSubject = rx(`out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|autoreply|autorespon|vacation|away from (the |my )?(office|desk)|abwesen|réponse automatique|respuesta automática|fuera de la oficina|on (annual )?leave|on holiday|\bi am away|i'm away|currently away|out of town`)

// autoReply recognises a reply sent by a program for a person (RFC 3834):
// out-of-office and vacation notes, ticket acknowledgements. A bounce also
// says Auto-Submitted, so headers count only on mail that is not one.
func autoReply(m *mail) bool {
	h := m.header
	subj := h.Get("Subject")
	if bounceFrom.MatchString(h.Get("From")) || h.Get("X-Failed-Recipients") != "" || bounceSubject.MatchString(subj) {
		return false
	}
	if autoSubject.MatchString(subj) {
		return true
	}
	auto := strings.HasPrefix(strings.ToLower(h.Get("Auto-Submitted")), "auto-") ||
		h.Get("X-Autoreply") != "" || h.Get("X-Autorespond") != "" || h.Get("X-Autoresponder") != "" ||
		strings.EqualFold(strings.TrimSpace(h.Get("Precedence")), "auto_reply")
	return auto && !bounceBody.MatchString(humanText(m))
}
