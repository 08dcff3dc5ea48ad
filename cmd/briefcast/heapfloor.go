package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// serveHeapFloor is the heap size below which serve does not collect.
// A small site leaves a live heap of a few MB, and at the default GOGC the
// collector then runs every few milliseconds under load, costing several
// per cent of every request; 64 MB of headroom removes that at a memory
// cost an operator will not notice. Sites whose live heap is larger than
// half the floor get the default GOGC of 100.
const serveHeapFloor = 64 << 20

// keepHeapFloor sets GOGC after every collection so that the heap may grow
// to floor before the next one, or to twice the live heap if that is more.
// GOMEMLIMIT still caps it. It does nothing when the operator set GOGC.
// stop restores the percentage in force before.
func keepHeapFloor(floor uint64) (stop func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	var (
		mu      sync.Mutex
		stopped bool
	)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/gogc:percent"}}
	metrics.Read(sample)
	prev, last := int(sample[1].Value.Uint64()), -1
	var after func(*gcSentinel)
	after = func(*gcSentinel) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if p := gcPercentFor(sample[0].Value.Uint64(), floor); p != last {
				debug.SetGCPercent(p)
				last = p
			}
		}
		runtime.SetFinalizer(&gcSentinel{}, after)
	}
	runtime.SetFinalizer(&gcSentinel{}, after)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		debug.SetGCPercent(prev)
	}
}

// gcSentinel is garbage made to be collected: its finalizer runs once per
// collection and plants the next one. It is large enough to escape the tiny
// allocator, whose objects may not be finalized.
type gcSentinel struct{ _ [32]byte }

// gcPercentFor is the GOGC that lets a heap of live bytes grow to floor,
// rounded down to a multiple of 100 so that small swings of the live heap
// do not retune it; never below 100.
func gcPercentFor(live, floor uint64) int {
	if live == 0 || live >= floor/2 {
		return 100
	}
	p := (floor - live) * 100 / live
	return int(max(100, p/100*100))
}
