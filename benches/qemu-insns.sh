#!/usr/bin/env bash
# Executed-instruction counts of the core's aarch64 kernels, NEON against portable, under QEMU
# user mode (no aarch64 board needed; counts, not timings: emulation says nothing about speed).
# Builds examples/kernel_insns.rs for aarch64-unknown-linux-gnu, runs each call with one guest
# instruction per translation block and execution logging, and counts the logged blocks; the
# same run with `setup` (inputs built, kernel skipped) is subtracted. Prints a Markdown table.
# Needs qemu-user and gcc-aarch64-linux-gnu (Debian), as .ci/test-all installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu ||
    rustup target add aarch64-unknown-linux-gnu
cargo build --quiet --release --no-default-features --target aarch64-unknown-linux-gnu \
    --example kernel_insns
bin=${CARGO_TARGET_DIR:-target}/aarch64-unknown-linux-gnu/release/examples/kernel_insns

# Guest instructions executed by one run of the harness with arguments "$@".
count() {
    qemu-aarch64 -L /usr/aarch64-linux-gnu -singlestep -d nochain,exec -D /dev/stderr \
        "$bin" "$@" 2>&1 >/dev/null | grep -c '^Trace'
}

echo "| kernel | size | portable | neon | portable / neon |"
echo "|---|---|---:|---:|---:|"
for job in "gemm 64" "gemm 256" "dot 256" "attention 256"; do
    read -r kernel n <<<"$job"
    echo "counting $kernel n=$n" >&2
    declare -A insns
    for variant in portable neon; do
        insns[$variant]=$(($(count "$kernel" "$variant" "$n") - $(count "$kernel" "$variant" "$n" setup)))
    done
    case $kernel in
        gemm) size="$n×$n·$n×$n" ;;
        dot) size="length $((n * n))" ;;
        attention) size="L=$n, d=64" ;;
    esac
    ratio=$(awk -v p="${insns[portable]}" -v q="${insns[neon]}" 'BEGIN { printf "%.2f", p / q }')
    echo "| $kernel | $size | ${insns[portable]} | ${insns[neon]} | $ratio× |"
done
