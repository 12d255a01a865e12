#!/usr/bin/env python3
"""EF21 / EF21-W with TopK in numpy: the peer of core/solvers/distributed/ef21.c in the benchmark.

The same algorithm as the C solver (docs/solvers/distributed/ef21.md), step for step:
  * f(x) = (1/n) sum_i f_i(x), f_i(x) = (1/m_i) sum_r (a_ir'x - b_ir)^2 / 2 + (lambda/2)|x|^2;
  * L_i = eigmax(A_i'A_i)/m_i + lambda and L = eigmax of the Hessian of f, both by the power
    iteration the C code uses (same estimate |G v|, same relative tolerance and step caps; the
    start vector of the per-client iteration is a different fixed vector, as numpy cannot draw
    the C xoshiro stream, which moves the constants only at the tolerance, ~1e-10 relative);
  * gamma = gamma_factor / (L + L_AM xi) ("theory") or with L_QM ("theory_qm"), xi from K/d;
  * init "full": g_i = s_i grad f_i(x0); "compressed": g_i = TopK(s_i grad f_i(x0));
  * each round: x -= gamma g; c_i = TopK(s_i grad f_i(x) - g_i); g_i += c_i; g = sum_i w_i g_i;
  * TopK keeps the K largest magnitudes, ties to the lower index (exactly as sv_topk);
  * stop when |grad f(x)| <= tol (checked at x0 too), or after max_iter rounds, or on divergence.

Only the squared loss with dense explicit clients is supported: the benchmark passes the instance
as explicit matrices so that solvd and this script read the very same numbers from one JSON file.

Usage: ef21_numpy.py JOB.json [--repeat R] [--x-out FILE]   (JOB.json: a solvd job body, solver distributed.ef21)
Prints one JSON object: status, iterations, objective, grad_norm, gamma, L, L_am, L_qm and
times_s: the solve time of each of R runs (setup + rounds, the same span as solvd's solve_time_s).
"""
import argparse
import json
import math
import sys
import time

import numpy as np

POWER_TOL = 1e-10          # EF21_POWER_TOL and SV_GLM_EIG_TOL
POWER_MAX_ITER_F = 500     # EF21_POWER_MAX_ITER (L of f)
POWER_MAX_ITER_I = 5000    # SV_GLM_EIG_MAX_ITER (each L_i)
DIVERGENCE_FACTOR = 1e20   # EF21_DIVERGENCE_FACTOR


def gram_eigmax(A, tol=POWER_TOL, max_iter=POWER_MAX_ITER_I):
    """Largest eigenvalue of A'A by sv_mat_gram_eigmax's iteration: est = |A'A v|, v unit."""
    v = np.random.default_rng(0x5EED5EED).standard_normal(A.shape[1])
    v /= np.linalg.norm(v)
    est = prev = 0.0
    for it in range(max(1, max_iter)):
        u = A.T @ (A @ v)
        est = float(np.linalg.norm(u))
        if not (est > 0.0) or not math.isfinite(est):
            break
        v = u / est
        if it > 0 and abs(est - prev) <= tol * est:
            break
        prev = est
    return est


def smoothness_of_f(As, lam, d):
    """L of f by ef21.c's smoothness_of_f: power iteration on the (constant) Hessian
    (1/n) sum_i (A_i'A_i/m_i + lam I) from v_j = 1 + 1/(j+2), Rayleigh quotient, running max."""
    n = len(As)
    v = 1.0 + 1.0 / (np.arange(d) + 2.0)
    v /= np.linalg.norm(v)
    est = 0.0
    for it in range(POWER_MAX_ITER_F):
        hv = np.zeros(d)
        for A in As:
            hv += ((A.T @ (A @ v)) / A.shape[0] + lam * v) / n
        rq = float(v @ hv)
        nrm = float(np.linalg.norm(hv))
        if not (nrm > 0):
            return 0.0
        v = hv / nrm
        done = it > 0 and abs(rq - est) <= POWER_TOL * abs(rq)
        est = max(rq, est)
        if done:
            break
    return est


def topk_xi(k, d):
    if k >= d:
        return 0.0
    alpha = k / d
    r = math.sqrt(1.0 - alpha)
    theta = 1.0 - r
    beta = (1.0 - alpha) / (1.0 - r)
    return math.sqrt(beta / theta)


