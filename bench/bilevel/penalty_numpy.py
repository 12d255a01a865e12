#!/usr/bin/env python3
"""bench/bilevel/penalty_numpy.py - the penalty method of Kwon, Kwon, Wright, Nowak (ICLR 2024)
in numpy, step for step as core/solvers/bilevel/penalty.c runs it, on a hyperclean instance: the
peer that bench/bilevel/run.py times against bilevel.penalty.

    psi_sigma(x) = f(x, y_s) + (g(x, y_s) - g(x, z*)) / sigma
    y_s = argmin_y sigma f(x, y) + g(x, y),   z* = argmin_z g(x, z)
    grad psi_sigma(x) = grad_x f(x, y_s) + (grad_x g(x, y_s) - grad_x g(x, z*)) / sigma

Variants (settings "variant"):
  double_loop  inner projected-gradient solves with backtracking for z and y_s (warm started,
               steps kept between outer iterations, at most 1/L_g, grown by 1.25 after a
               success), then a projected gradient step on psi_sigma, halved until the
               sufficient-decrease test holds and doubled after a first-try success;
  single_loop  the paper's fully single loop at a fixed sigma: one sample (a lower and an upper
               mini-batch) per iteration for the three directions v_z = grad_y g(x, z),
               v_y = grad_y g(x, y) + sigma grad_y f(x, y), v_x = grad_x f(x, y) +
               (grad_x g(x, y) - grad_x g(x, z)) / sigma, momentum-assisted (STORM)
               estimators h = v(p_k) + (1 - eta_k) (h - v(p_{k-1})) with the same sample at the
               new and the old point, then steps gamma s_k on z, y and alpha s_k on x, alpha =
               min(1/L, ratio gamma sigma / L_y^2) with L and L_y the secants of grad psi_sigma
               and of y*(x) at x0 (alpha given: as is), s_k = (1 +
               k/decay_k0)^(-1/3) (1 when decay_k0 = 0), eta_k = min(1, momentum s_k^2);
  sgd          the baseline (not the paper's algorithm): one stochastic step on z, y and x per
               iteration on mini-batches (z and y share theirs, x draws fresh ones, its two
               grad_x g terms share theirs), with sigma_k = max(sigma, sigma0/(k+1)^decay) and
               x steps min(alpha, ratio gamma sigma_k), alpha = 1/L from the secant estimate.
The same defaults, tests, counters (upper_grads, lower_grads) and report cadence as the C code;
the report's objective is f(x, z), as the C monitor reports it. Hyperclean has no box on y or
x here (the generated and data-set forms have none), so the projections are the identity.

Run by run.py, or standalone:
  python3 penalty_numpy.py --problem '{"generate": {"class": "hyperclean", "n_train": 200,
      "n_val": 200, "d": 20, "seed": 1}}' --settings '{"max_iter": 50}'
"""
import math

import numpy as np

import peer_common

# ---- core/solvers/bilevel/penalty.h ----
DEFAULTS = {"variant": "double_loop", "sigma": 1e-2, "sigma0": 1.0, "sigma_decay": 0.5,
            "alpha": None, "gamma": None, "step_ratio": None, "momentum": 0.3,
            "decay_k0": 0.0, "inner_iters": 500,
            "inner_tol": 1e-10, "batch_upper": 128, "batch_lower": 128, "tol": 1e-6,
            "max_iter": 2000, "time_limit_s": 0.0, "report_every": 10, "exact_metrics": True,
            "seed": 0}
STEP_GROW = 2.0
MIN_STEP = 1e-14
PSI_ROUNDING = 1e-14
DIVERGED_X = 1e12
INNER_GROW = 1.25
SL_STEP_RATIO = 5.0   # step_ratio null: the single loop's
SGD_STEP_RATIO = 1.0  # and sgd's


