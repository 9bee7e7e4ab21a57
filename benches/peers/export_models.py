"""Trains small LightGBM and XGBoost models and writes the import fixtures.

Writes host/tests/fixtures/import/: each model file; the fixed inputs (64 California Housing
rows as exact float32 values in `california.inputs.json`, 64 Fashion-MNIST rows as pixels in
`fashion.pixels.json`, x = pixel / 255 in float32); and the original library's outputs on them
(`<name>.expected.json`: `inputs` file, `margins` = raw scores per row, `predictions` = value,
P(class 1) or class), so `cargo test -p edgeml-host --test import` needs no Python; the same for
input rows with NaN entries (`export_missing`: `*_missing.*` inputs and cases, and the
`*_nan_regression` models trained with NaN). Also writes
a 500-tree LightGBM model to target/import/lgb_500.txt for the import-time measurement.

Data: California Housing (the copy in host/data/, or EDGEML_CALIFORNIA_DIR) and Fashion-MNIST
(IDX files), found as the host finds them (benches/peers/edgeml_data.py).
Run: benches/peers/.venv/bin/python benches/peers/export_models.py
Pins: benches/peers/requirements.txt (lightgbm, xgboost-cpu, numpy).
"""

import gzip
import json
import pathlib

import lightgbm as lgb
import numpy as np
import xgboost as xgb
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                              RandomForestClassifier)
from sklearn.tree import DecisionTreeRegressor

from edgeml_data import california_path, fashion_dir
from sklearn_export import export

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "host" / "tests" / "fixtures" / "import"
N_ROWS = 64


def fashion_file(name):
    folder = fashion_dir()
    for n in (name, name + ".gz"):
        if (folder / n).is_file():
            return folder / n
    raise SystemExit(f"{name} not found in {folder} (set EDGEML_FASHION_MNIST_DIR)")


def california():
    data = np.loadtxt(california_path(), delimiter=",", dtype=np.float64)
    # Same features as the host's loader order: everything but the last column (the target).
    x = data[:, :-1].astype(np.float32)
    y = (data[:, -1] / 100000.0).astype(np.float64)
    return x, y


def idx(path):
    raw = gzip.open(path).read() if str(path).endswith(".gz") else open(path, "rb").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion(n):
    xi = idx(fashion_file("train-images-idx3-ubyte"))
    yi = idx(fashion_file("train-labels-idx1-ubyte"))
    x = xi[:n].reshape(n, -1).astype(np.float32) / np.float32(255.0)
    return x, yi[:n].astype(np.int64)


def write_case(name, model_file, inputs, margins, predictions):
    (OUT / f"{name}.expected.json").write_text(json.dumps({
        "model": model_file,
        "inputs": inputs,
        "margins": [[float(v) for v in np.atleast_1d(m)] for m in margins],
        "predictions": [float(p) for p in predictions],
    }))


def export_mlp(xf, yf, fpick):
    """784-32-16-10 ReLU MLP (nn.Sequential) on 2000 Fashion-MNIST rows, saved as safetensors
    with the activations in the `edgeml.activations` metadata."""
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16),
                              torch.nn.ReLU(), torch.nn.Linear(16, 10))
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    x, y = torch.from_numpy(xf[:2000]), torch.from_numpy(yf[:2000])
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(OUT / "torch_mlp.safetensors"),
              metadata={"edgeml.activations": "relu,relu,identity"})
    with torch.no_grad():
        logits = net(torch.from_numpy(xf[fpick])).double().numpy()
    write_case("torch_mlp", "torch_mlp.safetensors", "fashion.pixels.json", logits,
               logits.argmax(axis=1))
    print("torch_mlp", (OUT / "torch_mlp.safetensors").stat().st_size, "bytes")
    export_mlp_bn(xf, yf, fpick)


