#!/usr/bin/env python3
"""Consensus-based optimization in numpy: the same iteration as core/solvers/global/cbo.c (N
particles, the consensus point with log-sum-exp shifted weights exp(-alpha (F - min F)), f(v)
and the spread every iteration, the Euler-Maruyama step with anisotropic or isotropic noise),
on the same built-in benchmark (f(x) = g(x - shift), start uniform in its standard box), for
bench/cbo.sh.

Usage: cbo_numpy.py JOB.json ITERS -> prints {"iterations", "seconds", "us_per_iter",
"objective", "evaluations"} as JSON. JOB.json is a global.cbo job with a "benchmark" problem;
params particles, alpha, lambda, sigma, dt, noise, seed are read (defaults as solvd's). The seed
only seeds numpy's generator: the run differs from solvd's, the algorithm and its cost do not.
"""
import json
import sys
import time

import numpy as np

BOX = {"rastrigin": (0.0, 5.12), "ackley": (0.0, 32.768), "rosenbrock": (2.5, 7.5),
       "griewank": (0.0, 600.0)}


def objective(name, d, shift):
    if name == "rastrigin":
        def f(X):
            Y = X - shift
            return 10.0 * d + np.sum(Y * Y - 10.0 * np.cos(2 * np.pi * Y), axis=-1)
    elif name == "ackley":
        def f(X):
            Y = X - shift
            return (-20.0 * np.exp(-0.2 * np.sqrt(np.sum(Y * Y, axis=-1) / d))
                    - np.exp(np.sum(np.cos(2 * np.pi * Y), axis=-1) / d) + 20.0 + np.e)
    elif name == "rosenbrock":
        def f(X):
            Y = X - shift
            return np.sum(100.0 * (Y[..., 1:] - Y[..., :-1] ** 2) ** 2 + (1 - Y[..., :-1]) ** 2,
                          axis=-1)
    else:
        sq = np.sqrt(np.arange(1, d + 1))

        def f(X):
            Y = X - shift
            return 1.0 + np.sum(Y * Y, axis=-1) / 4000.0 - np.prod(np.cos(Y / sq), axis=-1)
    return f


def main():
    job = json.load(open(sys.argv[1]))
    iters = int(sys.argv[2])
    b, par = job["problem"]["benchmark"], job.get("params", {})
    name, d, shift = b.get("function", "rastrigin"), int(b["dim"]), float(b.get("shift", 0.0))
    n = int(par.get("particles", 200))
    alpha, lam = float(par.get("alpha", 1e5)), float(par.get("lambda", 1.0))
    sigma, dt = float(par.get("sigma", 3.5)), float(par.get("dt", 0.1))
    iso = par.get("noise", "anisotropic") == "isotropic"
    f = objective(name, d, shift)
    rng = np.random.default_rng(par.get("seed", 0))
    c, h = BOX[name]
    X = c + h * rng.uniform(-1.0, 1.0, size=(n, d))
    drift, diff = lam * dt, sigma * np.sqrt(dt)
    evals = 0
    t0 = time.perf_counter()
    for _ in range(iters):
        F = f(X)
        Fin = np.where(np.isfinite(F), F, np.inf)
        w = np.exp(-alpha * (Fin - Fin.min()))
        v = w @ X / w.sum()
        fv = f(v)
        D = X - v
        spread = np.sqrt(np.mean(np.sum(D * D, axis=1)))
        evals += n + 1
        xi = rng.standard_normal((n, d))
        scale = np.sqrt(np.sum(D * D, axis=1, keepdims=True)) if iso else D
        X = X - drift * D + diff * scale * xi
    sec = time.perf_counter() - t0
    print(json.dumps({"iterations": iters, "seconds": sec, "us_per_iter": 1e6 * sec / iters,
                      "objective": float(fv), "spread": float(spread), "evaluations": evals}))


if __name__ == "__main__":
    main()
