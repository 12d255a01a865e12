#!/usr/bin/env python3
"""bench/bilevel/borep_numpy.py - BO-REP (Hao, Gong, Liu, "Bilevel Optimization under Unbounded
Smoothness", ICLR 2024) in numpy, step for step as core/solvers/bilevel/borep.c runs it, on a hyperclean
instance: the peer that bench/bilevel/run.py times against bilevel.borep.

    y_0  = Epoch-SGD on g(x_0, .)                                  (initialization refinement)
    for t = 0, 1, ...:
      if t > 0 and t % I == 0: y <- N SGD steps on g(x_t, .)        (periodic updates)
      z_t = P_Z(z_{t-1} - nu (grad^2_yy g(x_t, y_t) z_{t-1} - grad_y f(x_t, y_t)))
      m_t = beta m_{t-1} + (1 - beta) (grad_x f(x_t, y_t) - grad^2_xy g(x_t, y_t) z_t)
      x_{t+1} = x_t - eta_t m_t / |m_t|                              (normalized momentum)
every gradient and Hessian-vector product on fresh mini-batches (drawn without replacement;
numpy's generator, not solvd's xoshiro stream). The same defaults (borep.h), steps
(gamma = nu = 1/L_g when not given; the C code takes L_g at the current x, which for
hyperclean is one constant), Epoch-SGD (epoch k: init_steps 2^k steps at gamma/2^k
from the previous epoch's average), schedule of eta (core/schedule.c), stopping rules, counters
(lower_grads, hvps as the C monitor reports them) and report cadence; the report's objective is
f(x, y) over all validation rows, as the C monitor reports it. The generated and data-set
hyperclean forms have no box on x or y, so the projections are the identity.

Run by run.py, or standalone:
  python3 borep_numpy.py --problem '{"generate": {"class": "hyperclean", "n_train": 200,
      "n_val": 200, "d": 20, "seed": 1}}' --settings '{"eta": 1.0}'
"""
import math

import numpy as np

import peer_common

# ---- core/solvers/bilevel/borep.h ----
DEFAULTS = {"eta": 0.5, "beta": 0.9, "gamma": None, "nu": None, "z_radius": 0.0,
            "period": 10, "lower_steps": 10, "init_epochs": 5, "init_steps": 20,
            "batch_upper": 0, "batch_lower": 0, "tol": 0.0, "max_iter": 1000,
            "time_limit_s": 0.0, "report_every": 10, "exact_metrics": True, "seed": 0,
            "schedule": "cosine"}
TINY_MOMENTUM = 1e-300
DIVERGED = 1e12


