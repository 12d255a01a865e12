#!/usr/bin/env python3
"""Writes one distributed.ef21 job body with EXPLICIT clients, the instance of benchmark (c).

The data follow the recipe of solvd's own generator (docs/solvers/distributed/ef21.md, "Generated
heterogeneous instance"): client i's rows a ~ N(0, I) scaled by s_i = 10^(h i/(n-1)), a planted
x* ~ N(0, (4/d) I), targets b = a'x* + 0.1 s_i eps. They are drawn with numpy (not solvd's
xoshiro stream, which numpy cannot reproduce) and rounded to 4 decimals so that the JSON stays
small; solvd and bench/ef21_numpy.py then both parse this one file, so both solve the identical
numbers.

Usage: make_instance.py --dim D --clients N --rows M --k K --tol T [--lambda L] [--het H]
                        [--seed S] [--max-iter I] > job.json
"""
import argparse
import json

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--rows", type=int, required=True, help="rows per client")
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--lambda", dest="lam", type=float, default=0.1)
    ap.add_argument("--het", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-iter", type=int, default=200000)
    a = ap.parse_args()

    rng = np.random.default_rng(a.seed)
    n, m, d = a.clients, a.rows, a.dim
    xstar = 2.0 / np.sqrt(d) * rng.standard_normal(d)
    clients = []
    for i in range(n):
        s = 10.0 ** (a.het * i / (n - 1)) if n > 1 else 1.0
        A = np.round(s * rng.standard_normal((m, d)), 4)
        b = np.round(A @ xstar + 0.1 * s * rng.standard_normal(m), 4)
        clients.append({"A": A.tolist(), "b": b.tolist()})
    job = {
        "solver": "distributed.ef21",
        "problem": {"clients": clients, "loss": "squared", "lambda": a.lam},
        "params": {"variant": "ef21", "k": a.k, "tol": a.tol, "max_iter": a.max_iter,
                   "report_every": 1000},
    }
    print(json.dumps(job, separators=(",", ":")))


if __name__ == "__main__":
    main()
