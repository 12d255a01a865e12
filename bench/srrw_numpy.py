#!/usr/bin/env python3
"""SA-SRRW in numpy: the same recursion as core/solvers/distributed/srrw.c (Metropolis base walk
towards the uniform share, the log-form visit measure, gamma_n = (n+1)^-a, beta_n = step0
(n+1)^-b, each step one local least-squares gradient), for bench/srrw.sh.

Usage: srrw_numpy.py JOB.json STEPS  -> prints {"steps", "seconds", "us_per_step", "x"} as JSON.
JOB.json is a distributed.srrw job with explicit clients, lambda, edges and params alpha, a, b,
step0, seed (the seed only seeds numpy's generator: the walk differs from solvd's, the algorithm
and its cost do not).
"""
import json
import sys
import time

import numpy as np


def main():
    job = json.load(open(sys.argv[1]))
    steps = int(sys.argv[2])
    prob, par = job["problem"], job["params"]
    A = [np.array(c["A"], dtype=float) for c in prob["clients"]]
    b = [np.array(c["b"], dtype=float) for c in prob["clients"]]
    lam = float(prob.get("lambda", 0.0))
    n, d = len(A), A[0].shape[1]
    nbrs = [[] for _ in range(n)]
    for i, j in prob["edges"]:
        nbrs[i].append(j)
        nbrs[j].append(i)
    deg = np.array([len(v) for v in nbrs], dtype=float)
    # Metropolis walk: P(i,j) = min(1/d_i, 1/d_j), the rest on the self-loop; mu uniform.
    supp = [np.array([i] + sorted(nbrs[i])) for i in range(n)]
    prob_rows = []
    for i in range(n):
        p = np.array([min(1 / deg[i], 1 / deg[j]) for j in supp[i][1:]])
        prob_rows.append(np.concatenate(([max(0.0, 1 - p.sum())], p)))
    alpha, a, bb, step0 = par["alpha"], par["a"], par["b"], par["step0"]
    rng = np.random.default_rng(par.get("seed", 0))
    logmu = np.full(n, -np.log(n))
    l = np.zeros(n)
    logc = 0.0
    theta = np.zeros(d)
    X = int(rng.integers(n))
    m = [Ai.shape[0] for Ai in A]
    t0 = time.perf_counter()
    for k in range(steps):
        s, p = supp[X], prob_rows[X]
        ls = l[s]
        w = p * np.exp(-alpha * (ls - ls[p > 0].min()))
        X = int(s[np.searchsorted(np.cumsum(w), rng.random() * w.sum(), side="right")])
        n1 = k + 2.0
        gamma = n1 ** -a
        logc += np.log1p(-gamma)
        l[X] = np.logaddexp(l[X], np.log(gamma) - logc - logmu[X])
        beta = step0 * n1 ** -bb
        g = A[X].T @ (A[X] @ theta - b[X]) / m[X] + lam * theta
        theta -= beta * g
    sec = time.perf_counter() - t0
    print(json.dumps({"steps": steps, "seconds": sec, "us_per_step": 1e6 * sec / steps,
                      "x": theta.tolist()}))


if __name__ == "__main__":
    main()
