package site

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/templates"
)

// words is a neutral vocabulary for generated articles.
var words = strings.Fields(`river harbor council budget season forecast market school library
transit bridge garden orchard energy grid battery solar wind rail freight port museum
survey census rainfall harvest clinic vaccine satellite orbit telescope archive ferry
canal tunnel reservoir wetland forest valley summit coast island village district`)

func sentence(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = words[r.IntN(len(words))]
	}
	s := strings.Join(w, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

func paragraph(r *rand.Rand) string {
	var p []string
	for range 4 {
		p = append(p, sentence(r, 10+r.IntN(8)))
	}
	return strings.Join(p, " ")
}

// writeCorpus writes n Markdown articles of realistic size into dir: three
// take bullets, a digest with context, players and numbers, four
// full-depth sections with a data-points timeline, and two or three tags
// from a pool of fifty.
func writeCorpus(tb testing.TB, dir string, n int) {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2020, 1, 1, 6, 0, 0, 0, time.UTC)
	for i := range n {
		var b strings.Builder
		tags := make([]string, 0, 3)
		for range 2 + r.IntN(2) {
			tags = append(tags, fmt.Sprintf("%q", fmt.Sprintf("topic-%02d", r.IntN(50))))
		}
		fmt.Fprintf(&b, "+++\ntitle = \"Brief %d: %s\"\ndate = %s\ntags = [%s]\n+++\n\n",
			i, strings.TrimSuffix(sentence(r, 5), "."), start.Add(time.Duration(i)*47*time.Minute).Format(time.RFC3339), strings.Join(tags, ", "))
		b.WriteString("## 30-Second Take\n")
		for range 3 {
			b.WriteString("- " + sentence(r, 12) + "\n")
		}
		b.WriteString("\n## 2-Minute Digest\n### Essential Context\n" + paragraph(r) + "\n\n### Core Players\n")
		for k := range 3 {
			fmt.Fprintf(&b, "- **Player %d** – %s\n", k, strings.TrimSuffix(sentence(r, 6), "."))
		}
		b.WriteString("\n### Key Numbers\n")
		for k := range 3 {
			fmt.Fprintf(&b, "- **%d%%:** %s\n", 10*k+r.IntN(10), strings.TrimSuffix(sentence(r, 6), "."))
		}
		b.WriteString("\n## Full Depth\n")
		for _, h := range []string{"The Catalyst", "Inside Forces", "Power Dynamics", "Outside Impact"} {
			b.WriteString("### " + h + "\n" + paragraph(r) + "\n\n" + paragraph(r) + "\n\n")
		}
		b.WriteString("### Data Points\n")
		for k := range 4 {
			fmt.Fprintf(&b, "- **%d:** %s\n", 1990+5*k, strings.TrimSuffix(sentence(r, 7), "."))
		}
		b.WriteString("\n" + paragraph(r) + "\n")
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("brief-%05d.md", i)), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkBuild10k is what `briefcast build` does to a 10,000-article
// site: parse every file, render every page and feed, and write it all into
// a fresh folder (Publish, which writes each page as soon as it is
// rendered). The corpus is written to disk before the timer starts and is
// not kept in memory. Content and output live under b.TempDir, so TMPDIR
// chooses the file system: creating the 10,000 article folders and pages
// costs far more kernel time on a disk that has just deleted many files
// than on tmpfs. On ext4 without a journal, every new inode is found by
// stepping over each one freed in the last few minutes, so a run soon
// after another, whose cleanup deleted 70,000 files, can take twice as
// long: space runs apart. Peak memory is the test binary's maximum
// resident set size, run alone:
//
//	go test -c -o site.test ./site
//	/usr/bin/time -v ./site.test -test.run='^$' -test.bench='BenchmarkBuild10k$' -test.benchtime=1x -test.benchmem
func BenchmarkBuild10k(b *testing.B) {
	benchmarkBuild(b, func(cfg *config.Config, arts []*articles.Article, dir string) error {
		_, err := Publish(optionsOf(cfg), arts, templates.Embedded(), dir)
		return err
	})
}

// BenchmarkBuildInMemory10k is the same build through Build, which keeps the
// whole site in memory as a server does, followed by Write.
func BenchmarkBuildInMemory10k(b *testing.B) {
	benchmarkBuild(b, func(cfg *config.Config, arts []*articles.Article, dir string) error {
		s, err := Build(optionsOf(cfg), arts, templates.Embedded())
		if err != nil {
			return err
		}
		return s.Write(dir)
	})
}

func benchmarkBuild(b *testing.B, publish func(*config.Config, []*articles.Article, string) error) {
	content := b.TempDir()
	writeCorpus(b, content, 10000)
	out := b.TempDir()
	cfg := testConfig()
	cfg.Feeds.Items = 50
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		arts, errs := articles.Load(content, articles.Options{Location: time.UTC})
		if len(errs) > 0 {
			b.Fatalf("%d rejected, first: %v", len(errs), errs[0])
		}
		if err := publish(cfg, arts, filepath.Join(out, fmt.Sprintf("public-%d", i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublish10k is the site's own share of BenchmarkBuild10k: the
// 10,000 articles are parsed once, outside the timer, and each iteration
// renders and writes the whole site into a fresh folder.
func BenchmarkPublish10k(b *testing.B) {
	content := b.TempDir()
	writeCorpus(b, content, 10000)
	arts, errs := articles.Load(content, articles.Options{Location: time.UTC})
	if len(errs) > 0 {
		b.Fatalf("%d rejected, first: %v", len(errs), errs[0])
	}
	out := b.TempDir()
	cfg := testConfig()
	cfg.Feeds.Items = 50
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := Publish(optionsOf(cfg), arts, templates.Embedded(), filepath.Join(out, fmt.Sprintf("public-%d", i))); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteBenchCorpus writes the benchmarks' 10,000-article corpus into
// $BRIEFCAST_CORPUS, so the real binary can be measured on it
// (bench/build.sh); it skips when the variable is unset.
func TestWriteBenchCorpus(t *testing.T) {
	dir := os.Getenv("BRIEFCAST_CORPUS")
	if dir == "" {
		t.Skip("BRIEFCAST_CORPUS is not set")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeCorpus(t, dir, 10000)
}
