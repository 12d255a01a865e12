#!/usr/bin/env python3
"""The python peer of robust.ccg: the same column-and-constraint generation (master with one
recourse copy per scenario, adversary by enumerating the vertices of the budget set, the same
stopping rule) with scipy.optimize.milp (HiGHS) for every MILP, plus a brute-force min-max-min and
the instance generator of the bench (numpy's RNG, Neur2RO's formulas). Not a translation of the C
code: written from the doc page docs/solvers/robust/ccg.md.

Usage: ccg_scipy.py gen CLASS N SEED > job.json     (explicit-form job body for solvd)
       ccg_scipy.py ccg job.json                    (prints {"objective", "iterations", "time_s"})
       ccg_scipy.py brute job.json                  (prints {"objective", "time_s"})
"""
import itertools
import json
import sys
import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp


def gen(cls, n, seed):
    rng = np.random.default_rng(seed)
    if cls == "knapsack":
        R, H, h, delta, bf = 1000.0, 100.0, 40.0, 0.5, 0.2
        c = rng.uniform(1, R, n)
        p_bar = rng.uniform(1, R, n)
        p_hat = p_bar * rng.uniform((1 - delta) / 2, (1 + delta) / 2, n)
        f = p_bar * rng.uniform(1.1, 1.5, n)
        t = rng.uniform(1, c)
        prob = {"knapsack": {"p_bar": p_bar.tolist(), "p_hat": p_hat.tolist(), "c": c.tolist(),
                             "t": t.tolist(), "f": f.tolist(), "C": h / (H + 1) * c.sum(),
                             "gamma": max(1, int(round(bf * n)))}}
    else:
        d = 4
        c_bar = rng.uniform(1, 10, n)
        def simplex():
            u = np.sort(rng.uniform(0, 1, d - 1))
            return np.diff(np.concatenate([[0.0], u, [1.0]]))
        phi = [simplex().tolist() for _ in range(n)]
        psi = [simplex().tolist() for _ in range(n)]
        prob = {"capital_budgeting": {"c_bar": c_bar.tolist(), "r_bar": (c_bar / 5).tolist(),
                                      "phi": phi, "psi": psi, "budget": c_bar.sum() / 2}}
    return {"solver": "robust.ccg", "problem": prob,
            "params": {"adversary": "enumerate", "tol": 1e-6, "report_every": 1000}}


class Model:
    """q(xi), A(xi), b(xi) over (x, y) as in the doc page."""

    def __init__(self, prob):
        if "knapsack" in prob:
            k = prob["knapsack"]
            self.kp = True
            self.p_bar, self.p_hat, self.c, self.t, self.f = (np.array(k[m]) for m in
                                                               ("p_bar", "p_hat", "c", "t", "f"))
            self.C, self.gamma = k["C"], k["gamma"]
            n = self.n = len(self.c)
            self.nx, self.ny, self.d = n, 2 * n, n
            self.lo, self.hi = np.zeros(n), np.ones(n)
        else:
            k = prob["capital_budgeting"]
            self.kp = False
            self.c_bar, self.r_bar = np.array(k["c_bar"]), np.array(k["r_bar"])
            self.phi, self.psi = np.array(k["phi"]), np.array(k["psi"])
            self.B, self.k = k["budget"], k.get("k", 0.8)
            n = self.n = len(self.c_bar)
            self.d = self.phi.shape[1]
            self.gamma = self.d
            self.nx, self.ny = n, n
            self.lo, self.hi = -np.ones(self.d), np.ones(self.d)
        self.N = self.nx + self.ny

    def fill(self, xi):
        n = self.n
        if self.kp:
            q = np.concatenate([self.f - self.p_bar, self.p_hat * xi - self.f, -self.p_hat * xi])
            A = np.zeros((1 + 2 * n, 3 * n))
            A[0, n:2 * n], A[0, 2 * n:] = self.c, self.t
            for i in range(n):
                A[1 + i, n + i], A[1 + i, i] = 1, -1
                A[1 + n + i, 2 * n + i], A[1 + n + i, n + i] = 1, -1
            b = np.zeros(1 + 2 * n)
            b[0] = self.C
            return q, A, b
        rev = (1 + self.psi @ xi / 2) * self.r_bar
        cost = (1 + self.phi @ xi / 2) * self.c_bar
        q = np.concatenate([-rev, -self.k * rev])
        A = np.zeros((n + 1, 2 * n))
        A[:n, :n], A[:n, n:] = np.eye(n), np.eye(n)
        A[n, :n], A[n, n:] = cost, cost
        b = np.concatenate([np.ones(n), [self.B]])
        return q, A, b

    def vertices(self):
        for k in range(min(self.gamma, self.d) + 1):
            for S in itertools.combinations(range(self.d), k):
                xi = self.lo.copy()
                xi[list(S)] = self.hi[list(S)]
                yield xi


