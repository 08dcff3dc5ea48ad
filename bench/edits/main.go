// Command edits measures how a running `briefcast serve` follows edits to
// its content folder, from outside (HTTP and /proc, so it does not depend
// on the daemon's internals). Each run copies the corpus into a fresh
// temporary folder and starts `briefcast serve --no-scheduler` there. An
// edit puts a new marker word into an article's first take bullet, saved as
// editors do (a temporary file renamed over it) or in place; then the page
// and /feed.xml are polled with If-None-Match until both serve the marker.
//
// Latency mode (-edits N) edits the feed's 50 articles in turn (-old: 50
// articles too old for the feed; their page only) and, unless
// -settle=false, waits for the page's static copy in output_dir before the
// next edit. Soak mode (-soak N) makes N edits back to back, each waited
// for until served, reading the server's VmRSS after each.
package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	binary, content, write string
	edits, soak, port      int
	old, settle            bool
	interval, timeout      time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "", "the briefcast binary to run (required)")
	flag.StringVar(&o.content, "content", "", "corpus folder, copied for each run (required; never modified)")
	flag.StringVar(&o.write, "write", "rename", "how an edit is saved: rename (a temporary file renamed over the article) or inplace")
	flag.IntVar(&o.edits, "edits", 100, "edits measured in latency mode")
	flag.IntVar(&o.soak, "soak", 0, "soak mode: this many edits back to back, reading the server's RSS after each")
	flag.IntVar(&o.port, "port", 0, "the server's public port (0: a free one)")
	flag.BoolVar(&o.old, "old", false, "edit articles too old for /feed.xml and wait for their page only")
	flag.BoolVar(&o.settle, "settle", true, "latency mode: wait for the static copy in output_dir before the next edit")
	flag.DurationVar(&o.interval, "interval", time.Millisecond, "pause between polls")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "longest wait for one edit to be served")
	flag.Parse()
	if o.binary == "" || o.content == "" || (o.write != "rename" && o.write != "inplace") {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "edits:", err)
		os.Exit(1)
	}
}

// target is one article to edit: its file, its page and its text.
type target struct {
	path, page string
	original   []byte
}

