#!/usr/bin/env python3
"""BOSS in numpy: the same algorithm as core/solvers/dp/boss.c on the same instance, for
bench/boss.sh. One pass over the fine grid t_i = i/N: RK4 (substeps per interval) of the
rectified-flow velocity of a Gaussian mixture from the explicit starts x0, then cost column j,
c(i, j) = mean_s |x_i + (t_j - t_i) v_i - x_j|^2, then DP column j, D_k(j) = min_i D_{k-1}(i) +
c(i, j) (first minimum: the smallest i), everything vectorised over samples, rows and budgets.

Usage: boss_numpy.py JOB.json -> prints {"seconds", "reference_s", "cost_s", "dp_s", "indices",
"dp_cost", "uniform_cost", "cost_by_steps"} as JSON. JOB.json is a dp.boss job with explicit
means, weights, sigmas and x0, and params steps, grid, substeps (reference rk4).
"""
import json
import sys
import time

import numpy as np


def velocity(X, t, mu, logw, sig2):
    d = X.shape[1]
    s = (1 - t) ** 2 + t * t * sig2                       # (m,)
    g = (t * sig2 - (1 - t)) / s
    diff = X[:, None, :] - t * mu[None, :, :]              # (S, m, d)
    q = np.einsum("scd,scd->sc", diff, diff)
    lw = logw[None, :] - 0.5 * d * np.log(s)[None, :] - q / (2 * s)[None, :]
    lw -= lw.max(axis=1, keepdims=True)
    r = np.exp(lw)
    r /= r.sum(axis=1, keepdims=True)
    return r @ mu + np.einsum("sc,scd->sd", r * g[None, :], diff)


def main():
    job = json.load(open(sys.argv[1]))
    prob, par = job["problem"], job["params"]
    mu = np.array(prob["means"], dtype=float)
    w = np.array(prob.get("weights", [1.0] * len(mu)), dtype=float)
    sig = np.array(prob["sigmas"], dtype=float) * np.ones(len(mu))
    X0 = np.array(prob["x0"], dtype=float)
    K, N, sub = int(par["steps"]), int(par["grid"]), int(par.get("substeps", 4))
    logw, sig2 = np.log(w / w.sum()), sig * sig
    S, d = X0.shape

    t0 = time.perf_counter()
    tref = tcost = tdp = 0.0
    traj = np.empty((N + 1, S, d))
    vel = np.empty((N, S, d))
    traj[0] = X0
    D = np.full((K + 1, N + 1), np.inf)
    D[0, 0] = 0.0
    P = np.full((K + 1, N + 1), -1, dtype=np.int64)
    C = np.full((N + 1, N + 1), np.nan)
    h, hs = 1.0 / N, 1.0 / (N * sub)
    for j in range(1, N + 1):
        a = time.perf_counter()
        i = j - 1
        vel[i] = velocity(traj[i], i / N, mu, logw, sig2)
        y = traj[i].copy()
        for q in range(sub):
            tq = (i * sub + q) / (N * sub)
            k1 = vel[i] if q == 0 else velocity(y, tq, mu, logw, sig2)
            k2 = velocity(y + 0.5 * hs * k1, tq + 0.5 * hs, mu, logw, sig2)
            k3 = velocity(y + 0.5 * hs * k2, tq + 0.5 * hs, mu, logw, sig2)
            k4 = velocity(y + hs * k3, tq + hs, mu, logw, sig2)
            y = y + hs / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        traj[j] = y
        b = time.perf_counter()
        hh = (j - np.arange(j)) * h
        r = vel[:j] * hh[:, None, None]    # one temporary, updated in place
        r += traj[:j]
        r -= traj[j]
        r = r.reshape(j, S * d)
        col = np.einsum("ip,ip->i", r, r) / S
        C[:j, j] = col
        c = time.perf_counter()
        top = min(j, K)
        M = D[:top, :j] + col[None, :]
        P[1:top + 1, j] = M.argmin(axis=1)
        D[1:top + 1, j] = M[np.arange(top), P[1:top + 1, j]]
        e = time.perf_counter()
        tref += b - a
        tcost += c - b
        tdp += e - c
    idx = [N]
    for k in range(K, 0, -1):
        idx.append(int(P[k, idx[-1]]))
    idx.reverse()
    seconds = time.perf_counter() - t0
    u = [(2 * k * N + K) // (2 * K) for k in range(K + 1)]
    ucost = float(sum(C[u[k - 1], u[k]] for k in range(1, K + 1)))
    print(json.dumps({"seconds": seconds, "reference_s": tref, "cost_s": tcost, "dp_s": tdp,
                      "indices": idx, "dp_cost": float(D[K, N]), "uniform_cost": ucost,
                      "cost_by_steps": [float(D[k, N]) for k in range(1, K + 1)]}))


if __name__ == "__main__":
    main()
