#!/usr/bin/env bash
# Builds the firmware for thumbv7em-none-eabihf, runs it on QEMU's mps2-an386 (Cortex-M4F) and
# checks its output against the host. The firmware embeds the models committed under
# firmware/models/ (include_bytes!, so it builds from a fresh clone); `edgeml export` trains
# them again on the host into a temporary folder, which must match the committed files byte
# for byte, and `edgeml export --check` compares QEMU's output with the host's predictions
# (models/expected.txt). Besides the full firmware on the board's 4 MiB, three builds linked
# for real parts run and are checked: 512 KiB flash / 128 KiB RAM with the f32 MLP, the same
# with the f16 and int8 MLPs, k-NN, boosting, attention and training, and 256 KiB / 64 KiB with
# the int8 MLP, k-NN and boosting (linking fails if a part does not fit). Installs qemu-system-arm (Debian) when missing. With --footprint, also writes
# firmware/FOOTPRINT.md (section sizes, static RAM, stack, instruction counts) and puts the same
# report into README.md between `<!-- footprint:start -->` and `<!-- footprint:end -->`.
set -euo pipefail
cd "$(dirname "$0")"
firmware_dir=$(pwd)
repo_dir=$(cd .. && pwd)

# The host's `edgeml` command, run from the repository root (outside firmware/, whose
# .cargo/config.toml would build it for the Cortex-M target), in the workspace's target folder
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

if ! command -v qemu-system-arm >/dev/null; then
    echo "installing qemu-system-arm"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        qemu-system-arm >/dev/null
fi
if ! rustup target list --installed | grep -qx thumbv7em-none-eabihf; then
    rustup target add thumbv7em-none-eabihf
fi

target_dir=${CARGO_TARGET_DIR:-$firmware_dir/target}
export CARGO_TARGET_DIR=$target_dir

echo "==> firmware: training and exporting the models on the host (must match firmware/models)"
export_dir=$(mktemp -d)
edgeml export --dir "$export_dir"
if ! diff -r -q "$export_dir" "$firmware_dir/models"; then
    echo "the re-exported models differ from firmware/models: run" >&2
    echo "  cargo run --release -p edgeml-host -- export --dir firmware/models" >&2
    echo "and commit the new files" >&2
    rm -rf "$export_dir"
    exit 1
fi
rm -rf "$export_dir"

echo "==> firmware: fmt and clippy"
cargo fmt --check
cargo clippy --release --quiet -- -D warnings

echo "==> firmware: building and running on qemu-system-arm -machine mps2-an386"
cargo build --release --quiet
output=$(mktemp)
trap 'rm -f "$output"' EXIT
status=0
timeout 300 cargo run --release --quiet >"$output" || status=$?
grep '^#' "$output" || true
if [ "$status" -ne 0 ]; then
    tail -20 "$output" >&2
    echo "firmware exited with status $status" >&2
    exit 1
fi
edgeml export --dir "$firmware_dir/models" --check "$output"

part_output=$(mktemp)
for parts in "part-512k mlp-f32" "part-512k mlp-f16 mlp-i8 knn gbdt attention train" \
    "part-256k mlp-i8 knn gbdt"; do
    echo "==> firmware: linked for a real part, features: $parts"
    status=0
    timeout 300 cargo run --release --quiet --no-default-features --features "$parts" \
        >"$part_output" || status=$?
    grep -E '^# (ram static_total|stack_high_water)' "$part_output" || true
    if [ "$status" -ne 0 ]; then
        tail -20 "$part_output" >&2
        echo "firmware ($parts) exited with status $status" >&2
        exit 1
    fi
    edgeml export --dir "$firmware_dir/models" --check "$part_output" --partial
done
rm -f "$part_output"

if $footprint; then
    echo "==> firmware: footprint of each part"
    elf_dir=$(mktemp -d)
    trap 'rm -rf "$output" "$elf_dir"' EXIT
    parts=()
    for part in none mlp-f32 mlp-f16 mlp-i8 knn gbdt lgb500 attention train corrupt; do
        features=$part
        [ "$part" = none ] && features=""
        cargo build --release --quiet --no-default-features --features "$features"
        cp "$target_dir/thumbv7em-none-eabihf/release/edgeml-firmware" "$elf_dir/$part"
        parts+=("$part=$elf_dir/$part")
    done
    cargo build --release --quiet
    cp "$target_dir/thumbv7em-none-eabihf/release/edgeml-firmware" "$elf_dir/all"
    parts+=("all=$elf_dir/all")
    edgeml export --dir "$firmware_dir/models" --footprint "$output" \
        --readme "$repo_dir/docs/firmware.md" "${parts[@]}" >"$firmware_dir/FOOTPRINT.md"
    echo "wrote firmware/FOOTPRINT.md and the footprint block of README.md"
fi
