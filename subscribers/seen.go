package subscribers

import (
	"slices"
)

// seenSet remembers the 64-bit hashes of the addresses an import has seen
// and the line of each, in about 12 bytes an address: a sorted array
// searched by bisection, plus a small map of recent ones merged into it
// when full. A plain map of a million entries costs three times as much at
// its peak, which matters for keeping a million-row import under 100 MB.
type seenSet struct {
	hs     []uint64 // sorted
	lines  []uint32 // lines[i] is the line of hs[i]
	recent map[uint64]uint32
}

const seenRecent = 1 << 15

func newSeenSet() *seenSet {
	return &seenSet{recent: make(map[uint64]uint32, seenRecent)}
}

// line returns the line where h was first seen.
func (s *seenSet) line(h uint64) (uint32, bool) {
	if l, ok := s.recent[h]; ok {
		return l, true
	}
	if i, ok := slices.BinarySearch(s.hs, h); ok {
		return s.lines[i], true
	}
	return 0, false
}

// add records h, first seen at line.
func (s *seenSet) add(h uint64, line uint32) {
	s.recent[h] = line
	if len(s.recent) >= seenRecent {
		s.merge()
	}
}

// merge moves the recent hashes into the sorted arrays, merging from the
// back in place.
func (s *seenSet) merge() {
	add := make([]uint64, 0, len(s.recent))
	for h := range s.recent {
		add = append(add, h)
	}
	slices.Sort(add)
	n, m := len(s.hs), len(add)
	s.hs = slices.Grow(s.hs, m)[:n+m]
	s.lines = slices.Grow(s.lines, m)[:n+m]
	i, j := n-1, m-1
	for k := n + m - 1; j >= 0; k-- {
		if i >= 0 && s.hs[i] > add[j] {
			s.hs[k], s.lines[k] = s.hs[i], s.lines[i]
			i--
		} else {
			s.hs[k], s.lines[k] = add[j], s.recent[add[j]]
			j--
		}
	}
	clear(s.recent)
}
