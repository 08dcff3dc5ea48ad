package articles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds adds every testdata input of one layout to the corpus.
func fuzzSeeds(f *testing.F, ext string) {
	for _, dir := range []string{"testdata/parse", "testdata/errors"} {
		names, _ := filepath.Glob(filepath.Join(dir, "*"+ext))
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// checkFuzzed checks what must hold for any article Parse returns, whatever
// its input.
func checkFuzzed(t *testing.T, a *Article, err error) {
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("got %T, want *Error", err)
		}
		if a != nil {
			t.Fatal("got an article and an error")
		}
		return
	}
	if strings.TrimSpace(a.Title) == "" {
		t.Fatal("empty title")
	}
	if n := len(a.Take); n < 1 || n > maxTake {
		t.Fatalf("got %d take bullets", n)
	}
	if !validSlug(a.Slug) {
		t.Fatalf("bad slug %q", a.Slug)
	}
	strs := []string{a.Title, a.Slug, a.ID, a.Author}
	strs = append(strs, a.Tags...)
	for _, b := range a.Take {
		strs = append(strs, b.Text, b.HTML)
	}
	for _, s := range append(a.tiers.Digest.Sections, a.tiers.Full.Sections...) {
		strs = append(strs, s.Title, s.HTML)
		strs = append(strs, s.Paragraphs...)
	}
	for _, p := range a.tiers.Digest.Players {
		strs = append(strs, p.Name, p.Role)
	}
	for _, n := range a.tiers.Digest.Numbers {
		strs = append(strs, n.Figure, n.Meaning)
	}
	for _, d := range a.tiers.Full.DataPoints {
		strs = append(strs, d.Date, d.Event)
	}
	strs = append(strs, a.tiers.Full.Closing...)
	for _, s := range strs {
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 in %q", s)
		}
	}
	for _, tag := range a.Tags {
		if !validSlug(tag) {
			t.Fatalf("bad tag %q", tag)
		}
	}
}

func FuzzParseText(f *testing.F) {
	fuzzSeeds(f, ".txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse("fuzz.txt", data, Options{})
		checkFuzzed(t, a, err)
	})
}

func FuzzParseMarkdown(f *testing.F) {
	fuzzSeeds(f, ".md")
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse("fuzz.md", data, Options{})
		checkFuzzed(t, a, err)
	})
}
