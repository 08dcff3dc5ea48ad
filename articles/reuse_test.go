package articles

import (
	"bytes"
	"errors"
	"io/fs"
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
		w := &loadWorker{md: &mdState{}}
		for _, name := range order {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			want, wantErr := Parse(name, data, Options{})
			got, gotErr := w.loadOne(dir, filepath.Join(dir, name), Options{})
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

// TestReadInto reads files of several sizes into a reused buffer, and a
// missing file.
func TestReadInto(t *testing.T) {
	dir := t.TempDir()
	var buf []byte
	for _, size := range []int{0, 1, 511, 512, 513, 100 << 10, 3} {
		want := bytes.Repeat([]byte("abcdefg\n"), size/8+1)[:size]
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readInto(p, buf[:0])
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: got %d bytes, %v", size, len(got), err)
		}
		buf = got
	}
	if _, err := readInto(filepath.Join(dir, "missing"), buf[:0]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want a not-exist error", err)
	}
	if _, err := readInto(dir, buf[:0]); err == nil {
		t.Error("folder: no error")
	}
}
