package bounces

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden .json files in testdata")

// TestFixtures parses every testdata/*.eml and compares the results with
// the golden .json beside it. The file name starts with the kind the first
// result must have, so -update cannot bless a wrong kind.
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(files) < 40 {
		t.Fatalf("want at least 40 fixtures, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			got := parseFile(t, f)
			wantKind := Kind(name[:strings.IndexByte(name, '-')])
			if got[0].Kind != wantKind {
				t.Errorf("first result kind = %q, want %q (from the file name): %+v", got[0].Kind, wantKind, got[0])
			}
			golden := strings.TrimSuffix(f, ".eml") + ".json"
			if *update {
				b, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("no golden file (run go test -update): %v", err)
			}
			var want []Result
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatalf("%s: %v", golden, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("results differ from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func parseFile(t *testing.T, path string) []Result {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	got, err := Parse(fh)
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	if len(got) == 0 {
		t.Fatalf("Parse(%s): no results", path)
	}
	return got
}

func TestParseTooLarge(t *testing.T) {
	big := "From: a@example.com\nSubject: x\n\n" + strings.Repeat("x", MaxSize)
	_, err := Parse(strings.NewReader(big))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Parse(10 MB + header) error = %v, want ErrTooLarge", err)
	}
}

func TestParseNotAMessage(t *testing.T) {
	for name, in := range map[string]string{
		"empty":     "",
		"no header": "\n\njust a body",
		"binary":    "\x00\x01\x02\xff\xfe",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: Parse succeeded, want an error", name)
		}
	}
}

// TestParseDeepNesting: a bounce buried under more multiparts than
// maxDepth is not read, and reading it neither fails nor takes long.
func TestParseDeepNesting(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("From: MAILER-DAEMON@mx.example.net\nSubject: hello\nMIME-Version: 1.0\n")
	const depth = 2000
	for i := 0; i < depth; i++ {
		b.WriteString("Content-Type: multipart/mixed; boundary=\"b" + itoa(i) + "\"\n\n--b" + itoa(i) + "\n")
	}
	b.WriteString("Content-Type: text/plain\n\n<ann@example.com>: 550 5.1.1 user unknown\n")
	for i := depth - 1; i >= 0; i-- {
		b.WriteString("\n--b" + itoa(i) + "--\n")
	}
	got, err := Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Kind != None {
		t.Errorf("text %d levels deep was read: %+v", depth, got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestParseBrokenMIME: a report without a boundary, a part with an unknown
// charset and an unterminated multipart still give their bounce.
func TestParseBrokenMIME(t *testing.T) {
	tests := map[string]string{
		"no boundary": "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail Returned to Sender\n" +
			"Content-Type: multipart/report; report-type=delivery-status\n\n<ann@example.com>: 550 5.1.1 User unknown\n",
		"unknown charset": "From: MAILER-DAEMON@mx.example.net\nSubject: failure notice\n" +
			"Content-Type: text/plain; charset=x-nonsense\n\n<ann@example.com>:\nSorry, no mailbox here by that name. (#5.1.1)\n",
		"unterminated": "From: MAILER-DAEMON@mx.example.net\nSubject: failure notice\n" +
			"Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\n<ann@example.com>:\n550 5.1.1 user unknown\n",
	}
	for name, in := range tests {
		got, err := Parse(strings.NewReader(in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want := Result{Kind: Hard, Recipient: "ann@example.com", Status: "5.1.1"}
		if g := got[0]; g.Kind != want.Kind || g.Recipient != want.Recipient || g.Status != want.Status {
			t.Errorf("%s: got %+v, want %+v", name, g, want)
		}
	}
}

// TestHumanTextLimit: the readable text searched is cut at maxHuman on every
// call, the first included, so one message is never classified on two
// different texts.
func TestHumanTextLimit(t *testing.T) {
	m := &mail{text: []string{strings.Repeat("é line of a long home-made bounce\r\n", maxHuman/20)}}
	first := humanText(m)
	if len(first) > maxHuman {
		t.Fatalf("first call gave %d bytes, want at most %d", len(first), maxHuman)
	}
	if again := humanText(m); again != first {
		t.Fatalf("second call gave %d bytes, first %d", len(again), len(first))
	}
}
