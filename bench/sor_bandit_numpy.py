#!/usr/bin/env python3
"""sor_bandit_numpy.py - the loop of linsys.sor_bandit in numpy/scipy, for bench/sor_bandit.sh:
SOR as x <- x + (D/omega + L)^-1 (b - A x) (one sparse triangular solve and one sparse product
an iteration, the reference code's M\\r; the triangular M is handed to SuperLU once per solve
with the natural order and no pivoting, so its factors are M itself and every iteration's
solve runs in C - scipy's spsolve_triangular loops over rows in Python and is 100x slower), stopped at |b - A x| <= tol |b| or the cap, and
Tsallis-INF over the omega grid choosing omega from the iteration counts (eta_t = 2/sqrt(t),
p_i = 4 / (eta (Lhat_i / s - x))^2 with Newton's normaliser, Lhat_i += (cost - 1) / p_i, s the
mean shifted cost), on the first INSTANCES instances of a job file's "shifts" problem. Also the
counts at one fixed omega, instance by instance, to check that both run the same SOR.

Usage: sor_bandit_numpy.py JOB.json INSTANCES FIXED_OMEGA
Prints one JSON object: bandit total and omegas, fixed-omega counts, SOR iterations done and
microseconds per SOR iteration (all solves of the run over all their iterations)."""
import json
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu


def sor(A, D, Lo, b, omega, tol, cap):
    M = splu((sp.diags(D / omega) + Lo).tocsc(), permc_spec="NATURAL", diag_pivot_thresh=0.0,
             options={"SymmetricMode": True})
    x = np.zeros_like(b)
    r = b.copy()
    target = tol * np.linalg.norm(b)
    for k in range(1, cap + 1):
        x += M.solve(r)
        r = b - A @ x
        if np.linalg.norm(r) <= target:
            return k
    return cap


def tsallis_probs(lhat, scale, t):
    eta = 2.0 / np.sqrt(t)
    l = lhat / scale
    x = l.min() - 2.0 / eta
    for _ in range(100):
        p = 4.0 / (eta * (l - x)) ** 2
        s1 = p.sum()
        step = (s1 - 1.0) / (eta * (p ** 1.5).sum())
        x -= step
        if abs(s1 - 1.0) < 1e-13 or not step > 0:
            break
    return p / p.sum()


def main():
    job = json.load(open(sys.argv[1]))
    T, fixed = int(sys.argv[2]), float(sys.argv[3])
    prob, par = job["problem"], job["params"]
    Aj = prob["A"]
    A0 = sp.csr_matrix((Aj["data"], Aj["indices"], Aj["indptr"]), shape=(Aj["rows"], Aj["cols"]))
    n = A0.shape[0]
    grid = np.linspace(par.get("omega_min", 1.0), par.get("omega_max", 1.95), par.get("grid", 20))
    tol, cap = par.get("tol", 1e-8), par.get("sor_max_iter", 10000)
    rng = np.random.default_rng(1)
    lhat, p_scale, total_cost = np.zeros(len(grid)), 1.0, 0.0
    omegas, costs, fixed_costs = [], [], []
    sor_its = 0
    t0 = time.perf_counter()
    for t in range(T):
        A = (A0 + prob["shifts"][t] * sp.identity(n, format="csr")).tocsr()
        D = A.diagonal()
        Lo = sp.tril(A, k=-1, format="csr")
        b = np.array(prob["b"][t])
        p = tsallis_probs(lhat, p_scale, t + 1)
        i = rng.choice(len(grid), p=p)
        c = sor(A, D, Lo, b, grid[i], tol, cap)
        lhat[i] += (c - 1.0) / p[i]
        total_cost += c
        mean = total_cost / (t + 1)
        p_scale = mean - 1.0 if mean > 1.0 else 1.0
        omegas.append(float(grid[i]))
        costs.append(int(c))
        f = sor(A, D, Lo, b, fixed, tol, cap)
        fixed_costs.append(int(f))
        sor_its += c + f
    dt = time.perf_counter() - t0
    print(json.dumps({"instances": T, "total": int(sum(costs)), "omega": omegas,
                      "fixed_omega": fixed, "fixed_iterations": fixed_costs,
                      "sor_iterations_run": sor_its, "seconds": dt,
                      "us_per_sor_iteration": 1e6 * dt / sor_its}))


if __name__ == "__main__":
    main()
