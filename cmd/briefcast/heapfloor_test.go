package main

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		live, floor uint64
		want        int
	}{
		{2 * mb, 64 * mb, 3100},  // a small site: collect at 64 MB, not at 4
		{3 * mb, 64 * mb, 2000},  // 2033 rounded down
		{20 * mb, 64 * mb, 200},  // 220 rounded down
		{31 * mb, 64 * mb, 100},  // 106: the default
		{32 * mb, 64 * mb, 100},  // half the floor or more: the default
		{500 * mb, 64 * mb, 100}, // a large site
		{0, 64 * mb, 100},        // nothing measured yet
	} {
		if got := gcPercentFor(tc.live, tc.floor); got != tc.want {
			t.Errorf("gcPercentFor(%d MB, %d MB) = %d, want %d", tc.live/mb, tc.floor/mb, got, tc.want)
		}
	}
}

// TestKeepHeapFloor checks that the hook retunes GOGC after a collection
// and that stop puts the old value back.
func TestKeepHeapFloor(t *testing.T) {
	t.Setenv("GOGC", "")
	gogc := func() int {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(s)
		return int(s[0].Value.Uint64())
	}
	before := gogc()
	stop := keepHeapFloor(1 << 40) // far above this test's live heap
	deadline := time.Now().Add(10 * time.Second)
	for gogc() == before && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // finalizers run on their own goroutine
	}
	if got := gogc(); got <= before {
		t.Fatalf("GOGC after collections with a 1 TB floor: %d, want more than %d", got, before)
	}
	stop()
	if got := gogc(); got != before {
		t.Errorf("GOGC after stop: %d, want %d", got, before)
	}
}
