package intake

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// MailgunMaxAge is how far a Mailgun signature's timestamp may be from now.
const MailgunMaxAge = 5 * time.Minute

// MailgunOptions configure the Mailgun webhook.
type MailgunOptions struct {
	Sink       Sink
	SigningKey []byte           // the HTTP webhook signing key
	Now        func() time.Time // time.Now when nil
	Logger     *slog.Logger
}

type mailgunHandler struct {
	webhook
	key    []byte
	now    func() time.Time
	mu     sync.Mutex
	tokens map[string]time.Time // token → when it can be forgotten
}

// NewMailgun returns the handler for POST /webhooks/bounces/mailgun.
func NewMailgun(o MailgunOptions) (http.Handler, error) {
	if len(o.SigningKey) == 0 {
		return nil, errors.New("intake: mailgun: no signing key")
	}
	wh, err := newWebhook("mailgun", o.Sink, o.Logger)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &mailgunHandler{webhook: wh, key: o.SigningKey, now: o.Now, tokens: map[string]time.Time{}}, nil
}

type mailgunBody struct {
	Signature struct {
		Timestamp string `json:"timestamp"`
		Token     string `json:"token"`
		Signature string `json:"signature"`
	} `json:"signature"`
	EventData mailgunEvent `json:"event-data"`
}

type mailgunEvent struct {
	ID        string  `json:"id"`
	Event     string  `json:"event"`
	Severity  string  `json:"severity"`
	Reason    string  `json:"reason"`
	Recipient string  `json:"recipient"`
	Timestamp float64 `json:"timestamp"`
	Envelope  struct {
		Sender string `json:"sender"`
	} `json:"envelope"`
	DeliveryStatus struct {
		Code         int    `json:"code"`
		EnhancedCode string `json:"enhanced-code"`
		Message      string `json:"message"`
		Description  string `json:"description"`
	} `json:"delivery-status"`
	Message struct {
		Headers struct {
			MessageID string `json:"message-id"`
		} `json:"headers"`
	} `json:"message"`
}

func (h *mailgunHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b mailgunBody
	if !h.readJSON(w, r, &b, "a Mailgun webhook body") {
		return
	}
	if err := h.verify(b.Signature.Timestamp, b.Signature.Token, b.Signature.Signature); err != nil {
		h.refuse(w, r, http.StatusForbidden, "signature refused", err)
		return
	}
	h.deliver(r.Context(), w, b.EventData.event())
}

// verify checks the HMAC, the timestamp's age and that the token is new.
func (h *mailgunHandler) verify(ts, token, sig string) error {
	if ts == "" || token == "" || sig == "" {
		return errors.New("signature fields missing")
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return errors.New("signature is not hex")
	}
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(ts + token))
	if !hmac.Equal(got, m.Sum(nil)) {
		return errors.New("signature does not match")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q is not a number", ts)
	}
	now := h.now()
	if d := now.Sub(time.Unix(secs, 0)); d > MailgunMaxAge || d < -MailgunMaxAge {
		return fmt.Errorf("timestamp %s is %s from now", ts, d.Round(time.Second))
	}
	return h.firstUse(token, now)
}

// firstUse records a token for as long as its timestamp is accepted, and
// refuses it the second time.
func (h *mailgunHandler) firstUse(token string, now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for t, until := range h.tokens {
		if now.After(until) {
			delete(h.tokens, t)
		}
	}
	if _, ok := h.tokens[token]; ok {
		return errors.New("token replayed")
	}
	h.tokens[token] = now.Add(2 * MailgunMaxAge)
	return nil
}

func (e mailgunEvent) event() Event {
	var kind Kind
	switch {
	case e.Event == "failed" && e.Severity == "permanent":
		kind = Hard
	case e.Event == "failed" && e.Severity == "temporary":
		kind = Soft
	case e.Event == "complained":
		kind = Complaint
	}
	ds := e.DeliveryStatus
	status := ds.EnhancedCode
	if status == "" && ds.Code != 0 {
		status = strconv.Itoa(ds.Code)
	}
	reason := cmp.Or(ds.Message, ds.Description, e.Reason)
	var at time.Time
	if e.Timestamp > 0 && e.Timestamp < math.MaxInt32*4 {
		sec, frac := math.Modf(e.Timestamp)
		at = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	return Event{
		Kind: kind, Recipient: e.Recipient, Status: status, Reason: reason, Provider: "mailgun",
		ID: e.ID, Sender: e.Envelope.Sender, MessageID: e.Message.Headers.MessageID, Time: at,
	}
}
