"""PyTorch's training of the seed notebook's MLP on Fashion-MNIST, timed beside
`edgeml mlp --timing-only`: 784-128(ReLU)-10 on logits, pixels normalized (x - 0.5) / 0.5,
batch 64 reshuffled each epoch, SGD lr 0.01, nn.CrossEntropyLoss, one thread
(torch.set_num_threads(1)). The whole training set is pre-loaded into one tensor (no
DataLoader, no transforms per sample): the timed loop is the same work edgeml's epoch does
(shuffle, gather each minibatch, forward, loss, backward, update).

With --softmax-before-ce the model ends in nn.Softmax as the seed's does (CrossEntropyLoss then
applies log-softmax a second time), for the loss/accuracy of that variant beside `edgeml mlp`'s.

Prints one JSON object (loss, seconds and test accuracy per epoch); with --edgeml
report/mlp_timing/mlp.json also writes the side-by-side Markdown table with the ratio to --out.
"""

import argparse
import gzip
import json
import os
import statistics
import time

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


def data_dir():
    """The folder edgeml's DataConfig would use for Fashion-MNIST (flag/env, else defaults)."""
    if os.environ.get("EDGEML_FASHION_MNIST_DIR"):
        return os.environ["EDGEML_FASHION_MNIST_DIR"]
    if os.environ.get("EDGEML_DATA_DIR"):
        return os.path.join(os.environ["EDGEML_DATA_DIR"], "fashion-mnist")
    return "/usr/share/datasets/fashion-mnist"


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(folder, prefix):
    images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), 16)
    labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), 8)
    x = torch.from_numpy(images.reshape(-1, 784).astype(np.float32) / 255.0)
    return (x - 0.5) / 0.5, torch.from_numpy(labels.astype(np.int64))


def train(epochs, seed, softmax_before_ce=False):
    torch.manual_seed(seed)
    folder = data_dir()
    x_train, y_train = load(folder, "train")
    x_test, y_test = load(folder, "t10k")
    layers = [nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)]
    if softmax_before_ce:
        layers.append(nn.Softmax(dim=1))
    model = nn.Sequential(*layers)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    n = x_train.shape[0]
    losses, seconds, accuracies = [], [], []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n)
        total, batches = 0.0, 0
        for i in range(0, n, 64):
            idx = order[i : i + 64]
            optimizer.zero_grad()
            loss = criterion(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        seconds.append(time.perf_counter() - start)
        losses.append(total / batches)
        with torch.no_grad():
            accuracies.append((model(x_test).argmax(1) == y_test).float().mean().item())
    return {
        "label": f"pytorch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "seed": seed,
        "softmax_before_ce": softmax_before_ce,
        "train_rows": n,
        "loss_per_epoch": losses,
        "seconds_per_epoch": seconds,
        "median_seconds_per_epoch": statistics.median(seconds),
        "test_accuracy_per_epoch": accuracies,
    }


def table(ours, peer):
    edge_s = ours["median_seconds_per_epoch"]
    torch_s = peer["median_seconds_per_epoch"]
    lines = [
        "# MLP training: edgeml vs PyTorch",
        "",
        "The seed's setup on Fashion-MNIST (784-128-10, batch 64, SGD lr 0.01, logits), one "
        "thread each, training data pre-loaded; median seconds per epoch over "
        f"{len(peer['seconds_per_epoch'])} epochs, measured in one run by "
        "benches/peers/run.sh.",
        "",
        "| framework | s/epoch | loss after epoch 1 | last loss | last test accuracy |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in (
        (f"edgeml ({ours['isa']})", ours),
        (peer["label"], peer),
    ):
        lines.append(
            f"| {name} | {r['median_seconds_per_epoch']:.3f} | {r['loss_per_epoch'][0]:.4f} | "
            f"{r['loss_per_epoch'][-1]:.4f} | {100 * r['test_accuracy_per_epoch'][-1]:.2f}% |"
        )
    lines += [
        "",
        f"PyTorch / edgeml time per epoch: **{torch_s / edge_s:.2f}×** "
        "(above 1: edgeml is faster).",
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--softmax-before-ce", action="store_true",
                        help="the seed's model: nn.Softmax before CrossEntropyLoss")
    parser.add_argument("--edgeml", help="edgeml's mlp.json from `edgeml mlp --timing-only`")
    parser.add_argument("--json-out", help="also write the JSON here")
    parser.add_argument("--out", default="report/peers_mlp.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    peer = train(args.epochs, args.seed, args.softmax_before_ce)
    text = json.dumps(peer, indent=2)
    print(text)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(text + "\n")
    if args.edgeml:
        with open(args.edgeml) as f:
            report = json.load(f)
        figures = report["figures"]
        ours = dict(figures["main"], isa=figures["isa"])
        with open(args.out, "w") as f:
            f.write(table(ours, peer))


if __name__ == "__main__":
    main()
