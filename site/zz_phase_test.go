package site

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"briefcast/articles"
	"briefcast/templates"
)

func TestZZPhases(t *testing.T) {
	if os.Getenv("PHASES") == "" {
		t.Skip()
	}
	content := t.TempDir()
	writeCorpus(t, content, 10000)
	out := t.TempDir()
	cfg := testConfig()
	cfg.Feeds.Items = 50
	for i := range 2 {
		t0 := time.Now()
		arts, _ := articles.Load(content, articles.Options{Location: time.UTC})
		t1 := time.Now()
		s, err := Build(cfg, arts, templates.Embedded())
		if err != nil {
			t.Fatal(err)
		}
		t2 := time.Now()
		if err := s.Write(filepath.Join(out, fmt.Sprintf("p%d", i))); err != nil {
			t.Fatal(err)
		}
		t3 := time.Now()
		var total int
		for _, f := range s.Files {
			total += len(f.Body)
		}
		t.Logf("load %v build %v write %v; %d files %d MB", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), len(s.Files), total>>20)
	}
}
