"""Puts `edgeml bench` (report/bench.json) and the peer JSON files side by side: one Markdown
table of single-thread gemm GFLOP/s per size, with the ratio of edgeml's dispatched variant to
each peer. Writes the table to --out and prints it."""

import argparse
import json


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edgeml", required=True, help="report/bench.json from edgeml bench")
    parser.add_argument("--peer", action="append", default=[], help="a peer's JSON output")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    with open(args.edgeml) as f:
        edgeml = json.load(f)["figures"]
    peers = []
    for path in args.peer:
        with open(path) as f:
            peers.append(json.load(f))

    dispatched = edgeml["dispatched_variant"]
    gemm = edgeml["gemm_gflops"]
    sizes = sorted({int(s) for row in gemm.values() for s in row}, key=int)
    variants = dict.fromkeys(v for v in ("reference", "portable", dispatched) if v in gemm)
    columns = [(f"edgeml {v}", gemm[v]) for v in variants]
    for peer in peers:
        arch = ", ".join(
            f"{b.get('internal_api')} {b.get('version')} {b.get('architecture')}" for b in peer["blas"]
        )
        columns.append((f"{peer['peer']} ({arch})", peer["gemm_gflops"]))

    header = ["n"] + [name for name, _ in columns]
    header += [f"edgeml {dispatched} / {peer['peer']}" for peer in peers]
    lines = [
        f"Single-thread sgemm, GFLOP/s, same machine, same run. CPU: {edgeml['cpu']}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---:|" * len(header),
    ]
    for n in sizes:
        key = str(n)
        row = [key]
        for _, values in columns:
            row.append(f"{values[key]:.1f}" if key in values else "–")
        for peer in peers:
            ours, theirs = gemm[dispatched].get(key), peer["gemm_gflops"].get(key)
            row.append(f"{ours / theirs:.2f}" if ours and theirs else "–")
        lines.append("| " + " | ".join(row) + " |")
    table = "\n".join(lines) + "\n"
    with open(args.out, "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
