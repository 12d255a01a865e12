#!/usr/bin/env python3
"""Online matching with stochastic rewards in numpy: the same Monte Carlo as
core/solvers/matching/online.c (per trial a random arrival order unless fixed, random ranks, one
uniform coin per edge shared by the three algorithms; Stochastic Balance with the MSVV penalty,
score p (1 - e^(load - 1)) with the factor kept per offline vertex; Ranking; greedy; ties to the
first edge), vectorised over a batch of trials (one Python step per arrival), for
bench/online.sh. It also solves the budget LP with scipy's HiGHS, an independent check of
solvd's GLPK value.

Usage: online_numpy.py JOB.json TRIALS -> prints {"trials", "seconds", "us_per_trial", "lp",
"ratios": {alg: [mean, ci95]}} as JSON. JOB.json is a matching.online job with an explicit
graph (offline, online, random_order) and params seed (it only seeds numpy's generator).
"""
import json
import sys
import time

import numpy as np


def lp_value(m, rows):
    try:
        from scipy.optimize import linprog
        from scipy.sparse import coo_matrix
    except ImportError:
        return None
    r, c, val, cost = [], [], [], []
    k = 0
    n = len(rows)
    for v, row in enumerate(rows):
        for u, p in row:
            r += [u, m + v]
            c += [k, k]
            val += [p, 1.0]
            cost.append(-p)
            k += 1
    A = coo_matrix((val, (r, c)), shape=(m + n, k)).tocsr()
    res = linprog(cost, A_ub=A, b_ub=np.ones(m + n), bounds=(0, None), method="highs")
    return -res.fun if res.status == 0 else None


def main():
    job = json.load(open(sys.argv[1]))
    trials = int(sys.argv[2])
    prob = job["problem"]
    m, rows = prob["offline"], prob["online"]
    random_order = prob.get("random_order", True)
    n = len(rows)
    dmax = max(len(r) for r in rows)
    A = np.full((n, dmax), m, dtype=np.int64)  # column m: a dummy vertex never available
    P = np.zeros((n, dmax))
    for v, row in enumerate(rows):
        for i, (u, p) in enumerate(row):
            A[v, i], P[v, i] = u, p
    lp = lp_value(m, rows)
    rng = np.random.default_rng(job.get("params", {}).get("seed", 0))
    B = trials
    ratios = {"balance": [], "ranking": [], "greedy": []}
    t0 = time.perf_counter()
    bi = np.arange(B)[:, None]
    bidx = np.arange(B)
    order = (np.argsort(rng.random((B, n)), axis=1) if random_order
             else np.broadcast_to(np.arange(n), (B, n)))
    rank = np.concatenate([np.argsort(rng.random((B, m)), axis=1).astype(float),
                           np.full((B, 1), np.inf)], axis=1)
    coins = rng.random((B, n, dmax))
    matched = {}
    for alg in ("balance", "ranking", "greedy"):
        avail = np.ones((B, m + 1), dtype=bool)
        avail[:, m] = False
        load = np.zeros((B, m + 1))
        fac = np.full((B, m + 1), 1.0 - np.exp(-1.0))
        got = np.zeros(B)
        for t in range(n):
            v = order[:, t]
            nb, pv = A[v], P[v]
            av = avail[bi, nb]
            if alg == "greedy":
                score = np.where(av, pv, -np.inf)
            elif alg == "ranking":
                score = np.where(av, -rank[bi, nb], -np.inf)
            else:
                score = np.where(av, pv * fac[bi, nb], -np.inf)
            k = np.argmax(score, axis=1)
            has = av[bidx, k]
            u = np.where(has, nb[bidx, k], m)
            pk = pv[bidx, k]
            load[bidx, u] += np.where(has, pk, 0.0)
            if alg == "balance":
                fac[bidx, u] = 1.0 - np.exp(load[bidx, u] - 1.0)
            succ = has & (coins[bidx, v, k] < pk)
            avail[bidx, u] &= ~succ
            avail[:, m] = False
            got += succ
        matched[alg] = got
    sec = time.perf_counter() - t0
    den = lp if lp else 1.0
    for alg, got in matched.items():
        x = got / den
        ratios[alg] = [float(x.mean()), float(1.96 * x.std(ddof=1) / np.sqrt(B))]
    print(json.dumps({"trials": B, "seconds": sec, "us_per_trial": 1e6 * sec / B, "lp": lp,
                      "ratios": ratios}))


if __name__ == "__main__":
    main()
