package intake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

const testTopic = "arn:aws:sns:eu-west-1:123456789012:briefcast-bounces"

// snsFake is a stand-in for SNS's certificate and subscription host: an
// HTTPS server on loopback serving a certificate made here.
type snsFake struct {
	key      *rsa.PrivateKey
	srv      *httptest.Server
	host     string // host:port, for the allow-list
	certHits atomic.Int64
	subHits  atomic.Int64
}

func newSNSFake(t *testing.T) *snsFake {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sns.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	f := &snsFake{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /SimpleNotificationService-test.pem", func(w http.ResponseWriter, r *http.Request) {
		f.certHits.Add(1)
		w.Write(certPEM)
	})
	mux.HandleFunc("GET /confirm", func(w http.ResponseWriter, r *http.Request) {
		f.subHits.Add(1)
		w.Write([]byte("<ConfirmSubscriptionResponse/>"))
	})
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	u, _ := url.Parse(f.srv.URL)
	f.host = u.Host
	return f
}

func (f *snsFake) certURL() string { return f.srv.URL + "/SimpleNotificationService-test.pem" }

// sign fills in the signature fields of m with version v.
func (f *snsFake) sign(t *testing.T, m snsMessage, v string) []byte {
	t.Helper()
	m.SignatureVersion = v
	if m.SigningCertURL == "" {
		m.SigningCertURL = f.certURL()
	}
	text, err := m.stringToSign()
	if err != nil {
		t.Fatal(err)
	}
	h := crypto.SHA1
	if v == "2" {
		h = crypto.SHA256
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, h, digest(h, text))
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *snsFake) handler(t *testing.T, sink Sink) http.Handler {
	t.Helper()
	h, err := NewSES(SESOptions{Sink: sink, TopicARNs: []string{testTopic}, CertHosts: []string{f.host}, Client: f.srv.Client(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func notification(id, message string) snsMessage {
	return snsMessage{Type: "Notification", MessageID: id, TopicArn: testTopic, Message: message, Timestamp: "2025-03-02T16:00:00.000Z"}
}

const sesPermanent = `{"notificationType":"Bounce","bounce":{"feedbackId":"0102018f-perm","bounceType":"Permanent","bounceSubType":"General",
"bouncedRecipients":[{"emailAddress":"gone@example.net","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"},
{"emailAddress":"alsogone@example.net","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 no such user"}],
"timestamp":"2025-03-02T15:59:58.000Z","reportingMTA":"dsn; a8-1.smtp-out.amazonses.com"},
"mail":{"timestamp":"2025-03-02T15:59:50.000Z","source":"bounces+abc@b.example.org","messageId":"0102018f-msg","destination":["gone@example.net","alsogone@example.net"]}}`

const sesTransient = `{"eventType":"Bounce","bounce":{"feedbackId":"0102018f-tmp","bounceType":"Transient","bounceSubType":"MailboxFull",
"bouncedRecipients":[{"emailAddress":"full@example.net","status":"4.2.2","diagnosticCode":"smtp; 452 4.2.2 mailbox full"}],"timestamp":"2025-03-02T16:01:00.000Z"},
"mail":{"source":"bounces+def@b.example.org","messageId":"m2"}}`

const sesUndetermined = `{"notificationType":"Bounce","bounce":{"feedbackId":"0102018f-und","bounceType":"Undetermined",
"bouncedRecipients":[{"emailAddress":"odd@example.net"}],"timestamp":"2025-03-02T16:02:00.000Z"},"mail":{"messageId":"m3"}}`

const sesComplaint = `{"notificationType":"Complaint","complaint":{"feedbackId":"0102018f-cmp","complaintFeedbackType":"abuse",
"complainedRecipients":[{"emailAddress":"angry@example.net"}],"timestamp":"2025-03-02T16:03:00.000Z","userAgent":"ExampleMail"},
"mail":{"source":"bounces+ghi@b.example.org","messageId":"m4"}}`

const sesDelivery = `{"notificationType":"Delivery","delivery":{"recipients":["happy@example.net"]},"mail":{"messageId":"m5"}}`

func TestSESMapsNotifications(t *testing.T) {
	f := newSNSFake(t)
	sink := &recorder{}
	srv := startHandler(t, f.handler(t, sink))
	msgs := []snsMessage{
		notification("n1", sesPermanent), notification("n2", sesTransient), notification("n3", sesUndetermined),
		notification("n4", sesComplaint), notification("n5", sesDelivery), notification("n6", "a test message, not JSON"),
	}
	subject := "Amazon SES Email Event Notification"
	msgs[1].Subject = &subject
	for i, m := range msgs {
		v := []string{"1", "2"}[i%2]
		if got := postTo(t, srv, f.sign(t, m, v), nil); got != http.StatusNoContent {
			t.Fatalf("notification %s (version %s): status %d, want 204", m.MessageID, v, got)
		}
	}
	ts := func(s string) time.Time { return parseTime(s) }
	sameEvents(t, sink.allEvents(), []Event{
		{Kind: Hard, Recipient: "gone@example.net", Status: "5.1.1", Reason: "smtp; 550 5.1.1 user unknown", Provider: "ses", ID: "0102018f-perm",
			Sender: "bounces+abc@b.example.org", MessageID: "0102018f-msg", Time: ts("2025-03-02T15:59:58.000Z")},
		{Kind: Hard, Recipient: "alsogone@example.net", Status: "5.1.1", Reason: "smtp; 550 5.1.1 no such user", Provider: "ses", ID: "0102018f-perm",
			Sender: "bounces+abc@b.example.org", MessageID: "0102018f-msg", Time: ts("2025-03-02T15:59:58.000Z")},
		{Kind: Soft, Recipient: "full@example.net", Status: "4.2.2", Reason: "smtp; 452 4.2.2 mailbox full", Provider: "ses", ID: "0102018f-tmp",
			Sender: "bounces+def@b.example.org", MessageID: "m2", Time: ts("2025-03-02T16:01:00.000Z")},
		{Kind: Soft, Recipient: "odd@example.net", Provider: "ses", ID: "0102018f-und", MessageID: "m3", Time: ts("2025-03-02T16:02:00.000Z")},
		{Kind: Complaint, Recipient: "angry@example.net", Reason: "abuse", Provider: "ses", ID: "0102018f-cmp",
			Sender: "bounces+ghi@b.example.org", MessageID: "m4", Time: ts("2025-03-02T16:03:00.000Z")},
	})
	// SNS redelivers a notification it got no answer for: nothing changes.
	if got := postTo(t, srv, f.sign(t, msgs[0], "2"), nil); got != http.StatusNoContent {
		t.Fatalf("redelivery: status %d, want 204", got)
	}
	if n := len(sink.allEvents()); n != 5 {
		t.Errorf("after a redelivery the sink has %d events, want 5", n)
	}
	if n := f.certHits.Load(); n != 1 {
		t.Errorf("the signing certificate was fetched %d times, want once (cached)", n)
	}
}

func TestSESRefusesBadSignatures(t *testing.T) {
	f := newSNSFake(t)
	stranger := newSNSFake(t) // a host that is not allow-listed, with its own key
	sink := &recorder{}
	srv := startHandler(t, f.handler(t, sink))
	good := notification("n1", sesPermanent)

	otherTopic := good
	otherTopic.TopicArn = "arn:aws:sns:eu-west-1:999999999999:someone-else"
	strangerCert := good
	strangerCert.SigningCertURL = stranger.certURL()
	httpCert := good
	httpCert.SigningCertURL = "http://" + f.host + "/SimpleNotificationService-test.pem"
	userinfoCert := good
	userinfoCert.SigningCertURL = "https://user@" + f.host + "/SimpleNotificationService-test.pem"

	var tampered snsMessage
	json.Unmarshal(f.sign(t, good, "2"), &tampered)
	tampered.Message = sesComplaint
	tamperedBody, _ := json.Marshal(tampered)
	var forged snsMessage
	json.Unmarshal(stranger.sign(t, good, "2"), &forged)
	forged.SigningCertURL = f.certURL() // signed with another key, pointing at the real certificate
	forgedBody, _ := json.Marshal(forged)

	cases := map[string][]byte{
		"topic not allowed":         f.sign(t, otherTopic, "2"),
		"certificate on other host": stranger.sign(t, strangerCert, "2"),
		"certificate over http":     f.sign(t, httpCert, "1"),
		"certificate URL with user": f.sign(t, userinfoCert, "1"),
		"message changed":           tamperedBody,
		"wrong key":                 forgedBody,
		"unknown version":           f.sign(t, good, "3"),
	}
	for name, body := range cases {
		if got := postTo(t, srv, body, nil); got != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, got)
		}
	}
	if got := postTo(t, srv, []byte(`{"Type":`), nil); got != http.StatusBadRequest {
		t.Errorf("bad JSON: status %d, want 400", got)
	}
	if n := len(sink.allEvents()); n != 0 {
		t.Errorf("sink got %d events from refused requests", n)
	}
	if n := stranger.certHits.Load(); n != 0 {
		t.Errorf("a certificate was fetched %d times from a host not allow-listed", n)
	}
}

func TestSESSubscriptionConfirmation(t *testing.T) {
	f := newSNSFake(t)
	stranger := newSNSFake(t)
	srv := startHandler(t, f.handler(t, &recorder{}))
	sub := snsMessage{Type: "SubscriptionConfirmation", MessageID: "s1", Token: "2336412f37", TopicArn: testTopic,
		Message: "You have chosen to subscribe to the topic.", Timestamp: "2025-03-02T16:00:00.000Z"}

	elsewhere := sub
	elsewhere.SubscribeURL = stranger.srv.URL + "/confirm?Token=2336412f37"
	if got := postTo(t, srv, f.sign(t, elsewhere, "2"), nil); got != http.StatusForbidden {
		t.Errorf("subscribe URL on another host: status %d, want 403", got)
	}
	if n := stranger.subHits.Load(); n != 0 {
		t.Errorf("a subscribe URL on a host not allow-listed was visited %d times", n)
	}

	sub.SubscribeURL = f.srv.URL + "/confirm?Token=2336412f37"
	if got := postTo(t, srv, f.sign(t, sub, "1"), nil); got != http.StatusNoContent {
		t.Fatalf("subscription confirmation: status %d, want 204", got)
	}
	if n := f.subHits.Load(); n != 1 {
		t.Errorf("the subscribe URL was visited %d times, want once", n)
	}
}

func TestHostAllowed(t *testing.T) {
	cases := map[string]bool{
		"https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem":     true,
		"https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem": true,
		"https://SNS.us-east-1.AMAZONAWS.com/x.pem":                               true,
		"https://sns.eu-west-1.amazonaws.com:443/x.pem":                           true,
		"http://sns.eu-west-1.amazonaws.com/x.pem":                                false,
		"https://sns.eu-west-1.amazonaws.com:8443/x.pem":                          false,
		"https://sns.eu-west-1.amazonaws.com.evil.net/x.pem":                      false,
		"https://evil.net/sns.eu-west-1.amazonaws.com/x.pem":                      false,
		"https://sns.a.b.amazonaws.com/x.pem":                                     false,
		"https://sns..amazonaws.com/x.pem":                                        false,
		"https://sns.eu-west-1.amazonaws.com@evil.net/x.pem":                      false,
		"https://x@sns.eu-west-1.amazonaws.com/x.pem":                             false,
		"https://s3.eu-west-1.amazonaws.com/x.pem":                                false,
	}
	for u, want := range cases {
		if got := hostAllowed(u, DefaultSNSHosts); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", u, got, want)
		}
	}
}
