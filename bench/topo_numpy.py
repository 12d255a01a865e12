#!/usr/bin/env python3
"""topo_numpy.py - the peer of dag.topo for bench/topo.sh: the same TOPO search (Deng et al.,
ICML 2023, as the authors' linear code runs it) in numpy. W(pi) by per-node least squares on the
predecessors (numpy.linalg.lstsq on the centred data, as the reference's LinearRegression), the
search set from the gradient of h(W) = -log det(I - |W|), (I - |W|)^{-T}, at W(pi) (the
size_small / size_large smallest forbidden entries, ties included), every candidate swap scored
by refitting the regressions of the positions it changes, the improving ones applied best first
on disjoint spans, the large set tried at most min(d/10, 1) times with success, the end at a
local optimum. Acceptance by the same relative tol as solvd (1e-10).

Usage: topo_numpy.py JOB.json   (a dag.topo job body with problem {"data": X, "init": {"order"}});
prints one JSON line: W, order, score, iterations (candidate swaps scored), rounds, time_s,
us_per_iter."""
import json
import math
import sys
import time

import numpy as np


def sizes(d):
    mid = int(math.sqrt(d) * (d - 1) * math.log10(d)) if d > 1 else 0
    allp = d * (d - 1) // 2
    m = min(mid, allp)
    small = min(int(1.5 * d), m)
    large = max(int(1.5 * d), m)
    clamp = lambda v: max(1, min(v, max(allp, 1)))
    return clamp(small), clamp(large), min(d // 10, 1)


def fit_column(X, y_idx, x_idx):
    if len(x_idx) == 0:
        return np.zeros(0), 0.5 * np.mean(X[:, y_idx] ** 2)
    A = X[:, x_idx]
    y = X[:, y_idx]
    w, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ w
    return w, 0.5 * np.mean(r ** 2)


def fit_order(X, order):
    d = X.shape[1]
    W = np.zeros((d, d))
    res = np.zeros(d)
    for k, node in enumerate(order):
        w, res[k] = fit_column(X, node, order[:k])
        W[order[:k], node] = w
    return W, res


def topo(X, order, tol=1e-10):
    n, d = X.shape
    X = X - X.mean(axis=0, keepdims=True)
    small, large, large_max = sizes(d)
    order = list(order)
    W, res = fit_order(X, order)
    score = res.sum()
    tried = rounds = large_used = 0
    while True:
        pos = {v: k for k, v in enumerate(order)}
        Gh = np.linalg.inv(np.eye(d) - np.abs(W)).T
        pairs = sorted((Gh[i, j], i, j) for i in range(d) for j in range(d)
                       if i != j and pos[j] < pos[i])
        if not pairs:
            break
        ts, tl = pairs[small - 1][0], pairs[large - 1][0]
        ns = sum(1 for p in pairs if p[0] <= ts)
        nl = max(ns, sum(1 for p in pairs if p[0] <= tl))
        sets = [pairs[:ns]] + ([pairs[ns:nl]] if nl > ns else [])
        applied = False
        for phase, cand in enumerate(sets):
            if phase == 1 and large_used >= large_max:
                break
            good = []
            for _, i, j in cand:
                a, b = pos[j], pos[i]
                new = order[:]
                new[a], new[b] = new[b], new[a]
                delta = 0.0
                for k in range(a, b + 1):
                    _, r = fit_column(X, new[k], new[:k])
                    delta += r - res[k]
                tried += 1
                if score + delta < score - tol * max(1.0, abs(score)):
                    good.append((score + delta, a, b))
            rounds += 1
            if good:
                good.sort()
                mark = np.zeros(d, dtype=bool)
                for _, a, b in good:
                    if not mark[a:b + 1].any():
                        mark[a:b + 1] = True
                        order[a], order[b] = order[b], order[a]
                if phase == 1:
                    large_used += 1
                W, res = fit_order(X, order)
                score = res.sum()
                applied = True
                break
        if not applied:
            break
    return W, order, score, tried, rounds


def main():
    job = json.load(open(sys.argv[1]))
    X = np.array(job["problem"]["data"], dtype=float)
    order = job["problem"]["init"]["order"]
    t0 = time.perf_counter()
    W, order, score, tried, rounds = topo(X, order)
    dt = time.perf_counter() - t0
    Wt = np.where(np.abs(W) < 0.3, 0.0, W)
    print(json.dumps({"W": Wt.tolist(), "order": [int(v) for v in order], "score": score,
                      "iterations": tried, "rounds": rounds, "time_s": dt,
                      "us_per_iter": 1e6 * dt / max(tried, 1)}))


if __name__ == "__main__":
    main()
