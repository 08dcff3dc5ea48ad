package intake

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// PostmarkOptions configure the Postmark webhook. Postmark authenticates
// with HTTP basic auth, set in the webhook's URL.
type PostmarkOptions struct {
	Sink     Sink
	Username string
	Password string
	Logger   *slog.Logger
}

type postmarkHandler struct {
	webhook
	user, pass [32]byte
}

// NewPostmark returns the handler for POST /webhooks/bounces/postmark.
func NewPostmark(o PostmarkOptions) (http.Handler, error) {
	if o.Username == "" || o.Password == "" {
		return nil, errors.New("intake: postmark: username and password must both be set")
	}
	wh, err := newWebhook("postmark", o.Sink, o.Logger)
	if err != nil {
		return nil, err
	}
	return &postmarkHandler{webhook: wh, user: sha256.Sum256([]byte(o.Username)), pass: sha256.Sum256([]byte(o.Password))}, nil
}

func (h *postmarkHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="bounces", charset="UTF-8"`)
		h.refuse(w, r, http.StatusUnauthorized, "wrong or missing credentials", nil)
		return
	}
	var p postmarkRecord
	if !h.readJSON(w, r, &p, "a Postmark record") {
		return
	}
	h.deliver(r.Context(), w, p.event())
}

// authorized compares hashes, so neither the contents nor the lengths of
// the secrets show in the time taken.
func (h *postmarkHandler) authorized(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	uh, ph := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
	userOK := subtle.ConstantTimeCompare(uh[:], h.user[:])
	passOK := subtle.ConstantTimeCompare(ph[:], h.pass[:])
	return ok && userOK&passOK == 1
}

// postmarkRecord is a bounce or spam complaint webhook body.
type postmarkRecord struct {
	RecordType  string
	ID          json.Number
	Type        string
	Email       string
	Description string
	Details     string
	MessageID   string
	BouncedAt   string
}

// postmarkKinds maps Postmark's bounce types; the others (auto-responders,
// address changes, subscribe requests, challenge messages...) are not
// about deliverability and are ignored.
var postmarkKinds = map[string]Kind{
	"HardBounce":          Hard,
	"BadEmailAddress":     Hard,
	"ManuallyDeactivated": Hard,
	"SoftBounce":          Soft,
	"Transient":           Soft,
	"DnsError":            Soft,
	"Blocked":             Soft,
	"SpamComplaint":       Complaint,
	"SpamNotification":    Complaint,
}

func (p postmarkRecord) event() Event {
	kind := postmarkKinds[p.Type]
	switch p.RecordType {
	case "SpamComplaint":
		kind = Complaint
	case "Bounce":
	default:
		kind = ""
	}
	return Event{
		Kind: kind, Recipient: p.Email, Reason: strings.TrimSpace(p.Description + " " + p.Details), Provider: "postmark",
		ID: p.ID.String(), MessageID: p.MessageID, Time: parseTime(p.BouncedAt),
	}
}
