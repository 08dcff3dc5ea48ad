#!/usr/bin/env bash
# Runs every test of briefcast: go vet, the whole suite with the race
# detector (SQLite always; PostgreSQL and the headless-browser test too when
# they can be had), then each fuzz target for a few seconds.
#
# As root on Debian it installs what the tests need (chromium, spamassassin) and starts
# the local PostgreSQL when it is down. Set BRIEFCAST_TEST_POSTGRES to a
# server URL to use another PostgreSQL; FUZZTIME changes the fuzzing time.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-5s}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  if ! command -v chromium >/dev/null; then
    echo "== installing chromium for the browser test"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if ! command -v spamassassin >/dev/null; then
    echo "== installing spamassassin for the digest's spam score test"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spamassassin >/dev/null
  fi
fi

# PostgreSQL: use the given server, or the local one (started if it is down),
# with a fresh database for this run.
created_db=""
if [ -z "${BRIEFCAST_TEST_POSTGRES:-}" ] && command -v psql >/dev/null; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && [ -d /etc/postgresql ]; then
    echo "== starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    db="briefcast_run_$(date +%s)_$$"
    if psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null 2>&1; then
      created_db=$db
      export BRIEFCAST_TEST_POSTGRES="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
    fi
  fi
fi
cleanup() {
  if [ -n "$created_db" ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $created_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
if [ -n "${BRIEFCAST_TEST_POSTGRES:-}" ]; then
  echo "== PostgreSQL tests on ${BRIEFCAST_TEST_POSTGRES%%\?*}"
else
  echo "== no PostgreSQL: its tests will skip"
fi

# axe-core for the accessibility test of the site's pages, kept in a cache
# folder outside the repository; without npm that test skips itself.
if [ -z "${BRIEFCAST_AXE_JS:-}" ] && command -v npm >/dev/null; then
  axedir="${XDG_CACHE_HOME:-$HOME/.cache}/briefcast-axe"
  if [ ! -f "$axedir/node_modules/axe-core/axe.min.js" ]; then
    echo "== installing axe-core for the accessibility test"
    mkdir -p "$axedir"
    (cd "$axedir" && npm install --no-save --no-audit --no-fund axe-core@4 >/dev/null 2>&1) || true
  fi
  if [ -f "$axedir/node_modules/axe-core/axe.min.js" ]; then
    export BRIEFCAST_AXE_JS="$axedir/node_modules/axe-core/axe.min.js"
  fi
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

echo "== fuzzing, $fuzztime per target"
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  pkg=./$(dirname "${file#./}")
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "-- $pkg $name"
    # Go 1.26's fuzzing coordinator can report its own -fuzztime deadline
    # as a failure ("context deadline exceeded", no input written; fixed in
    # Go 1.27). Such a run is tried once more; a failure that writes an
    # input under testdata/fuzz, or fails twice, stops the run.
    corpus="$pkg/testdata/fuzz/$name"
    before=$( (ls "$corpus" 2>/dev/null || true) | wc -l)
    if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/briefcast-fuzz.log 2>&1; then
      after=$( (ls "$corpus" 2>/dev/null || true) | wc -l)
      if [ "$after" != "$before" ] || ! grep -q '^    context deadline exceeded$' /tmp/briefcast-fuzz.log; then
        cat /tmp/briefcast-fuzz.log; exit 1
      fi
      echo "   the coordinator's deadline race (no input written): once more"
      go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/briefcast-fuzz.log 2>&1 || { cat /tmp/briefcast-fuzz.log; exit 1; }
    fi
  done
done
echo "== all tests passed"
