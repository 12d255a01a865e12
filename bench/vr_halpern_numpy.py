#!/usr/bin/env python3
"""The variance-reduced Halpern iteration in numpy: the same methods as
core/solvers/monotone/vr_halpern.c (cocoercive: Halpern on u - eta F~(u) with the recursive
PAGE-type estimator, p = 1/sqrt(n), b = ceil(sqrt(n)), exact residual every b steps; monotone:
Halpern on the resolvent by the warm-started loopless-SVRG extragradient, p = 1/n, tau = 0.99
sqrt(p)/(1 + eta L), m_k = ceil((1 + eta L)/sqrt(p) ln(k+2)), exact residual every step), a full
pass as one product with the stacked (n d) x d matrix, for bench/vr_halpern.sh.

Usage: vr_halpern_numpy.py JOB.json ITERS -> prints {"iters", "seconds", "us_per_iter",
"oracle_calls", "residual"} as JSON. JOB.json is a monotone.vr_halpern job with explicit
components ({rows, cols, data} matrices, q) and params operator, lipschitz, seed (the seed only
seeds numpy's generator: the samples differ from solvd's, the algorithm and its cost do not).
"""
import json
import math
import sys
import time

import numpy as np


def main():
    job = json.load(open(sys.argv[1]))
    iters = int(sys.argv[2])
    comps = job["problem"]["components"]
    par = job["params"]
    n = len(comps)
    d = comps[0]["M"]["rows"]
    S = np.array([c["M"]["data"] for c in comps], dtype=float).reshape(n * d, d)
    Ms = S.reshape(n, d, d)
    qbar = np.mean([c.get("q", [0.0] * d) for c in comps], axis=0)
    L = float(par["lipschitz"])
    eta = 1.0 / L
    coco = par.get("operator", "monotone") == "cocoercive"
    rng = np.random.default_rng(par.get("seed", 0))

    # The full operator through the mean matrix, formed once, as solvd does (a full evaluation
    # then reads d^2 numbers, not the n d^2 of the stacked matrix).
    Mbar = Ms.mean(axis=0)

    def full(u):
        return Mbar @ u + qbar

    z = np.zeros(d)
    u0 = z.copy()
    Ft = full(z)
    calls = n
    res = np.linalg.norm(Ft)
    t0 = time.perf_counter()
    if coco:
        p = 1 / math.sqrt(n)
        b = math.ceil(math.sqrt(n))
        fresh = True
        for k in range(iters):
            if fresh:
                res = np.linalg.norm(Ft)
            elif k % b == 0:
                res = np.linalg.norm(full(z))
            lam = 1.0 / (k + 2)
            un = lam * u0 + (1 - lam) * (z - eta * Ft)
            diff = un - z
            z = un
            if rng.random() < p:
                Ft = full(z)
                calls += n
                fresh = True
            else:
                idx = rng.integers(n, size=b)
                Ft = Ft + (Ms[idx] @ diff).sum(axis=0) / b
                calls += 2 * b
                fresh = False
    else:
        p = 1.0 / n
        LG = 1 + eta * L
        tau = 0.99 * math.sqrt(p) / LG
        mscale = LG / math.sqrt(p)
        zin, w, Fw = z.copy(), z.copy(), Ft.copy()
        for k in range(iters):
            res = np.linalg.norm(full(z))
            lam = 1.0 / (k + 2)
            m = max(1, math.ceil(mscale * math.log(k + 2.0)))
            for _ in range(m):
                g = w - z + eta * Fw
                zbar = (1 - p) * zin + p * w
                zh = zbar - tau * g
                i = rng.integers(n)
                diff = zh - w
                g = g + diff + eta * (Ms[i] @ diff)
                zin = zbar - tau * g
                calls += 2
                if rng.random() < p:
                    w = zin.copy()
                    Fw = full(w)
                    calls += n
            z = lam * u0 + (1 - lam) * zin
    sec = time.perf_counter() - t0
    print(json.dumps({"iters": iters, "seconds": sec, "us_per_iter": 1e6 * sec / iters,
                      "oracle_calls": calls, "residual": float(res)}))


if __name__ == "__main__":
    main()
