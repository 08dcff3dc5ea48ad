#!/usr/bin/env bash
# bench/hugo.sh builds the benchmarks' 10,000-article corpus with Hugo and
# with `briefcast build`, alternately, ROUNDS times each, every build into a
# fresh output folder, under /usr/bin/time: wall time and peak memory
# (maximum resident set size), and the ratio briefcast/Hugo of the medians
# (target: at most 0.5). The corpus is Markdown with TOML front matter
# (title, date, tags), which Hugo reads as content as it is; both tools read
# the same folder.
#
# The Hugo site is the smallest that does about what briefcast does, with
# layouts written below (baseof, single, list, a card partial, 404; no
# theme): a page per article with its newer and older neighbours, the home
# page paginated 10 a page, a page per tag paginated alike, the tag index,
# RSS for the home page and each tag (50 items), the sitemap and a 404 page. Hugo also renders the /articles/
# section page and its RSS, and /page/1/ aliases; briefcast also writes
# Atom and JSON Feed beside every RSS feed, the feeds of each depth and
# robots.txt. The file counts of both are printed.
#
# Hugo: $HUGO if set, else `hugo` on PATH, else it is built once with
# `go install github.com/gohugoio/hugo@$HUGO_VERSION` (default v0.165.0, the
# newest that builds with Go 1.26) into $HUGO_CACHE (default
# ~/.cache/briefcast-bench/hugo-VERSION); that takes a few minutes.
#
# Usage: bench/hugo.sh      (env: ROUNDS=3 HUGO=... HUGO_VERSION=... TMPDIR=...;
#                            KEEP=1 keeps the folder with both sites)
# Run it on an idle machine; TMPDIR=/dev/shm puts everything on tmpfs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
HUGO_VERSION=${HUGO_VERSION:-v0.165.0}

if [ -z "${HUGO:-}" ]; then
	if command -v hugo >/dev/null 2>&1; then
		HUGO=$(command -v hugo)
	else
		cache=${HUGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/briefcast-bench/hugo-$HUGO_VERSION}
		if [ ! -x "$cache/hugo" ]; then
			echo "building Hugo $HUGO_VERSION into $cache (a few minutes) ..." >&2
			mkdir -p "$cache"
			GOBIN=$cache go install "github.com/gohugoio/hugo@$HUGO_VERSION"
		fi
		HUGO=$cache/hugo
	fi
fi

work=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then echo "keeping $work" >&2; else trap 'rm -rf "$work"' EXIT; fi
echo "writing the corpus and building briefcast ..." >&2
site=$work/hugo
mkdir -p "$site/content" "$site/layouts/_default"
BRIEFCAST_CORPUS="$site/content/articles" go test -count=1 -run '^TestWriteBenchCorpus$' ./site >/dev/null
go build -o "$work/briefcast" ./cmd/briefcast

cat >"$work/config.toml" <<TOML
[site]
title = "Bench"
base_url = "https://example.org/"
content_dir = "hugo/content/articles"
output_dir = "public-briefcast"
page_size = 10
[feeds]
items = 50
TOML

cat >"$site/hugo.toml" <<'TOML'
baseURL = "https://example.org/"
title = "Bench"
languageCode = "en"
[taxonomies]
tag = "tags"
[pagination]
pagerSize = 10
[services.rss]
limit = 50
TOML

L=$site/layouts/_default
cat >"$L/baseof.html" <<'HTML'
<!DOCTYPE html>
<html lang="{{ site.LanguageCode }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if not .IsHome }}{{ .Title }} · {{ end }}{{ site.Title }}</title>
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" href="{{ .Permalink }}">{{ end }}
</head>
<body>
<header><a href="{{ "/" | relURL }}">{{ site.Title }}</a> · <a href="{{ "tags/" | relURL }}">Tags</a></header>
<main>{{ block "main" . }}{{ end }}</main>
</body>
</html>
HTML
cat >"$L/single.html" <<'HTML'
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "January 2, 2006" }}</time>
{{ range .GetTerms "tags" }} <a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a>{{ end }}</p>
{{ .Content }}
</article>
<nav>
{{ with .NextInSection }}<a rel="prev" href="{{ .RelPermalink }}">Newer: {{ .Title }}</a>{{ end }}
{{ with .PrevInSection }}<a rel="next" href="{{ .RelPermalink }}">Older: {{ .Title }}</a>{{ end }}
</nav>
{{ end }}
HTML
# A card per article, as on briefcast's home and tag pages.
mkdir -p "$site/layouts/partials"
cat >"$site/layouts/partials/cards.html" <<'HTML'
{{ range .Pages }}
<article><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>
<time>{{ .Date.Format "January 2, 2006" }}</time>
{{ .Summary }}</article>
{{ end }}
<nav>
{{ with .Prev }}<a rel="prev" href="{{ .URL }}">Newer</a>{{ end }}
{{ with .Next }}<a rel="next" href="{{ .URL }}">Older</a>{{ end }}
</nav>
HTML
# One list template for every list kind, choosing by kind, because Hugo
# versions before and after v0.146 look up taxonomy and term templates
# under different names.
cat >"$L/list.html" <<'HTML'
{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ if .IsHome }}{{ partial "cards.html" (.Paginate site.RegularPages) }}
{{ else if eq .Kind "term" }}{{ partial "cards.html" .Paginator }}
{{ else if eq .Kind "taxonomy" }}
<ul>{{ range .Data.Terms.ByCount }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}</ul>
{{ end }}
{{ end }}
HTML
cat >"$site/layouts/404.html" <<'HTML'
{{ define "main" }}<h1>Not found</h1>{{ end }}
HTML

