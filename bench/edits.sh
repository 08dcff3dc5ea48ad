#!/usr/bin/env bash
# bench/edits.sh measures how a running `briefcast serve` follows edits on
# the benchmarks' 10,000-article corpus, from outside (bench/edits/main.go
# says how): the time from saving an article until /feed.xml and its page
# serve the new text (target: within 100 ms), and the server's resident
# memory over 1,000 edits (target: under 150 MB throughout). Every run
# starts its own server on a fresh copy of the corpus.
#
# Usage: bench/edits.sh             the three runs below
#        bench/edits.sh FLAGS...    one run of bench/edits with FLAGS, e.g.
#                                   -edits 30 -write inplace, -old, -soak 1000
# Run it on an idle machine: the tool polls every millisecond, so it takes
# some CPU of its own. Each edit also makes the server rewrite its static
# copy of the whole site in output_dir; on a disk that takes seconds an edit
# (TMPDIR=/dev/shm puts the runs on tmpfs), and the latency runs wait for it.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "building briefcast and writing the corpus ..." >&2
go build -o "$work/briefcast" ./cmd/briefcast
go build -o "$work/edits" ./bench/edits
BRIEFCAST_CORPUS="$work/content" go test -count=1 -run '^TestWriteBenchCorpus$' ./site >/dev/null
echo "briefcast $(git rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

edits() { "$work/edits" -binary "$work/briefcast" -content "$work/content" "$@"; }
if [ $# -gt 0 ]; then
	edits "$@"
	exit
fi
echo "== 100 edits of articles in the feed"
edits -edits 100
echo "== 100 edits of old articles"
edits -edits 100 -old
echo "== soak: 1,000 edits"
edits -soak 1000
