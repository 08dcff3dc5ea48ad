package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"briefcast/subscribers"
)

// TestDigestStatusBounces sends an edition to 40 readers, records bounce
// reports about it through the store, and checks that digest status counts
// them with their rates and warns once a rate passes its limit.
func TestDigestStatusBounces(t *testing.T) {
	cfgPath := digestSite(t, `transport = "file"
outbox_dir = "data/outbox"`)
	dir := filepath.Dir(cfgPath)
	mustImport(t, dir, 40)
	if code, out, errs := runCLI(t, "--config", cfgPath, "digest", "send", "daily"); code != 0 {
		t.Fatalf("send exit %d: %s\n%s", code, out, errs)
	}

	ctx := context.Background()
	st := mustOpenSite(t, dir)
	es, err := st.Editions(ctx, "daily", 1)
	if err != nil || len(es) != 1 {
		st.Close()
		t.Fatalf("editions %v (%v), want one", es, err)
	}
	ed := es[0]
	record := func(key string, kind subscribers.BounceKind, rcpt string) {
		t.Helper()
		b := subscribers.Bounce{Key: key, Kind: kind, EditionID: ed.ID, Recipient: rcpt, Status: "5.1.1", At: time.Now()}
		if _, err := st.RecordBounce(ctx, b, 0); err != nil {
			t.Fatal(err)
		}
	}
	// 1 soft bounce of 40: 2.5 %, but soft bounces have no limit.
	record("soft-1", subscribers.BounceSoft, "reader1@example.net")
	st.Close()

	status := func() string {
		t.Helper()
		code, out, errs := runCLI(t, "--config", cfgPath, "digest", "status", "daily", "--edition", ed.Key)
		if code != 0 {
			t.Fatalf("status exit %d: %s", code, errs)
		}
		return out
	}
	out := status()
	for _, want := range []string{"bounces    0 hard (0.00% of sent), 1 soft (2.50% of sent)", "complaints 0 (0.00% of sent)"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "WARNING") {
		t.Errorf("status warns with no hard bounce or complaint:\n%s", out)
	}

	// One complaint of 40 is 2.5 %, over 0.1 %; two hard bounces are 5 %,
	// over 2 %.
	st = mustOpenSite(t, dir)
	record("hard-2", subscribers.BounceHard, "reader2@example.net")
	record("hard-3", subscribers.BounceHard, "reader3@example.net")
	record("complaint-4", subscribers.BounceComplaint, "reader4@example.net")
	st.Close()
	out = status()
	t.Logf("status:\n%s", out)
	for _, want := range []string{
		"bounces    2 hard (5.00% of sent), 1 soft (2.50% of sent)",
		"complaints 1 (2.50% of sent)",
		"WARNING: complaint rate 2.50% is over 0.1%",
		"WARNING: hard-bounce rate 5.00% is over 2%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
