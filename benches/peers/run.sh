#!/usr/bin/env bash
# Times edgeml's kernels and numpy's sgemm in one run on this machine, one thread each, and
# writes the side-by-side table to report/peers.md. Installs the pinned peers into
# benches/peers/.venv on first use. Not part of the test command.
#
#   benches/peers/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."

sizes=64,256,512,1024
min_time_ms=300
if [ "${1:-}" = "--quick" ]; then sizes=64,256; min_time_ms=50; fi

venv=benches/peers/.venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet -r benches/peers/requirements.txt

cargo build --release -p edgeml-host
mkdir -p report
target/release/edgeml --out report bench --sizes "$sizes" --min-time-ms "$min_time_ms"

peers=()
"$venv/bin/python" benches/peers/numpy_gemm.py --sizes "$sizes" --min-time-ms "$min_time_ms" \
    --label numpy >report/peer_numpy.json
peers+=(--peer report/peer_numpy.json)
# This environment may pin OpenBLAS to an older kernel (OPENBLAS_CORETYPE); time numpy with
# OpenBLAS's own choice too, so the table holds the strongest peer.
if [ -n "${OPENBLAS_CORETYPE:-}" ] || [ -n "${OPENBLAS_L2_SIZE:-}" ]; then
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" benches/peers/numpy_gemm.py \
        --sizes "$sizes" --min-time-ms "$min_time_ms" --label "numpy-autodetect" \
        >report/peer_numpy_autodetect.json
    peers+=(--peer report/peer_numpy_autodetect.json)
fi

"$venv/bin/python" benches/peers/compare.py --edgeml report/bench.json "${peers[@]}" \
    --out report/peers.md
