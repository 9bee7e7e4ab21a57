"""scikit-learn's anomaly detectors on the one-class Fashion-MNIST protocol of `edgeml anomaly`,
and scikit-learn's KMeans beside edgeml's k-means, one thread each.

Protocol (the same rows edgeml uses): for each normal class c, the training images of class c
in file order, the last tenth held out (edgeml calibrates on it; here it is unused), the rest
fitted; the first --test-rows test images scored; AUROC with c normal and every other class
anomalous (roc_auc_score, higher score = more anomalous). Pixels are bytes / 255, then (with
--transform sqrt, edgeml's default) their square roots, as edgeml's detectors see them.

Detectors: PCA reconstruction error (--pca-components), IsolationForest (100 trees),
OneClassSVM (RBF, gamma='scale', nu=0.1, on --ocsvm-rows fitted rows: its cost is quadratic),
NearestNeighbors distance to the k-th nearest (k = 5), KMeans distance to the nearest of 10
centroids. k-means timing: KMeans(k=10, init='k-means++', n_init=1, algorithm='lloyd',
max_iter=300, tol=1e-4) on the first --kmeans-rows training images, seeding included.

Prints one JSON object; with --edgeml report/anomaly.json also writes the side-by-side
Markdown table to --out.
"""

import argparse
import gzip
import json
import os
import sys
import time

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402  (thread limits must be set before numpy loads its BLAS)
import sklearn  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402
from sklearn.svm import OneClassSVM  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

DETECTORS = ["pca", "isolation_forest", "one_class_svm", "knn", "kmeans"]


def folder():
    """The first folder holding Fashion-MNIST, in edgeml's DataConfig order."""
    if os.environ.get("EDGEML_FASHION_MNIST_DIR"):
        return os.environ["EDGEML_FASHION_MNIST_DIR"]
    dirs = []
    if os.environ.get("EDGEML_DATA_DIR"):
        dirs.append(os.path.join(os.environ["EDGEML_DATA_DIR"], "fashion-mnist"))
    dirs += ["/usr/share/datasets/fashion-mnist", "data/fashion-mnist"]
    for d in dirs:
        if os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")):
            return d
    raise SystemExit(f"Fashion-MNIST not found in {dirs}")


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(prefix):
    d = folder()
    images = idx(os.path.join(d, f"{prefix}-images-idx3-ubyte.gz"), 16).reshape(-1, 784)
    labels = idx(os.path.join(d, f"{prefix}-labels-idx1-ubyte.gz"), 8)
    return images.astype(np.float32) / 255.0, labels


def score_all(fit, test, args, seed):
    """Test scores of every detector (higher = more anomalous) and fit+score seconds."""
    out, seconds = {}, {}

    def timed(name, f):
        start = time.perf_counter()
        out[name] = f()
        seconds[name] = time.perf_counter() - start

    def pca():
        model = PCA(n_components=args.pca_components, random_state=seed).fit(fit)
        recon = model.inverse_transform(model.transform(test))
        return ((test - recon) ** 2).mean(axis=1)

    def forest():
        model = IsolationForest(n_estimators=100, random_state=seed).fit(fit)
        return -model.score_samples(test)

    def ocsvm():
        rows = fit[: args.ocsvm_rows]
        model = OneClassSVM(kernel="rbf", gamma="scale", nu=0.1).fit(rows)
        return -model.score_samples(test)

    def knn():
        model = NearestNeighbors(n_neighbors=args.k).fit(fit)
        return model.kneighbors(test)[0][:, -1]

    def kmeans():
        model = KMeans(n_clusters=10, n_init=1, random_state=seed).fit(fit)
        return model.transform(test).min(axis=1)

    for name, f in [("pca", pca), ("isolation_forest", forest), ("one_class_svm", ocsvm),
                    ("knn", knn), ("kmeans", kmeans)]:
        timed(name, f)
    return out, seconds


