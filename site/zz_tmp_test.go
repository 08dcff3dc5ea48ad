package site

import (
	"os"
	"runtime/pprof"
	"runtime"
	"testing"
	"time"

	"briefcast/articles"
	"briefcast/templates"
)

func TestZZLive(t *testing.T) {
	content := t.TempDir()
	writeCorpus(t, content, 10000)
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	base := m.HeapAlloc
	arts, _ := articles.Load(content, articles.Options{Location: time.UTC})
	runtime.GC()
	runtime.ReadMemStats(&m)
	t.Logf("articles live: %.1f MB", float64(m.HeapAlloc-base)/1e6)
	f, _ := os.Create("/work/tmpbin/heap.out")
	pprof.WriteHeapProfile(f)
	f.Close()
	cfg := testConfig()
	cfg.Feeds.Items = 50
	b := &builder{cfg: cfg, baseURL: "http://x/", basePath: "/", arts: sortArticles(arts)}
	b.pages, _ = newRenderer(templates.Embedded())
	b.groupTags()
	b.site = b.newSiteView()
	b.pages.chrome(b.site)
	b.prepare()
	runtime.GC()
	runtime.ReadMemStats(&m)
	t.Logf("with views: %.1f MB", float64(m.HeapAlloc-base)/1e6)
	runtime.KeepAlive(b)
}

func TestZZSize(t *testing.T) {
	content := t.TempDir()
	writeCorpus(t, content, 200)
	arts, _ := articles.Load(content, articles.Options{Location: time.UTC})
	var text, htm, paras, n int
	for _, a := range arts {
		for _, b := range a.Take {
			text += len(b.Text)
			htm += len(b.HTML)
		}
		for _, s := range append(append([]articles.Section{}, a.Digest.Sections...), a.Full.Sections...) {
			htm += len(s.HTML)
			for _, p := range s.Paragraphs {
				paras += len(p)
				n++
			}
		}
		for _, p := range a.Full.Closing {
			paras += len(p)
		}
	}
	t.Logf("per article: take text %d html %d paras %d (%d paras)", text/200, htm/200, paras/200, n/200)
}
