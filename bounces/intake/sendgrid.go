package intake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// The headers of SendGrid's signed event webhook.
const (
	SendGridSignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	SendGridTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// SendGridOptions configure the SendGrid event webhook.
type SendGridOptions struct {
	Sink Sink
	// PublicKey is the verification key SendGrid shows for the signed
	// event webhook: base64 of a DER ECDSA P-256 public key.
	PublicKey string
	Logger    *slog.Logger
}

type sendgridHandler struct {
	webhook
	key *ecdsa.PublicKey
}

// ParseSendGridKey reads SendGrid's verification key.
func ParseSendGridKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("intake: sendgrid: public key is not base64: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("intake: sendgrid: public key: %w", err)
	}
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, errors.New("intake: sendgrid: public key is not ECDSA P-256")
	}
	return key, nil
}

// NewSendGrid returns the handler for POST /webhooks/bounces/sendgrid.
func NewSendGrid(o SendGridOptions) (http.Handler, error) {
	key, err := ParseSendGridKey(o.PublicKey)
	if err != nil {
		return nil, err
	}
	wh, err := newWebhook("sendgrid", o.Sink, o.Logger)
	if err != nil {
		return nil, err
	}
	return &sendgridHandler{webhook: wh, key: key}, nil
}

func (h *sendgridHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sig, ts := r.Header.Get(SendGridSignatureHeader), r.Header.Get(SendGridTimestampHeader)
	if sig == "" || ts == "" {
		h.refuse(w, r, http.StatusUnauthorized, "signature headers missing", nil)
		return
	}
	body, ok := h.body(w, r)
	if !ok {
		return
	}
	if err := h.verify(sig, ts, body); err != nil {
		h.refuse(w, r, http.StatusForbidden, "signature refused", err)
		return
	}
	var evs []sendgridEvent
	if err := json.Unmarshal(body, &evs); err != nil {
		h.refuse(w, r, http.StatusBadRequest, "not a SendGrid event list", err)
		return
	}
	out := make([]Event, len(evs))
	for i, e := range evs {
		out[i] = e.event()
	}
	h.deliver(r.Context(), w, out...)
}

// verify checks the ECDSA signature over the timestamp and the body as sent.
func (h *sendgridHandler) verify(sig, ts string, body []byte) error {
	der, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return errors.New("signature is not base64")
	}
	d := sha256.Sum256(append([]byte(ts), body...))
	if !ecdsa.VerifyASN1(h.key, d[:], der) {
		return errors.New("signature does not match")
	}
	return nil
}

type sendgridEvent struct {
	Email     string `json:"email"`
	Event     string `json:"event"`
	Type      string `json:"type"` // for "bounce": "bounce" or "blocked"
	Reason    string `json:"reason"`
	Status    string `json:"status"`
	Timestamp int64  `json:"timestamp"`
	EventID   string `json:"sg_event_id"`
	MessageID string `json:"sg_message_id"`
}

func (e sendgridEvent) event() Event {
	var kind Kind
	switch e.Event {
	case "bounce":
		kind = Hard
		if e.Type == "blocked" {
			kind = Soft
		}
	case "spamreport":
		kind = Complaint
	case "dropped":
		// SendGrid drops mail to addresses on its own suppression lists;
		// only those lists say something about the address itself.
		switch e.Reason {
		case "Bounced Address", "Invalid":
			kind = Hard
		case "Spam Reporting Address":
			kind = Complaint
		}
	}
	var at time.Time
	if e.Timestamp > 0 {
		at = time.Unix(e.Timestamp, 0).UTC()
	}
	return Event{
		Kind: kind, Recipient: e.Email, Status: e.Status, Reason: e.Reason, Provider: "sendgrid",
		ID: e.EventID, MessageID: e.MessageID, Time: at,
	}
}
