#!/usr/bin/env python3
"""DFedSAM / DFedSAM-MGS in numpy: the same rounds as core/solvers/decentralized/dfedsam.c (full
local batches, K SAM steps per agent with eta_t = lr (t+1)^-lr_power and rho_t = rho eta_t / lr,
then Q gossip steps with the Metropolis matrix, and after every round the same check: x_bar,
the consensus error, grad f(x_bar) and the residual |grad f(x_bar)| + L sqrt(consensus)). The
agents are batched: every local step is two stacked matrix products over all agents at once, and
a gossip step is one product with the dense W, numpy's fastest form of the algorithm. For
bench/dfedsam.sh.

Usage: dfedsam_numpy.py JOB.json MAX_ROUNDS -> prints {"rounds", "solved", "seconds",
"us_per_round", "spectral_gap", "x"} as JSON. JOB.json is a decentralized.dfedsam job with
explicit clients (all with the same number of rows), lambda, edges and params local_steps,
gossip_steps, rho, lr_power, tol (lr: 1 / max_i L_i when absent).
"""
import json
import sys
import time

import numpy as np


def main():
    job = json.load(open(sys.argv[1]))
    max_rounds = int(sys.argv[2])
    batched = sys.argv[3] == "batched"
    prob, par = job["problem"], job["params"]
    A = np.array([c["A"] for c in prob["clients"]], dtype=float)  # n x m x d
    b = np.array([c["b"] for c in prob["clients"]], dtype=float)  # n x m
    lam = float(prob.get("lambda", 0.0))
    n, m, d = A.shape
    At = np.ascontiguousarray(A.transpose(0, 2, 1))
    deg = np.zeros(n)
    for i, j in prob["edges"]:
        deg[i] += 1
        deg[j] += 1
    W = np.zeros((n, n))
    for i, j in prob["edges"]:
        W[i, j] = W[j, i] = 1.0 / (1.0 + max(deg[i], deg[j]))
    W += np.diag(1.0 - W.sum(axis=1))
    ev = np.sort(np.linalg.eigvalsh(W))
    gap = 1.0 - max(abs(ev[-2]), abs(ev[0])) if n > 1 else 1.0
    L = np.array([np.linalg.eigvalsh(At[i] @ A[i] / m).max() + lam for i in range(n)])
    K, Q = int(par.get("local_steps", 5)), int(par.get("gossip_steps", 1))
    rho, power, tol = float(par.get("rho", 0.05)), float(par.get("lr_power", 0.9)), float(par["tol"])
    lr0 = float(par.get("lr", 1.0 / L.max()))
    lmean = L.mean()

    def grads(Y):  # every agent's full local gradient at its own point, n x d
        r = np.matmul(A, Y[:, :, None])[:, :, 0] - b
        return np.matmul(At, r[:, :, None])[:, :, 0] / m + lam * Y

    Al, Atl, bl = list(A), list(At), list(b)

    def local_loop(X, eta, rh):  # agent by agent
        Xn = np.empty_like(X)
        for i in range(n):
            Ai, Ati, bi, y = Al[i], Atl[i], bl[i], X[i]
            for _ in range(K):
                g = Ati @ (Ai @ y - bi) / m + lam * y
                nrm = np.linalg.norm(g)
                yt = y + (rh / nrm) * g if nrm > 0 else y
                y = y - eta * (Ati @ (Ai @ yt - bi) / m + lam * yt)
            Xn[i] = y
        return Xn

    def check(X):
        xbar = X.mean(axis=0)
        cons = ((X - xbar) ** 2).sum(axis=1).mean()
        if batched:
            r = A @ xbar - b  # n x m
            g = (np.matmul(At, r[:, :, None])[:, :, 0] / m).mean(axis=0) + lam * xbar
        else:
            g = sum(Atl[i] @ (Al[i] @ xbar - bl[i]) for i in range(n)) / (m * n) + lam * xbar
        return xbar, np.linalg.norm(g) + lmean * np.sqrt(cons)

    X = np.zeros((n, d))
    t0 = time.perf_counter()
    xbar, res = check(X)
    g0 = max(1.0, res)
    rounds, solved = 0, res <= tol * g0
    while not solved and rounds < max_rounds:
        eta = lr0 * (rounds + 1.0) ** -power
        rh = rho * eta / lr0
        if batched:
            for _ in range(K):
                G = grads(X)
                nrm = np.linalg.norm(G, axis=1, keepdims=True)
                Xt = X + rh * G / np.where(nrm > 0, nrm, 1.0)
                X = X - eta * grads(Xt)
        else:
            X = local_loop(X, eta, rh)
        for _ in range(Q):
            X = W @ X
        rounds += 1
        xbar, res = check(X)
        solved = res <= tol * g0
    sec = time.perf_counter() - t0
    print(json.dumps({"rounds": rounds, "solved": bool(solved), "seconds": sec,
                      "us_per_round": 1e6 * sec / max(rounds, 1), "spectral_gap": gap,
                      "x": xbar.tolist()}))


if __name__ == "__main__":
    main()
