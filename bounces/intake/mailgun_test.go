package intake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

var mailgunKey = []byte("key-4b1d6a0c1e9f")

// mailgunPayload signs eventData as Mailgun does, with key at ts.
func mailgunPayload(key []byte, ts time.Time, token, eventData string) []byte {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(stamp + token))
	sig := hex.EncodeToString(m.Sum(nil))
	return []byte(fmt.Sprintf(`{"signature":{"timestamp":%q,"token":%q,"signature":%q},"event-data":%s}`, stamp, token, sig, eventData))
}

const mailgunFailed = `{"id":"G9Bn5sl1TC6tXm4M0ZnHQA","event":"failed","severity":"permanent","reason":"bounce",
"timestamp":1740931234.5,"recipient":"gone@example.net","recipient-domain":"example.net",
"envelope":{"sender":"bounces+abc@b.example.org","transport":"smtp","targets":"gone@example.net"},
"delivery-status":{"code":550,"enhanced-code":"5.1.1","message":"5.1.1 The email account does not exist","description":"","attempt-no":1},
"message":{"headers":{"message-id":"20250302.1@b.example.org","to":"gone@example.net","subject":"Weekly"}}}`

const mailgunTemp = `{"id":"q1","event":"failed","severity":"temporary","reason":"generic","timestamp":1740931300,
"recipient":"full@example.net","delivery-status":{"code":452,"message":"","description":"Mailbox full"}}`

const mailgunComplaint = `{"id":"c1","event":"complained","timestamp":1740931400,"recipient":"angry@example.net",
"message":{"headers":{"message-id":"m9"}}}`

const mailgunDelivered = `{"id":"d1","event":"delivered","timestamp":1740931500,"recipient":"happy@example.net"}`

func newMailgun(t *testing.T, sink Sink, now time.Time) http.Handler {
	t.Helper()
	h, err := NewMailgun(MailgunOptions{Sink: sink, SigningKey: mailgunKey, Now: func() time.Time { return now }, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestMailgunMapsEvents(t *testing.T) {
	now := time.Date(2025, 3, 2, 16, 0, 0, 0, time.UTC)
	sink := &recorder{}
	h := newMailgun(t, sink, now)
	for i, ev := range []string{mailgunFailed, mailgunTemp, mailgunComplaint, mailgunDelivered} {
		if got := post(t, h, mailgunPayload(mailgunKey, now, fmt.Sprintf("token-%d-0123456789abcdef", i), ev), nil); got != http.StatusNoContent {
			t.Fatalf("event %d: status %d, want 204", i, got)
		}
	}
	sameEvents(t, sink.allEvents(), []Event{
		{Kind: Hard, Recipient: "gone@example.net", Status: "5.1.1", Reason: "5.1.1 The email account does not exist", Provider: "mailgun",
			ID: "G9Bn5sl1TC6tXm4M0ZnHQA", Sender: "bounces+abc@b.example.org", MessageID: "20250302.1@b.example.org", Time: time.Unix(1740931234, 5e8).UTC()},
		{Kind: Soft, Recipient: "full@example.net", Status: "452", Reason: "Mailbox full", Provider: "mailgun", ID: "q1", Time: time.Unix(1740931300, 0).UTC()},
		{Kind: Complaint, Recipient: "angry@example.net", Provider: "mailgun", ID: "c1", MessageID: "m9", Time: time.Unix(1740931400, 0).UTC()},
	})
}

func TestMailgunRefusesBadSignatures(t *testing.T) {
	now := time.Date(2025, 3, 2, 16, 0, 0, 0, time.UTC)
	sink := &recorder{}
	h := newMailgun(t, sink, now)
	srv := startHandler(t, h)
	cases := map[string][]byte{
		"wrong key": mailgunPayload([]byte("another key"), now, "tok-a", mailgunFailed),
		"stale":     mailgunPayload(mailgunKey, now.Add(-6*time.Minute), "tok-b", mailgunFailed),
		"future":    mailgunPayload(mailgunKey, now.Add(6*time.Minute), "tok-c", mailgunFailed),
		"unsigned":  []byte(`{"event-data":` + mailgunFailed + `}`),
	}
	for name, body := range cases {
		if got := postTo(t, srv, body, nil); got != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, got)
		}
	}
	if got := postTo(t, srv, []byte("not json"), nil); got != http.StatusBadRequest {
		t.Errorf("bad JSON: status %d, want 400", got)
	}
	good := mailgunPayload(mailgunKey, now.Add(-4*time.Minute), "tok-once", mailgunFailed)
	if got := postTo(t, srv, good, nil); got != http.StatusNoContent {
		t.Fatalf("valid request: status %d, want 204", got)
	}
	if got := postTo(t, srv, good, nil); got != http.StatusForbidden {
		t.Errorf("replayed token: status %d, want 403", got)
	}
	if n := len(sink.allEvents()); n != 1 {
		t.Errorf("sink got %d events, want only the valid one", n)
	}
}

func TestMailgunRedeliveryChangesNothing(t *testing.T) {
	now := time.Date(2025, 3, 2, 16, 0, 0, 0, time.UTC)
	sink := &recorder{}
	h := newMailgun(t, sink, now)
	// Mailgun signs each attempt afresh; the event id stays.
	for _, tok := range []string{"attempt-1", "attempt-2"} {
		if got := post(t, h, mailgunPayload(mailgunKey, now, tok, mailgunFailed), nil); got != http.StatusNoContent {
			t.Fatalf("%s: status %d, want 204", tok, got)
		}
	}
	if n := len(sink.allEvents()); n != 1 {
		t.Errorf("sink got %d events for one event sent twice, want 1", n)
	}
}
