package subscribers

import (
	"strconv"
	"strings"
	"testing"
)

// sqliteTestCols joins rows of sqliteRows fields (the consent text last)
// the way SQLite's group_concat does.
func sqliteTestCols(rows ...[sqliteCols]string) [sqliteCols]string {
	var c [sqliteCols]string
	for i := range c {
		var vals []string
		for _, r := range rows {
			vals = append(vals, r[i])
		}
		sep := "\x1f"
		if i == sqliteCols-1 {
			sep = ""
		}
		c[i] = strings.Join(vals, sep)
	}
	return c
}

// consentFor is the consent text of the test row with id: separators or
// nothing.
func consentFor(id int64) string { return strings.Repeat("\x1e\x1f", int(id%3)) }

func TestParseSQLiteRows(t *testing.T) {
	row := func(id string) [sqliteCols]string {
		n, _ := strconv.ParseInt(id, 10, 64)
		consent := consentFor(n)
		return [sqliteCols]string{id, "1", "2", "", "3", "", "active", "form", "", "daily,weekly", "", id + "@example.org", "", "", strings.Repeat("0"+id[:1], 16), strconv.Itoa(len(consent)), consent}
	}
	tests := []struct {
		name    string
		cols    [sqliteCols]string
		wantIDs []int64
		wantErr bool
	}{
		{"one", sqliteTestCols(row("7")), []int64{7}, false},
		{"in order", sqliteTestCols(row("1"), row("2"), row("5")), []int64{1, 2, 5}, false},
		{"out of order", sqliteTestCols(row("9"), row("3"), row("4")), []int64{3, 4, 9}, false},
		{"column short", func() [sqliteCols]string {
			c := sqliteTestCols(row("1"), row("2"))
			c[12] = ""
			return c
		}(), nil, true},
		{"consent too short", func() [sqliteCols]string {
			c := sqliteTestCols(row("1"))
			c[sqliteCols-1] = "\x1e"
			return c
		}(), nil, true},
		{"consent too long", func() [sqliteCols]string {
			c := sqliteTestCols(row("1"))
			c[sqliteCols-1] = "\x1e\x1f\x1e"
			return c
		}(), nil, true},
		{"bad id", sqliteTestCols(row("x")), nil, true},
		{"bad token key", func() [sqliteCols]string {
			c := sqliteTestCols(row("1"))
			c[14] = "zz"
			return c
		}(), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subs, err := parseSQLiteRows(tt.cols)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if len(subs) != len(tt.wantIDs) {
				t.Fatalf("%d subscribers, want %d", len(subs), len(tt.wantIDs))
			}
			for i, s := range subs {
				if s.ID != tt.wantIDs[i] || s.Email != strconv.FormatInt(s.ID, 10)+"@example.org" || s.ConsentText != consentFor(s.ID) ||
					len(s.Digests) != 2 || s.Tags != nil || !s.ConsentAt.IsZero() || s.ConfirmedAt.UnixMicro() != 3 ||
					len(s.TokenKey) != 16 || s.TokenKey[15] != byte(strconv.FormatInt(s.ID, 10)[0]-'0') {
					t.Errorf("subscriber %d: %+v", i, s)
				}
			}
		})
	}
}
