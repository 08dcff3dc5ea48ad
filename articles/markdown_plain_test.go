package articles

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// bothPaths parses one Markdown file with readPlain allowed and with
// goldmark only, fails the test unless both give the same article or the
// same error, and reports whether readPlain read the body.
func bothPaths(t *testing.T, name string, data []byte) bool {
	t.Helper()
	fast := &mdState{}
	got, gotErr := parse(name, data, Options{}, fast)
	want, wantErr := parse(name, data, Options{}, &mdState{goldmarkOnly: true})
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("%s: error %v, goldmark gives %v\ninput:\n%s", name, gotErr, wantErr, data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: plain path gives\n%#v\ngoldmark gives\n%#v\ninput:\n%s", name, got, want, data)
	}
	return fast.plainBodies > 0
}

// corpusArticle is an article shaped as the site's benchmark corpus: take
// bullets, a digest with context, players and numbers, four full-depth
// sections, a data-points timeline and a closing paragraph.
func corpusArticle(r *rand.Rand, i int) string {
	words := strings.Fields("river harbor council budget season forecast market school library transit bridge garden")
	sentence := func(n int) string {
		w := make([]string, n)
		for k := range w {
			w[k] = words[r.IntN(len(words))]
		}
		s := strings.Join(w, " ")
		return strings.ToUpper(s[:1]) + s[1:] + "."
	}
	paragraph := func() string {
		var p []string
		for range 4 {
			p = append(p, sentence(10+r.IntN(8)))
		}
		return strings.Join(p, " ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "+++\ntitle = \"Brief %d: %s\"\ndate = 2026-01-02T06:00:00Z\ntags = [\"topic-%02d\"]\n+++\n\n", i, strings.TrimSuffix(sentence(5), "."), r.IntN(50))
	b.WriteString("## 30-Second Take\n")
	for range 3 {
		b.WriteString("- " + sentence(12) + "\n")
	}
	b.WriteString("\n## 2-Minute Digest\n### Essential Context\n" + paragraph() + "\n\n### Core Players\n")
	for k := range 3 {
		fmt.Fprintf(&b, "- **Player %d** – %s\n", k, strings.TrimSuffix(sentence(6), "."))
	}
	b.WriteString("\n### Key Numbers\n")
	for k := range 3 {
		fmt.Fprintf(&b, "- **%d%%:** %s\n", 10*k+r.IntN(10), strings.TrimSuffix(sentence(6), "."))
	}
	b.WriteString("\n## Full Depth\n")
	for _, h := range []string{"The Catalyst", "Inside Forces", "Power Dynamics", "Outside Impact"} {
		b.WriteString("### " + h + "\n" + paragraph() + "\n\n" + paragraph() + "\n\n")
	}
	b.WriteString("### Data Points\n")
	for k := range 4 {
		fmt.Fprintf(&b, "- **%d:** %s\n", 1990+5*k, strings.TrimSuffix(sentence(7), "."))
	}
	b.WriteString("\n" + paragraph() + "\n")
	return b.String()
}

// TestPlainMarkdownFiles compares both paths on every Markdown file of the
// tests and the sample content, and on generated articles, which must all
// take the plain path.
func TestPlainMarkdownFiles(t *testing.T) {
	var files []string
	for _, dir := range []string{"testdata/parse", "testdata/errors", "../content"} {
		for _, ext := range []string{"*.md", "*.markdown"} {
			names, _ := filepath.Glob(filepath.Join(dir, ext))
			files = append(files, names...)
		}
	}
	if len(files) < 10 {
		t.Fatalf("found %d Markdown files", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bothPaths(t, f, data)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		data := corpusArticle(r, i)
		if !bothPaths(t, fmt.Sprintf("gen-%d.md", i), []byte(data)) {
			t.Fatalf("generated article %d did not take the plain path:\n%s", i, data)
		}
		bothPaths(t, fmt.Sprintf("bench-%d.md", i), []byte(benchMarkdown(i)))
	}
}

// plainCases are bodies, or parts of one, on the edge of what readPlain
// accepts. plain says whether it must read them (as a whole article in
// every wrapper of TestPlainMarkdownCases where it parses).
var plainCases = []struct {
	body  string
	plain bool
}{
	{"Plain text.", true},
	{"Text with \"quotes\", 'single' and > arrows.", true},
	{"Line one\nline two", true},
	{"Line one\nline two\nline three.", true},
	{"**Bold** start.", true},
	{"Middle **bold** word.", true},
	{"**Bold**", true},
	{"**10%:** ten percent", true},
	{"**Player 1** – role", true},
	{"**a** and **b**.", true},
	{"**x**y", false},
	{"**x**.", true},
	{"**x:**.", false},
	{"a**b**", false},
	{"**a**b**c**", false},
	{"** a**", false},
	{"**a **", false},
	{"***a***", false},
	{"****", false},
	{"**a", false},
	{"*a*", false},
	{"_a_", false},
	{"a_b", false},
	{"**a\nb**", false},
	{"**a** b\nc", false},
	{"a\nb **c**", false},
	{"a\\*b", false},
	{"a\\\nb", false},
	{"a  \nb", false},
	{"a \nb", false},
	{"a&amp;b", false},
	{"a &copy b", false},
	{"a <b>c</b>", false},
	{"a `code`", false},
	{"[link](x)", false},
	{"x [link](x)", false},
	{"![img](x)", false},
	{"a!b! c", true},
	{"a]b", false},
	{"a~~b~~", false},
	{"a|b|c", true},
	{"http://example.com/a?b=c#d", true},
	{"<http://example.com>", false},
	{"a@b.example", true},
	{"1. one", false},
	{"1) one", false},
	{"2020. A year", false},
	{"2020 was a year", true},
	{"2020", true},
	{"10 things", true},
	{"- a\n- b", true},
	{"- a\n- **b** c", true},
	{"- a\n\n- b", false},
	{"- a\nb", false},
	{"- a\n  b", false},
	{"- a\n## H", false},
	{"- a\n\n## Heading", true},
	{"- a\n\nPara", true},
	{"- a\n\n\n\nPara", true},
	{"- - a", false},
	{"- # h", false},
	{"- > q", false},
	{"- 1. x", false},
	{"- 1 x", true},
	{"-a", false},
	{"- ", false},
	{"-", false},
	{"-  a", false},
	{"---", false},
	{"- - -", false},
	{"***", false},
	{"___", false},
	{"* a", false},
	{"+ a", false},
	{"Para\n- a", false},
	{"Para\n## H", false},
	{"Para\n===", false},
	{"Para\n---", false},
	{"Para\n  indented", false},
	{"    code", false},
	{"\tTab", false},
	{"a\tb", false},
	{"> quote", false},
	{"<div>html</div>", false},
	{"```\ncode\n```", false},
	{"~~~\ncode\n~~~", false},
	{"[a]: http://example.com", false},
	{"# H1", true},
	{"## H #", false},
	{"## H#", false},
	{"## C# language", true},
	{"## **Strong** heading", true},
	{"####### seven", false},
	{"#no space", false},
	{"##  two spaces", false},
	{"## trailing ", false},
	{"##", false},
	{"## ", false},
	{"Trailing space ", false},
	{"Non-ASCII café – “quotes” — dash", true},
	{"“Quoted” start", true},
	{"**“Quoted”**", false},
	{"Ends in em space\u2003", true},
	{"\u2003Starts with em space", false},
	{"\u3000Ideographic space", false},
	{"Line\u2028separator", true},
	{"Next\u0085line", true},
	{"No-break\u00a0space", true},
	{"No-break at end\u00a0", false},
	{"\u00a0No-break start", false},
	{"Figure\u2007space and narrow\u202fspace", true},
	{"Doubled  spaces inside", true},
	{"a\x00b", true}, // C0 controls are stripped before either path sees them
	{"a\x7fb", false},
	{"a\x0bb", true},
	{"Para\n\n\n\nPara2", true},
	{"   ", true},
	{"", true},
	{"Ünïcödé ☃ 🙂 text", true},
	{"x > y and \"z\"", true},
	{"**\"q\"**", false},
	{"**a)** b", true},
	{"**a.**b", false},
}

// plainWrappers put a case where each kind of block is read: the take,
// prose, structured lists, closing text, before the take, a title.
var plainWrappers = []string{
	"+++\ntitle = \"T\"\ndate = 2026-01-02\n+++\n## 30-Second Take\n%s\n",
	"+++\ntitle = \"T\"\ndate = 2026-01-02\n+++\n## 30-Second Take\n- one\n\n## Full Depth\n### The Catalyst\n%s\n",
	"+++\ntitle = \"T\"\ndate = 2026-01-02\n+++\n## 30-Second Take\n- one\n\n## 2-Minute Digest\n### Core Players\n%s\n",
	"+++\ntitle = \"T\"\ndate = 2026-01-02\n+++\n## 30-Second Take\n- one\n\n## 2-Minute Digest\n### Key Numbers\n%s\n\nAfter.\n",
	"+++\ntitle = \"T\"\ndate = 2026-01-02\n+++\n## 30-Second Take\n- one\n\n## Full Depth\n### Data Points\n- **1990:** a\n\n%s\n",
	"+++\ntitle = \"T\"\ndate = 2026-01-02\n+++\n%s\n\n## 30-Second Take\n- one\n",
	"+++\ndate = 2026-01-02\n+++\n# %s\n\n## 30-Second Take\n- one\n",
	"---\ntitle: T\ndate: 2026-01-02\n---\n\n## 30-Second Take\n- one\n- two\n\n## 2-Minute Digest\n%s\n## Full Depth\n%s\n",
}

// TestPlainMarkdownCases compares both paths on every case in every
// wrapper, and checks that readPlain takes, or leaves to goldmark, the
// cases it should.
func TestPlainMarkdownCases(t *testing.T) {
	for _, c := range plainCases {
		for k, w := range plainWrappers {
			args := []any{c.body}
			if strings.Count(w, "%s") == 2 {
				args = append(args, c.body)
			}
			src := fmt.Sprintf(w, args...)
			plain := bothPaths(t, fmt.Sprintf("case-%d.md", k), []byte(src))
			// Wrappers 0 to 3 and 5 leave the case its own block(s):
			// readPlain must decide as the table says.
			if k <= 5 && k != 4 && plain != c.plain {
				t.Errorf("%q in wrapper %d: plain path %v, want %v", c.body, k, plain, c.plain)
			}
		}
	}
}

// TestPlainMarkdownErrors checks that the plain path reports the errors of
// the goldmark path.
func TestPlainMarkdownErrors(t *testing.T) {
	front := "+++\ntitle = \"T\"\ndate = 2026-01-02\n+++\n"
	for _, body := range []string{
		"Text before.\n\n## 30-Second Take\n- one\n",
		"## 30-Second Take\nProse in the take.\n",
		"## 30-Second Take\n- 1\n- 2\n- 3\n- 4\n- 5\n- 6\n",
		"## 30-Second Take\n\n## Unknown\nText.\n",
		"## 30-Second Take\n- one\n\n# Another Title\n",
		"# Another Title\n\n## 30-Second Take\n- one\n",
		"## Random\n\n## 30-Second Take\n- one\n",
		"",
		"## 30-Second Take\n",
	} {
		if !bothPaths(t, "err.md", []byte(front+body)) {
			t.Errorf("%q: not read by the plain path", body)
		}
	}
}

// FuzzPlainMarkdown compares both paths on any body under a valid front
// matter.
func FuzzPlainMarkdown(f *testing.F) {
	for _, c := range plainCases {
		f.Add("## 30-Second Take\n- one\n\n## Full Depth\n### Section\n" + c.body + "\n")
		f.Add("## 30-Second Take\n" + c.body + "\n")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 3 {
		a := corpusArticle(r, i)
		f.Add(a[strings.Index(a[3:], "+++")+7:])
	}
	f.Fuzz(func(t *testing.T, body string) {
		front := "+++\ntitle = \"T\"\ndate = 2026-01-02\n+++\n"
		bothPaths(t, "fuzz.md", []byte(front+body))
	})
}

// TestPlainMarkdownReuse reads plain and goldmark bodies one after the
// other with one state, as a Load worker does.
func TestPlainMarkdownReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	st := &mdState{}
	for i := range 50 {
		src := corpusArticle(r, i)
		if i%3 == 0 {
			src = strings.Replace(src, "## Full Depth\n", "## Full Depth\nSee [the notes](notes.html) and *more*.\n\n", 1)
		}
		got, err := parse("a.md", []byte(src), Options{Location: time.UTC}, st)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Parse("a.md", []byte(src), Options{Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("article %d differs when the state is reused", i)
		}
	}
}