hv=$("$HUGO" version | awk '{print $2}')
echo "Hugo $hv ($HUGO), briefcast $(git rev-parse --short HEAD), $(nproc) cores" >&2

# run NAME OUT COMMAND...: one build into a fresh OUT; its wall seconds,
# peak KiB and CPU seconds (user + system) appended to $work/NAME.times.
run() {
	local name=$1 out=$2
	shift 2
	rm -rf "$out"
	/usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" >"$work/$name.log" 2>&1 ||
		{ cat "$work/$name.log" >&2; exit 1; }
	awk '{print $1, $2, $3 + $4}' "$work/time" >>"$work/$name.times"
	printf '%-10s round %d: %6.2f s, peak RSS %7d KiB, CPU %6.2f s\n' "$name" "$round" $(tail -1 "$work/$name.times")
}
build_hugo() { run hugo "$work/public-hugo" "$HUGO" --quiet --source "$site" --destination "$work/public-hugo" --cacheDir "$work/hugo-cache"; }
build_briefcast() { run briefcast "$work/public-briefcast" "$work/briefcast" --config "$work/config.toml" build; }
# Each round swaps the order, so that neither tool always builds right
# after the other's files were written (on ext4 that slows the next one).
for round in $(seq 1 "$ROUNDS"); do
	if ((round % 2)); then build_hugo; build_briefcast; else build_briefcast; build_hugo; fi
done

count() { # count DIR: files, HTML files, article pages, tag pages, feeds
	local d=$1
	printf '%6d files, %6d HTML, %6d article pages, %5d under tags/, %4d feeds (xml/json)' \
		"$(find "$d" -type f | wc -l)" "$(find "$d" -type f -name '*.html' | wc -l)" \
		"$(find "$d/articles" -mindepth 2 -maxdepth 2 -name index.html | wc -l)" \
		"$(find "$d/tags" -type f | wc -l)" \
		"$(find "$d" -type f \( -name '*.xml' -o -name 'feed.json' \) ! -name sitemap.xml | wc -l)"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
hs=$(cut -d' ' -f1 "$work/hugo.times" | median)
bs=$(cut -d' ' -f1 "$work/briefcast.times" | median)
hm=$(cut -d' ' -f2 "$work/hugo.times" | median)
bm=$(cut -d' ' -f2 "$work/briefcast.times" | median)
hc=$(cut -d' ' -f3 "$work/hugo.times" | median)
bc=$(cut -d' ' -f3 "$work/briefcast.times" | median)
echo
echo "output of the last round:"
echo "hugo       $(count "$work/public-hugo")"
echo "briefcast  $(count "$work/public-briefcast")"
echo
printf 'median of %d: Hugo %s %.2f s, %.0f MB, CPU %.2f s; briefcast %.2f s, %.0f MB, CPU %.2f s\n' "$ROUNDS" "$hv" \
	"$hs" "$(awk -v k="$hm" 'BEGIN {print k * 1024 / 1e6}')" "$hc" "$bs" "$(awk -v k="$bm" 'BEGIN {print k * 1024 / 1e6}')" "$bc"
echo "wall time briefcast/Hugo per round: $(paste -d' ' "$work/briefcast.times" "$work/hugo.times" | awk '{printf "%.2f ", $1/$4}')"
awk -v b="$bs" -v h="$hs" -v bc="$bc" -v hc="$hc" \
	'BEGIN {printf "briefcast/Hugo: wall time %.2f (target <= 0.5), CPU time %.2f\n", b/h, bc/hc}'
