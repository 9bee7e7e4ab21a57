#!/usr/bin/env bash
# Builds the firmware for thumbv7em-none-eabihf, runs it on QEMU's mps2-an386 (Cortex-M4F) and
# checks its output against the host: `edgeml export` trains the models on the host, writes
# them (and the host's predictions) to firmware/models/, the firmware embeds them with
# include_bytes!, and `edgeml export --check` compares QEMU's output with the host's
# predictions. Installs qemu-system-arm (Debian) when missing. With --footprint, also writes
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

# The firmware embeds the exported models, so they must exist before it is even checked.
echo "==> firmware: training and exporting the models on the host"
edgeml export --dir "$firmware_dir/models"

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

if $footprint; then
    echo "==> firmware: footprint of each part"
    elf_dir=$(mktemp -d)
    trap 'rm -rf "$output" "$elf_dir"' EXIT
    parts=()
    for part in none mlp-f32 mlp-f16 knn gbdt lgb500 attention train corrupt; do
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