def one_class(args, train, test):
    (x, y), (tx, ty) = train, test
    tx, ty = tx[: args.test_rows], ty[: args.test_rows]
    auroc = {d: {} for d in DETECTORS}
    seconds = {d: 0.0 for d in DETECTORS}
    for c in args.classes:
        own = x[y == c][: args.train_per_class]
        fit = own[: len(own) - len(own) // 10]
        scores, secs = score_all(fit, tx, args, args.seed)
        for d in DETECTORS:
            auroc[d][str(c)] = float(roc_auc_score(ty != c, scores[d]))
            seconds[d] += secs[d] / len(args.classes)
        print(f"class {c}: " + ", ".join(f"{d} {auroc[d][str(c)]:.4f}" for d in DETECTORS),
              file=sys.stderr)
    mean = {d: float(np.mean(list(auroc[d].values()))) for d in DETECTORS}
    return {"auroc": auroc, "mean_auroc": mean, "seconds": seconds}


def kmeans_timing(args, train):
    x = np.ascontiguousarray(train[0][: args.kmeans_rows])
    start, cpu_start = time.perf_counter(), time.process_time()
    model = KMeans(n_clusters=10, init="k-means++", n_init=1, algorithm="lloyd", max_iter=300,
                   tol=1e-4, random_state=args.seed).fit(x)
    return {"rows": len(x), "inertia": float(model.inertia_), "iterations": int(model.n_iter_),
            "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu_start}


def table(peer, edgeml):
    e1, ek = edgeml["one_class"], edgeml["kmeans"]
    lines = ["| detector | mean AUROC | seconds per class (fit + score) |", "|---|---:|---:|"]
    for d in ["autoencoder", "kmeans", "knn", "ensemble"]:
        lines.append(f"| edgeml {d} | {e1['mean_auroc'][d]:.4f} | {e1['seconds'][d]:.2f} |")
    for d in DETECTORS:
        lines.append(f"| scikit-learn {d} | {peer['one_class']['mean_auroc'][d]:.4f} "
                     f"| {peer['one_class']['seconds'][d]:.2f} |")
    lines += ["", "| k-means (k = 10) | inertia | iterations | wall s | CPU s |",
              "|---|---:|---:|---:|---:|"]
    for name, r in [("edgeml Lloyd", ek["lloyd"]), ("edgeml mini-batch", ek["mini_batch"]),
                    ("scikit-learn KMeans", peer["kmeans"])]:
        cpu = r.get("cpu_seconds")
        lines.append(f"| {name} | {r['inertia']:.7g} | {r['iterations']} | {r['seconds']:.3f} "
                     f"| {'–' if cpu is None else f'{cpu:.3f}'} |")
    ratio = ek["lloyd"]["inertia"] / peer["kmeans"]["inertia"]
    key = "cpu_seconds" if ek["lloyd"].get("cpu_seconds") else "seconds"
    speed = peer["kmeans"][key] / ek["lloyd"][key]
    lines += ["", f"edgeml's Lloyd inertia is {ratio:.4f}× scikit-learn's; it runs {speed:.2f}× "
              f"as fast by {key.replace('_', ' ')} (one thread each)."]
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9")
    p.add_argument("--train-per-class", type=int, default=6000)
    p.add_argument("--test-rows", type=int, default=10000)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--pca-components", type=int, default=30)
    p.add_argument("--ocsvm-rows", type=int, default=2000)
    p.add_argument("--kmeans-rows", type=int, default=60000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--transform", choices=["sqrt", "none"], default="sqrt",
                   help="per-pixel transform of the one-class protocol (as edgeml's --transform)")
    p.add_argument("--edgeml", help="edgeml's anomaly.json from the same run")
    p.add_argument("--out", default="report/peers_anomaly.md")
    args = p.parse_args()
    args.classes = [int(c) for c in args.classes.split(",")]
    train, test = load("train"), load("t10k")
    f = np.sqrt if args.transform == "sqrt" else (lambda a: a)
    with threadpool_limits(limits=1):
        result = {
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "transform": args.transform,
            "one_class": one_class(args, (f(train[0]), train[1]), (f(test[0]), test[1])),
            "kmeans": kmeans_timing(args, train),
        }
    print(json.dumps(result, indent=1))
    if args.edgeml:
        with open(args.edgeml) as f:
            edgeml = json.load(f)["figures"]
        with open(args.out, "w") as f:
            f.write("# Anomaly detection: edgeml beside scikit-learn\n\n" + table(result, edgeml))


if __name__ == "__main__":
    main()
