package articles

import (
	"strings"
	"testing"
)

func TestGFMTableAndStrikethrough(t *testing.T) {
	src := "+++\ntitle = \"Tables\"\ndate = 2026-01-02\n+++\n\n## 30-Second Take\n\n- One ~~old~~ new.\n\n## 2-Minute Digest\n\n### Prices\n\n| Item | Price |\n|------|------:|\n| Tea  | 2 |\n\nWas ~~3~~.\n"
	a, err := Parse("t.md", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.Take[0].HTML, "<del>old</del>") {
		t.Errorf("take HTML %q has no <del>", a.Take[0].HTML)
	}
	if len(a.tiers.Digest.Sections) == 0 {
		t.Fatal("no digest section")
	}
	h := a.tiers.Digest.Sections[0].HTML
	for _, want := range []string{"<table>", "<th>Item</th>", "<td>Tea</td>", "<del>3</del>"} {
		if !strings.Contains(h, want) {
			t.Errorf("digest HTML has no %q:\n%s", want, h)
		}
	}
}