def export_mlp_bn(xf, yf, fpick):
    """Two nn.Sequential MLPs with BatchNorm1d, trained in train mode (so the running statistics
    move off 0/1) on 2000 Fashion-MNIST rows, saved in eval mode as safetensors with PyTorch's
    logits on the committed `fashion.pixels.json` rows:
    `torch_mlp_bn`: Linear → BatchNorm1d → ReLU on both hidden layers (784-32-16-10, ε 1e-5),
    which maps onto the core's batch-norm path; `torch_mlp_bn_folded`: batch norm on the first
    hidden layer only, ε 1e-3 (`edgeml.bn_eps` metadata), which the importer folds into that
    Linear. The state dicts keep `num_batches_tracked` (int64), which the importer ignores.
    Run alone: cd benches/peers && ../peers/.venv/bin/python -c
    "import export_models as e; x, y = e.fashion(3000); e.export_mlp_bn(x, y, e.np.arange(2000, 2064))"
    """
    import torch
    from safetensors.torch import save_file

    nn = torch.nn
    nets = {
        "torch_mlp_bn": (nn.Sequential(nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(),
                                       nn.Linear(32, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                       nn.Linear(16, 10)), None),
        "torch_mlp_bn_folded": (nn.Sequential(nn.Linear(784, 32), nn.BatchNorm1d(32, eps=1e-3),
                                              nn.ReLU(), nn.Linear(32, 16), nn.ReLU(),
                                              nn.Linear(16, 10)), "0.001"),
    }
    x, y = torch.from_numpy(xf[:2000]), torch.from_numpy(yf[:2000])
    for name, (net, eps) in nets.items():
        torch.manual_seed(2)
        for m in net:
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        opt = torch.optim.Adam(net.parameters(), 1e-2)
        net.train()
        for step in range(40):
            batch = torch.randperm(2000)[:256]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            opt.step()
        net.eval()
        metadata = {"edgeml.activations": "relu,relu,identity"}
        if eps is not None:
            metadata["edgeml.bn_eps"] = eps
        file = f"{name}.safetensors"
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(OUT / file),
                  metadata=metadata)
        with torch.no_grad():
            logits = net(torch.from_numpy(xf[fpick])).double().numpy()
        write_case(name, file, "fashion.pixels.json", logits, logits.argmax(axis=1))
        print(name, (OUT / file).stat().st_size, "bytes")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    xc, yc = california()
    pick = rng.choice(len(xc), N_ROWS, replace=False)
    xf, yf = fashion(3000)
    fpick = np.arange(2000, 2000 + N_ROWS)
    # California rows as exact float32 values; Fashion-MNIST rows as pixels (x = p / 255 in f32).
    (OUT / "california.inputs.json").write_text(
        json.dumps([[float(v) for v in r] for r in xc[pick]]))
    (OUT / "fashion.pixels.json").write_text(
        json.dumps([[int(round(float(v) * 255)) for v in r] for r in xf[fpick]]))
    yb = (yc > np.median(yc)).astype(np.int64)
    cases = []

    # LightGBM
    common = dict(verbose=-1, num_leaves=15, learning_rate=0.1, seed=1, deterministic=True)
    m = lgb.train(dict(common, objective="regression"), lgb.Dataset(xc, yc), 40)
    cases.append(("lgb_regression", m, xc[pick], "lgb", "california.inputs.json"))
    m = lgb.train(dict(common, objective="binary"), lgb.Dataset(xc, yb), 30)
    cases.append(("lgb_binary", m, xc[pick], "lgb", "california.inputs.json"))
    m = lgb.train(dict(common, objective="multiclass", num_class=10, num_leaves=7),
                  lgb.Dataset(xf[:2000], yf[:2000]), 8)
    cases.append(("lgb_multiclass", m, xf[fpick], "lgb", "fashion.pixels.json"))

    # XGBoost
    xcommon = dict(max_depth=4, eta=0.2, seed=1, nthread=2, tree_method="hist")
    m = xgb.train(dict(xcommon, objective="reg:squarederror"), xgb.DMatrix(xc, yc), 40)
    cases.append(("xgb_regression", m, xc[pick], "xgb", "california.inputs.json"))
    m = xgb.train(dict(xcommon, objective="binary:logistic"), xgb.DMatrix(xc, yb), 30)
    cases.append(("xgb_binary", m, xc[pick], "xgb", "california.inputs.json"))
    m = xgb.train(dict(xcommon, objective="multi:softprob", num_class=10, max_depth=3),
                  xgb.DMatrix(xf[:2000], yf[:2000]), 8)
    cases.append(("xgb_multiclass", m, xf[fpick], "xgb", "fashion.pixels.json"))

    # scikit-learn (through sklearn_export.py)
    m = DecisionTreeRegressor(max_depth=8, random_state=1).fit(xc, yc)
    cases.append(("sk_tree_regression", m, xc[pick], "sk", "california.inputs.json"))
    m = GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=1).fit(xc, yc)
    cases.append(("sk_gb_regression", m, xc[pick], "sk", "california.inputs.json"))
    m = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=1).fit(xc, yb)
    cases.append(("sk_gb_binary", m, xc[pick], "sk", "california.inputs.json"))
    m = RandomForestClassifier(n_estimators=8, max_depth=6, random_state=1, n_jobs=2).fit(
        xf[:2000], yf[:2000])
    cases.append(("sk_forest_multiclass", m, xf[fpick], "sk", "fashion.pixels.json"))

    for name, m, rows, lib, inputs in cases:
        if lib == "sk":
            file = f"{name}.json"
            export(m, OUT / file)
            if hasattr(m, "decision_function"):
                margins = m.decision_function(rows)
                preds = m.predict_proba(rows)[:, 1] if margins.ndim == 1 else m.predict(rows)
            elif hasattr(m, "predict_proba"):
                margins = m.predict_proba(rows)
                preds = m.predict(rows)
            else:
                margins = preds = m.predict(rows)
            write_case(name, file, inputs, np.asarray(margins).reshape(len(rows), -1), preds)
            print(name, file, (OUT / file).stat().st_size, "bytes")
            continue
        if lib == "lgb":
            file = f"{name}.txt"
            m.save_model(str(OUT / file))
            margins = m.predict(rows, raw_score=True)
            probs = m.predict(rows)
        else:
            file = f"{name}.json"
            m.save_model(str(OUT / file))
            d = xgb.DMatrix(rows)
            margins = m.predict(d, output_margin=True)
            probs = m.predict(d)
        margins = np.asarray(margins).reshape(len(rows), -1)
        probs = np.asarray(probs)
        preds = probs.argmax(axis=1) if probs.ndim == 2 else probs
        write_case(name, file, inputs, margins, preds)
        print(name, file, (OUT / file).stat().st_size, "bytes")

    export_mlp(xf, yf, fpick)
    export_missing()

    # 500 trees of 31 leaves for the import-time measurement (1.4 MB, not committed).
    big = ROOT / "target" / "import" / "lgb_500.txt"
    big.parent.mkdir(parents=True, exist_ok=True)
    m = lgb.train(dict(common, objective="regression", num_leaves=31), lgb.Dataset(xc, yc), 500)
    m.save_model(str(big))
    print(big, big.stat().st_size, "bytes")
    export_lgb500(m, xc[pick])