func run(ctx context.Context, o options) (err error) {
	if o.binary, err = filepath.Abs(o.binary); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "briefcast-edits-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.CopyFS(filepath.Join(work, "content"), os.DirFS(o.content)); err != nil {
		return fmt.Errorf("copy corpus: %w", err)
	}
	port := o.port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return err
		}
	}
	// The metrics listener takes any free port: nothing here reads it.
	base := fmt.Sprintf("http://127.0.0.1:%d/", port)
	cfg := fmt.Sprintf("data_dir = \"data\"\n[site]\ntitle = \"Edits bench\"\nbase_url = %q\n"+
		"content_dir = \"content\"\noutput_dir = \"public\"\n[feeds]\nitems = 50\n"+
		"[server]\nlisten = \"127.0.0.1:%d\"\nmetrics_listen = \"127.0.0.1:0\"\n", base, port)
	if err := os.WriteFile(filepath.Join(work, "config.toml"), []byte(cfg), 0o644); err != nil {
		return err
	}

	logf, err := os.Create(filepath.Join(work, "serve.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(o.binary, "--config", filepath.Join(work, "config.toml"), "serve", "--no-scheduler")
	cmd.Dir, cmd.Stdout, cmd.Stderr = work, logf, logf
	// A process group of its own: Ctrl-C reaches only this tool, which
	// stops the server before removing the folder under it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", o.binary, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM) // killed if it has not stopped in 10 s
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if err != nil && ctx.Err() == nil {
			b, _ := os.ReadFile(logf.Name())
			lines := strings.SplitAfter(string(b), "\n")
			fmt.Fprintf(os.Stderr, "serve.log, last lines:\n%s", strings.Join(lines[max(len(lines)-16, 0):], ""))
		}
	}()

	began := time.Now()
	c := &client{http: &http.Client{Timeout: 10 * time.Second}, etags: map[string]string{}}
	for _, _, err := c.get(ctx, base+"feed.xml"); err != nil; _, _, err = c.get(ctx, base+"feed.xml") {
		select {
		case <-exited:
			return errors.New("the server exited before serving")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	pid := cmd.Process.Pid
	rss, hwm := memory(pid)
	fmt.Printf("serve ready in %.1f s: VmRSS %s, VmHWM %s (the start-up peak)\n", time.Since(began).Seconds(), mb(rss), mb(hwm))

	targets, err := pickTargets(ctx, c, base, filepath.Join(work, "content"), o.old)
	if err != nil {
		return err
	}
	n := o.edits
	if o.soak > 0 {
		n = o.soak
	}
	fmt.Printf("%d edits (%s), rotating over %d articles (old: %v), polled every %v\n", n, o.write, len(targets), o.old, o.interval)

	var served, copied []time.Duration
	var maxRSS int64
	for i := 1; i <= n; i++ {
		t := targets[(i-1)%len(targets)]
		mark := fmt.Sprintf("editmark%06dz", i)
		start := time.Now()
		if err := edit(t, mark, o.write); err != nil {
			return err
		}
		urls := []string{t.page}
		if !o.old {
			urls = append(urls, base+"feed.xml")
		}
		if err := c.waitServed(ctx, urls, mark, start.Add(o.timeout), o.interval); err != nil {
			return fmt.Errorf("edit %d of %s: %w", i, filepath.Base(t.path), err)
		}
		served = append(served, time.Since(start))
		switch {
		case o.soak > 0:
			rss, _ := memory(pid)
			maxRSS = max(maxRSS, rss)
			if i == 10 || i == 100 || i == 500 || i%1000 == 0 || i == n {
				fmt.Printf("after %5d edits: VmRSS %s\n", i, mb(rss))
			}
		case o.settle:
			if err := waitFile(ctx, staticCopy(work, t.page), mark); err != nil {
				return fmt.Errorf("edit %d: %w", i, err)
			}
			copied = append(copied, time.Since(start))
		}
	}
	report("served", served)
	if o.settle && o.soak == 0 {
		report("static copy written", copied)
	}
	if o.soak > 0 {
		if err := waitFile(ctx, staticCopy(work, targets[(n-1)%len(targets)].page), fmt.Sprintf("editmark%06dz", n)); err != nil {
			return err
		}
		rss, hwm := memory(pid)
		fmt.Printf("max VmRSS after an edit %s; after the last static copy %s; VmHWM %s (the peak since start)\n",
			mb(maxRSS), mb(rss), mb(hwm))
	}
	return nil
}

// client fetches pages with the last ETag it saw for each.
type client struct {
	http  *http.Client
	etags map[string]string
}

// get fetches u: changed is false on 304 Not Modified.
func (c *client) get(ctx context.Context, u string) (body []byte, changed bool, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, false, err
	}
	if tag := c.etags[u]; tag != "" {
		req.Header.Set("If-None-Match", tag)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return nil, false, err
	case resp.StatusCode == http.StatusNotModified:
		return nil, false, nil
	case resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "":
		return nil, false, fmt.Errorf("GET %s: %s, ETag %q", u, resp.Status, resp.Header.Get("ETag"))
	}
	c.etags[u] = resp.Header.Get("ETag")
	return body, true, nil
}

// waitServed polls urls until each has answered 200 with mark in its body.
func (c *client) waitServed(ctx context.Context, urls []string, mark string, deadline time.Time, interval time.Duration) error {
	for {
		for i := 0; i < len(urls); i++ {
			body, changed, err := c.get(ctx, urls[i])
			if err != nil {
				return err
			}
			if changed && bytes.Contains(body, []byte(mark)) {
				urls = slices.Delete(urls, i, i+1)
				i--
			}
		}
		if len(urls) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%v not served in time", urls)
		}
		time.Sleep(interval) // a cancelled ctx fails the next get
	}
}

var (
	titleLine = regexp.MustCompile(`(?m)^title = (".*")$`)
	nonWord   = regexp.MustCompile(`[^a-z0-9]+`)
)

