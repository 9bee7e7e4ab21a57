#!/usr/bin/env bash
# Coordination overhead of a study: WORKERS worker processes on this machine share TRIALS
# trials of a quadratic objective that sleeps MS milliseconds (so the cores are left to the
# coordination being measured) through the storage in EDGEML_TEST_POSTGRES (or STORAGE).
# Prints the wall time against the ideal TRIALS·MS/WORKERS, the time the same workers take to
# start, join and replay the finished study without training (the fixed cost inside the wall
# time), and each trial's claim and report latency (median, p99). Run it with a throwaway
# server on loopback TCP:
#   EDGEML_PG_TCP_PORT=54329 .ci/with-postgres docs/examples/measure-coordination.sh
set -euo pipefail
BIN="${BIN:-target/release/edgeml}"
WORKERS="${WORKERS:-8}"
TRIALS="${TRIALS:-200}"
MS="${MS:-50}"
BATCH="${BATCH:-$TRIALS}"
STORAGE="${STORAGE:-${EDGEML_TEST_POSTGRES:?set STORAGE or EDGEML_TEST_POSTGRES}}"
study="measure-$$-$(date +%s%N)"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

workers() { # $1: log prefix; prints the wall seconds
    local start end k
    start="$(date +%s.%N)"
    for k in $(seq 1 "$WORKERS"); do
        "$BIN" --seed 1 tune --storage "$STORAGE" --study "$study" --worker \
            --objective quadratic --strategy random --trials "$TRIALS" --epochs 1 \
            --batch "$BATCH" --heartbeat-timeout 30 --objective-ms "$MS" \
            >"$logs/$1$k.out" 2>"$logs/$1$k.err" &
    done
    wait
    end="$(date +%s.%N)"
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

wall="$(workers run)"
rejoin="$(workers rejoin)"
cat "$logs"/run*.err | grep -o 'claim [0-9.]* ms, report [0-9.]* ms' |
    awk -v wall="$wall" -v rejoin="$rejoin" -v trials="$TRIALS" -v ms="$MS" \
        -v workers="$WORKERS" -v batch="$BATCH" '
    { claim[NR] = $2; report[NR] = $5 }
    function pct(a, n, p,   i, j, t, s) {
        for (i = 1; i <= n; i++) s[i] = a[i]
        for (i = 2; i <= n; i++) { t = s[i]; j = i - 1; while (j > 0 && s[j] > t) { s[j + 1] = s[j]; j-- } s[j + 1] = t }
        return s[int(p * (n - 1) + 0.5) + 1]
    }
    END {
        ideal = trials * ms / 1000 / workers
        printf "%d workers, %d trials of %d ms, batch %d: wall %.2f s, ideal %.2f s, overhead %+.1f %%; start+join+replay alone %.2f s\n", workers, trials, ms, batch, wall, ideal, (wall / ideal - 1) * 100, rejoin
        printf "trials trained: %d; claim median %.2f ms, p99 %.2f ms; report median %.2f ms, p99 %.2f ms\n", NR, pct(claim, NR, 0.5), pct(claim, NR, 0.99), pct(report, NR, 0.5), pct(report, NR, 0.99)
    }'