class Penalty:
    def __init__(self, h, s):
        self.h, self.s = h, s
        self.upper_grads = self.lower_grads = self.inner_steps = 0
        self.gscale = 0.0
        self.gam_max = None
        self.ly = math.nan

    # h(v) = wf f(x, v) + g(x, v) and its y-gradient (full rows); w = sigmoid(x)
    def h_eval(self, x, w, v, wf, grad):
        h = self.h
        if grad:
            g, _, gy = h.lower(x, v, want_gx=False, w=w)
            self.lower_grads += 1
        else:
            g = h.lower(x, v, grad=False, w=w)
        if wf > 0:
            if grad:
                f, _, fy = h.upper(x, v)
                gy = gy + wf * fy
                self.upper_grads += 1
            else:
                f = h.upper(x, v, grad=False)
            g += wf * f
        return (g, gy) if grad else g

    def inner_solve(self, x, w, v, wf, gam, max_iter, tol):
        """Projected gradient with backtracking on wf f + g from v; returns (v, gam, mapping)."""
        hv, gy = self.h_eval(x, w, v, wf, True)
        gm = math.inf
        for _ in range(max_iter):
            grow = True
            while True:
                vt = v - gam * gy
                di = vt - v
                dd = float(di @ di)
                gd = float(gy @ di)
                gm = math.sqrt(dd) / gam
                if gm <= tol:
                    return v, gam, gm
                ht = self.h_eval(x, w, vt, wf, False)
                if ht <= hv + gd + dd / (2 * gam):
                    break
                if abs(gd) <= PSI_ROUNDING * (1.0 + abs(hv)):
                    grow = False
                    break
                gam *= 0.5
                grow = False
                if gam < 1e-300:
                    return v, gam, gm
            v = vt
            self.inner_steps += 1
            if grow:
                gam = min(gam * INNER_GROW, self.gam_max)
            hv, gy = self.h_eval(x, w, v, wf, True)
        vt = v - gam * gy
        return v, gam, float(np.linalg.norm(vt - v)) / gam

    def psi_eval(self, x, w, ys, z, sigma, want_grad):
        h = self.h
        if want_grad:
            f, gx, _ = h.upper(x, ys)
            gys, tx, _ = h.lower(x, ys, want_gy=False, w=w)
            gx = gx + tx / sigma
            gz, tx, _ = h.lower(x, z, want_gy=False, w=w)
            gx = gx - tx / sigma
        else:
            f = h.upper(x, ys, grad=False)
            gys = h.lower(x, ys, grad=False, w=w)
            gz = h.lower(x, z, grad=False, w=w)
            gx = None
        self.upper_grads += 1
        self.lower_grads += 2
        gap = (gys - gz) / sigma
        self.gscale = abs(gys) + abs(gz)
        return f + gap, gx, gap

    def secant_smoothness(self, x0, z, ys, sigma, gam):
        s = self.s
        w0 = peer_common.inst_mod._sig(x0)
        z, _, _ = self.inner_solve(x0, w0, z, 0.0, gam, 10 * s["inner_iters"], 1e-10)
        ys, _, _ = self.inner_solve(x0, w0, ys, sigma, gam, 10 * s["inner_iters"], 1e-10)
        _, g0, _ = self.psi_eval(x0, w0, ys, z, sigma, True)
        gn = float(np.linalg.norm(g0))
        if not (gn > 0) or not math.isfinite(gn):
            self.ly = math.nan
            return math.nan, z, ys
        delta = 1e-3 * (1.0 + float(np.linalg.norm(x0)))
        xt = x0 - delta * g0 / gn
        wt = peer_common.inst_mod._sig(xt)
        zt, _, _ = self.inner_solve(xt, wt, z.copy(), 0.0, gam, 10 * s["inner_iters"], 1e-10)
        yst, _, _ = self.inner_solve(xt, wt, ys.copy(), sigma, gam, 10 * s["inner_iters"], 1e-10)
        _, g1, _ = self.psi_eval(xt, wt, yst, zt, sigma, True)
        self.ly = float(np.linalg.norm(zt - z)) / delta  # the secant of y*(x) along the step
        return float(np.linalg.norm(g1 - g0)) / delta, z, ys

    def report(self, trace, k, x, z, sigma, psi_gn, gap):
        h = self.h
        fz = h.upper(x, z, grad=False)
        _, _, gy = h.lower(x, z, want_gx=False)
        lres = float(np.linalg.norm(gy))
        F = math.nan
        if self.s["exact_metrics"]:
            F = h.upper(x, h.solve_lower(x, z.copy(), tol=1e-10), grad=False)
        trace.report(k, fz, {"upper_grads": self.upper_grads, "lower_grads": self.lower_grads},
                     upper_objective=F if self.s["exact_metrics"] else fz, psi_grad_norm=psi_gn,
                     lower_residual=lres, penalty_gap=gap, sigma=sigma)

    def solve(self, trace):
        h, s = self.h, self.s
        x = np.zeros(h.dx)
        z = np.zeros(h.dy)
        ys = z.copy()
        Lg = h.lower_L()
        gam = s["gamma"] if s["gamma"] is not None else (1.0 / Lg if Lg > 0 else 1.0)
        self.gam_max = gam
        rng = np.random.default_rng(s["seed"])
        status, k, last_report = "unsolved", 0, -1
        psi_gn = gap = math.nan
        sigma, alpha = s["sigma"], s["alpha"]
        gz = gy = gam
        tlim = s["time_limit_s"]
        if s["variant"] == "double_loop":
            auto = alpha is None
            if auto:
                alpha = 1.0
            w = peer_common.inst_mod._sig(x)
            z, gz, _ = self.inner_solve(x, w, z, 0.0, gz, s["inner_iters"], s["inner_tol"])
            ys, gy, _ = self.inner_solve(x, w, ys, sigma, gy, s["inner_iters"], s["inner_tol"])
            psi, gx, gap = self.psi_eval(x, w, ys, z, sigma, True)
            while True:
                xt = x - alpha * gx
                psi_gn = float(np.linalg.norm(xt - x)) / alpha
                if not math.isfinite(psi) or not math.isfinite(psi_gn) or \
                        float(np.max(np.abs(x))) > DIVERGED_X:
                    status = "diverged"
                    break
                if psi_gn <= s["tol"]:
                    status = "solved"
                    break
                if k % s["report_every"] == 0:
                    last_report = k
                    self.report(trace, k, x, z, sigma, psi_gn, gap)
                if k >= s["max_iter"]:
                    status = "max_iter"
                    break
                if tlim > 0 and trace.elapsed() >= tlim:
                    status = "time_limit"
                    break
                first_try = True
                while True:
                    xt = x - alpha * gx
                    dj = xt - x
                    dd = float(dj @ dj)
                    gd = float(gx @ dj)
                    wt = peer_common.inst_mod._sig(xt)
                    zt, gz_t, _ = self.inner_solve(xt, wt, z.copy(), 0.0, gz, s["inner_iters"],
                                                   s["inner_tol"])
                    yst, gy_t, _ = self.inner_solve(xt, wt, ys.copy(), sigma, gy,
                                                    s["inner_iters"], s["inner_tol"])
                    psit, _, gapt = self.psi_eval(xt, wt, yst, zt, sigma, False)
                    noise = PSI_ROUNDING * (1.0 + abs(psi) + self.gscale / sigma)
                    ok = (not auto) or psit <= psi + gd + dd / (2 * alpha) or alpha < MIN_STEP
                    if not ok and abs(gd) <= noise:
                        _, gxt, _ = self.psi_eval(xt, wt, yst, zt, sigma, True)
                        ok = float(np.linalg.norm(alpha * gxt)) / alpha < psi_gn
                        first_try = False
                    if ok:
                        gz, gy = gz_t, gy_t
                        break
                    alpha *= 0.5
                    first_try = False
                x, z, ys, w = xt, zt, yst, wt
                psi, gx, gap = self.psi_eval(x, w, ys, z, sigma, True)
                if auto and first_try:
                    alpha *= STEP_GROW
                k += 1
        elif s["variant"] == "single_loop":
            if alpha is None:
                # 1/L_psi, capped at ratio gamma sigma / L_y^2 (two time scales)
                L, z, ys = self.secant_smoothness(x, z, ys, sigma, gam)
                alpha = 1.0 / L if math.isfinite(L) and L > 0 else 1e-3
                ratio = s["step_ratio"] if s["step_ratio"] is not None else SL_STEP_RATIO
                ly = self.ly
                ly2 = max(ly * ly, 1e-12) if math.isfinite(ly) and ly > 0 else 1.0
                alpha = min(alpha, ratio * gam * sigma / ly2)
            bu_k = min(s["batch_upper"], h.nv)
            bl_k = min(s["batch_lower"], h.n)

            def draw(n, kk):
                return rng.choice(n, size=kk, replace=False) if kk > 0 else None

            def directions(x, y, z, il, iu):
                gz, gxz, vz = h.lower(x, z, idx=il)
                gy, gxy, vy = h.lower(x, y, idx=il)
                _, fx, fy = h.upper(x, y, idx=iu)
                self.lower_grads += 2
                self.upper_grads += 1
                return fx + (gxy - gxz) / sigma, vy + sigma * fy, vz, (gy - gz) / sigma

            hx = hy = hz = None
            xp = yp = zp = None
            while True:
                if not (np.all(np.isfinite(x)) and np.all(np.isfinite(z)) and
                        np.all(np.isfinite(ys))) or float(np.max(np.abs(x))) > DIVERGED_X:
                    status = "diverged"
                    break
                if k % s["report_every"] == 0:
                    last_report = k
                    self.report(trace, k, x, z, sigma, psi_gn, gap)
                if k >= s["max_iter"]:
                    status = "max_iter"
                    break
                if tlim > 0 and trace.elapsed() >= tlim:
                    status = "time_limit"
                    break
                sk = (1.0 + k / s["decay_k0"]) ** (-1.0 / 3.0) if s["decay_k0"] > 0 else 1.0
                eta = min(1.0, s["momentum"] * sk * sk)
                il = draw(h.n, bl_k)
                iu = draw(h.nv, bu_k)
                vx, vy, vz, gap = directions(x, ys, z, il, iu)
                if k == 0 or eta >= 1.0:
                    hx, hy, hz = vx, vy, vz
                else:
                    # the same sample at the old point
                    ux, uy, uz, _ = directions(xp, yp, zp, il, iu)
                    hx = vx + (1.0 - eta) * (hx - ux)
                    hy = vy + (1.0 - eta) * (hy - uy)
                    hz = vz + (1.0 - eta) * (hz - uz)
                psi_gn = float(np.linalg.norm(hx))
                xp, yp, zp = x, ys, z
                z = z - gam * sk * hz
                ys = ys - gam * sk * hy
                x = x - alpha * sk * hx
                k += 1
        else:
            if alpha is None:
                L, z, ys = self.secant_smoothness(x, z, ys, sigma, gam)
                alpha = 1.0 / L if math.isfinite(L) and L > 0 else 1e-3
            bu_k = min(s["batch_upper"], h.nv)
            bl_k = min(s["batch_lower"], h.n)

            def draw(n, kk):
                return rng.choice(n, size=kk, replace=False) if kk > 0 else None

            while True:
                sk = max(s["sigma"], s["sigma0"] / (k + 1.0) ** s["sigma_decay"])
                sigma = sk
                if not (np.all(np.isfinite(x)) and np.all(np.isfinite(z)) and
                        np.all(np.isfinite(ys))) or float(np.max(np.abs(x))) > DIVERGED_X:
                    status = "diverged"
                    break
                if k % s["report_every"] == 0:
                    last_report = k
                    self.report(trace, k, x, z, sigma, psi_gn, gap)
                if k >= s["max_iter"]:
                    status = "max_iter"
                    break
                if tlim > 0 and trace.elapsed() >= tlim:
                    status = "time_limit"
                    break
                il = draw(h.n, bl_k)
                iu = draw(h.nv, bu_k)
                # z step, then the y step on sigma_k f + g with the same lower samples
                _, _, gyz = h.lower(x, z, idx=il, want_gx=False)
                z = z - gam * gyz
                _, _, gyy = h.lower(x, ys, idx=il, want_gx=False)
                gyy = gyy + sk * h.upper_gy(ys, idx=iu)
                ys = ys - gam * gyy
                self.lower_grads += 2
                self.upper_grads += 1
                # x step
                if il is not None:
                    il = draw(h.n, bl_k)
                if iu is not None:
                    iu = draw(h.nv, bu_k)
                _, gx, _ = h.upper(x, ys, idx=iu)
                gys, tx, _ = h.lower(x, ys, idx=il, want_gy=False)
                gx = gx + tx / sk
                gzv, tx, _ = h.lower(x, z, idx=il, want_gy=False)
                gx = gx - tx / sk
                self.upper_grads += 1
                self.lower_grads += 2
                gap = (gys - gzv) / sk
                psi_gn = float(np.linalg.norm(gx))
                ratio = s["step_ratio"] if s["step_ratio"] is not None else SGD_STEP_RATIO
                ak = min(alpha, ratio * gam * sk)
                x = x - ak * gx
                k += 1
        if last_report != k:
            self.report(trace, k, x, z, sigma, psi_gn, gap)
        return x, z, status, k, {"alpha": alpha, "gamma": gam, "sigma": sigma,
                                  "inner_steps": self.inner_steps}


def main():
    args, h, given = peer_common.parse(__doc__.split("\n")[0])
    s = dict(DEFAULTS)
    s.update({k: v for k, v in given.items() if k in DEFAULTS})
    trace = peer_common.Trace()
    pen = Penalty(h, s)
    x, z, status, k, extra = pen.solve(trace)
    extra["settings"] = s
    peer_common.finish(args, h, x, z, status, k, trace, extra)


if __name__ == "__main__":
    main()
