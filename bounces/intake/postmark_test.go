package intake

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

func basic(user, pass string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

const postmarkHard = `{"RecordType":"Bounce","MessageStream":"outbound","ID":4323372036854775807,"Type":"HardBounce","TypeCode":1,
"Name":"Hard bounce","Tag":"digest","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","ServerID":23,
"Description":"The server was unable to deliver your message (ex: unknown user, mailbox not found).",
"Details":"smtp;550 5.1.1 The email account that you tried to reach does not exist.","Email":"gone@example.net",
"From":"brief@example.org","BouncedAt":"2025-03-02T16:33:54.9070259Z","DumpAvailable":true,"Inactive":true,"CanActivate":true,"Subject":"Weekly"}`

func TestPostmarkMapsRecords(t *testing.T) {
	sink := &recorder{}
	h, err := NewPostmark(PostmarkOptions{Sink: sink, Username: "hook", Password: "s3cret", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	soft := strings.Replace(strings.Replace(postmarkHard, `"HardBounce"`, `"SoftBounce"`, 1), "4323372036854775807", "77", 1)
	spam := `{"RecordType":"SpamComplaint","ID":78,"Type":"SpamComplaint","TypeCode":512,"Email":"angry@example.net","Description":"The subscriber explicitly marked this message as spam.","Details":"Test spam complaint details","MessageID":"m2","BouncedAt":"2025-03-02T17:00:00Z"}`
	auto := `{"RecordType":"Bounce","ID":79,"Type":"AutoResponder","Email":"away@example.net","MessageID":"m3","BouncedAt":"2025-03-02T17:00:00Z"}`
	for _, b := range []string{postmarkHard, soft, spam, auto, postmarkHard} {
		if got := post(t, h, []byte(b), basic("hook", "s3cret")); got != http.StatusNoContent {
			t.Fatalf("POST: status %d, want 204", got)
		}
	}
	at := time.Date(2025, 3, 2, 16, 33, 54, 907025900, time.UTC)
	reason := "The server was unable to deliver your message (ex: unknown user, mailbox not found). smtp;550 5.1.1 The email account that you tried to reach does not exist."
	sameEvents(t, sink.allEvents(), []Event{
		{Kind: Hard, Recipient: "gone@example.net", Reason: reason, Provider: "postmark", ID: "4323372036854775807", MessageID: "883953f4-6105-42a2-a16a-77a8eac79483", Time: at},
		{Kind: Soft, Recipient: "gone@example.net", Reason: reason, Provider: "postmark", ID: "77", MessageID: "883953f4-6105-42a2-a16a-77a8eac79483", Time: at},
		{Kind: Complaint, Recipient: "angry@example.net", Reason: "The subscriber explicitly marked this message as spam. Test spam complaint details", Provider: "postmark", ID: "78", MessageID: "m2", Time: time.Date(2025, 3, 2, 17, 0, 0, 0, time.UTC)},
	})
}

func TestPostmarkRefusesBadAuthAndBadJSON(t *testing.T) {
	sink := &recorder{}
	h, err := NewPostmark(PostmarkOptions{Sink: sink, Username: "hook", Password: "s3cret", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for name, hdr := range map[string]map[string]string{
		"none":           nil,
		"wrong password": basic("hook", "s3cret!"),
		"wrong user":     basic("hook2", "s3cret"),
		"empty":          basic("", ""),
		"bearer":         {"Authorization": "Bearer s3cret"},
	} {
		if got := post(t, h, []byte(postmarkHard), hdr); got != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, got)
		}
	}
	if got := post(t, h, []byte(`{"RecordType":`), basic("hook", "s3cret")); got != http.StatusBadRequest {
		t.Errorf("bad JSON: status %d, want 400", got)
	}
	big := `{"Details":"` + strings.Repeat("x", MaxWebhookBytes) + `"}`
	if got := post(t, h, []byte(big), basic("hook", "s3cret")); got != http.StatusRequestEntityTooLarge {
		t.Errorf("body over 1 MB: status %d, want 413", got)
	}
	if n := len(sink.allEvents()); n != 0 {
		t.Errorf("sink got %d events from refused requests", n)
	}
}

func TestWebhookSinkFailureIsRetried(t *testing.T) {
	sink := &recorder{fail: true}
	h, err := NewPostmark(PostmarkOptions{Sink: sink, Username: "hook", Password: "s3cret", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if got := post(t, h, []byte(postmarkHard), basic("hook", "s3cret")); got != http.StatusInternalServerError {
		t.Fatalf("sink failing: status %d, want 500 so the provider retries", got)
	}
	sink.setFail(false)
	if got := post(t, h, []byte(postmarkHard), basic("hook", "s3cret")); got != http.StatusNoContent {
		t.Fatalf("retry: status %d, want 204", got)
	}
	if n := len(sink.allEvents()); n != 1 {
		t.Errorf("sink kept %d events, want the retried one", n)
	}
}
