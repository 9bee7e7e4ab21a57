"""scikit-learn's KNeighborsClassifier on the FMML lab's split of California Housing, timed
beside `edgeml knn-lab --timing-only`: fit + predict of every test row against every non-test
row (4144 × 16496, d = 8), algorithm 'brute' and 'kd_tree', k = 1 and 3, one thread
(n_jobs=1 and threadpoolctl's limit of 1), median of --runs after one warm-up.

The split is re-derived the lab's way: rng = np.random.default_rng(42), test = rng.random(n)
< 0.2 (the same rows edgeml's seed-exact mode draws). Features are built from StatLib's
cal_housing.data exactly as sklearn.datasets.fetch_california_housing does, labels are the
target in $100k truncated to int.

Prints one JSON object (timings and test accuracies); with --edgeml report/knn_lab.json also
writes the side-by-side Markdown table with ratios to --out.
"""

import argparse
import json
import os
import statistics
import time

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402  (thread limits must be set before numpy loads its BLAS)
import sklearn  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from edgeml_data import california_path  # noqa: E402  (edgeml's data search, one place)


def load(path):
    """fetch_california_housing's features and the lab's integer labels from the raw file."""
    raw = np.loadtxt(path, delimiter=",")
    columns = raw[:, [8, 7, 2, 3, 4, 5, 6, 1, 0]]
    target = columns[:, 0] / 100000.0
    data = columns[:, 1:].copy()
    data[:, 2] /= data[:, 5]
    data[:, 3] /= data[:, 5]
    data[:, 5] = data[:, 4] / data[:, 5]
    return data, target.astype(int)


def lab_nn(traindata, trainlabel, testdata):
    """The lab's own 1-NN loop (NN1 per query row)."""
    out = np.empty(len(testdata), dtype=trainlabel.dtype)
    for i, query in enumerate(testdata):
        diff = traindata - query
        out[i] = trainlabel[np.argmin((diff * diff).sum(1))]
    return out


def median_time(runs, call):
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def compare(edgeml_path, peer, out_path):
    with open(edgeml_path) as f:
        ours = json.load(f)["figures"]["timing"]
    lines = [
        f"k-NN fit + predict on the lab's split ({ours['test_rows']} test rows against "
        f"{ours['train_rows']} training rows, d = {ours['features']}), one thread each, median "
        f"of runs, same machine, same run. Peer: scikit-learn {peer['sklearn_version']} "
        "(float64 input, n_jobs=1, threadpoolctl limit 1); edgeml: f32.",
        "",
        "| k | edgeml brute | edgeml kd-tree | sklearn brute | sklearn kd_tree "
        "| edgeml kd-tree / edgeml brute speed-up | sklearn best / edgeml best |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in (1, 3):
        eb = ours[f"brute_k{k}"]["median_s"]
        ek = ours[f"kd_tree_k{k}"]["median_s"]
        sb = peer["timing"][f"brute_k{k}"]["median_s"]
        sk = peer["timing"][f"kd_tree_k{k}"]["median_s"]
        lines.append(
            f"| {k} | {eb * 1e3:.1f} ms | {ek * 1e3:.1f} ms | {sb * 1e3:.1f} ms | "
            f"{sk * 1e3:.1f} ms | {eb / ek:.1f}× | {min(sb, sk) / min(eb, ek):.2f}× |"
        )
    if "lab_loop_k1" in peer["timing"]:
        lab = peer["timing"]["lab_loop_k1"]["median_s"]
        lines += ["", f"The lab's own numpy 1-NN loop: {lab:.2f} s."]
    lines += [
        "",
        "Test accuracy, scikit-learn: "
        + ", ".join(f"{key} {value:.2f} %" for key, value in peer["accuracy_pct"].items()),
        "",
    ]
    text = "\n".join(lines)
    with open(out_path, "w") as f:
        f.write(text)
    print(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="path of cal_housing.data[.gz] (default: as edgeml finds it)")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--lab-loop", action="store_true", help="also time the lab's numpy loop")
    parser.add_argument("--edgeml", help="report/knn_lab.json from edgeml knn-lab --timing-only")
    parser.add_argument("--out", default="report/peers_knn.md")
    parser.add_argument("--json-out", help="write the JSON here instead of stdout")
    args = parser.parse_args()

    path = args.data or california_path()
    data, label = load(path)
    rng = np.random.default_rng(seed=args.seed)
    rnd = rng.random(len(label))
    test, train = rnd < 0.2, rnd >= 0.2
    testdata, testlabel = data[test], label[test]
    traindata, trainlabel = data[train], label[train]

    timing, accuracy = {}, {}
    with threadpool_limits(limits=1):
        for algorithm in ("brute", "kd_tree"):
            for k in (1, 3):
                def fit_predict():
                    model = KNeighborsClassifier(n_neighbors=k, algorithm=algorithm, n_jobs=1)
                    return model.fit(traindata, trainlabel).predict(testdata)

                median, fastest = median_time(args.runs, fit_predict)
                timing[f"{algorithm}_k{k}"] = {"median_s": median, "min_s": fastest, "runs": args.runs}
                accuracy[f"{algorithm} k={k}"] = float((fit_predict() == testlabel).mean() * 100)
        if args.lab_loop:
            runs = min(args.runs, 3)
            median, fastest = median_time(runs, lambda: lab_nn(traindata, trainlabel, testdata))
            timing["lab_loop_k1"] = {"median_s": median, "min_s": fastest, "runs": runs}
    peer = {
        "peer": "scikit-learn",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "test_rows": int(test.sum()),
        "train_rows": int(train.sum()),
        "timing": timing,
        "accuracy_pct": accuracy,
    }
    text = json.dumps(peer, indent=2)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    if args.edgeml:
        compare(args.edgeml, peer, args.out)


if __name__ == "__main__":
    main()
