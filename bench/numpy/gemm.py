#!/usr/bin/python3
"""OpenBLAS's SGEMM through numpy, timed like `ingot bench gemm`: the median
and best GFLOPS of individually timed calls after a warm-up.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 \\
        /usr/bin/python3 bench/numpy/gemm.py 128 1024 2048 64x1024x1024
"""
import sys
import time

import numpy as np


def shape(s):
    p = [int(x) for x in s.split("x")]
    return (p[0], p[0], p[0]) if len(p) == 1 else tuple(p)


def main():
    sizes = [shape(s) for s in (sys.argv[1:] or ["128", "1024", "2048", "64x1024x1024"])]
    repeat = 7
    print(f"{'name':>10} {'m':>5} {'n':>5} {'k':>5} {'ms_median':>10} {'gflops_median':>14} {'gflops_best':>12}")
    for m, n, k in sizes:
        rng = np.random.default_rng(m * n + k)
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        a @ b
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - t)
        times.sort()
        med, best = times[len(times) // 2], times[0]
        flop = 2.0 * m * n * k
        print(f"{'openblas':>10} {m:>5} {n:>5} {k:>5} {med * 1e3:>10.3f} {flop / med / 1e9:>14.1f} {flop / best / 1e9:>12.1f}")


if __name__ == "__main__":
    main()
