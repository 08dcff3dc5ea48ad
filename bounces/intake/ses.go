package intake

import (
	"cmp"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"briefcast/bounces"
)

// SESOptions configure the Amazon SES webhook: SES publishes bounces and
// complaints to an SNS topic, and SNS posts them here.
type SESOptions struct {
	Sink      Sink
	TopicARNs []string // the SNS topics taken; any other is refused
	// CertHosts are the hosts signing certificates and subscription links
	// may come from (DefaultSNSHosts when empty).
	CertHosts []string
	Client    *http.Client // fetches certificates and confirms subscriptions
	Logger    *slog.Logger
}

type sesHandler struct {
	webhook
	snsVerifier
	topics []string
}

// NewSES returns the handler for POST /webhooks/bounces/ses.
func NewSES(o SESOptions) (http.Handler, error) {
	if len(o.TopicARNs) == 0 {
		return nil, errors.New("intake: ses: no topic ARN allowed")
	}
	wh, err := newWebhook("ses", o.Sink, o.Logger)
	if err != nil {
		return nil, err
	}
	if len(o.CertHosts) == 0 {
		o.CertHosts = DefaultSNSHosts
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 15 * time.Second}
	}
	return &sesHandler{webhook: wh, topics: o.TopicARNs,
		snsVerifier: snsVerifier{client: o.Client, hosts: o.CertHosts, certs: map[string]*x509.Certificate{}}}, nil
}

func (h *sesHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m snsMessage
	if !h.readJSON(w, r, &m, "an SNS message") {
		return
	}
	if !slices.Contains(h.topics, m.TopicArn) {
		h.refuse(w, r, http.StatusForbidden, "topic not allowed", errors.New(m.TopicArn))
		return
	}
	if err := h.verify(r.Context(), m); err != nil {
		status := http.StatusForbidden
		if errors.Is(err, errUnverifiable) {
			status = http.StatusServiceUnavailable
		}
		h.refuse(w, r, status, "signature refused", err)
		return
	}
	switch m.Type {
	case "SubscriptionConfirmation":
		h.confirm(w, r, m)
	case "UnsubscribeConfirmation":
		h.log.Warn("bounces: ses: the topic unsubscribed this endpoint", "topic", m.TopicArn)
		w.WriteHeader(http.StatusNoContent)
	default:
		h.deliver(r.Context(), w, h.sesEvents(m)...)
	}
}

// confirm visits SubscribeURL, which must be https on an allowed host, so
// a signed but strange message cannot make this server fetch anything else.
func (h *sesHandler) confirm(w http.ResponseWriter, r *http.Request, m snsMessage) {
	if !hostAllowed(m.SubscribeURL, h.hosts) {
		h.refuse(w, r, http.StatusForbidden, "subscribe URL not allowed", errors.New(m.SubscribeURL))
		return
	}
	if _, err := get(r.Context(), h.client, m.SubscribeURL, 64<<10); err != nil {
		h.refuse(w, r, http.StatusBadGateway, "could not confirm the subscription", err)
		return
	}
	h.log.Info("bounces: ses: subscription confirmed", "topic", m.TopicArn)
	w.WriteHeader(http.StatusNoContent)
}

// sesEvents reads the notification inside a verified SNS message. One that
// is not a bounce or a complaint (deliveries, a topic's test message) is
// taken and ignored: SNS retrying it would change nothing.
func (h *sesHandler) sesEvents(m snsMessage) []Event {
	var n bounces.SESNotification
	if err := json.Unmarshal([]byte(m.Message), &n); err != nil {
		h.log.Warn("bounces: ses: notification is not SES JSON, ignored", "message_id", m.MessageID, "err", err)
		return nil
	}
	base := Event{Provider: "ses", Sender: n.Mail.Source, MessageID: n.Mail.MessageID}
	var out []Event
	switch n.Type() {
	case "Bounce":
		b := n.Bounce
		base.Kind, base.ID, base.Time = Soft, cmp.Or(b.FeedbackID, m.MessageID), parseTime(b.Timestamp)
		if b.BounceType == "Permanent" {
			base.Kind = Hard
		}
		for _, r := range b.BouncedRecipients {
			e := base
			e.Recipient, e.Status, e.Reason = r.EmailAddress, r.Status, r.DiagnosticCode
			out = append(out, e)
		}
	case "Complaint":
		c := n.Complaint
		base.Kind, base.ID, base.Time, base.Reason = Complaint, cmp.Or(c.FeedbackID, m.MessageID), parseTime(c.Timestamp), c.FeedbackType
		for _, r := range c.ComplainedRecipients {
			e := base
			e.Recipient = r.EmailAddress
			out = append(out, e)
		}
	}
	return out
}
