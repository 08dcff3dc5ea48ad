package articles

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// mustReadDir lists the files of a testdata folder that hold parser input.
func mustReadDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if layoutOf(e.Name()) != "" {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatalf("no inputs in %s", dir)
	}
	return names
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./articles -run %s -update)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", golden, diff)
	}
}

// TestParseGolden parses every file in testdata/parse and compares a JSON
// dump of the Article with its .json golden file.
func TestParseGolden(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range mustReadDir(t, "testdata/parse") {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/parse", name))
			if err != nil {
				t.Fatal(err)
			}
			// Dates without a zone read in New York, to prove Location is used.
			a, err := Parse("posts/"+name, data, Options{Location: ny})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkInvariants(t, a)
			got, err := json.MarshalIndent(a, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata/parse", name+".json"), append(got, '\n'))
		})
	}
}

// TestParseErrors parses every file in testdata/errors and compares the
// exact "path:line: message" text with its .err golden file.
func TestParseErrors(t *testing.T) {
	for _, name := range mustReadDir(t, "testdata/errors") {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/errors", name))
			if err != nil {
				t.Fatal(err)
			}
			a, err := Parse("posts/"+name, data, Options{})
			if err == nil {
				t.Fatalf("got article %q, want an error", a.Title)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %T, want *Error", err)
			}
			if pe.Line < 1 {
				t.Errorf("got line %d, want a line number", pe.Line)
			}
			checkGolden(t, filepath.Join("testdata/errors", name+".err"), []byte(err.Error()+"\n"))
		})
	}
}

// checkInvariants holds for every article any parser returns.
func checkInvariants(t *testing.T, a *Article) {
	t.Helper()
	if a.Title == "" {
		t.Error("empty title")
	}
	if n := len(a.Take); n < 1 || n > maxTake {
		t.Errorf("got %d take bullets, want 1..5", n)
	}
	if !validSlug(a.Slug) {
		t.Errorf("bad slug %q", a.Slug)
	}
	if a.Published.IsZero() || a.Updated.Before(a.Published) {
		t.Errorf("bad dates %v %v", a.Published, a.Updated)
	}
	if a.ID == "" {
		t.Error("empty id")
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`\ufffd`)) || !json.Valid(b) {
		t.Error("invalid UTF-8 in article")
	}
	for _, tag := range a.Tags {
		if !validSlug(tag) {
			t.Errorf("bad tag %q", tag)
		}
	}
}

