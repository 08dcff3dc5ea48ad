#!/usr/bin/env bash
# bench/go.sh runs the Go benchmarks behind the README's figures, one at a
# time, each as a compiled test binary under /usr/bin/time so that its peak
# memory (maximum resident set size) is reported beside ns/op and the
# custom metrics (msgs/s, rows/s, ratio). PostgreSQL benchmarks run when
# BRIEFCAST_TEST_POSTGRES holds a server URL. Run it on an idle machine.
#
# Usage: bench/go.sh [PATTERN]   (only the benchmarks whose name matches)
set -euo pipefail
cd "$(dirname "$0")/.."
only=${1:-.}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() { # run PACKAGE BENCHMARK BENCHTIME [MORE TEST FLAGS]
	local pkg=$1 name=$2 times=$3
	shift 3
	[[ $name =~ $only ]] || return 0
	local bin=$out/$(basename "$pkg").test
	[ -x "$bin" ] || go test -c -o "$bin" "./$pkg"
	echo "== $pkg $name ($times)"
	TMPDIR=${BENCH_TMPDIR:-$out} /usr/bin/time -f '   peak RSS %M KiB, %e s wall, %U s user, %S s sys' \
		"$bin" -test.run='^$' -test.bench="^${name}\$" -test.benchtime="$times" -test.benchmem "$@" 2>&1 |
		grep -E '^(Benchmark|   peak|--- SKIP|\s+bench_test)' || true
}

run articles BenchmarkParseText 20000x
run articles BenchmarkParseMarkdown 5000x
run articles BenchmarkLoad10k 3x
run site BenchmarkBuild10k 3x
run store BenchmarkImport1M 1x
run store BenchmarkStreamDigest1M 3x
run store BenchmarkImport1MPostgres 1x
run store BenchmarkStreamDigest1MPostgres 3x
run email BenchmarkComposeDigest 3s -test.cpu=1
run email BenchmarkRawGoMail 20000x
run digest BenchmarkSendSQLite100k 1x
run digest BenchmarkSendPostgres100k 1x
run server BenchmarkFeedHandler 1s
run server BenchmarkSubscribePost 2000x
