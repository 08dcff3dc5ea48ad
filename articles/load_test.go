package articles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// article is a minimal valid .txt article.
func article(title, date string) string {
	return title + "\n" + date + "\n30-Second Take\n- one\n"
}

// mustSymlink makes a symbolic link at link pointing to target.
func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symbolic links: %v", err)
	}
}

// loadLogged is Load with its warnings captured as text.
func loadLogged(t *testing.T, dir string, opts Options) ([]*Article, []error, string) {
	t.Helper()
	var buf bytes.Buffer
	opts.Log = slog.New(slog.NewTextHandler(&buf, nil))
	arts, errs := loadGuarded(t, dir, opts)
	return arts, errs, buf.String()
}

// loadGuarded runs Load, failing the test instead of hanging forever when
// Load blocks (as it did on a named pipe).
func loadGuarded(t *testing.T, dir string, opts Options) ([]*Article, []error) {
	t.Helper()
	type out struct {
		arts []*Article
		errs []error
	}
	done := make(chan out, 1)
	go func() {
		arts, errs := Load(dir, opts)
		done <- out{arts, errs}
	}()
	select {
	case o := <-done:
		return o.arts, o.errs
	case <-time.After(30 * time.Second):
		t.Fatal("Load did not return within 30 s")
		return nil, nil
	}
}

func paths(arts []*Article) []string {
	var out []string
	for _, a := range arts {
		out = append(out, a.Path)
	}
	return out
}

func TestLoadSymlinkedContentDir(t *testing.T) {
	top := t.TempDir()
	mustWrite(t, filepath.Join(top, "articles"), map[string]string{
		"one.txt":     article("One", "Oct. 1, 2026"),
		"sub/two.txt": article("Two", "Oct. 2, 2026"),
	})
	content := filepath.Join(top, "content")
	mustSymlink(t, "articles", content)
	got, errs := loadGuarded(t, content, Options{})
	if len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
	if p := strings.Join(paths(got), " "); p != "sub/two.txt one.txt" {
		t.Errorf("got articles %q, want %q", p, "sub/two.txt one.txt")
	}
}

// TestLoadLinks checks which links Load follows: only those to a regular
// file inside the content folder that the walk does not read by itself.
// The others are skipped with a warning that names the link and says
// nothing of what it points to.
func TestLoadLinks(t *testing.T) {
	top := t.TempDir()
	secret := filepath.Join(top, "secret.txt")
	if err := os.WriteFile(secret, []byte("root:x:0:0\nSECOND-LINE-SECRET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(top, "content")
	mustWrite(t, dir, map[string]string{
		"_shared/kept.txt": article("Kept Through A Link", "Oct. 3, 2026"),
		"plain.txt":        article("Plain", "Oct. 1, 2026"),
		"folder/x.txt":     article("In A Folder", "Oct. 2, 2026"),
	})
	mustSymlink(t, "_shared/kept.txt", filepath.Join(dir, "linked.txt"))
	mustSymlink(t, "plain.txt", filepath.Join(dir, "again.txt"))
	mustSymlink(t, "folder", filepath.Join(dir, "folder.md"))
	mustSymlink(t, secret, filepath.Join(dir, "passwd.txt"))
	mustSymlink(t, "../secret.txt", filepath.Join(dir, "relative.md"))
	mustSymlink(t, "/dev/zero", filepath.Join(dir, "z.txt"))

	got, errs, log := loadLogged(t, dir, Options{})
	for _, e := range errs {
		t.Errorf("unexpected error: %v", e)
	}
	if p := strings.Join(paths(got), " "); p != "linked.txt folder/x.txt plain.txt" {
		t.Errorf("got articles %q, want %q", p, "linked.txt folder/x.txt plain.txt")
	}
	for _, name := range []string{"again.txt", "folder.md", "passwd.txt", "relative.md", "z.txt"} {
		if !strings.Contains(log, filepath.Join(dir, name)) {
			t.Errorf("no warning names %s; log:\n%s", name, log)
		}
	}
	if strings.Contains(log, "SECOND-LINE") || strings.Contains(log, "root:x") {
		t.Errorf("a warning shows the content of a file outside the content folder:\n%s", log)
	}
	if n := strings.Count(log, "level=WARN"); n != 5 {
		t.Errorf("got %d warnings, want 5:\n%s", n, log)
	}
}

// TestLoadOutsideFileNeverQuoted puts a link to an outside file that would
// fail to parse (its second line is not a date): no error may quote it.
func TestLoadOutsideFileNeverQuoted(t *testing.T) {
	top := t.TempDir()
	secret := filepath.Join(top, "passwd")
	if err := os.WriteFile(secret, []byte("root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:SECRET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(top, "content")
	mustWrite(t, dir, map[string]string{"ok.txt": article("Fine", "Oct. 1, 2026")})
	mustSymlink(t, secret, filepath.Join(dir, "passwd.txt"))
	got, errs, log := loadLogged(t, dir, Options{})
	if len(got) != 1 {
		t.Errorf("got %d articles, want 1", len(got))
	}
	for _, e := range errs {
		if strings.Contains(e.Error(), "daemon") || strings.Contains(e.Error(), "root:") {
			t.Errorf("error quotes a file outside the content folder: %v", e)
		}
	}
	if strings.Contains(log, "daemon") || strings.Contains(log, "root:") {
		t.Errorf("warning quotes a file outside the content folder:\n%s", log)
	}
}

func TestLoadTooBig(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, dir, map[string]string{
		"big.txt":   article("Big", "Oct. 1, 2026") + strings.Repeat("padding\n", 30),
		"small.txt": article("Small", "Oct. 2, 2026"),
	})
	got, errs := loadGuarded(t, dir, Options{MaxBytes: 200})
	if p := strings.Join(paths(got), " "); p != "small.txt" {
		t.Errorf("got articles %q, want small.txt", p)
	}
	want := "big.txt: the file is 278 bytes, over the limit of 200 bytes (site.max_article_bytes)"
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("got errors %v, want [%s]", errs, want)
	}
}

// TestLoadHugeFileNotRead gives Load a 64 GiB sparse file: it must be
// refused by its size alone, since reading it would take minutes and far
// more memory than the machine has.
func TestLoadHugeFileNotRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "huge.md")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 30); err != nil {
		f.Close()
		t.Skipf("sparse file: %v", err)
	}
	f.Close()
	_, errs := loadGuarded(t, dir, Options{})
	want := fmt.Sprintf("huge.md: the file is %d bytes, over the limit of %d bytes (site.max_article_bytes)", int64(64<<30), DefaultMaxBytes)
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("got errors %v, want [%s]", errs, want)
	}
}