def topk_rows(V, k):
    """TopK of every row of V (in place): keep the k largest |v_j|, ties to the lower index."""
    n, d = V.shape
    if k >= d:
        return V
    mag = np.abs(V)
    thr = np.partition(mag, d - k, axis=1)[:, d - k]        # the k-th largest magnitude
    keep = mag >= thr[:, None]
    over = np.flatnonzero(keep.sum(axis=1) > k)             # rows with ties at the threshold
    for i in over:
        above = mag[i] > thr[i]
        ties = np.flatnonzero(mag[i] == thr[i])[: k - int(above.sum())]
        keep[i] = above
        keep[i, ties] = True
    V[~keep] = 0.0
    return V


def solve(As, bs, lam, x0, variant="ef21", k=1, stepsize="theory", gamma=None,
          gamma_factor=1.0, init="full", tol=1e-6, max_iter=10000):
    n, d = len(As), As[0].shape[1]
    ms = [A.shape[0] for A in As]
    Li = np.array([gram_eigmax(A) / A.shape[0] + lam for A in As])
    L_am = float(Li.mean())
    L_qm = float(math.sqrt((Li ** 2).mean()))
    L = smoothness_of_f(As, lam, d)
    if variant == "ef21w":
        w = Li / Li.sum()
        s = Li.sum() / (n * Li)
    else:
        w = np.full(n, 1.0 / n)
        s = np.ones(n)
    if gamma is None:
        Lc = L_qm if stepsize == "theory_qm" else L_am
        gamma = gamma_factor / (L + Lc * topk_xi(k, d))

    x = np.array(x0, dtype=float)
    grads = np.empty((n, d))

    def local_grads(x):
        for i in range(n):
            r = (As[i] @ x - bs[i]) / ms[i]
            grads[i] = As[i].T @ r
        grads[:] += lam * x
        return grads

    Gr = local_grads(x)
    if init == "full":
        G = Gr * s[:, None]
    else:
        G = topk_rows(Gr * s[:, None], k)
    g = w @ G
    gn = gn0 = float(np.linalg.norm(Gr.mean(axis=0)))
    t = 0
    while True:
        if not math.isfinite(gn) or gn > DIVERGENCE_FACTOR * gn0:
            status = "diverged"
            break
        if gn <= tol:
            status = "solved"
            break
        if t >= max_iter:
            status = "max_iter"
            break
        x -= gamma * g
        Gr = local_grads(x)
        G += topk_rows(Gr * s[:, None] - G, k)
        g = w @ G
        gn = float(np.linalg.norm(Gr.mean(axis=0)))
        t += 1
    obj = float(np.mean([0.5 * np.mean((A @ x - b) ** 2) for A, b in zip(As, bs)])
                + 0.5 * lam * (x @ x))
    return {"status": status, "iterations": t, "objective": obj, "grad_norm": gn,
            "gamma": gamma, "L": L, "L_am": L_am, "L_qm": L_qm, "x": x}


def load(path):
    with open(path) as f:
        job = json.load(f)
    prob, params = job["problem"], job.get("params", {})
    if prob.get("loss", "squared") != "squared":
        sys.exit("ef21_numpy.py: only the squared loss is implemented")
    As = [np.array(c["A"], dtype=float) for c in prob["clients"]]
    bs = [np.array(c["b"], dtype=float) for c in prob["clients"]]
    if any(A.ndim != 2 for A in As):
        sys.exit("ef21_numpy.py: clients' A must be nested arrays")
    d = As[0].shape[1]
    x0 = prob.get("x0", [0.0] * d)
    kw = {name: params[name] for name in
          ("variant", "k", "stepsize", "gamma", "gamma_factor", "init", "tol", "max_iter")
          if name in params}
    return As, bs, float(prob.get("lambda", 0.0)), x0, kw


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("job", help="a solvd job body for distributed.ef21 with explicit clients")
    ap.add_argument("--repeat", type=int, default=1, help="runs, each timed")
    ap.add_argument("--x-out", help="write the solution x here (JSON array)")
    a = ap.parse_args()
    As, bs, lam, x0, kw = load(a.job)
    times, loads, res = [], [], None
    for _ in range(max(1, a.repeat)):
        with open("/proc/loadavg") as f:
            loads.append(float(f.read().split()[0]))
        t0 = time.perf_counter()
        res = solve(As, bs, lam, x0, **kw)
        times.append(time.perf_counter() - t0)
    res["times_s"] = times
    res["load1"] = loads
    x = res.pop("x")
    res["x_head"] = x[:3].tolist()
    if a.x_out:
        with open(a.x_out, "w") as f:
            json.dump(x.tolist(), f)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
