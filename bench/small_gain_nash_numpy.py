#!/usr/bin/env python3
"""The iterations of games.small_gain_nash in numpy, for bench/small_gain_nash.sh: the same
projected Euler step x <- clip(x - h F(x)) or RK4 step with projected stages, F(x) = M x + q,
and the same per-step bookkeeping as core/solvers/games/small_gain_nash.c (the natural residual
|x - clip(x - F(x))| and the weighted step norm |x_k - x_{k-1}|_W), for a fixed number of steps.

Usage: small_gain_nash_numpy.py JOB.json METHOD STEP WEIGHTS_JSON STEPS
  -> prints {"steps", "seconds", "us_per_step", "residual", "x", "F"} as JSON: the faster of
     F as one dense product and F over the nonzero blocks ("F": "dense" or "blocks").
JOB.json is a games.small_gain_nash job with explicit players (dense nested-array matrices);
STEP and the weights are the ones solvd certified (taken from its result), so that both run the
same iteration on the same instance.
"""
import json
import sys
import time

import numpy as np


def assemble(players):
    dims = [len(p["A"]) for p in players]
    off = np.concatenate(([0], np.cumsum(dims)))
    n = int(off[-1])
    M = np.zeros((n, n))
    q = np.zeros(n)
    lo = np.full(n, -np.inf)
    hi = np.full(n, np.inf)
    for i, p in enumerate(players):
        M[off[i]:off[i + 1], off[i]:off[i + 1]] = np.array(p["A"], dtype=float)
        for j, B in p.get("B", {}).items():
            j = int(j)
            M[off[i]:off[i + 1], off[j]:off[j + 1]] = np.array(B, dtype=float)
        if "b" in p:
            q[off[i]:off[i + 1]] = p["b"]
        if "lo" in p:
            lo[off[i]:off[i + 1]] = [-np.inf if v is None else v for v in p["lo"]]
        if "hi" in p:
            hi[off[i]:off[i + 1]] = [np.inf if v is None else v for v in p["hi"]]
    return dims, M, q, lo, hi


def main():
    job = json.load(open(sys.argv[1]))
    method, h = sys.argv[2], float(sys.argv[3])
    w = json.loads(sys.argv[4])
    steps = int(sys.argv[5])
    dims, M, q, lo, hi = assemble(job["problem"]["players"])
    wc = np.repeat(np.array(w, dtype=float), dims)
    x0 = np.clip(np.array(job["problem"].get("x0", np.zeros(M.shape[0])), dtype=float), lo, hi)
    off = np.concatenate(([0], np.cumsum(dims)))
    blocks = [(slice(off[i], off[i + 1]), slice(off[j], off[j + 1]),
               np.ascontiguousarray(M[off[i]:off[i + 1], off[j]:off[j + 1]]))
              for i in range(len(dims)) for j in range(len(dims))
              if np.any(M[off[i]:off[i + 1], off[j]:off[j + 1]])]

    def F_blocks(v):
        out = q.copy()
        for si, sj, B in blocks:
            out[si] += B @ v[sj]
        return out

    # both ways of evaluating F (one dense product; the nonzero blocks, as solvd does for
    # block-sparse games); the faster one is reported
    best = None
    for name, F in (("dense", lambda v: M @ v + q), ("blocks", F_blocks)):
        r = run(method, h, wc, lo, hi, F, x0, steps)
        r["F"] = name
        if best is None or r["seconds"] < best["seconds"]:
            best = r
    print(json.dumps(best))


def run(method, h, wc, lo, hi, F, x, steps):
    proj = lambda v: np.clip(v, lo, hi)
    t0 = time.perf_counter()
    g = F(x)
    res = np.linalg.norm(x - proj(x - g))
    for _ in range(steps):
        xprev = x
        if method == "euler":
            x = proj(x - h * g)
        else:
            k2 = F(proj(x - 0.5 * h * g))
            k3 = F(proj(x - 0.5 * h * k2))
            k4 = F(proj(x - h * k3))
            x = proj(x - h / 6.0 * (g + 2 * k2 + 2 * k3 + k4))
        d = x - xprev
        dstep = np.sqrt(np.dot(wc * d, d))  # the observed-rate bookkeeping solvd does too
        g = F(x)
        res = np.linalg.norm(x - proj(x - g))
    sec = time.perf_counter() - t0
    return {"steps": steps, "seconds": sec, "us_per_step": 1e6 * sec / steps,
            "residual": float(res), "last_step_norm": float(dstep), "x": x.tolist()}


if __name__ == "__main__":
    main()
