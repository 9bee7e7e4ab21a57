"""Times PyTorch's multi-head attention forward on the CPU, one thread, fp32, batch 1, 4 heads,
head dim 64 (the shape of `edgeml attention`): `torch.nn.functional.scaled_dot_product_attention`
and a naive matmul-softmax-matmul. FLOPs are counted as 4*L^2*d*heads, as edgeml counts them.
Prints JSON; with --edgeml (report/attention.json from the same run) also writes a Markdown table
putting edgeml's streaming kernel beside PyTorch's to --out."""

import argparse
import json
import statistics
import sys
import time

import torch

HEADS = 4
HEAD_DIM = 64


def seconds_per_call(fn, min_time):
    """One warm-up call, then the median over batches that each last about min_time / 10
    (at least three batches), as edgeml's timer does."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-9)
    per_batch = min(max(int(-(-(min_time / 10) // once)), 1), 1_000_000)
    batches = []
    started = time.perf_counter()
    while len(batches) < 3 or (time.perf_counter() - started < min_time and len(batches) < 50):
        t = time.perf_counter()
        for _ in range(per_batch):
            fn()
        batches.append((time.perf_counter() - t) / per_batch)
    return statistics.median(batches)


def naive(q, k, v):
    scores = (q @ k.transpose(-2, -1)) * (HEAD_DIM**-0.5)
    return torch.softmax(scores, dim=-1) @ v


def measure(lengths, min_time):
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    rows = {}
    for length in lengths:
        q, k, v = (
            torch.rand(1, HEADS, length, HEAD_DIM, generator=gen) * 2 - 1 for _ in range(3)
        )
        flops = 4 * length * length * HEAD_DIM * HEADS
        row = {}
        with torch.inference_mode():
            sdpa = torch.nn.functional.scaled_dot_product_attention
            for name, fn in [("sdpa", lambda: sdpa(q, k, v)), ("naive", lambda: naive(q, k, v))]:
                seconds = seconds_per_call(fn, min_time)
                row[f"{name}_ms"] = seconds * 1e3
                row[f"{name}_gflops"] = flops / seconds / 1e9
        rows[str(length)] = row
    return rows


def markdown(edgeml, torch_rows):
    figures = edgeml["figures"]
    dispatched = figures["dispatched_variant"]
    ours_name = f"streaming {dispatched}"
    ours = figures["throughput_gflops"].get(ours_name, {})
    lines = [
        f"Multi-head attention forward, fp32, one thread, batch 1, {HEADS} heads, head dim "
        f"{HEAD_DIM}, same machine, same run; GFLOP/s counting 4·L²·d·heads. CPU: "
        f"{figures['cpu']}. PyTorch {torch.__version__}.",
        "",
        f"| L | edgeml {ours_name} | torch SDPA | torch naive | edgeml / SDPA |",
        "|---:|---:|---:|---:|---:|",
    ]
    for length, row in torch_rows.items():
        mine = ours.get(length)
        ratio = f"{mine / row['sdpa_gflops']:.2f}" if mine else "–"
        mine_text = f"{mine:.1f}" if mine else "–"
        lines.append(
            f"| {length} | {mine_text} | {row['sdpa_gflops']:.1f} | "
            f"{row['naive_gflops']:.1f} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lengths", default="64,128,512,2048")
    parser.add_argument("--min-time-ms", type=float, default=200)
    parser.add_argument("--edgeml", help="report/attention.json from edgeml attention")
    parser.add_argument("--out", help="Markdown table (needs --edgeml)")
    args = parser.parse_args()

    lengths = [int(x) for x in args.lengths.split(",")]
    rows = measure(lengths, args.min_time_ms / 1000)
    result = {
        "peer": "torch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "heads": HEADS,
        "head_dim": HEAD_DIM,
        "lengths": rows,
    }
    print(json.dumps(result, indent=2))
    if args.edgeml and args.out:
        with open(args.edgeml) as f:
            table = markdown(json.load(f), rows)
        with open(args.out, "w") as f:
            f.write(table)
        print(table, file=sys.stderr)


if __name__ == "__main__":
    main()
