package articles

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchText is a small plain-text article with every tier.
func benchText(i int) string {
	return fmt.Sprintf(`Bench Story Number %d About Harbour Works

Oct. %d, 2026, %d:15 am ET
Tags: bench, cities

Instant Insight
30-Second Take
  • The harbour wall repair starts on Monday and runs for six weeks.
  • Ferries keep their timetable, but the north quay closes.
  • Anglers can use the south pier for the whole period.

+ Dive Deeper
2-Minute Digest
Essential Context

The wall was last repaired twenty years ago. Winter storms opened two cracks.

Core Players
  • Harbour Board – owner of the wall
  • Stonefield Works – contractor

Key Numbers
  • 6 weeks: length of the works
  • 120 m: wall to be repaired

+ Full Analysis
Full Depth
The Catalyst

Two storms last winter widened the cracks and moved a few stones.

Future Forces

The board plans a wider review of the harbour next year.

Data Points
  • 2006: last repair
  • 2026: works begin

The quay should reopen before the winter timetable.
`, i, i%28+1, i%12+1)
}

// benchMarkdown is a small Markdown article with every tier.
func benchMarkdown(i int) string {
	return fmt.Sprintf(`+++
title = "Bench Story Number %d About Rail Works"
date = 2026-10-%02dT%02d:30:00Z
tags = ["bench", "transport"]
+++

## 30-Second Take
- Weekend trains on the coast line are replaced by **buses** for a month.
- The bridge at the estuary gets new bearings.
- Weekday services are _not_ affected.

## 2-Minute Digest
### Essential Context
The estuary bridge carries the only line along the coast. Its bearings are worn.

### Core Players
- **Coast Rail** – operator
- **Bridgeworks Ltd** – contractor

### Key Numbers
- **4:** weekends of closures
- **1911:** year the bridge opened

## Full Depth
### The Catalyst
An inspection in spring found the bearings near the end of their life.

### Future Forces
The line may get longer trains once the work is done.

### Data Points
- **1911:** bridge opens
- **2026:** bearings replaced

Passengers are asked to check times before travelling.
`, i, i%28+1, i%24)
}

func BenchmarkParseText(b *testing.B) {
	data := []byte(benchText(1))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("bench.txt", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMarkdown(b *testing.B) {
	data := []byte(benchMarkdown(1))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("bench.md", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad10k loads 10,000 small articles, half in each layout, spread
// over 100 folders.
func BenchmarkLoad10k(b *testing.B) {
	dir := b.TempDir()
	for i := range 10000 {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%100))
		if i < 100 {
			if err := os.Mkdir(sub, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		name, body := fmt.Sprintf("a%05d.txt", i), benchText(i)
		if i%2 == 1 {
			name, body = fmt.Sprintf("a%05d.md", i), benchMarkdown(i)
		}
		if err := os.WriteFile(filepath.Join(sub, name), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		got, errs := Load(dir, Options{})
		if len(errs) != 0 || len(got) != 10000 {
			b.Fatalf("got %d articles and %d errors (first: %v)", len(got), len(errs), errs[0])
		}
	}
}
