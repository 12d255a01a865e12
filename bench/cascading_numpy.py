#!/usr/bin/env python3
"""cascading_numpy.py - the numpy peer of mdp.cascading's plan mode (bench/cascading.sh).

    cascading_numpy.py JOB.json   -> {"seconds", "per_level_s", "optimal_value", "value"}
    cascading_numpy.py --oracle   -> the BestPerm-against-enumeration table rows (JSON lines)

The same algorithm as core/solvers/mdp/cascading.c: backward induction, at every level the item
values W = r + P V (one matrix product), the items of every state sorted by W descending, then
BestPerm's DP F[i][k] = max(F[i+1][k], q w + (1 - q) F[i+1][k-1]) over the items with w > w0,
vectorised over the states and the slots (the loop runs over the N sorted positions), with the
choices kept as solvd keeps them. Written for the bench, not copied from anywhere.
"""
import itertools
import json
import sys
import time

import numpy as np


def bestperm_levels(q, r, P, P0, mu, H, m):
    S, N = q.shape
    V = np.zeros(S)
    Pf = P.reshape(S * N, S)
    m = min(m, N)
    lists = np.full((H, S, m), -1, dtype=np.int64)
    take = np.zeros((N, S, m + 1), dtype=bool)
    rows = np.arange(S)
    for h in range(H - 1, -1, -1):
        W = r + (Pf @ V).reshape(S, N)
        w0 = P0 @ V
        order = np.argsort(-W, axis=1, kind="stable")
        ws = np.take_along_axis(W, order, axis=1)
        qs = np.take_along_axis(q, order, axis=1)
        F = np.repeat(w0[:, None], m + 1, axis=1)
        for i in range(N - 1, -1, -1):
            wi, qi = ws[:, i], qs[:, i]
            with_ = (qi * wi)[:, None] + (1.0 - qi)[:, None] * F[:, :-1]
            t = (with_ > F[:, 1:]) & (wi > w0)[:, None]
            take[i, :, 1:] = t
            F[:, 1:] = np.where(t, with_, F[:, 1:])
        k = np.full(S, m)
        n = np.zeros(S, dtype=np.int64)
        for i in range(N):
            t = take[i, rows, k] & (k > 0)
            lists[h, rows[t], n[t]] = order[rows[t], i]
            n += t
            k -= t
        V = F[:, m]
    return V, lists


def run_job(path):
    job = json.load(open(path))
    p = job["problem"]
    q, r = np.array(p["attraction"], float), np.array(p["reward"], float)
    P, P0 = np.array(p["transition"], float), np.array(p["no_click"], float)
    S = q.shape[0]
    mu = np.array(p.get("initial", [1.0 / S] * S), float)
    H, m = int(p["horizon"]), int(p["list_size"])
    t0 = time.perf_counter()
    V, _ = bestperm_levels(q, r, P, P0, mu, H, m)
    sec = time.perf_counter() - t0
    print(json.dumps({"seconds": sec, "per_level_s": sec / H, "optimal_value": float(mu @ V),
                      "value": V.tolist()}))


def list_values(q, w, w0, lists):
    """f(A) for every list (rows of item indices, -1 = empty slot), vectorised."""
    val = np.zeros(len(lists))
    surv = np.ones(len(lists))
    for j in range(lists.shape[1]):
        a = lists[:, j]
        ok = a >= 0
        qa = np.where(ok, q[np.maximum(a, 0)], 0.0)
        wa = np.where(ok, w[np.maximum(a, 0)], 0.0)
        val += surv * qa * wa
        surv *= 1.0 - qa
    return val + surv * w0


def oracle_table(m=3, sizes=(5, 10, 20, 40, 80), reps=20):
    rng = np.random.default_rng(3)
    for N in sizes:
        lists = [np.full(m, -1)]
        for k in range(1, m + 1):
            for perm in itertools.permutations(range(N), k):
                lists.append(np.array(list(perm) + [-1] * (m - k)))
        L = np.array(lists)
        tb = te = 0.0
        worst = 0.0
        for _ in range(reps):
            q = rng.uniform(0.05, 0.5, N)
            w = rng.uniform(0, 1, N)
            w0 = rng.uniform(0, 0.5)
            t0 = time.perf_counter()
            # one state, one level: BestPerm on (q, w, w0) directly
            order = np.argsort(-w, kind="stable")
            F = np.full(m + 1, w0)
            for i in range(N - 1, -1, -1):
                a = order[i]
                if w[a] <= w0:
                    continue
                with_ = q[a] * w[a] + (1 - q[a]) * F[:-1]
                F[1:] = np.maximum(F[1:], with_)
            vb = F[m]
            t1 = time.perf_counter()
            ve = list_values(q, w, w0, L).max()
            t2 = time.perf_counter()
            tb += t1 - t0
            te += t2 - t1
            worst = max(worst, abs(vb - ve))
        print(json.dumps({"N": N, "m": m, "lists": len(L), "bestperm_s": tb / reps,
                          "enumeration_s": te / reps, "max_abs_diff": worst}))


if __name__ == "__main__":
    if sys.argv[1] == "--oracle":
        oracle_table()
    else:
        run_job(sys.argv[1])
