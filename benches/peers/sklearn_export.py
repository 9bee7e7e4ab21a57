"""Writes a fitted scikit-learn tree model's `tree_` arrays to JSON for `edgeml import sklearn`.

Supported: DecisionTree{Regressor,Classifier}, RandomForest{Regressor,Classifier},
ExtraTrees{Regressor,Classifier}, GradientBoosting{Regressor,Classifier}. No pickle: the
JSON holds, per tree, `children_left`, `children_right`, `feature`, `threshold` (decimal
strings, exact float64 `repr`) and `value` (per node: one entry per class, or one value).
Gradient boosting adds `learning_rate` and `init` (the raw initial scores, one per output).

Usage: export(estimator, "model.json")
"""

import json

import numpy as np


def _tree(t, classifier):
    value = t.value[:, 0, :]
    if classifier:
        value = value / value.sum(axis=1, keepdims=True)
    return {
        "children_left": t.children_left.tolist(),
        "children_right": t.children_right.tolist(),
        "feature": t.feature.tolist(),
        "threshold": [repr(float(v)) for v in t.threshold],
        "value": value.tolist(),
    }


def export(est, path):
    name = type(est).__name__
    out = {"format": "edgeml-sklearn", "version": 1, "estimator": name,
           "n_features": int(est.n_features_in_)}
    classifier = hasattr(est, "classes_")
    out["n_classes"] = int(len(est.classes_)) if classifier else 0
    if name.startswith("GradientBoosting"):
        stages = est.estimators_  # (n_estimators, K) regression trees
        out["learning_rate"] = float(est.learning_rate)
        init = est._raw_predict_init(np.zeros((1, est.n_features_in_), np.float32))[0]
        out["init"] = [float(v) for v in init]
        out["trees"] = [_tree(t.tree_, False) for row in stages for t in row]
    elif hasattr(est, "estimators_"):
        out["trees"] = [_tree(t.tree_, classifier) for t in est.estimators_]
    else:
        out["trees"] = [_tree(est.tree_, classifier)]
    with open(path, "w") as f:
        json.dump(out, f)
