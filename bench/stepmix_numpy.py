#!/usr/bin/env python3
"""StepMix in numpy: the same algorithm as core/solvers/mdp/stepmix.c (Hoeffding bonuses
c (H-h-1) sqrt(L/n), UCB value iteration on the empirical transitions, the pessimistic value of
the step mixture rho pi_opt + (1 - rho) pi_b, rho = 1 or the largest certified weight by 30
bisection steps, one simulated episode on the true model, the true value of the played policy
for the regret), for bench/stepmix.sh.

Usage: stepmix_numpy.py JOB.json EPISODES -> prints {"episodes", "seconds", "us_per_episode",
"regret", "violations"} as JSON. JOB.json is an mdp.stepmix job with an explicit dense model
(transitions, rewards, initial, horizon; uniform baseline) and params alpha, delta, seed (the
seed only seeds numpy's generator: the episodes differ from solvd's, the algorithm and its cost
do not).
"""
import json
import sys
import time

import numpy as np


def main():
    job = json.load(open(sys.argv[1]))
    K = int(sys.argv[2])
    prob, par = job["problem"], job["params"]
    P = np.array(prob["transitions"], dtype=float)      # S x A x S
    R = np.array(prob["rewards"], dtype=float)          # S x A
    mu = np.array(prob["initial"], dtype=float)
    H = int(prob["horizon"])
    S, A = R.shape
    alpha, delta, c = par.get("alpha", 0.1), par.get("delta", 0.05), par.get("bonus_scale", 1.0)
    rng = np.random.default_rng(par.get("seed", 0))
    pib = np.full((H, S, A), 1.0 / A)
    L = np.log(4.0 * S * A * H * K / delta)

    def evaluate(Pm, pi, bonus=None, lower=False):
        V = np.zeros(S)
        for h in range(H - 1, -1, -1):
            Q = R + Pm @ V
            if lower:
                Q = np.maximum(0.0, Q - bonus[h])
            V = (pi[h] * Q).sum(axis=1)
        return mu @ V

    def optimal():
        V = np.zeros(S)
        for h in range(H - 1, -1, -1):
            V = (R + P @ V).max(axis=1)
        return mu @ V

    vstar = optimal()
    vb = evaluate(P, pib)
    thr = (1 - alpha) * vb
    cnt = np.zeros((S, A, S))
    n = np.zeros((S, A))
    Phat = np.full((S, A, S), 1.0 / S)
    ranges = (H - 1 - np.arange(H)).astype(float)[:, None, None]
    Pcum = np.cumsum(P, axis=2)
    mucum = np.cumsum(mu)
    regret, violations = 0.0, 0
    t0 = time.perf_counter()
    for k in range(K):
        with np.errstate(divide="ignore"):
            bonus = np.where(n > 0, np.minimum(ranges, c * ranges * np.sqrt(L / np.maximum(n, 1))),
                             ranges)
        V = np.zeros(S)
        piopt = np.zeros((H, S, A))
        for h in range(H - 1, -1, -1):
            Q = np.minimum(H - h, R + Phat @ V + bonus[h])
            g = Q.argmax(axis=1)
            piopt[h, np.arange(S), g] = 1
            V = Q[np.arange(S), g]
        if evaluate(Phat, piopt, bonus, True) >= thr:
            rho = 1.0
        else:
            lo, hi = 0.0, 1.0
            for _ in range(30):
                mid = 0.5 * (lo + hi)
                if evaluate(Phat, mid * piopt + (1 - mid) * pib, bonus, True) >= thr:
                    lo = mid
                else:
                    hi = mid
            rho = lo
        pi = rho * piopt + (1 - rho) * pib
        value = evaluate(P, pi)
        regret += vstar - value
        violations += value < thr - 1e-12 * (1 + abs(thr))
        s = int(np.searchsorted(mucum, rng.random(), side="right"))
        visited = []
        for h in range(H):
            a = int(np.searchsorted(np.cumsum(pi[h, s]), rng.random(), side="right"))
            a = min(a, A - 1)
            t = min(int(np.searchsorted(Pcum[s, a], rng.random(), side="right")), S - 1)
            cnt[s, a, t] += 1
            n[s, a] += 1
            visited.append((s, a))
            s = t
        for (s1, a1) in visited:
            Phat[s1, a1] = cnt[s1, a1] / n[s1, a1]
    sec = time.perf_counter() - t0
    print(json.dumps({"episodes": K, "seconds": sec, "us_per_episode": 1e6 * sec / K,
                      "regret": regret, "violations": int(violations)}))


if __name__ == "__main__":
    main()
