#!/usr/bin/env python3
"""DADAO in numpy: the same algorithm as core/solvers/decentralized/dadao.c (the paper's ODE
between events integrated in closed form per agent, the gradient and communication jumps, the
superposed Poisson clocks: rate 1 per agent, the total communication rate rate_factor *
sqrt(2 chi_1 chi_2) spread evenly over the edges), for bench/dadao.sh.

Usage: dadao_numpy.py JOB.json EVENTS -> prints {"events", "seconds", "us_per_event", "time",
"gradient_evals", "communications", "chi_1", "chi_2", "x"} as JSON.
JOB.json is a decentralized.dadao job with explicit clients (least squares), lambda, edges and
params rate_factor, seed (the seed only seeds numpy's generator: the event sequence differs from
solvd's, the algorithm and its cost per event do not).
"""
import json
import math
import sys
import time

import numpy as np


def constants(mu, L, chi1):
    nu = mu / 2
    s = math.sqrt(nu / L)
    return dict(nu=nu, eta=s / 8, etat=s / 8, al=s / 4, alt=s / 8, th=1 / (2 * s),
                gam=1 / (4 * L), gamt=1 / (4 * math.sqrt(L * nu)), dl=s / 4 + 1.0,
                beta=0.5, betat=2 * chi1 / s)


def flow_matrix(c, tau):
    """exp(tau M) for the state (x, x~, y, y~, z, z~), in closed form (see dadao.c)."""
    a, th, nu = c["al"], c["th"], c["nu"]
    p, q = c["eta"] + c["etat"], c["al"] + c["alt"]
    a1, b1 = -math.expm1(-p * tau) / p, -math.expm1(-q * tau) / q
    er = (1.0, math.exp(-p * tau), math.exp(-q * tau))
    rs = (0.0, p, q)
    D = [r * r - a * r + a * th for r in rs]
    w = math.sqrt(a * th - a * a / 4)
    damp = math.exp(-a * tau / 2)
    cs, sn = math.cos(w * tau), math.sin(w * tau) / w
    eB = (damp * (cs - sn * a / 2), damp * sn * a, -damp * sn * th, damp * (cs + sn * a / 2))
    E = np.zeros((6, 6))
    for k in range(6):
        s0 = [0.0] * 6
        s0[k] = 1.0
        x, xt, z, zt = s0[0], s0[1], s0[4], s0[5]
        E[0, k] = x + a1 * c["eta"] * (xt - x)
        E[1, k] = xt + a1 * c["etat"] * (x - xt)
        E[4, k] = z + b1 * c["al"] * (zt - z)
        E[5, k] = zt + b1 * c["alt"] * (z - zt)
        xinf = (c["etat"] * x + c["eta"] * xt) / p
        zinf = (c["alt"] * z + c["al"] * zt) / q
        cf = (-th * (nu * xinf + zinf), -th * nu * (xt - xinf), -th * (z - zinf))
        w0y, w0t, py, pt = s0[2], s0[3], 0.0, 0.0
        for r in range(3):
            vy, vt = cf[r] / D[r] * a, cf[r] / D[r] * (a - rs[r])
            w0y -= vy
            w0t -= vt
            py += vy * er[r]
            pt += vt * er[r]
        E[2, k] = eB[0] * w0y + eB[1] * w0t + py
        E[3, k] = eB[2] * w0y + eB[3] * w0t + pt
    return E


def main():
    job = json.load(open(sys.argv[1]))
    events = int(sys.argv[2])
    prob, par = job["problem"], job["params"]
    A = [np.array(c["A"], dtype=float) for c in prob["clients"]]
    b = [np.array(c["b"], dtype=float) for c in prob["clients"]]
    lam = float(prob.get("lambda", 0.0))
    n, d = len(A), A[0].shape[1]
    m = [Ai.shape[0] for Ai in A]
    edges = [tuple(e) for e in prob["edges"]]
    ne = len(edges)
    # the constants, as solvd computes them: exact local mu and L, the Laplacian's spectrum
    gram = [Ai.T @ Ai / mi for Ai, mi in zip(A, m)]
    mu = min(np.linalg.eigvalsh(G)[0] for G in gram) + lam
    L = max(np.linalg.eigvalsh(G)[-1] for G in gram) + lam
    lap = np.zeros((n, n))
    for i, j in edges:
        lap[i, i] += 1
        lap[j, j] += 1
        lap[i, j] -= 1
        lap[j, i] -= 1
    ev, V = np.linalg.eigh(lap)
    res = max(float(((V[i, 1:] - V[j, 1:]) ** 2 / ev[1:]).sum()) for i, j in edges)
    c1u, c2u = ne / ev[1], 0.5 * ne * res
    rate = par.get("rate_factor", 1.0) * math.sqrt(2 * c1u * c2u)
    c = constants(mu, L, c1u / rate)
    rng = np.random.default_rng(par.get("seed", 0))
    S = np.zeros((n, 6, d))
    last = np.zeros(n)
    total = n + rate
    t, grads, comms = 0.0, 0, 0

    def advance(i):
        tau = t - last[i]
        if tau > 0:
            S[i] = flow_matrix(c, tau) @ S[i]
        last[i] = t

    t0 = time.perf_counter()
    for _ in range(events):
        t += rng.exponential(1 / total)
        if rng.random() * total < n:
            i = int(rng.integers(n))
            advance(i)
            x = S[i, 0]
            g = A[i].T @ (A[i] @ x - b[i]) / m[i] + lam * x - c["nu"] * x - S[i, 3]
            S[i, 0] -= c["gam"] * g
            S[i, 1] -= c["gamt"] * g
            S[i, 3] += c["dl"] * g
            grads += 1
        else:
            i, j = edges[int(rng.integers(ne))]
            advance(i)
            advance(j)
            mq = S[i, 2] + S[i, 4] - S[j, 2] - S[j, 4]
            S[i, 4] -= c["beta"] * mq
            S[i, 5] -= c["betat"] * mq
            S[j, 4] += c["beta"] * mq
            S[j, 5] += c["betat"] * mq
            comms += 1
    sec = time.perf_counter() - t0
    for i in range(n):
        advance(i)
    print(json.dumps({"events": events, "seconds": sec, "us_per_event": 1e6 * sec / events,
                      "time": t, "gradient_evals": grads, "communications": comms,
                      "chi_1": c1u / rate, "chi_2": c2u / rate,
                      "x": S[:, 0].mean(0).tolist()}))


if __name__ == "__main__":
    main()
