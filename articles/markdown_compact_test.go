package articles

import (
	"fmt"
	"reflect"
	"testing"
)

// TestPackedArticlesIndependent parses many articles with one reused
// Markdown state, so that their strings and slices share blocks, then
// appends to and overwrites every slice of each one: no other article may
// change, and each must still equal a fresh Parse of its file.
func TestPackedArticlesIndependent(t *testing.T) {
	st := &mdState{}
	var got []*Article
	var srcs [][]byte
	for i := range 40 {
		src := []byte(fmt.Sprintf("+++\ntitle = \"Brief %d\"\ndate = 2026-01-%02dT10:00:00Z\ntags = [\"t%d\", \"shared\"]\n+++\n\n"+
			"## 30-Second Take\n- First **point** %d.\n- Second point %d.\n\n"+
			"## 2-Minute Digest\n### Essential Context\nContext %d, plain.\n\nMore *context* %d.\n\n"+
			"### Core Players\n- **P%d** – role\n\n### Key Numbers\n- **%d%%:** share\n\n"+
			"## Full Depth\n### The Catalyst\nCatalyst %d.\n\n### Data Points\n- **199%d:** event\n\nClosing %d.\n",
			i, 1+i%28, i, i, i, i, i, i, i, i, i%10, i))
		a, err := parse(fmt.Sprintf("b%d.md", i), src, Options{}, st)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
		srcs = append(srcs, src)
	}
	for _, a := range got {
		a.Tags = append(a.Tags, "x")
		a.Take = append(a.Take, Bullet{Text: "x"})
		a.tiers.Digest.Sections[0].Paragraphs = append(a.tiers.Digest.Sections[0].Paragraphs, "x")
		a.tiers.Digest.Players = append(a.tiers.Digest.Players, Player{Name: "x"})
		a.tiers.Digest.Numbers = append(a.tiers.Digest.Numbers, Number{Figure: "x"})
		a.tiers.Full.DataPoints = append(a.tiers.Full.DataPoints, DataPoint{Date: "x"})
		a.tiers.Full.Closing = append(a.tiers.Full.Closing, "x")
		a.tiers.Full.Sections = append(a.tiers.Full.Sections, Section{Title: "x"})
	}
	for i, a := range got {
		want, err := Parse(fmt.Sprintf("b%d.md", i), srcs[i], Options{})
		if err != nil {
			t.Fatal(err)
		}
		want.Tags = append(want.Tags, "x")
		want.Take = append(want.Take, Bullet{Text: "x"})
		want.tiers.Digest.Sections[0].Paragraphs = append(want.tiers.Digest.Sections[0].Paragraphs, "x")
		want.tiers.Digest.Players = append(want.tiers.Digest.Players, Player{Name: "x"})
		want.tiers.Digest.Numbers = append(want.tiers.Digest.Numbers, Number{Figure: "x"})
		want.tiers.Full.DataPoints = append(want.tiers.Full.DataPoints, DataPoint{Date: "x"})
		want.tiers.Full.Closing = append(want.tiers.Full.Closing, "x")
		want.tiers.Full.Sections = append(want.tiers.Full.Sections, Section{Title: "x"})
		if !reflect.DeepEqual(a, want) {
			t.Fatalf("article %d changed by its neighbours:\n%+v\nwant\n%+v", i, a, want)
		}
	}
}
