#!/usr/bin/env python3
"""IWOCS and robust value iteration in numpy: the same algorithm as
core/solvers/mdp/robust_iwocs.c (discounted form), for bench/robust_iwocs.sh.

W starts with the nominal model; each iteration solves the plain MDP of the model last added
(value iteration from 0 until the sup-norm change is below vi_tol (1 - gamma) / (2 gamma)), acts
greedily on min over W of the models' optimal Q-functions, evaluates that policy under every
model by the same iteration on the policy's S rows, adds the worst model
unless it is within tol of the worst over W; then robust VI (min over the models per (s, a)).
The incumbent (best worst case over iterations) is the answer, as in solvd.

Usage: robust_iwocs_numpy.py JOB.json [REPEAT]  -> prints (the fastest of REPEAT runs) {"seconds", "iterations", "worst_case",
"robust_vi_value", "nominal_policy_worst"} as JSON. JOB.json is an mdp.robust_iwocs job with an
explicit discounted problem (transitions as dense rows, rewards, initial, gamma, models as an
array of tensors) and params vi_tol, tol.
"""
import json
import sys
import time

import numpy as np


def main():
    job = json.load(open(sys.argv[1]))
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    out = min((solve(job) for _ in range(repeat)), key=lambda r: r["seconds"])
    print(json.dumps(out))


def solve(job):
    prob, par = job["problem"], job["params"]
    P0 = np.array(prob["transitions"], dtype=float)           # S x A x S
    S, A = P0.shape[0], P0.shape[1]
    Ps = np.stack([P0] + [np.array(m, dtype=float) for m in prob["models"]])
    Ps /= Ps.sum(axis=3, keepdims=True)
    n = Ps.shape[0]
    PF = Ps.reshape(n, S * A, S)
    R = np.array(prob["rewards"], dtype=float).reshape(S * A)
    mu = np.array(prob.get("initial", [1.0] + [0.0] * (S - 1)), dtype=float)
    gamma = float(prob.get("gamma", 0.95))
    vi_tol, tol = float(par.get("vi_tol", 1e-9)), float(par.get("tol", 1e-6))
    max_sweeps = int(par.get("max_sweeps", 100000))
    stop = vi_tol * (1 - gamma) / (2 * gamma)
    t0 = time.perf_counter()

    def optimal(i):
        V = np.zeros(S)
        for _ in range(max_sweeps):
            Vn = (R + gamma * (PF[i] @ V)).reshape(S, A).max(axis=1)
            ch = np.abs(Vn - V).max()
            V = Vn
            if ch <= stop:
                break
        return V

    def evaluate(i, pol):
        V = np.zeros(S)
        idx = np.arange(S) * A + pol
        Ppi, rpi = PF[i][idx], R[idx]  # the policy's S rows, as solvd's evaluate_policy
        for _ in range(max_sweeps):
            Vn = rpi + gamma * (Ppi @ V)
            ch = np.abs(Vn - V).max()
            V = Vn
            if ch <= stop:
                break
        return mu @ V

    W, vstar = [0], {0: optimal(0)}
    best, nominal, iters = -np.inf, None, 0
    while True:
        Q = np.min([R + gamma * (PF[j] @ vstar[j]) for j in W], axis=0).reshape(S, A)
        pol = Q.argmax(axis=1)
        vals = np.array([evaluate(i, pol) for i in range(n)])
        worst, arg = vals.min(), int(vals.argmin())
        worst_w = vals[W].min()
        iters += 1
        nominal = worst if nominal is None else nominal
        best = max(best, worst)
        if not worst < worst_w - tol or arg in W:
            break
        W.append(arg)
        vstar[arg] = optimal(arg)
    V = np.zeros(S)
    for _ in range(max_sweeps):
        Vn = (R + gamma * (PF @ V).min(axis=0)).reshape(S, A).max(axis=1)
        ch = np.abs(Vn - V).max()
        V = Vn
        if ch <= stop:
            break
    secs = time.perf_counter() - t0
    return {"seconds": secs, "iterations": iters, "worst_case": float(best),
            "robust_vi_value": float(mu @ V), "nominal_policy_worst": float(nominal)}


if __name__ == "__main__":
    main()
