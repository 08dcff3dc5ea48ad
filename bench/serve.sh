#!/usr/bin/env bash
# bench/serve.sh measures requests per second for /feed.xml (a 50-item
# feed), plain and conditional (If-None-Match -> 304), for three servers on
# the same bytes with the same load generator on loopback:
#   briefcast serve; the minimal net/http handler of bench/refserver, which
#   sends the same headers with the same server timeouts (checked below);
#   and nginx serving the file from disk (etag on).
# It installs wrk and nginx with apt-get when they are missing.
#
# Usage: bench/serve.sh            (env: DURATION=10s ROUNDS=3 THREADS=2 CONNS=50
#                                    PORT_BRIEFCAST=18081 PORT_REF=18082 PORT_NGINX=18083)
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
CONNS=${CONNS:-50}
P1=${PORT_BRIEFCAST:-18081}
P2=${PORT_REF:-18082}
P3=${PORT_NGINX:-18083}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
chmod 755 "$WORK" # nginx workers may run as another user
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

need() { # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return
	echo "installing $2 ..." >&2
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq "$2" >/dev/null
}
need wrk wrk
need curl curl
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need nginx nginx
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "building ..." >&2
(cd "$ROOT" && go build -o "$WORK/briefcast" ./cmd/briefcast && go build -o "$WORK/refserver" ./bench/refserver)

# Content: the sample articles, topped up to 50 with generated ones.
mkdir -p "$WORK/content"
if [ -d "$ROOT/content" ]; then cp -r "$ROOT/content/." "$WORK/content/"; fi
have=$(find "$WORK/content" -type f \( -name '*.md' -o -name '*.txt' -o -name '*.markdown' \) | wc -l)
i=0
while [ "$have" -lt 50 ]; do
	i=$((i + 1))
	day=$(( (i % 28) + 1 ))
	cat >"$WORK/content/bench-$i.md" <<ART
+++
title = "Benchmark brief number $i on municipal water works"
date = 2026-01-$(printf %02d $day)T$(printf %02d $(( i % 24 ))):00:00Z
tags = ["bench", "water"]
+++

## 30-Second Take
- The city council approved a plan to replace ageing pipes in district $i.
- Work starts in spring and is expected to last about eighteen months.
- Residents will see short, scheduled interruptions rather than long outages.

## 2-Minute Digest
### Essential Context
Many of the pipes were laid decades ago and leak a large share of the water they carry.
ART
	have=$((have + 1))
done

cat >"$WORK/config.toml" <<CFG
data_dir = "data"
[site]
title = "Bench Brief"
base_url = "http://127.0.0.1:$P1/"
content_dir = "content"
output_dir = "public"
[feeds]
items = 50
[email]
from = "Bench <bench@example.org>"
transport = "file"
[server]
listen = "127.0.0.1:$P1"
CFG

export BRIEFCAST_SECRET=bench-secret-bench-secret-bench-secret-0123
export BRIEFCAST_LOG_LEVEL=warn
"$WORK/briefcast" --config "$WORK/config.toml" build >/dev/null
items=$(grep -c '<item>' "$WORK/public/feed.xml" || true)
size=$(wc -c <"$WORK/public/feed.xml")

wait_up() { # wait_up URL
	for _ in $(seq 1 100); do
		curl -fs -o /dev/null "$1" && return
		sleep 0.1
	done
	echo "server at $1 did not start" >&2
	exit 1
}

"$WORK/briefcast" --config "$WORK/config.toml" serve >"$WORK/briefcast.log" 2>&1 &
PIDS+=($!)
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<NGX
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	client_body_temp_path $WORK/nginx/body;
	proxy_temp_path $WORK/nginx/proxy;
	fastcgi_temp_path $WORK/nginx/fastcgi;
	uwsgi_temp_path $WORK/nginx/uwsgi;
	scgi_temp_path $WORK/nginx/scgi;
	types { application/rss+xml xml; }
	server {
		listen 127.0.0.1:$P3;
		root $WORK/public;
		etag on;
	}
}
NGX
"$NGINX" -e "$WORK/nginx/logs/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)

