package record_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"briefcast/bounces/intake"
	"briefcast/bounces/record"
	"briefcast/bounces/verp"
	"briefcast/store"
	"briefcast/store/storetest"
	"briefcast/subscribers"
)

// parseDSN reads the per-recipient fields of a minimal RFC 3464 report:
// just enough of a parser for these tests.
func parseDSN(r io.Reader) ([]record.Finding, error) {
	var out []record.Finding
	var f record.Finding
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch textproto.CanonicalMIMEHeaderKey(k) {
		case "Final-Recipient":
			f = record.Finding{Recipient: strings.TrimPrefix(v, "rfc822;")}
		case "Status":
			f.Status = v
			f.Kind = map[byte]string{'5': "hard", '4': "soft"}[v[0]]
		case "Diagnostic-Code":
			f.Reason = v
			out = append(out, f)
		}
	}
	return out, sc.Err()
}

func dsn(to, rcpt, status string) []byte {
	return []byte(fmt.Sprintf("From: MAILER-DAEMON@mx.example.net\r\nTo: %s\r\nSubject: Undelivered\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822;%s\r\nAction: failed\r\nStatus: %s\r\nDiagnostic-Code: smtp; 550 %s no such user\r\n--b--\r\n", to, rcpt, status, status))
}

func setup(t *testing.T) (*store.DB, *record.Recorder, []byte, int64) {
	st := storetest.SQLite(t)
	sub, _, err := st.Subscribe(context.Background(), subscribers.SubscribeRequest{Email: "ann@example.org", Digests: []string{"daily"}, Active: true, Source: subscribers.SourceCLI})
	if err != nil {
		t.Fatal(err)
	}
	key := verp.Key([]byte("subscriptions secret"))
	rec, err := record.New(record.Options{Store: st, Parse: parseDSN, Key: key, Source: "file"})
	if err != nil {
		t.Fatal(err)
	}
	return st, rec, key, sub.ID
}

func status(t *testing.T, st *store.DB, id int64) subscribers.Status {
	t.Helper()
	s, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s.Status
}

func TestMessageByReturnPath(t *testing.T) {
	st, rec, key, id := setup(t)
	// The report names another address: the return path decides.
	raw := dsn(verp.Encode(key, 0, id, "bounce.example.org"), "old-alias@example.org", "5.1.1")
	got, err := rec.Apply(context.Background(), raw)
	if err != nil || len(got) != 1 {
		t.Fatalf("Apply: %v, %+v", err, got)
	}
	if o := got[0].Outcome; o.SubscriberID != id || o.To != subscribers.Bounced {
		t.Fatalf("outcome %+v, want subscriber %d bounced", o, id)
	}
	if s := status(t, st, id); s != subscribers.Bounced {
		t.Fatalf("status %s, want bounced", s)
	}
	again, err := rec.Apply(context.Background(), append([]byte("Delivered-To: x@y\r\n"), raw...))
	if err != nil || len(again) != 1 || !again[0].Outcome.Duplicate {
		t.Fatalf("second copy: %v, %+v, want a duplicate", err, again)
	}
}

func TestMessageForgedReturnPath(t *testing.T) {
	st, rec, _, id := setup(t)
	raw := dsn(verp.Encode([]byte("other secret"), 0, id, "bounce.example.org"), "stranger@example.org", "5.1.1")
	got, err := rec.Apply(context.Background(), raw)
	if err != nil || len(got) != 1 || got[0].Outcome.SubscriberID != 0 {
		t.Fatalf("Apply: %v, %+v, want one report about nobody", err, got)
	}
	if s := status(t, st, id); s != subscribers.Active {
		t.Fatalf("status %s, want active", s)
	}
}

func TestMessageNotABounce(t *testing.T) {
	_, rec, _, _ := setup(t)
	got, err := rec.Apply(context.Background(), []byte("From: a@b\r\nSubject: hello\r\n\r\nhi\r\n"))
	if err != nil || len(got) != 0 {
		t.Fatalf("Apply: %v, %+v, want nothing", err, got)
	}
}

func TestEventComplaint(t *testing.T) {
	st, rec, key, id := setup(t)
	e := intake.Event{Kind: intake.Complaint, Recipient: "ann@example.org", Provider: "ses", ID: "feedback-1",
		Sender: verp.Encode(key, 0, id, "bounce.example.org"), Time: time.Now()}
	if err := rec.Event(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if s := status(t, st, id); s != subscribers.Complained {
		t.Fatalf("status %s, want complained", s)
	}
	if err := st.SetStatus(context.Background(), id, subscribers.Active, "back"); err != nil {
		t.Fatal(err)
	}
	if err := rec.Event(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if s := status(t, st, id); s != subscribers.Active {
		t.Fatalf("redelivered event changed the status to %s", s)
	}
}
