#!/usr/bin/env bash
# Coordination overhead of a study: WORKERS worker processes on this machine, TRIALS trials of
# an MS-millisecond quadratic objective (MODE=sleep: the objective waits; MODE=busy: it spins
# a core, like training), through the storage in EDGEML_TEST_POSTGRES (or STORAGE). Prints the
# wall time, the ideal wall time and each trial's claim and report latency (median, p99).
# Run with a throwaway server on loopback TCP:
#   EDGEML_PG_TCP_PORT=54329 .ci/with-postgres docs/examples/measure-coordination.sh
set -euo pipefail
BIN="${BIN:-target/release/edgeml}"
WORKERS="${WORKERS:-8}"
TRIALS="${TRIALS:-200}"
MS="${MS:-50}"
MODE="${MODE:-sleep}"
BATCH="${BATCH:-$TRIALS}"
STORAGE="${STORAGE:-${EDGEML_TEST_POSTGRES:?set STORAGE or EDGEML_TEST_POSTGRES}}"
study="measure-$MODE-$$-$(date +%s)"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
busy=()
[ "$MODE" = busy ] && busy=(--objective-busy)
cores="$(nproc)"
start="$(date +%s.%N)"
for k in $(seq 1 "$WORKERS"); do
    "$BIN" --seed 1 tune --storage "$STORAGE" --study "$study" --worker --objective quadratic \
        --strategy random --trials "$TRIALS" --epochs 1 --batch "$BATCH" \
        --heartbeat-timeout 30 --objective-ms "$MS" "${busy[@]}" \
        >"$logs/w$k.out" 2>"$logs/w$k.err" &
done
wait
end="$(date +%s.%N)"
cat "$logs"/*.err | grep -o 'claim [0-9.]* ms, report [0-9.]* ms' |
    awk -v start="$start" -v end="$end" -v trials="$TRIALS" -v ms="$MS" \
        -v workers="$WORKERS" -v cores="$cores" -v mode="$MODE" '
    { claim[NR] = $2; report[NR] = $5 }
    function pct(a, n, p,   i, j, t, idx) {
        for (i = 1; i <= n; i++) s[i] = a[i]
        for (i = 2; i <= n; i++) { t = s[i]; j = i - 1; while (j > 0 && s[j] > t) { s[j + 1] = s[j]; j-- } s[j + 1] = t }
        idx = int(p * (n - 1) + 0.5) + 1; return s[idx]
    }
    END {
        wall = end - start
        par = (mode == "busy" && cores < workers) ? cores : workers
        ideal = trials * ms / 1000 / par
        printf "%d workers, %d trials of %d ms (%s), %d cores: wall %.2f s, ideal %.2f s (%d at once), overhead %+.1f %%\n", workers, trials, ms, mode, cores, wall, ideal, par, (wall / ideal - 1) * 100
        printf "trials trained: %d; claim latency median %.2f ms, p99 %.2f ms; report latency median %.2f ms, p99 %.2f ms\n", NR, pct(claim, NR, 0.5), pct(claim, NR, 0.99), pct(report, NR, 0.5), pct(report, NR, 0.99)
    }'
