package articles

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mustSpill makes a Spill in a temporary folder.
func mustSpill(t *testing.T) *Spill {
	t.Helper()
	sp, err := NewSpill(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// Every article of the parser's golden files loaded with a Spill keeps no
// tier in memory, reads them back exactly as parsed, and has the same
// counted words and tier flags.
func TestSpillRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, name := range mustReadDir(t, "testdata/parse") {
		if strings.HasSuffix(name, ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join("testdata/parse", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plain, errs := Load(dir, Options{})
	spilled, serrs := Load(dir, Options{Spill: mustSpill(t)})
	if len(plain) == 0 || len(plain) != len(spilled) || len(errs) != len(serrs) {
		t.Fatalf("%d articles (%d errors) in memory, %d (%d) spilled", len(plain), len(errs), len(spilled), len(serrs))
	}
	for i, a := range spilled {
		if a.tiers != nil {
			t.Errorf("%s: tiers kept in memory", a.Path)
		}
		want, _ := json.Marshal(plain[i])
		got, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("%s: %v", a.Path, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: read back\n%s\nparsed\n%s", a.Path, got, want)
		}
		if a.HasDigest() != plain[i].HasDigest() || a.HasFull() != plain[i].HasFull() {
			t.Errorf("%s: tier flags differ", a.Path)
		}
		gd, gf := a.TierWords()
		wd, wf := plain[i].TierWords()
		if gd != wd || gf != wf || (plain[i].HasFull() && wf == 0) {
			t.Errorf("%s: words %d/%d, parsed %d/%d", a.Path, gd, gf, wd, wf)
		}
	}
}

// A file saved broken keeps its last good article, and that article's
// tiers are still read back, though the file no longer holds them.
func TestSpillKeepsLastGoodTiers(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.md")
	src := "+++\ntitle = \"Tides\"\ndate = 2024-03-01T08:00:00Z\n+++\n\n## 30-Second Take\n- The tides rise.\n\n## Full Depth\n### The Catalyst\nThe whole of the storm story.\n"
	if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewSet(dir, Options{Spill: mustSpill(t)})
	if err := os.WriteFile(name, []byte("+++\ntitle = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(name); err == nil {
		t.Fatal("the broken file was accepted")
	}
	arts, _ := s.Articles()
	if len(arts) != 1 {
		t.Fatalf("%d articles, want the last good one", len(arts))
	}
	tiers, err := arts[0].Tiers()
	if err != nil {
		t.Fatal(err)
	}
	if len(tiers.Full.Sections) != 1 || !strings.Contains(tiers.Full.Sections[0].HTML, "The whole of the storm story.") {
		t.Errorf("full depth of the last good version: %+v", tiers.Full)
	}
}

// A damaged record is an error from Tiers, never empty tiers.
func TestSpillDamaged(t *testing.T) {
	dir := t.TempDir()
	src := "+++\ntitle = \"Tides\"\ndate = 2024-03-01T08:00:00Z\n+++\n\n## 30-Second Take\n- The tides rise.\n\n## Full Depth\n### The Catalyst\nThe storm.\n"
	if err := os.WriteFile(filepath.Join(dir, "a.md"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sp := mustSpill(t)
	arts, _ := Load(dir, Options{Spill: sp})
	if len(arts) != 1 {
		t.Fatalf("%d articles", len(arts))
	}
	if err := sp.f.Truncate(int64(arts[0].spilled.n) / 2); err != nil {
		t.Fatal(err)
	}
	if tiers, err := arts[0].Tiers(); err == nil {
		t.Fatalf("a truncated record read back as %+v", tiers)
	}
	if _, err := json.Marshal(arts[0]); err == nil {
		t.Fatal("an article whose tiers cannot be read was written out")
	}
	for _, r := range []string{"", "\xff\xff\xff\xff\xff\xff", "\x00\x05ab"} {
		if _, err := decodeTiers([]byte(r)); err == nil {
			t.Errorf("record %q decoded", r)
		}
	}
}