def second_stage(M, x, xi):
    q, A, b = M.fill(xi)
    qx, qy = q[:M.nx], q[M.nx:]
    Ax, Ay = A[:, :M.nx], A[:, M.nx:]
    rhs = b - Ax @ x
    rhs = rhs + 1e-9 * (1 + np.abs(b) + np.abs(Ax * x).sum(axis=1))
    r = milp(qy, constraints=LinearConstraint(Ay, -np.inf, rhs), integrality=np.ones(M.ny),
             bounds=Bounds(0, 1))
    if r.status == 2:
        return np.inf
    if r.status != 0:
        raise RuntimeError(f"second stage: {r.message}")
    return qx @ x + r.fun


def ccg(M, tol=1e-6, max_iter=500):
    scen = [M.lo.copy()]
    lb, ub, it = -np.inf, np.inf, 0
    while True:
        L = len(scen)
        nv = M.nx + 1 + L * M.ny
        rows, lo_, hi_ = [], [], []
        for l, xi in enumerate(scen):
            q, A, b = M.fill(xi)
            row = np.zeros(nv)
            row[:M.nx] = q[:M.nx]
            row[M.nx] = -1
            off = M.nx + 1 + l * M.ny
            row[off:off + M.ny] = q[M.nx:]
            rows.append(row)
            hi_.append(0.0)
            blk = np.zeros((A.shape[0], nv))
            blk[:, :M.nx] = A[:, :M.nx]
            blk[:, off:off + M.ny] = A[:, M.nx:]
            rows.extend(blk)
            hi_.extend(b)
        c = np.zeros(nv)
        c[M.nx] = 1
        integ = np.ones(nv)
        integ[M.nx] = 0
        lbv, ubv = np.zeros(nv), np.ones(nv)
        lbv[M.nx], ubv[M.nx] = -np.inf, np.inf
        r = milp(c, constraints=LinearConstraint(np.array(rows), -np.inf, np.array(hi_)),
                 integrality=integ, bounds=Bounds(lbv, ubv))
        if r.status != 0:
            raise RuntimeError(f"master: {r.message}")
        lb = max(lb, r.fun)
        x = np.round(r.x[:M.nx])
        q, worst = -np.inf, None
        for xi in M.vertices():
            v = second_stage(M, x, xi)
            if v > q:
                q, worst = v, xi
                if np.isinf(v):
                    break
        ub = min(ub, q)
        it += 1
        gap = (ub - lb) / max(1.0, abs(ub)) if np.isfinite(ub) else np.inf
        if gap <= tol or any(np.array_equal(worst, s) for s in scen) or it >= max_iter:
            return ub, it
        scen.append(worst)


def brute(M):
    n = M.n
    V = np.array(list(M.vertices()))
    best = np.inf
    if M.kp:
        # every (y, r) with r a subset of y: 3^n pairs, as item states 0 (out), 1 (kept), 2 (repaired)
        st = np.array(list(itertools.product((0, 1, 2), repeat=n)))
        y, r = (st >= 1).astype(float), (st == 2).astype(float)
        w = y @ M.c + r @ M.t
        ok = w <= M.C * (1 + 1e-12)
        y, r = y[ok], r[ok]
        val_xi = (M.p_hat * (y - r)) @ V.T - (y @ M.f)[:, None]  # pairs x vertices
        for xm in range(1 << n):
            x = np.array([(xm >> i) & 1 for i in range(n)], float)
            sub = np.all(y <= x, axis=1)
            inner = val_xi[sub].min(axis=0) + x @ (M.f - M.p_bar)
            best = min(best, inner.max())
        return best
    ys = np.array(list(itertools.product((0, 1), repeat=n)), float)
    rev = (1 + V @ M.psi.T / 2) * M.r_bar  # vertices x n
    cost = (1 + V @ M.phi.T / 2) * M.c_bar
    for xm in range(1 << n):
        x = np.array([(xm >> i) & 1 for i in range(n)], float)
        yy = ys[np.all(ys + x <= 1, axis=1)]
        tot = cost @ (x + yy).T  # vertices x ys
        val = -(rev @ (x + M.k * yy).T)
        val[tot > M.B * (1 + 1e-12)] = np.inf
        best = min(best, val.min(axis=1).max())
    return best


def main():
    mode = sys.argv[1]
    if mode == "gen":
        print(json.dumps(gen(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return
    job = json.load(open(sys.argv[2]))
    M = Model(job["problem"])
    t0 = time.perf_counter()
    if mode == "ccg":
        obj, it = ccg(M)
        print(json.dumps({"objective": obj, "iterations": it, "time_s": time.perf_counter() - t0}))
    else:
        obj = brute(M)
        print(json.dumps({"objective": obj, "time_s": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