def with_nan(x, rate, seed):
    """A copy of `x` with each entry replaced by NaN with probability `rate`."""
    x = x.copy()
    x[np.random.default_rng(seed).random(x.shape) < rate] = np.nan
    return x


def rows_json(rows):
    """Rows as JSON lists, NaN written as null (missing)."""
    return json.dumps([[None if np.isnan(v) else float(v) for v in r] for r in rows])


def export_missing():
    """Missing-value fixtures: California rows and Fashion-MNIST pixels with about a quarter of
    the entries NaN (`null` in `california_missing.inputs.json` / `fashion_missing.pixels.json`),
    the originals' outputs on them for the committed models trained without NaN (LightGBM
    missing type None: NaN counts as 0; XGBoost: each node's default_left), and small models
    trained on data with 20% NaN (LightGBM missing type NaN with learned default directions;
    XGBoost default_left learned)."""
    OUT.mkdir(parents=True, exist_ok=True)
    xc, yc = california()
    pick = np.random.default_rng(7).choice(len(xc), N_ROWS, replace=False)
    xf, yf = fashion(3000)
    fpick = np.arange(2000, 2000 + N_ROWS)
    cal = with_nan(xc[pick], 0.25, 11)
    fas = with_nan(xf[fpick], 0.25, 12)
    (OUT / "california_missing.inputs.json").write_text(rows_json(cal))
    (OUT / "fashion_missing.pixels.json").write_text(
        json.dumps([[None if np.isnan(v) else int(round(float(v) * 255)) for v in r] for r in fas]))

    def lgb_case(name, m, rows, inputs, file):
        margins = np.asarray(m.predict(rows, raw_score=True)).reshape(len(rows), -1)
        probs = np.asarray(m.predict(rows))
        preds = probs.argmax(axis=1) if probs.ndim == 2 else probs
        write_case(name, file, inputs, margins, preds)

    def xgb_case(name, m, rows, inputs, file):
        d = xgb.DMatrix(rows)
        margins = np.asarray(m.predict(d, output_margin=True)).reshape(len(rows), -1)
        probs = np.asarray(m.predict(d))
        preds = probs.argmax(axis=1) if probs.ndim == 2 else probs
        write_case(name, file, inputs, margins, preds)

    for name, inputs, rows in [("binary", "california_missing.inputs.json", cal),
                               ("multiclass", "fashion_missing.pixels.json", fas)]:
        lgb_case(f"lgb_{name}_missing", lgb.Booster(model_file=str(OUT / f"lgb_{name}.txt")),
                 rows, inputs, f"lgb_{name}.txt")
        m = xgb.Booster()
        m.load_model(str(OUT / f"xgb_{name}.json"))
        xgb_case(f"xgb_{name}_missing", m, rows, inputs, f"xgb_{name}.json")

    xn = with_nan(xc, 0.2, 13)
    m = lgb.train(dict(verbose=-1, num_leaves=15, learning_rate=0.1, seed=1, deterministic=True,
                       objective="regression"), lgb.Dataset(xn, yc), 20)
    m.save_model(str(OUT / "lgb_nan_regression.txt"))
    lgb_case("lgb_nan_regression", m, cal, "california_missing.inputs.json",
             "lgb_nan_regression.txt")
    m = xgb.train(dict(max_depth=4, eta=0.2, seed=1, nthread=2, tree_method="hist",
                       objective="reg:squarederror"), xgb.DMatrix(xn, yc), 20)
    m.save_model(str(OUT / "xgb_nan_regression.json"))
    xgb_case("xgb_nan_regression", m, cal, "california_missing.inputs.json",
             "xgb_nan_regression.json")
    for f in ["lgb_nan_regression.txt", "xgb_nan_regression.json"]:
        print(f, (OUT / f).stat().st_size, "bytes")


def export_lgb500(m, rows):
    """The 500-tree LightGBM regression model `m` (31 leaves, California Housing) for the
    firmware (`edgeml export`): `lgb_500.txt.gz` (gzip, no timestamp, so reruns give the same
    bytes) and LightGBM's outputs on `california.inputs.json` (`rows`) in
    `lgb_500.expected.json`."""
    text = m.model_to_string().encode()
    with open(OUT / "lgb_500.txt.gz", "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=f, mtime=0) as g:
            g.write(text)
    margins = np.asarray(m.predict(rows, raw_score=True)).reshape(len(rows), -1)
    write_case("lgb_500", "lgb_500.txt.gz", "california.inputs.json", margins, m.predict(rows))
    print("lgb_500.txt.gz", (OUT / "lgb_500.txt.gz").stat().st_size, "bytes")


if __name__ == "__main__":
    main()
