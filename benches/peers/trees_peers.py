"""LightGBM, XGBoost and scikit-learn on California Housing regression, timed beside
`edgeml trees --regression-only`: the issue's settings (500 rounds, learning rate 0.05, 31
leaves, 255 bins, >= 20 rows per leaf, one thread), the same split (rng =
np.random.default_rng(42); test = rng.random(n) < 0.2), fit and predict-the-test-set times as
medians of --runs after one warm-up, test RMSE/MAE/R2 and the model's size in its own format.
XGBoost grows depth-wise to depth 6 (as in the issue's reference figures); scikit-learn's
DecisionTreeRegressor and RandomForestRegressor mirror edgeml's single tree and forest.

With --fashion-train N, also LightGBM's softmax boosting on the first N Fashion-MNIST training
images (all 10 000 test images) with edgeml's Fashion settings (--fashion-rounds, learning rate
0.2, 31 leaves, 64 bins, L2 1.0), to set beside a full `edgeml trees` run.

Prints one JSON object; with --edgeml report/.../trees.json also writes the side-by-side
Markdown table with ratios to --out.
"""

import gzip

import argparse
import json
import os
import pickle
import statistics
import time

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[var] = "1"

import lightgbm  # noqa: E402  (thread limits must be set before the libraries load)
import numpy as np  # noqa: E402
import sklearn  # noqa: E402
import xgboost  # noqa: E402
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor  # noqa: E402
from sklearn.tree import DecisionTreeRegressor  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from edgeml_data import california_path, fashion_dir  # noqa: E402  (edgeml's data search, one place)


def load(path):
    """fetch_california_housing's 8 features and target ($100k) from StatLib's raw file."""
    raw = np.loadtxt(path, delimiter=",")
    columns = raw[:, [8, 7, 2, 3, 4, 5, 6, 1, 0]]
    target = columns[:, 0] / 100000.0
    data = columns[:, 1:].copy()
    data[:, 2] /= data[:, 5]
    data[:, 3] /= data[:, 5]
    data[:, 5] = data[:, 4] / data[:, 5]
    return data.astype(np.float32), target


def median_time(runs, call):
    """Median wall and thread-CPU seconds of `runs` calls after one warm-up call, and the last
    result (one thread: the libraries compute on the calling thread)."""
    result = call()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.thread_time()
        result = call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def model_bytes(name, model):
    if name == "LightGBM":
        return len(model.booster_.model_to_string().encode())
    if name.startswith("XGBoost"):
        return len(model.get_booster().save_raw("ubj"))
    return len(pickle.dumps(model))


def peers(rounds, lr, leaves, forest_trees, seed):
    lgb = dict(n_estimators=rounds, learning_rate=lr, num_leaves=leaves, max_bin=255,
               min_child_samples=20, reg_lambda=0.0, n_jobs=1, verbose=-1, random_state=seed)
    return [
        ("LightGBM", lambda: lightgbm.LGBMRegressor(**lgb)),
        ("XGBoost hist, depth 6", lambda: xgboost.XGBRegressor(
            n_estimators=rounds, learning_rate=lr, max_depth=6, tree_method="hist", max_bin=256,
            n_jobs=1, random_state=seed)),
        ("XGBoost hist, 31 leaves", lambda: xgboost.XGBRegressor(
            n_estimators=rounds, learning_rate=lr, max_depth=0, max_leaves=leaves,
            grow_policy="lossguide", tree_method="hist", max_bin=256, min_child_weight=20,
            n_jobs=1, random_state=seed)),
        ("scikit-learn HistGradientBoosting", lambda: HistGradientBoostingRegressor(
            max_iter=rounds, learning_rate=lr, max_leaf_nodes=leaves, max_bins=255,
            min_samples_leaf=20, l2_regularization=0.0, early_stopping=False,
            random_state=seed)),
        ("scikit-learn DecisionTree (256 leaves)", lambda: DecisionTreeRegressor(
            max_leaf_nodes=256, min_samples_leaf=10, random_state=seed)),
        ("scikit-learn RandomForest", lambda: RandomForestRegressor(
            n_estimators=forest_trees, max_leaf_nodes=1024, min_samples_leaf=2, n_jobs=1,
            random_state=seed)),
    ]


