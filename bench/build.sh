#!/usr/bin/env bash
# bench/build.sh measures `briefcast build` itself on the benchmarks'
# 10,000-article corpus: wall time and peak memory (maximum resident set
# size) of three full builds, each into a fresh output folder. Run it on an
# idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
BRIEFCAST_CORPUS="$work/content" go test -count=1 -run '^TestWriteBenchCorpus$' ./site >/dev/null
go build -o "$work/briefcast" ./cmd/briefcast
cat >"$work/config.toml" <<TOML
[site]
title = "Bench"
base_url = "https://example.org/"
content_dir = "content"
output_dir = "public"
[feeds]
items = 50
TOML
for i in 1 2 3; do
	rm -rf "$work/public"
	/usr/bin/time -f "build $i: %e s wall, %U s user, %S s sys, peak RSS %M KiB" \
		"$work/briefcast" --config "$work/config.toml" build 2>&1 >/dev/null | grep -E '^build [0-9]'
done