func TestParseDate(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		loc  *time.Location
		want string // UTC, RFC 3339
	}{
		{"Feb. 23, 2025, 4:36 am ET", nil, "2025-02-23T09:36:00Z"},
		{"July 14, 2025, 4:36 am ET", nil, "2025-07-14T08:36:00Z"},
		{"Jul. 14, 2025 4:36 AM EDT", nil, "2025-07-14T08:36:00Z"},
		{"Jan 5, 2025 12:00 am EST", nil, "2025-01-05T05:00:00Z"},
		{"Sept. 3, 2025", nil, "2025-09-03T00:00:00Z"},
		{"Sept. 3, 2025", berlin, "2025-09-02T22:00:00Z"},
		{"Sep 3 2025", nil, "2025-09-03T00:00:00Z"},
		{"May 5, 2025 10:15 PM PT", nil, "2025-05-06T05:15:00Z"},
		{"Dec. 5, 2025 10:15pm PT", nil, "2025-12-06T06:15:00Z"},
		{"March 9, 2025, 12:30 p.m. CT", nil, "2025-03-09T17:30:00Z"},
		{"Nov. 2, 2025, 1:00 am MT", nil, "2025-11-02T07:00:00Z"},
		{"June 1, 2025, 09:30 UTC", nil, "2025-06-01T09:30:00Z"},
		{"June 1, 2025, 09:30 GMT", berlin, "2025-06-01T09:30:00Z"},
		{"June 1, 2025, 09:30", berlin, "2025-06-01T07:30:00Z"},
		{"June 1, 2025, 09:30:15 +02:00", nil, "2025-06-01T07:30:15Z"},
		{"1 June 2025 09:30 Europe/Berlin", nil, "2025-06-01T07:30:00Z"},
		{"2025-06-01T09:30:00-04:00", nil, "2025-06-01T13:30:00Z"},
		{"2025-06-01T09:30:00.5Z", nil, "2025-06-01T09:30:00.5Z"},
		{"2025-06-01T09:30", berlin, "2025-06-01T07:30:00Z"},
		{"2025-06-01 09:30 ET", nil, "2025-06-01T13:30:00Z"},
		{"2025-06-01", nil, "2025-06-01T00:00:00Z"},
		{"2025-06-01", berlin, "2025-05-31T22:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			loc := tt.loc
			if loc == nil {
				loc = time.UTC
			}
			got, err := parseDate(tt.in, loc)
			if err != nil {
				t.Fatalf("parseDate(%q): %v", tt.in, err)
			}
			if s := got.UTC().Format(time.RFC3339Nano); s != tt.want {
				t.Errorf("parseDate(%q) = %s, want %s", tt.in, s, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "Not a date", "Feb. 30, 2025", "Feb. 3, 2025 25:00", "Feb. 3, 2025 13:00 pm",
		"Feb. 3, 2025 4:00 XT", "Feb. 3, 25", "2025-13-01", "Quick Brief"} {
		if got, err := parseDate(bad, time.UTC); err == nil {
			t.Errorf("parseDate(%q) = %v, want an error", bad, got)
		}
	}
}

func TestTierMarkers(t *testing.T) {
	tests := []struct {
		in   string
		want tier
	}{
		{"Instant Insight", tierTake}, {"30-second take", tierTake}, {"+ 30-SECOND TAKE", tierTake},
		{"+Instant Insight:", tierTake}, {"+ Dive Deeper", tierDigest}, {"quick brief", tierDigest},
		{"2-Minute Digest", tierDigest}, {"+ full analysis", tierFull}, {"FULL DEPTH", tierFull},
		{"Complete Coverage", tierFull}, {"Full Depth of the sea", tierNone}, {"Essential Context", tierNone},
	}
	for _, tt := range tests {
		if got := tierOf(tt.in); got != tt.want {
			t.Errorf("tierOf(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSlugify(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello, World!", "hello-world"},
		{"  Crème brûlée — à la carte  ", "creme-brulee-a-la-carte"},
		{"Straße, Øresund & Æther", "strasse-oresund-aether"},
		{"It’s the Łódź “Zoo”", "its-the-lodz-zoo"},
		{"日本語", "日本語"},
		{"It's Here", "its-here"},
		{"---", "article"},
		{"2026: A Year", "2026-a-year"},
		{strings.Repeat("word ", 30), strings.TrimSuffix(strings.Repeat("word-", 16), "-")},
		{strings.Repeat("x", 100), strings.Repeat("x", 80)},
	}
	for _, tt := range tests {
		got := Slugify(tt.in)
		if got != tt.want {
			t.Errorf("Slugify(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !validSlug(got) || len(got) > maxSlug {
			t.Errorf("Slugify(%q) = %q is not a valid slug", tt.in, got)
		}
	}
}

func TestHeadingHeuristic(t *testing.T) {
	body := "T\nJune 1, 2026\n30-Second Take\n- b\nFull Depth\n"
	tests := []struct {
		name     string
		tail     string
		sections []string
		paras    int // paragraphs in the last section
	}{
		{"short line with blank after", "Why It Matters\n\nText.\n", []string{"Why It Matters"}, 1},
		{"sentence is not a heading", "It rained all week.\n\nText.\n", []string{""}, 2},
		{"question is not a heading", "Will it last?\n\nText.\n", []string{""}, 2},
		{"lower-case start is not a heading", "and then more\n\nText.\n", []string{""}, 2},
		{"no blank after is not a heading", "Why It Matters\nText.\n", []string{""}, 1},
		{"heading followed by bullets", "Three Wishes\n- a\n- b\n", []string{"Three Wishes"}, 2},
		{"last line is a paragraph", "Text.\n\nMore to come\n", []string{""}, 2},
		{"wrapped line tail", "The plan was drawn up\nBy The Council\n\nText.\n", []string{""}, 2},
		{"long line is not a heading", strings.Repeat("Word ", 14) + "\n\nText.\n", []string{""}, 2},
		{"known heading needs no blank", "future forces\nText.\n", []string{"Future Forces"}, 1},
		{"short line before a known heading", "Text.\n\nNobody knows yet\n\nFuture Forces\n\nText.\n", []string{"", "Future Forces"}, 1},
		{"line ending in a colon introduces a list", "Why It Matters\n\nThree wishes:\n- a\n", []string{"Why It Matters"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse("h.txt", []byte(body+tt.tail), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var titles []string
			for _, s := range a.tiers.Full.Sections {
				titles = append(titles, s.Title)
			}
			if diff := cmp.Diff(tt.sections, titles); diff != "" {
				t.Fatalf("sections (-want +got):\n%s", diff)
			}
			if got := len(a.tiers.Full.Sections[len(a.tiers.Full.Sections)-1].Paragraphs); got != tt.paras {
				t.Errorf("got %d paragraphs, want %d: %q", got, tt.paras, a.tiers.Full.Sections[len(a.tiers.Full.Sections)-1].Paragraphs)
			}
		})
	}
}

func TestDerivedID(t *testing.T) {
	a1 := mustParse(t, "a.txt", "Same Title\nOct. 1, 2026, 9:00 am ET\n30-Second Take\n- one\n")
	a2 := mustParse(t, "moved/b.txt", "Same Title\nOct. 1, 2026, 11:00 am ET\n30-Second Take\n- a different body\n- two\n")
	a3 := mustParse(t, "c.txt", "Same Title\nOct. 2, 2026\n30-Second Take\n- one\n")
	if a1.ID != a2.ID {
		t.Errorf("id changed with the body or path: %s vs %s", a1.ID, a2.ID)
	}
	if a1.ID == a3.ID {
		t.Errorf("different dates gave the same id %s", a1.ID)
	}
	if !strings.HasPrefix(a1.ID, "urn:uuid:") || len(a1.ID) != len("urn:uuid:")+36 {
		t.Errorf("got id %q, want urn:uuid:<uuid>", a1.ID)
	}
}

func mustParse(t *testing.T, path, src string) *Article {
	t.Helper()
	a, err := Parse(path, []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// mustWrite writes files (relative path -> content) under dir.
func mustWrite(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	txt := func(title, date string) string { return title + "\n" + date + "\n30-Second Take\n- one\n" }
	mustWrite(t, dir, map[string]string{
		"a/one.txt":         txt("First Story", "Oct. 3, 2026"),
		"b/two.md":          "---\ntitle: Second Story\ndate: 2026-10-05T10:00:00Z\n---\n## 30-Second Take\n- b\n",
		"b/tie.txt":         txt("Tie Story", "Oct. 5, 2026, 10:00 UTC"),
		"dup1.txt":          txt("Same Name", "Oct. 1, 2026"),
		"sub/dup2.md":       "+++\ntitle = \"Other\"\nslug = \"same-name\"\ndate = 2026-10-02\n+++\n## 30-Second Take\n- b\n",
		"z/dup3.txt":        txt("Same  Name!", "Oct. 1, 2026"),
		"bad.txt":           "Only a title\n",
		"draft.md":          "---\ntitle: Draft\ndate: 2026-10-09\ndraft: true\n---\n## 30-Second Take\n- d\n",
		".hidden/x.txt":     "garbage",
		"_drafts/y.md":      "garbage",
		".z.txt":            "garbage",
		"notes.html":        "ignored",
		"deep/er/three.txt": txt("Third Story", "Sept. 30, 2026"),
	})
	// A dangling link is a file Load cannot read, even as root.
	if err := os.Symlink("nowhere", filepath.Join(dir, "broken.txt")); err != nil {
		t.Fatal(err)
	}
	got, errs := Load(dir, Options{})
	var slugs, paths []string
	for _, a := range got {
		slugs = append(slugs, a.Slug)
		paths = append(paths, a.Path)
	}
	if diff := cmp.Diff([]string{"second-story", "tie-story", "first-story", "same-name", "third-story"}, slugs); diff != "" {
		t.Errorf("slugs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b/two.md", "b/tie.txt", "a/one.txt", "dup1.txt", "deep/er/three.txt"}, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	var msgs []string
	for _, e := range errs {
		var pe *Error
		if !errors.As(e, &pe) {
			t.Errorf("got %T, want *Error", e)
		}
		msgs = append(msgs, e.Error())
	}
	want := []string{
		"bad.txt:2: missing date: the line after the title must be a date such as \"Feb. 23, 2025, 4:36 am ET\"",
		"broken.txt: cannot read: no such file or directory",
		"sub/dup2.md:3: duplicate slug \"same-name\": dup1.txt has it already (published 2026-10-01 00:00 UTC); this file is left out",
		"z/dup3.txt:1: duplicate slug \"same-name\": dup1.txt has it already (published 2026-10-01 00:00 UTC); this file is left out",
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestLoadMissingDir(t *testing.T) {
	got, errs := Load(filepath.Join(t.TempDir(), "nope"), Options{})
	if len(got) != 0 || len(errs) != 1 {
		t.Fatalf("got %d articles and %d errors, want 0 and 1", len(got), len(errs))
	}
}

func TestLoadUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	dir := t.TempDir()
	mustWrite(t, dir, map[string]string{"locked.txt": "T\nOct. 1, 2026\n30-Second Take\n- a\n"})
	if err := os.Chmod(filepath.Join(dir, "locked.txt"), 0); err != nil {
		t.Fatal(err)
	}
	_, errs := Load(dir, Options{})
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "locked.txt: cannot read") {
		t.Errorf("got %v, want one read error", errs)
	}
}

// TestSampleContent proves the repository's own articles all load.
func TestSampleContent(t *testing.T) {
	got, errs := Load(filepath.Join("..", "content"), Options{})
	for _, e := range errs {
		t.Error(e)
	}
	if len(got) < 8 {
		t.Errorf("got %d sample articles, want at least 8", len(got))
	}
	science := 0
	for _, a := range got {
		checkInvariants(t, a)
		if len(a.Missing) != 0 {
			t.Errorf("%s: missing %v", a.Path, a.Missing)
		}
		for _, tag := range a.Tags {
			if tag == "science" || tag == "space" {
				science++
				break
			}
		}
	}
	if science < 2 {
		t.Errorf("got %d science or space articles, want 2", science)
	}
}

// TestTOMLFrontMatter checks what the TOML decoder's values become: plain
// and escaped strings, lists with a trailing comma, booleans, offset and
// local date-times (read in the site's zone), and the line of each key.
func TestTOMLFrontMatter(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	src := "title = \"A \\\"quoted\\\" café\"\n# comment\n\ndate = 2026-10-05 10:00:00\n" +
		"updated = 2026-10-06T10:00:00-04:00\ntags = [\"a\", 'b',]\ndraft = false\n"
	lines, err := splitLines([]byte("+++\n" + src + "+++\n"))
	if err != nil {
		t.Fatal(err)
	}
	fields, end, err := readFront(lines)
	if err != nil {
		t.Fatal(err)
	}
	if end != 8 {
		t.Errorf("front matter ends at line index %d, want 8", end)
	}
	got := map[string]fmField{}
	for _, f := range fields {
		got[f.key] = f
	}
	if f := got["title"]; f.kind != 's' || f.str != `A "quoted" café` || f.line != 2 {
		t.Errorf("title: %+v", f)
	}
	if f := got["tags"]; f.kind != 'l' || !cmp.Equal(f.list, []string{"a", "b"}) || f.line != 7 {
		t.Errorf("tags: %+v", f)
	}
	if f := got["draft"]; f.kind != 'b' || f.b || f.line != 8 {
		t.Errorf("draft: %+v", f)
	}
	for key, want := range map[string]time.Time{
		"date":    time.Date(2026, 10, 5, 10, 0, 0, 0, ny),
		"updated": time.Date(2026, 10, 6, 14, 0, 0, 0, time.UTC),
	} {
		d, err := got[key].date(ny)
		if err != nil || !d.Equal(want) {
			t.Errorf("%s: got %v, %v; want %v", key, d, err, want)
		}
	}
}
