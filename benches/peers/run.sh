#!/usr/bin/env bash
# Times edgeml's kernels and numpy's sgemm in one run on this machine, one thread each, and
# writes the side-by-side table to report/peers.md; then edgeml's k-NN beside scikit-learn's
# (report/peers_knn.md). Installs the pinned peers into
# benches/peers/.venv on first use. Not part of the test command.
#
#   benches/peers/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."

sizes=64,256,512,1024
min_time_ms=300
knn_runs=9
if [ "${1:-}" = "--quick" ]; then sizes=64,256; min_time_ms=50; knn_runs=3; fi

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

# k-NN on the FMML lab's split: edgeml's brute force and kd-tree beside scikit-learn's
# KNeighborsClassifier ('brute', 'kd_tree'), one thread each; table in report/peers_knn.md.
target/release/edgeml --out report/knn_timing knn-lab --timing-only --timing-runs "$knn_runs"
"$venv/bin/python" benches/peers/sklearn_knn.py --runs "$knn_runs" --lab-loop \
    --edgeml report/knn_timing/knn_lab.json --json-out report/peer_sklearn_knn.json \
    --out report/peers_knn.md

# Attention forward: edgeml's streaming kernel beside PyTorch's scaled_dot_product_attention
# (and a naive matmul-softmax-matmul), fp32, one thread, 4 heads, head dim 64; table in
# report/peers_attention.md.
attn_lengths=64,128,512,2048
attn_ms=200
if [ "${1:-}" = "--quick" ]; then attn_lengths=64,128; attn_ms=50; fi
target/release/edgeml --out report/attention_timing attention --throughput-only \
    --lengths "$attn_lengths" --min-time-ms "$attn_ms"
"$venv/bin/python" benches/peers/torch_attention.py --lengths "$attn_lengths" \
    --min-time-ms "$attn_ms" --edgeml report/attention_timing/attention.json \
    --out report/peers_attention.md >report/peer_torch_attention.json

# MLP training, the seed's setup on Fashion-MNIST (784-128-10, batch 64, SGD 0.01), one thread
# each, data pre-loaded: seconds per epoch of edgeml and PyTorch; table in report/peers_mlp.md.
mlp_epochs=5
if [ "${1:-}" = "--quick" ]; then mlp_epochs=2; fi
target/release/edgeml --out report/mlp_timing mlp --timing-only --epochs "$mlp_epochs"
"$venv/bin/python" benches/peers/torch_mlp.py --epochs "$mlp_epochs" \
    --edgeml report/mlp_timing/mlp.json --json-out report/peer_torch_mlp.json \
    --out report/peers_mlp.md >/dev/null

# Trees on California Housing (500 rounds, learning rate 0.05, 31 leaves, one thread): edgeml's
# boosting, forest and single tree beside LightGBM, XGBoost and scikit-learn; fit and predict
# times are medians; table in report/peers_trees.md.
tree_runs=5
if [ "${1:-}" = "--quick" ]; then tree_runs=2; fi
target/release/edgeml --out report/trees_timing trees --regression-only --timing-runs "$tree_runs"
"$venv/bin/python" benches/peers/trees_peers.py --runs "$tree_runs" \
    --edgeml report/trees_timing/trees.json --json-out report/peer_trees.json \
    --out report/peers_trees.md >/dev/null

# Anomaly detection, the one-class Fashion-MNIST protocol: edgeml's autoencoder, k-means and
# k-NN distance beside scikit-learn's PCA, IsolationForest, OneClassSVM, NearestNeighbors and
# KMeans, and k-means inertia and time against KMeans; table in report/peers_anomaly.md.
anomaly_args=()
if [ "${1:-}" = "--quick" ]; then
    anomaly_args=(--classes 0,1 --train-per-class 1000 --test-rows 2000 --kmeans-rows 10000)
fi
target/release/edgeml --out report/anomaly_timing anomaly "${anomaly_args[@]}"
"$venv/bin/python" benches/peers/sklearn_anomaly.py "${anomaly_args[@]}" \
    --edgeml report/anomaly_timing/anomaly.json --out report/peers_anomaly.md \
    >report/peer_sklearn_anomaly.json

# The seed's softmax-before-CrossEntropy model in PyTorch (20 epochs, PyTorch's default init):
# its loss and test accuracy go beside `edgeml mlp`'s figures.softmax_before_ce.seed_variant.
if [ "${1:-}" != "--quick" ]; then
    "$venv/bin/python" benches/peers/torch_mlp.py --epochs 20 --softmax-before-ce \
        --json-out report/peer_torch_mlp_softmax_ce.json >/dev/null
fi
