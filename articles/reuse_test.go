package articles

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestLoadWorkerReuse parses every sample file one after the other with
// one reused worker, in two different orders, and checks that each article
// (or error) is exactly what a fresh Parse of that file gives: nothing of
// one file's buffers may leak into the next.
func TestLoadWorkerReuse(t *testing.T) {
	dir := filepath.Join("testdata", "parse")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	if len(names) < 2 {
		t.Fatalf("need at least 2 sample files, have %d", len(names))
	}
	reversed := make([]string, len(names))
	for i, n := range names {
		reversed[len(names)-1-i] = n
	}
	for _, order := range [][]string{names, reversed, append(names, names...)} {
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatal(err)
		}
		w := &loadWorker{l: &loader{dir: dir, root: abs}, md: &mdState{}}
		for _, name := range order {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			want, wantErr := Parse(name, data, Options{})
			r := w.loadOne(source{rel: name, path: filepath.Join(abs, name)})
			got, gotErr := r.a, r.err
			if wantErr != nil || gotErr != nil {
				if wantErr == nil || gotErr == nil || wantErr.Error() != gotErr.Error() {
					t.Errorf("%s: error %v, want %v", name, gotErr, wantErr)
				}
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: reused worker gives\n%+v\nwant\n%+v", name, got, want)
			}
		}
	}
}

// TestReadLimited reads files of several sizes into a reused buffer.
func TestReadLimited(t *testing.T) {
	dir := t.TempDir()
	var buf []byte
	for _, size := range []int{0, 1, 511, 512, 513, 100 << 10, 3} {
		want := bytes.Repeat([]byte("abcdefg\n"), size/8+1)[:size]
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readLimited(f, int64(size), 100<<10, buf[:0])
		f.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: got %d bytes, %v", size, len(got), err)
		}
		buf = got
	}
}

// endless is a reader that never ends, like /dev/zero or a file that keeps
// growing, and counts what was taken from it.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.read += int64(len(p))
	return len(p), nil
}

// TestReadLimitedStopsAtLimit proves that a source longer than the limit
// is refused after reading just past the limit, whatever its announced
// size: memory stays bounded by the limit, not by the file.
func TestReadLimitedStopsAtLimit(t *testing.T) {
	for _, size := range []int64{0, 10, 1 << 20} {
		src := &endless{}
		_, err := readLimited(src, size, 1000, nil)
		if !errors.Is(err, errTooBig) {
			t.Fatalf("size %d: got %v, want errTooBig", size, err)
		}
		if src.read > 1001 {
			t.Errorf("size %d: read %d bytes, want at most 1001", size, src.read)
		}
	}
	got, err := readLimited(strings.NewReader(strings.Repeat("y", 1000)), 0, 1000, nil)
	if err != nil || len(got) != 1000 {
		t.Errorf("exactly the limit: got %d bytes, %v; want 1000, nil", len(got), err)
	}
}
