package site

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"briefcast/feeds"
)

// feedFiles renders the feeds of channel c from the newest articles of idx,
// at depth content, in the folder dir: c.Dir unescaped, as a File's Path is.
func (b *builder) feedFiles(c feeds.Channel, dir string, idx []int, content string) ([]*File, error) {
	if len(idx) > b.opts.FeedItems {
		idx = idx[:b.opts.FeedItems]
	}
	// Each feed makes its own items: holding them for an article's other
	// feeds (few) would cost more memory than making them again costs time.
	items := make([]*feeds.Item, len(idx))
	for k, i := range idx {
		a := b.arts[i]
		h, err := b.pages.feedHTML(b.newArticleView(a), content)
		if err != nil {
			return nil, err
		}
		if items[k], err = feeds.NewItem(a, b.baseURL, content, b.opts.Author, h); err != nil {
			return nil, fmt.Errorf("site: %w", err)
		}
		items[k].Image = b.feedImage(a)
	}
	return b.feedSet(c, items, dir, b.newest(idx))
}

// feedSet renders items as the three feeds of c, in the folder dir.
func (b *builder) feedSet(c feeds.Channel, items []*feeds.Item, dir string, mod time.Time) ([]*File, error) {
	var out []*File
	for _, f := range []struct {
		name, typ string
		render    func(feeds.Channel, []*feeds.Item) ([]byte, error)
	}{
		{feeds.RSSFile, feeds.RSSType, feeds.RSS},
		{feeds.AtomFile, feeds.AtomType, feeds.Atom},
		{feeds.JSONFile, feeds.JSONType, feeds.JSON},
	} {
		body, err := f.render(c, items)
		if err != nil {
			return nil, fmt.Errorf("site: /%s%s: %w", dir, f.name, err)
		}
		out = append(out, &File{Path: "/" + dir + f.name, Body: body, ContentType: f.typ, Modified: mod})
	}
	return b.out(-1, out...)
}

// runAll runs fn(0..n-1) on one worker per CPU, in batches, until one
// fails, and returns the first error.
func runAll(n int, fn func(i int) error) error {
	const batch = 16
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for {
				lo := int(next.Add(batch)) - batch
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+batch, n) && !failed.Load(); i++ {
					if errs[i] = fn(i); errs[i] != nil {
						failed.Store(true)
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
