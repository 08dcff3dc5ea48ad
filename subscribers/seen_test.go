package subscribers

import (
	"math/rand/v2"
	"testing"
)

func TestSeenSet(t *testing.T) {
	s := newSeenSet()
	want := map[uint64]uint32{}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3*seenRecent + 123 {
		h := r.Uint64() % (4 * seenRecent) // plenty of repeats
		if got, ok := s.line(h); ok != (want[h] != 0) || got != want[h] {
			t.Fatalf("line(%d) = %d, %v; want %d", h, got, ok, want[h])
		}
		if want[h] == 0 {
			s.add(h, uint32(i+1))
			want[h] = uint32(i + 1)
		}
	}
	for h, l := range want {
		if got, ok := s.line(h); !ok || got != l {
			t.Fatalf("at end line(%d) = %d, %v; want %d", h, got, ok, l)
		}
	}
}
