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
		a.Digest.Sections[0].Paragraphs = append(a.Digest.Sections[0].Paragraphs, "x")
		a.Digest.Players = append(a.Digest.Players, Player{Name: "x"})
		a.Digest.Numbers = append(a.Digest.Numbers, Number{Figure: "x"})
		a.Full.DataPoints = append(a.Full.DataPoints, DataPoint{Date: "x"})
		a.Full.Closing = append(a.Full.Closing, "x")
		a.Full.Sections = append(a.Full.Sections, Section{Title: "x"})
	}
	for i, a := range got {
		want, err := Parse(fmt.Sprintf("b%d.md", i), srcs[i], Options{})
		if err != nil {
			t.Fatal(err)
		}
		want.Tags = append(want.Tags, "x")
		want.Take = append(want.Take, Bullet{Text: "x"})
		want.Digest.Sections[0].Paragraphs = append(want.Digest.Sections[0].Paragraphs, "x")
		want.Digest.Players = append(want.Digest.Players, Player{Name: "x"})
		want.Digest.Numbers = append(want.Digest.Numbers, Number{Figure: "x"})
		want.Full.DataPoints = append(want.Full.DataPoints, DataPoint{Date: "x"})
		want.Full.Closing = append(want.Full.Closing, "x")
		want.Full.Sections = append(want.Full.Sections, Section{Title: "x"})
		if !reflect.DeepEqual(a, want) {
			t.Fatalf("article %d changed by its neighbours:\n%+v\nwant\n%+v", i, a, want)
		}
	}
}