func TestLoadTagCap(t *testing.T) {
	tags := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "t%d", i)
		}
		return b.String()
	}
	dir := t.TempDir()
	mustWrite(t, dir, map[string]string{
		"twenty.txt":   "Twenty\nOct. 1, 2026\nTags: " + tags(20) + "\n30-Second Take\n- one\n",
		"too-many.txt": "Too Many\nOct. 1, 2026\nTags: " + tags(21) + "\n30-Second Take\n- one\n",
		"flood.md":     "+++\ntitle = \"Flood\"\ndate = 2026-10-01\ntags = [" + strings.ReplaceAll(`"`+strings.ReplaceAll(tags(10000), ", ", `", "`)+`"`, "\n", "") + "]\n+++\n## 30-Second Take\n- one\n",
	})
	got, errs := loadGuarded(t, dir, Options{})
	if p := strings.Join(paths(got), " "); p != "twenty.txt" {
		t.Errorf("got articles %q, want twenty.txt", p)
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	want := []string{
		"flood.md:4: 10000 tags: an article may have at most 20",
		"too-many.txt:3: 21 tags: an article may have at most 20",
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("got errors\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}

// TestLoadDuplicateSlugKeepsFirstPublished: a new file that takes the slug
// of a live article is the one rejected, even when its path sorts first.
func TestLoadDuplicateSlugKeepsFirstPublished(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, dir, map[string]string{
		"z-live.md": "+++\ntitle = \"Live\"\nslug = \"the-story\"\ndate = 2026-01-05\n+++\n## 30-Second Take\n- live\n",
		"a-new.txt": article("The Story", "Feb. 1, 2026"),
	})
	got, errs := loadGuarded(t, dir, Options{})
	if p := strings.Join(paths(got), " "); p != "z-live.md" {
		t.Errorf("got articles %q, want z-live.md", p)
	}
	want := `a-new.txt:1: duplicate slug "the-story": z-live.md has it already (published 2026-01-05 00:00 UTC); this file is left out`
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("got errors %v, want [%s]", errs, want)
	}
}

// TestParseStripsControls puts C0 controls everywhere the layouts let them
// in: raw bytes in a .txt article and escapes in front matter and Markdown.
// None may be left in any field.
func TestParseStripsControls(t *testing.T) {
	var ctl strings.Builder
	for c := range 0x20 {
		if c != '\t' && c != '\n' && c != '\r' {
			ctl.WriteByte(byte(c))
		}
	}
	c := ctl.String()
	for _, tt := range []struct{ name, src string }{
		{"raw.txt", "Ti" + c + "tle\nOct. 1, 2026\nTags: a" + c + "b\n30-Second Take\n- NUL\x00here" + c + "\n+ Dive Deeper\n2-Minute Digest\nEssential Context\nPro\x01se.\nCore Players\n- Na\x02me – ro\x03le\n"},
		{"escapes.md", "+++\ntitle = \"Ti\\u0000t\\u0001le\\r\"\nauthor = \"A\"\ndate = 2026-10-01\n+++\n## 30-Second Take\n- one &#1; two &#0; three\x00\n\n## 2-Minute Digest\n### Essential Context\nPara &#x1b; with *em*\x07.\n"},
		{"escapes-yaml.md", "---\ntitle: \"Y\\0a\\x01\\e\"\ndate: 2026-10-01\n---\n## 30-Second Take\n- b\x1f\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.name, []byte(tt.src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(a); err != nil {
				t.Fatal(err)
			}
			// encoding/json writes every control but tab and newline as
			// \u00XX or \r.
			j := buf.String()
			if strings.Contains(j, `\u000`) || strings.Contains(j, `\u001`) || strings.Contains(j, `\r`) {
				t.Errorf("control characters left in the article:\n%s", j)
			}
		})
	}
}