wait_up "http://127.0.0.1:$P1/feed.xml"
# The yardstick sends briefcast's Link, so both answers carry the same headers.
LINK=$(curl -fsI "http://127.0.0.1:$P1/feed.xml" | tr -d '\r' | awk 'tolower($1)=="link:" {sub(/^[^:]*: /, ""); print}')
"$WORK/refserver" -file "$WORK/public/feed.xml" -addr "127.0.0.1:$P2" -link "$LINK" &
PIDS+=($!)
wait_up "http://127.0.0.1:$P2/feed.xml"
wait_up "http://127.0.0.1:$P3/feed.xml"

etag_of() { curl -fsI "$1" | tr -d '\r' | awk 'tolower($1)=="etag:" {print $2}'; }
status_with() { curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $2" "$1"; }

rps() { # rps URL [ETAG]
	local out
	if [ -n "${2:-}" ]; then
		out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -H "If-None-Match: $2" "$1")
	else
		out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "$1")
	fi
	if echo "$out" | grep -q 'Non-2xx or 3xx'; then
		echo "errors from $1:" >&2
		echo "$out" >&2
	fi
	echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}'
}

# Rounds interleave the servers so that noise from other work on the
# machine spreads over all three; each figure is the best of the rounds.
declare -A PLAIN COND URL ETAG
URL[briefcast]="http://127.0.0.1:$P1/feed.xml"
URL[go-minimal]="http://127.0.0.1:$P2/feed.xml"
URL[nginx]="http://127.0.0.1:$P3/feed.xml"
SERVERS=(briefcast go-minimal nginx)
for name in "${SERVERS[@]}"; do
	ETAG[$name]=$(etag_of "${URL[$name]}")
	code=$(status_with "${URL[$name]}" "${ETAG[$name]}")
	if [ "$code" != 304 ]; then
		echo "$name: If-None-Match ${ETAG[$name]} gave $code, not 304" >&2
		exit 1
	fi
	PLAIN[$name]=0
	COND[$name]=0
done
# header_names URL [ETAG]: the sorted header names of a GET, Date aside.
header_names() {
	curl -fs -o /dev/null -D - ${2:+-H "If-None-Match: $2"} "$1" | tr -d '\r' |
		awk -F: 'NR > 1 && NF > 1 && tolower($1) != "date" {print tolower($1)}' | sort | tr '\n' ' '
}
for cond in "" yes; do
	b=$(header_names "${URL[briefcast]}" ${cond:+"${ETAG[briefcast]}"})
	g=$(header_names "${URL[go-minimal]}" ${cond:+"${ETAG[go-minimal]}"})
	if [ "$b" != "$g" ]; then
		echo "headers differ${cond:+ (304)}: briefcast [$b], go-minimal [$g]" >&2
		exit 1
	fi
	echo "same headers${cond:+ (304)}: $b" >&2
done
best() { awk -v a="$1" -v b="$2" 'BEGIN{print (a > b ? a : b)}'; }
for round in $(seq 1 "$ROUNDS"); do
	for name in "${SERVERS[@]}"; do
		echo "round $round/$ROUNDS: $name ..." >&2
		PLAIN[$name]=$(best "${PLAIN[$name]}" "$(rps "${URL[$name]}")")
		COND[$name]=$(best "${COND[$name]}" "$(rps "${URL[$name]}" "${ETAG[$name]}")")
	done
done
echo
echo "/feed.xml: $items items, $size bytes; wrk -t$THREADS -c$CONNS -d$DURATION, best of $ROUNDS rounds, $(nproc) cores"
printf '%-12s %14s %14s %12s %12s\n' server "plain req/s" "304 req/s" "plain/go" "304/go"
for name in "${SERVERS[@]}"; do
	printf '%-12s %14s %14s %12s %12s\n' "$name" "${PLAIN[$name]}" "${COND[$name]}" \
		"$(awk -v a="${PLAIN[$name]}" -v b="${PLAIN[go-minimal]}" 'BEGIN{printf "%.2f", a/b}')" \
		"$(awk -v a="${COND[$name]}" -v b="${COND[go-minimal]}" 'BEGIN{printf "%.2f", a/b}')"
done
printf 'briefcast/nginx: plain %s, 304 %s\n' \
	"$(awk -v a="${PLAIN[briefcast]}" -v b="${PLAIN[nginx]}" 'BEGIN{printf "%.2f", a/b}')" \
	"$(awk -v a="${COND[briefcast]}" -v b="${COND[nginx]}" 'BEGIN{printf "%.2f", a/b}')"