def schedule_factor(sch, t, T):
    """core/schedule.c: sv_schedule_factor."""
    if isinstance(sch, str):  # the short form: {"schedule": "cosine"}
        sch = {"kind": sch}
    sch = sch or {}
    kind = sch.get("kind", "constant")
    if kind == "step":
        return sch.get("step_factor", 0.5) ** (max(t, 0) // sch.get("step_every", 1000))
    if kind in ("cosine", "uba"):
        if T <= 0:
            return 1.0
        cycles = sch.get("cycles", 1)
        if t >= T:
            tau = 1.0
        elif t <= 0:
            tau = 0.0
        else:
            u = t / T * cycles
            tau = u - math.floor(u)
        c = 1.0 + math.cos(math.pi * tau)
        phi = sch.get("phi", 1.0)
        shape = 0.5 * c if kind == "cosine" else 2.0 * c / (2.0 * phi + (2.0 - phi) * c)
        rho = sch.get("min_factor", 0.0)
        return rho + (1.0 - rho) * shape
    return 1.0


class Borep:
    def __init__(self, h, s):
        self.h, self.s = h, s
        self.rng = np.random.default_rng(s["seed"])
        self.ku = min(s["batch_upper"], h.nv)
        self.kl = min(s["batch_lower"], h.n)
        self.upper_grads = self.lower_grads = self.hvps = 0
        self.lower_updates = 0

    def draw(self, upper):
        k, n = (self.ku, self.h.nv) if upper else (self.kl, self.h.n)
        if k <= 0:
            return None
        return self.rng.choice(n, size=k, replace=False)

    def sgd_steps(self, x, y, step, n, avg):
        h = self.h
        ybar = np.zeros(h.dy) if avg else None
        for _ in range(n):
            idx = self.draw(False)
            _, _, gy = h.lower(x, y, idx=idx, want_gx=False)
            self.lower_grads += 1
            y = y - step * gy
            if avg:
                ybar += y / n
        return ybar if avg else y

    def epoch_sgd(self, x, y, gamma, epochs, steps):
        step, n = gamma, steps
        for _ in range(epochs):
            y = self.sgd_steps(x, y, step, n, True)
            n *= 2
            step *= 0.5
        return y

    def report(self, trace, t, x, y, z, m, eta):
        h = self.h
        fy = h.upper(x, y, grad=False)
        _, _, gy = h.lower(x, y, want_gx=False)
        lres = float(np.linalg.norm(gy))
        zres = float(np.linalg.norm(h.hvp_yy(x, y, z) - h.upper_gy(y)))
        F = hg = math.nan
        if self.s["exact_metrics"]:
            ys = h.solve_lower(x, y.copy(), tol=1e-10)
            F = h.upper(x, ys, grad=False)
            # grad F = grad_x f - grad^2_xy g [grad^2_yy g]^{-1} grad_y f at y*(x)
            from scipy.sparse.linalg import LinearOperator, cg
            op = LinearOperator((h.dy, h.dy), matvec=lambda v: h.hvp_yy(x, ys, v))
            try:
                v, _ = cg(op, h.upper_gy(ys), rtol=1e-12, maxiter=10 * h.dy)
            except TypeError:  # scipy < 1.12 names it tol
                v, _ = cg(op, h.upper_gy(ys), tol=1e-12, maxiter=10 * h.dy)
            hg = float(np.linalg.norm(h.upper_reg * x - h.hvp_xy(x, ys, v)))
        trace.report(t, fy, {"lower_grads": self.lower_grads, "hvps": self.hvps},
                     upper_objective=F if self.s["exact_metrics"] else fy, hypergrad_norm=hg,
                     momentum_norm=float(np.linalg.norm(m)), lower_residual=lres,
                     z_residual=zres, eta=eta)
        return hg

    def solve(self, trace):
        h, s = self.h, self.s
        x = np.zeros(h.dx)
        y = np.zeros(h.dy)
        z = np.zeros(h.dy)
        m = np.zeros(h.dx)
        Lg = h.lower_L()
        inv_L = 1.0 / Lg if math.isfinite(Lg) and Lg > 0 else 1.0
        gam = s["gamma"] if s["gamma"] is not None else inv_L
        nu = s["nu"] if s["nu"] is not None else inv_L
        y = self.epoch_sgd(x, y, gam, s["init_epochs"], s["init_steps"])
        status, t, last_report = "unsolved", 0, -1
        beta, tlim = s["beta"], s["time_limit_s"]
        eta = s["eta"]
        while True:
            eta = s["eta"] * schedule_factor(s["schedule"], t, s["max_iter"])
            if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and
                    np.all(np.isfinite(z))) or float(np.max(np.abs(x))) > DIVERGED or \
                    float(np.max(np.abs(z))) > DIVERGED:
                status = "diverged"
                break
            if t % s["report_every"] == 0:
                last_report = t
                hg = self.report(trace, t, x, y, z, m, eta)
                if s["tol"] > 0 and hg <= s["tol"]:
                    status = "solved"
                    break
            if t >= s["max_iter"]:
                status = "max_iter"
                break
            if tlim > 0 and trace.elapsed() >= tlim:
                status = "time_limit"
                break
            if t > 0 and t % s["period"] == 0 and s["lower_steps"] > 0:
                y = self.sgd_steps(x, y, gam, s["lower_steps"], False)
                self.lower_updates += 1
            # z: one SGD step on the quadratic 1/2 z'Hz - z' grad_y f
            il, iu = self.draw(False), self.draw(True)
            hz = h.hvp_yy(x, y, z, idx=il)
            gy = h.upper_gy(y, idx=iu)
            self.hvps += 1
            self.upper_grads += 1
            z = z - nu * (hz - gy)
            if s["z_radius"] > 0:
                zn = float(np.linalg.norm(z))
                if zn > s["z_radius"]:
                    z = z * (s["z_radius"] / zn)
            # the hypergradient estimate on fresh batches, into the momentum
            il, iu = self.draw(False), self.draw(True)
            _, est, _ = h.upper(x, y, idx=iu)
            tx = h.hvp_xy(x, y, z, idx=il)
            self.upper_grads += 1
            self.hvps += 1
            m = beta * m + (1.0 - beta) * (est - tx)
            mn = float(np.linalg.norm(m))
            if mn > TINY_MOMENTUM:
                x = x - (eta / mn) * m
            t += 1
        if last_report != t:
            self.report(trace, t, x, y, z, m, eta)
        return x, y, status, t, {"gamma": gam, "nu": nu, "lower_updates": self.lower_updates,
                                 "upper_grads": self.upper_grads}


def main():
    args, h, given = peer_common.parse(__doc__.split("\n")[0])
    s = dict(DEFAULTS)
    s.update({k: v for k, v in given.items() if k in DEFAULTS})
    trace = peer_common.Trace()
    x, y, status, t, extra = Borep(h, s).solve(trace)
    extra["settings"] = s
    peer_common.finish(args, h, x, y, status, t, trace, extra)


if __name__ == "__main__":
    main()
