#!/usr/bin/env python3
"""notears_numpy.py - the peer of dag.notears for bench/notears.sh: the same augmented Lagrangian
(least squares, l1 through the doubled variables w = (w+, w-) >= 0, h(W) = tr(exp(W o W)) - d,
rho *= 10 while h > h/4, alpha += rho h) in numpy, its subproblems solved by scipy's L-BFGS-B
(the solver the authors' code calls), the exponential by scipy.linalg.expm.

Usage: notears_numpy.py JOB.json   (a dag.notears job body with problem {"data": X, ...});
prints one JSON line: W, score, h, iterations (L-BFGS iterations over all subproblems), nfev,
time_s, us_per_iter, us_per_eval."""
import json
import sys
import time

import numpy as np
import scipy.linalg as sla
import scipy.optimize as sopt


def notears(X, lambda1=0.1, max_dual=100, h_tol=1e-8, rho_max=1e16, w_threshold=0.3):
    n, d = X.shape
    X = X - X.mean(axis=0, keepdims=True)
    dd = d * d
    state = {"rho": 1.0, "alpha": 0.0, "nfev": 0}

    def split(w):
        return (w[:dd] - w[dd:]).reshape(d, d)

    def acyc(W):
        E = sla.expm(W * W)
        return np.trace(E) - d, E.T * W * 2

    def fun(w):
        state["nfev"] += 1
        W = split(w)
        R = X - X @ W
        loss = 0.5 / n * np.sum(R * R)
        gl = -X.T @ R / n
        h, gh = acyc(W)
        rho, alpha = state["rho"], state["alpha"]
        f = loss + 0.5 * rho * h * h + alpha * h + lambda1 * w.sum()
        gs = (gl + (rho * h + alpha) * gh).ravel()
        return f, np.concatenate([gs + lambda1, -gs + lambda1])

    bounds = [(0, 0) if i == j else (0, None) for _ in range(2) for i in range(d) for j in range(d)]
    w_est, h = np.zeros(2 * dd), np.inf
    nit = 0
    for _ in range(max_dual):
        while state["rho"] < rho_max:
            sol = sopt.minimize(fun, w_est, jac=True, method="L-BFGS-B", bounds=bounds)
            nit += sol.nit
            w_new = sol.x
            h_new, _ = acyc(split(w_new))
            if h_new > 0.25 * h:
                state["rho"] *= 10
            else:
                break
        w_est, h = w_new, h_new
        state["alpha"] += state["rho"] * h
        if h <= h_tol or state["rho"] >= rho_max:
            break
    W = split(w_est)
    W[np.abs(W) < w_threshold] = 0
    R = X - X @ W
    return W, 0.5 / n * np.sum(R * R), h, nit, state["nfev"]


def main():
    job = json.load(open(sys.argv[1]))
    X = np.array(job["problem"]["data"], dtype=float)
    p = job.get("params", {})
    t0 = time.perf_counter()
    W, score, h, nit, nfev = notears(X, lambda1=p.get("lambda1", 0.1))
    t = time.perf_counter() - t0
    print(json.dumps({"W": W.tolist(), "score": score, "h": h, "iterations": nit, "nfev": nfev,
                      "time_s": t, "us_per_iter": 1e6 * t / max(nit, 1),
                      "us_per_eval": 1e6 * t / max(nfev, 1)}))


if __name__ == "__main__":
    main()
