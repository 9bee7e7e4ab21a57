#!/usr/bin/env bash
# Builds the RISC-V firmware for riscv32imac-unknown-none-elf, runs it on QEMU's `virt` machine
# and checks its output against the host: `edgeml export` trains the models on the host and
# writes them (and the host's predictions, expected.txt) to firmware/models/, which the Cortex-M
# firmware uses too; this firmware embeds the MLP (f32), k-NN and boosted models from there, and
# every prediction it prints must give the host's class, with values within the tolerances of
# `edgeml export --check` (1e-6 relative for the trees, 1e-4 otherwise). Installs
# qemu-system-misc (Debian) when missing. With --footprint, also prints the section sizes and
# the instruction counts as Markdown (the tables of docs/firmware-riscv.md).
set -euo pipefail
cd "$(dirname "$0")"
firmware_dir=$(pwd)
repo_dir=$(cd ../.. && pwd)
models_dir=$(cd .. && pwd)/models

# The host's `edgeml` command, run from the repository root (outside firmware/, whose
# .cargo/config.toml would build it for a firmware target), in the workspace's target folder
# unless CARGO_TARGET_DIR names one.
host_target_dir=${CARGO_TARGET_DIR:-$repo_dir/target}
edgeml() {
    (cd "$repo_dir" && CARGO_TARGET_DIR=$host_target_dir \
        cargo run --release --quiet -p edgeml-host -- "$@")
}

footprint=false
[ "${1:-}" = "--footprint" ] && footprint=true

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "need root to run: $*" >&2
        return 1
    fi
}

if ! command -v qemu-system-riscv32 >/dev/null; then
    echo "installing qemu-system-misc"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        qemu-system-misc >/dev/null
fi
if ! rustup target list --installed | grep -qx riscv32imac-unknown-none-elf; then
    rustup target add riscv32imac-unknown-none-elf
fi

# The firmware's own target folder: a CARGO_TARGET_DIR shared with the host would mix targets.
export CARGO_TARGET_DIR=$firmware_dir/target
elf=$CARGO_TARGET_DIR/riscv32imac-unknown-none-elf/release/edgeml-firmware-riscv

# The firmware embeds the exported models, so they must exist before it is even checked.
if [ ! -f "$models_dir/expected.txt" ]; then
    echo "==> riscv firmware: training and exporting the models on the host"
    edgeml export --dir "$models_dir"
fi

echo "==> riscv firmware: fmt and clippy"
cargo fmt --check
cargo clippy --release --quiet -- -D warnings

echo "==> riscv firmware: building and running on qemu-system-riscv32 -machine virt"
cargo build --release --quiet
output=$(mktemp)
trap 'rm -f "$output"' EXIT
status=0
timeout 300 cargo run --release --quiet </dev/null >"$output" || status=$?
grep '^#' "$output" || true
if [ "$status" -ne 0 ]; then
    tail -20 "$output" >&2
    echo "riscv firmware exited with status $status" >&2
    exit 1
fi

# Every host prediction of the models this firmware runs must be in its output, with the
# same class and values within the tolerance.
awk '
    function model(line) { return line ~ /^mlp f32 / ? "mlp" : line ~ /^(knn|gbdt) / ? $1 : "" }
    function keylen(m) { return m == "mlp" ? 3 : 2 }
    FNR == NR {
        m = model($0)
        if (m != "") { key = $1; for (i = 2; i <= keylen(m); i++) key = key " " $i; want[key] = $0 }
        if ($0 ~ /^acc mlp f32 /) want_acc = $0
        next
    }
    {
        m = model($0)
        if ($0 ~ /^acc mlp f32 /) got_acc = $0
        if ($0 == "done ok") done = 1
        if (m == "") next
        k = keylen(m); key = $1; for (i = 2; i <= k; i++) key = key " " $i
        if (!(key in want)) { print "unexpected line: " $0; bad++; next }
        n = split(want[key], h, " ")
        if (n != NF || h[k + 1] != $(k + 1)) { print "differs: " $0 " | host: " want[key]; bad++ }
        tol = m == "gbdt" ? 1e-6 : 1e-4
        for (i = k + 2; i <= NF && i <= n; i++) {
            d = $i - h[i]; d = d < 0 ? -d : d
            s = h[i] < 0 ? -h[i] : h[i]; s = s < 1 ? 1 : s
            if (d / s > tol) { print "value differs: " $0 " | host: " want[key]; bad++; break }
            if (d / s > worst[m]) worst[m] = d / s
        }
        seen[key] = 1
    }
    END {
        for (key in want) if (!(key in seen)) { print "missing from the firmware output: " key; bad++ }
        if (want_acc != got_acc) { print "accuracy line differs: " got_acc " | host: " want_acc; bad++ }
        if (!done) { print "the firmware did not report `done ok`"; bad++ }
        for (m in worst) printf "%s: largest relative difference %.2e\n", m, worst[m]
        if (bad) { printf "%d mismatches\n", bad; exit 1 }
        printf "riscv firmware output matches the host on %d predictions\n", length(seen)
    }
' "$models_dir/expected.txt" "$output"

if $footprint; then
    echo
    echo "| section | bytes |"
    echo "|---|---:|"
    size -A "$elf" | awk '$1 ~ /^\.(text|rodata|data|bss)$/ { print "| " $1 " | " $2 " |" }'
    echo
    echo "| measurement | instructions |"
    echo "|---|---:|"
    awk '/^# instructions / { print "| " $3 " | " $4 " |" }' "$output"
fi