// pickTargets finds up to 50 articles to edit: the feed's items, or with
// old, the first files by name that are not in it, whose pages are at the
// slug of their title. Each page is fetched once, to check it and keep its
// ETag.
func pickTargets(ctx context.Context, c *client, base, content string, old bool) ([]target, error) {
	delete(c.etags, base+"feed.xml") // the body is needed, not a 304
	body, _, err := c.get(ctx, base+"feed.xml")
	if err != nil {
		return nil, err
	}
	var rss struct {
		Items []struct {
			Title string `xml:"title"`
			Link  string `xml:"link"`
		} `xml:"channel>item"`
	}
	if err := xml.Unmarshal(body, &rss); err != nil {
		return nil, fmt.Errorf("feed.xml: %w", err)
	}
	pages := map[string]string{} // title -> page URL
	for _, it := range rss.Items {
		pages[it.Title], _, _ = strings.Cut(it.Link, "#")
	}
	files, _ := filepath.Glob(filepath.Join(content, "*.md")) // sorted; the pattern is valid
	var ts []target
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var title string
		if m := titleLine.FindSubmatch(b); m != nil {
			title, _ = strconv.Unquote(string(m[1]))
		}
		page, inFeed := pages[title]
		if title == "" || old == inFeed {
			continue
		}
		if old {
			page = base + "articles/" + strings.Trim(nonWord.ReplaceAllString(strings.ToLower(title), "-"), "-") + "/"
		}
		if got, _, err := c.get(ctx, page); err != nil || !bytes.Contains(got, []byte(title)) {
			return nil, fmt.Errorf("%s: its page is not at %s (%v)", f, page, err)
		}
		if ts = append(ts, target{path: f, page: page, original: b}); len(ts) == 50 {
			break
		}
	}
	if len(ts) == 0 {
		return nil, errors.New("no article to edit")
	}
	return ts, nil
}

// edit saves t's file with mark at the start of the take's first bullet.
func edit(t target, mark, how string) error {
	const take = "## 30-Second Take\n- "
	i := bytes.Index(t.original, []byte(take))
	if i < 0 {
		return fmt.Errorf("%s: no 30-second take", t.path)
	}
	i += len(take)
	b := slices.Concat(t.original[:i], []byte(mark+" "), t.original[i:])
	if how == "inplace" {
		return os.WriteFile(t.path, b, 0o644)
	}
	// A hidden name, as editors use: briefcast skips files starting with ".".
	tmp := filepath.Join(filepath.Dir(t.path), "."+filepath.Base(t.path)+".swp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, t.path)
}

// staticCopy is the file in output_dir that holds page.
func staticCopy(work, page string) string {
	u, _ := url.Parse(page)
	return filepath.Join(work, "public", filepath.FromSlash(u.Path), "index.html")
}

func waitFile(ctx context.Context, path, mark string) error {
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline) && ctx.Err() == nil; {
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(mark)) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("the static copy %s did not show %s within 5 minutes", path, mark)
}

var vm = regexp.MustCompile(`(?m)^Vm(RSS|HWM):\s+(\d+) kB$`)

// memory reads VmRSS and VmHWM of a process, in KiB.
func memory(pid int) (rss, hwm int64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, m := range vm.FindAllSubmatch(b, -1) {
		kib, _ := strconv.ParseInt(string(m[2]), 10, 64)
		if string(m[1]) == "RSS" {
			rss = kib
		} else {
			hwm = kib
		}
	}
	return rss, hwm
}

// report prints the median, p90, p99 and max of d (nearest rank), and how
// many are within 100 ms.
func report(what string, d []time.Duration) {
	s := slices.Sorted(slices.Values(d))
	at := func(p float64) string { return ms(s[max(int(p*float64(len(s))+0.999999)-1, 0)]) }
	within, _ := slices.BinarySearch(s, 100*time.Millisecond+1)
	fmt.Printf("%s: median %s, p90 %s, p99 %s, max %s; %d of %d within 100 ms\n",
		what, at(0.5), at(0.9), at(0.99), ms(s[len(s)-1]), within, len(s))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func mb(kib int64) string { return fmt.Sprintf("%.0f MB", float64(kib)*1024/1e6) }

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
