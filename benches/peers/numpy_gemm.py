"""Single-thread numpy sgemm GFLOP/s on square sizes, timed the way `edgeml bench` times gemm
(one warm-up call, then the median of batches each lasting about a tenth of --min-time-ms).

Prints one JSON object: peer name, numpy version, the BLAS numpy links and the kernel
architecture it picked, and gemm_gflops keyed by size.
"""

import argparse
import json
import os
import time

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402  (thread limits must be set before numpy loads its BLAS)
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402


def seconds_per_call(min_time, call):
    start = time.perf_counter()
    call()
    once = max(time.perf_counter() - start, 1e-9)
    per_batch = max(1, min(1_000_000, int(-(-(min_time / 10.0) // once))))
    batches = []
    started = time.perf_counter()
    while len(batches) < 3 or (time.perf_counter() - started < min_time and len(batches) < 50):
        batch_start = time.perf_counter()
        for _ in range(per_batch):
            call()
        batches.append((time.perf_counter() - batch_start) / per_batch)
    batches.sort()
    return batches[len(batches) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="64,256,512,1024")
    parser.add_argument("--min-time-ms", type=float, default=300.0)
    parser.add_argument("--label", default="numpy")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    results = {}
    with threadpool_limits(limits=1):
        blas = [
            {k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for info in threadpool_info()
            if info.get("user_api") == "blas"
        ]
        for n in (int(s) for s in args.sizes.split(",")):
            a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
            b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
            c = np.empty((n, n), dtype=np.float32)
            seconds = seconds_per_call(args.min_time_ms / 1000.0, lambda: np.matmul(a, b, out=c))
            results[str(n)] = 2.0 * n**3 / seconds / 1e9
    print(
        json.dumps(
            {
                "peer": args.label,
                "numpy": np.__version__,
                "blas": blas,
                "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
                "gemm_gflops": results,
            }
        )
    )


if __name__ == "__main__":
    main()