def run(args):
    path = args.data or california_path()
    x, y = load(path)
    test = np.random.default_rng(args.seed).random(len(y)) < 0.2
    xtr, ytr, xte, yte = x[~test], y[~test], x[test], y[test]
    results = []
    with threadpool_limits(1):
        for name, make in peers(args.rounds, args.learning_rate, args.leaves, args.forest_trees,
                                args.seed):
            runs = 1 if "RandomForest" in name else args.runs
            fit_s, fit_cpu_s, model = median_time(runs, lambda: make().fit(xtr, ytr))
            predict_s, _, pred = median_time(args.runs, lambda: model.predict(xte))
            err = pred - yte
            results.append({
                "name": name, "fit_s": fit_s, "fit_cpu_s": fit_cpu_s, "predict_s": predict_s,
                "predict_ns_per_row": predict_s / len(yte) * 1e9,
                "test_rmse": float(np.sqrt(np.mean(err ** 2))),
                "test_mae": float(np.mean(np.abs(err))),
                "test_r2": float(1 - np.sum(err ** 2) / np.sum((yte - yte.mean()) ** 2)),
                "bytes": model_bytes(name, model),
            })
    return {
        "versions": {"lightgbm": lightgbm.__version__, "xgboost": xgboost.__version__,
                     "scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "train_rows": int(len(ytr)), "test_rows": int(len(yte)), "runs": args.runs,
        "rounds": args.rounds, "learning_rate": args.learning_rate, "leaves": args.leaves,
        "models": results,
    }


def idx(path):
    """An IDX file (gzip'd or not) as a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion(args):
    """LightGBM on the first --fashion-train Fashion-MNIST images, pixels scaled to [0, 1]."""
    folder = args.fashion_dir
    def part(name):
        plain = os.path.join(folder, name)
        return idx(plain if os.path.exists(plain) else plain + ".gz")
    xtr = part("train-images-idx3-ubyte")[: args.fashion_train].reshape(-1, 784) / 255.0
    ytr = part("train-labels-idx1-ubyte")[: args.fashion_train]
    xte = part("t10k-images-idx3-ubyte").reshape(-1, 784) / 255.0
    yte = part("t10k-labels-idx1-ubyte")
    model = lightgbm.LGBMClassifier(
        n_estimators=args.fashion_rounds, learning_rate=0.2, num_leaves=31, max_bin=64,
        min_child_samples=20, reg_lambda=1.0, n_jobs=1, verbose=-1, random_state=args.seed)
    with threadpool_limits(1):
        start, start_cpu = time.perf_counter(), time.thread_time()
        model.fit(xtr.astype(np.float32), ytr)
        fit_s, fit_cpu_s = time.perf_counter() - start, time.thread_time() - start_cpu
        start = time.perf_counter()
        pred = model.predict(xte.astype(np.float32))
        predict_s = time.perf_counter() - start
    return {"name": "LightGBM", "train_rows": int(len(ytr)), "test_rows": int(len(yte)),
            "rounds": args.fashion_rounds, "test_accuracy": float(np.mean(pred == yte)),
            "fit_s": fit_s, "fit_cpu_s": fit_cpu_s,
            "predict_ns_per_row": predict_s / len(yte) * 1e9}


def compare(edgeml_path, peer, out_path):
    with open(edgeml_path) as f:
        figures = json.load(f)["figures"]
    ours = figures["california_regression"]
    models = ours["models"]
    boost = models["boosting"]
    lgb = next(m for m in peer["models"] if m["name"] == "LightGBM")
    rows = [("edgeml gradient boosting", boost), ("edgeml CART tree (256 leaves)",
            models["single_tree"]), ("edgeml random forest", models["random_forest"])]
    rows += [(m["name"], m) for m in peer["models"]]
    lines = [
        f"California Housing regression, {peer['train_rows']} train / {peer['test_rows']} test "
        f"rows, {peer['rounds']} rounds, learning rate {peer['learning_rate']}, "
        f"{peer['leaves']} leaves, one thread; medians of {peer['runs']} runs (edgeml: "
        f"{ours['timing_runs']}). Versions: "
        + ", ".join(f"{k} {v}" for k, v in peer["versions"].items()) + ".",
        "",
        "| model | test RMSE | RMSE / LightGBM | fit (s) | fit / LightGBM | fit CPU (s) "
        "| CPU / LightGBM | predict (ns/row) | predict / LightGBM | bytes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in rows:
        lines.append(
            f"| {name} | {m['test_rmse']:.4f} | {m['test_rmse'] / lgb['test_rmse']:.3f} "
            f"| {m['fit_s']:.3f} | {m['fit_s'] / lgb['fit_s']:.2f} "
            f"| {m['fit_cpu_s']:.3f} | {m['fit_cpu_s'] / lgb['fit_cpu_s']:.2f} "
            f"| {m['predict_ns_per_row']:.0f} | {m['predict_ns_per_row'] / lgb['predict_ns_per_row']:.2f} "
            f"| {m['bytes']} |")
    lines.append("")
    lines.append("Bytes: edgeml's firmware format; LightGBM's model string; XGBoost's UBJSON; "
                 "scikit-learn's pickle.")
    if "fashion" in peer and "fashion" in figures:
        ours_f, lgb_f = figures["fashion"], peer["fashion"]
        lines += [
            "",
            f"Fashion-MNIST softmax boosting, {lgb_f['train_rows']} training images (edgeml: "
            f"{ours_f['train_rows']}), {lgb_f['test_rows']} test images, {lgb_f['rounds']} rounds "
            f"(edgeml: {ours_f['rounds']}), one thread, one run each.",
            "",
            "| model | test accuracy | fit (s) | fit CPU (s) | predict (ns/row) |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, m in (("edgeml", ours_f), ("LightGBM", lgb_f)):
            cpu = m.get("fit_cpu_s")
            lines.append(f"| {name} | {m['test_accuracy']:.4f} | {m['fit_s']:.1f} | "
                         f"{'-' if cpu is None else f'{cpu:.1f}'} | "
                         f"{m['predict_ns_per_row']:.0f} |")
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="path of cal_housing.data[.gz] (default: as edgeml finds it)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--leaves", type=int, default=31)
    parser.add_argument("--forest-trees", type=int, default=30)
    parser.add_argument("--fashion-train", type=int, default=0,
                        help="also LightGBM on this many Fashion-MNIST training images")
    parser.add_argument("--fashion-rounds", type=int, default=100)
    parser.add_argument("--fashion-dir", default=str(fashion_dir()))
    parser.add_argument("--edgeml", help="trees.json from edgeml trees (--regression-only)")
    parser.add_argument("--out", default="report/peers_trees.md")
    parser.add_argument("--json-out", help="write the JSON here instead of stdout")
    args = parser.parse_args()
    peer = run(args)
    if args.fashion_train:
        peer["fashion"] = fashion(args)
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
