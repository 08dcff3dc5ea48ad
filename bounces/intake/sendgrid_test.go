package intake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"testing"
	"time"
)

func sendgridKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, base64.StdEncoding.EncodeToString(der)
}

func sendgridSign(t *testing.T, k *ecdsa.PrivateKey, ts string, body []byte) map[string]string {
	t.Helper()
	d := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, k, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{SendGridSignatureHeader: base64.StdEncoding.EncodeToString(sig), SendGridTimestampHeader: ts}
}

const sendgridBatch = `[
{"email":"gone@example.net","timestamp":1740931234,"event":"bounce","type":"bounce","bounce_classification":"Invalid Address",
 "reason":"550 5.1.1 The email account that you tried to reach does not exist","status":"5.1.1",
 "sg_event_id":"ZGVmZXJyZWQtMS0x","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0","smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>"},
{"email":"guarded@example.net","timestamp":1740931235,"event":"bounce","type":"blocked","reason":"554 blocked by policy","status":"5.7.1","sg_event_id":"blk-1","sg_message_id":"m2"},
{"email":"known@example.net","timestamp":1740931236,"event":"dropped","reason":"Bounced Address","status":"5.0.0","sg_event_id":"drp-1","sg_message_id":"m3"},
{"email":"left@example.net","timestamp":1740931237,"event":"dropped","reason":"Unsubscribed Address","sg_event_id":"drp-2"},
{"email":"angry@example.net","timestamp":1740931238,"event":"spamreport","sg_event_id":"spm-1","sg_message_id":"m4"},
{"email":"happy@example.net","timestamp":1740931239,"event":"delivered","response":"250 OK","sg_event_id":"dlv-1"},
{"email":"slow@example.net","timestamp":1740931240,"event":"deferred","response":"400 try again","sg_event_id":"dfr-1"}
]`

func TestSendGridMapsEvents(t *testing.T) {
	k, pub := sendgridKey(t)
	sink := &recorder{}
	h, err := NewSendGrid(SendGridOptions{Sink: sink, PublicKey: pub, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(sendgridBatch)
	if got := post(t, h, body, sendgridSign(t, k, "1740931300", body)); got != http.StatusNoContent {
		t.Fatalf("status %d, want 204", got)
	}
	at := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	sameEvents(t, sink.allEvents(), []Event{
		{Kind: Hard, Recipient: "gone@example.net", Status: "5.1.1", Reason: "550 5.1.1 The email account that you tried to reach does not exist", Provider: "sendgrid",
			ID: "ZGVmZXJyZWQtMS0x", MessageID: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", Time: at(1740931234)},
		{Kind: Soft, Recipient: "guarded@example.net", Status: "5.7.1", Reason: "554 blocked by policy", Provider: "sendgrid", ID: "blk-1", MessageID: "m2", Time: at(1740931235)},
		{Kind: Hard, Recipient: "known@example.net", Status: "5.0.0", Reason: "Bounced Address", Provider: "sendgrid", ID: "drp-1", MessageID: "m3", Time: at(1740931236)},
		{Kind: Complaint, Recipient: "angry@example.net", Provider: "sendgrid", ID: "spm-1", MessageID: "m4", Time: at(1740931238)},
	})
	// The same batch again (SendGrid retries a batch whole): nothing new.
	if got := post(t, h, body, sendgridSign(t, k, "1740931400", body)); got != http.StatusNoContent {
		t.Fatalf("redelivery: status %d, want 204", got)
	}
	if n := len(sink.allEvents()); n != 4 {
		t.Errorf("after a redelivery the sink has %d events, want 4", n)
	}
}

func TestSendGridRefusesBadSignatures(t *testing.T) {
	k, pub := sendgridKey(t)
	other, _ := sendgridKey(t)
	sink := &recorder{}
	h, err := NewSendGrid(SendGridOptions{Sink: sink, PublicKey: pub, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	srv := startHandler(t, h)
	body := []byte(sendgridBatch)
	good := sendgridSign(t, k, "1740931300", body)
	cases := map[string]struct {
		hdr  map[string]string
		want int
	}{
		"no headers":      {nil, http.StatusUnauthorized},
		"no timestamp":    {map[string]string{SendGridSignatureHeader: good[SendGridSignatureHeader]}, http.StatusUnauthorized},
		"other key":       {sendgridSign(t, other, "1740931300", body), http.StatusForbidden},
		"other timestamp": {map[string]string{SendGridSignatureHeader: good[SendGridSignatureHeader], SendGridTimestampHeader: "1740931301"}, http.StatusForbidden},
		"not base64":      {map[string]string{SendGridSignatureHeader: "!!", SendGridTimestampHeader: "1740931300"}, http.StatusForbidden},
	}
	for name, c := range cases {
		if got := postTo(t, srv, body, c.hdr); got != c.want {
			t.Errorf("%s: status %d, want %d", name, got, c.want)
		}
	}
	changed := []byte(sendgridBatch[:len(sendgridBatch)-2] + `,{"email":"victim@example.net","event":"bounce","sg_event_id":"x"}]`)
	if got := postTo(t, srv, changed, good); got != http.StatusForbidden {
		t.Errorf("body changed after signing: status %d, want 403", got)
	}
	bad := []byte(`{"not":"a list"}`)
	if got := postTo(t, srv, bad, sendgridSign(t, k, "1", bad)); got != http.StatusBadRequest {
		t.Errorf("signed but not a list: status %d, want 400", got)
	}
	if n := len(sink.allEvents()); n != 0 {
		t.Errorf("sink got %d events from refused requests", n)
	}
}

func TestSendGridKeyChecked(t *testing.T) {
	for _, k := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("not DER"))} {
		if _, err := ParseSendGridKey(k); err == nil {
			t.Errorf("ParseSendGridKey(%q) accepted it", k)
		}
	}
}
