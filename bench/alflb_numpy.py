#!/usr/bin/env python3
"""ALF-LB in numpy: the same iteration as core/solvers/allocation/alflb.c (top-k routing by
s + b, loads by bincount, the Lagrangian, one sign or proportional bias step per iteration with
the constant, sqrt or harmonic schedule), vectorised over tokens, for bench/alflb.sh. No
capacity (balance to kT/E). Top-k by argpartition (ties, which random scores do not have, may
go another way than solvd's lower index).

Usage: alflb_numpy.py JOB.json -> prints {"iterations", "seconds", "ms_per_iter", "max_load",
"min_load", "lagrangian", "bias"} as JSON. JOB.json is an allocation.alflb job of the "scores"
form whose params give rule, step, u and max_iter (tol 0: every iteration runs).
"""
import json
import sys
import time

import numpy as np


def main():
    job = json.load(open(sys.argv[1]))
    prob, par = job["problem"], job["params"]
    S = np.array(prob["scores"], dtype=float)
    k = int(prob["k"])
    T, E = S.shape
    c = k * T / E
    u, iters = float(par["u"]), int(par["max_iter"])
    sign = par.get("rule", "sign") == "sign"
    step = par.get("step", "constant")
    b = np.zeros(E)
    v = np.empty_like(S)
    t0 = time.perf_counter()
    for t in range(iters + 1):
        np.add(S, b, out=v)
        idx = np.argpartition(-v, k - 1, axis=1)[:, :k]
        loads = np.bincount(idx.ravel(), minlength=E)
        lagr = np.take_along_axis(v, idx, 1).sum() - c * b.sum()
        if t == iters:
            break
        ut = u if step == "constant" else (u / np.sqrt(t + 1) if step == "sqrt" else u / (t + 1))
        g = c - loads
        b += ut * (np.sign(g) if sign else g)
    sec = time.perf_counter() - t0
    print(json.dumps({"iterations": iters, "seconds": sec, "ms_per_iter": 1e3 * sec / (iters + 1),
                      "max_load": int(loads.max()), "min_load": int(loads.min()),
                      "lagrangian": float(lagr), "bias": b.tolist()}))


if __name__ == "__main__":
    main()
