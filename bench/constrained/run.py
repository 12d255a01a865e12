#!/usr/bin/env python3
"""constrained.eal_sketch (run by the solvd daemon) against scipy's SLSQP and trust-constr on the
same equality-constrained problems: the Hock-Schittkowski problems of tests/data/hs/ and a few
generated constrained logistic regressions (the daemon's own generator; the data reaches scipy
through dump_logistic_eq).

Every method is judged by one KKT residual, computed here from the point it returns (and, for
scipy, from every iterate its callback sees):

    KKT(x) = sqrt(|grad f(x) + J(x)' l*|^2 + |c(x)|^2),   l* = argmin_l |grad f(x) + J(x)' l|,

with exact derivatives (complex step for the expression problems, closed forms for the logistic
ones). l* minimises the first term, so KKT(x) is at most the residual a solver reports with its
own multipliers; eal_sketch stops on the latter, so its iteration count is an upper bound for
this formula.

Writes a Markdown fragment (--out) and the raw numbers as JSON (--json). Needs numpy and scipy
(Debian: python3-numpy python3-scipy). Timing only; nothing is asserted. Exit status non-zero
only when something failed to run.
"""
import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings

import numpy as np
import scipy
from scipy.optimize import NonlinearConstraint, minimize

TARGET = 1e-8          # the KKT residual every method is timed to
CS_STEP = 1e-30        # complex-step size: derivatives exact to rounding
SLSQP_MAXITER = 500
TC_MAXITER = 1000
STALL = 50            # scipy runs stop after this many iterations without a tenfold KKT drop
JOB_TIMEOUT_S = 120.0

# Generated constrained logistic regressions: (n samples, d features, m equalities, unit norm,
# lambda, seed). The second is the example of docs/solvers/constrained/eal_sketch.md.
LOGISTIC = [
    (500, 20, 5, 1, 0.0, 1),
    (2000, 100, 10, 1, 0.0, 1),
    (2000, 50, 10, 0, 1e-3, 2),
]


def log(msg):
    print("run.py: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- expr problems -> numpy

FUNCS = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tanh": np.tanh,
    # abs through the sign of the real part, so that the complex step still differentiates it
    "abs": lambda a: np.where(np.real(a) < 0, -a, a),
    "sum": np.sum,
    "dot": lambda u, v: np.sum(u * v),     # no conjugation (complex step)
    "pi": math.pi, "e": math.e,
}


def to_python(s):
    """An expression of docs/expr.md as Python source. The grammar's precedence (unary minus
    looser than ^, ^ right-associative and taking a signed operand) is Python's for **, so
    replacing ^ suffices; a relation a = b (or <=, >=) becomes (a) - (b) or (b) - (a)."""
    parts = re.split(r"(<=|>=|==|=)", s)
    if len(parts) == 1:
        body = s
    elif len(parts) == 3:
        lhs, rel, rhs = parts
        body = "(%s) - (%s)" % ((rhs, lhs) if rel == ">=" else (lhs, rhs))
    else:
        raise ValueError("more than one relation in %r" % s)
    return body.replace("^", "**")


class ExprProblem:
    def __init__(self, prob):
        decl = prob["variables"]
        if isinstance(decl, list):
            decl = {name: {} for name in decl}
        self.vars = []          # (name, size, offset)
        start = []
        off = 0
        for name, d in decl.items():
            size = int(d.get("size", 1))
            self.vars.append((name, size, off))
            st = d.get("start")
            if st is None:
                start += [0.0] * size
            elif isinstance(st, list):
                start += [float(v) for v in st]
            else:
                start += [float(st)] * size
            off += size
            if d.get("lower") is not None or d.get("upper") is not None:
                raise ValueError("bounds are not supported here")
        self.n = off
        self.x0 = np.array(prob["x0"] if prob.get("x0") is not None else start, dtype=float)
        self.fcode = compile(to_python(prob["objective"]), "<objective>", "eval")
        self.ccode = [compile(to_python(c), "<equality>", "eval")
                      for c in prob.get("equalities", [])]
        if prob.get("inequalities"):
            raise ValueError("inequalities are not supported here")
        self.m = len(self.ccode)

    def _env(self, x):
        env = dict(FUNCS)
        for name, size, off in self.vars:
            env[name] = x[off:off + size]   # size-1 variables too: x1 and x1[0] both work
        return env

    @staticmethod
    def _scalar(v):
        v = np.asarray(v)
        if v.size != 1:
            raise ValueError("expression is not a scalar")
        return v.reshape(-1)[0]

    def f(self, x):
        return float(np.real(self._scalar(eval(self.fcode, {"__builtins__": {}},
                                                self._env(np.asarray(x))))))

    def c(self, x):
        env = self._env(np.asarray(x))
        return np.array([self._scalar(eval(k, {"__builtins__": {}}, env)) for k in self.ccode])

    def _f_any(self, x):
        return self._scalar(eval(self.fcode, {"__builtins__": {}}, self._env(x)))

    def grad(self, x):
        x = np.asarray(x, dtype=float)
        g = np.empty(self.n)
        for i in range(self.n):
            xc = x.astype(complex)
            xc[i] += CS_STEP * 1j
            g[i] = np.imag(self._f_any(xc)) / CS_STEP
        return g

    def jac(self, x):
        x = np.asarray(x, dtype=float)
        J = np.empty((self.m, self.n))
        for i in range(self.n):
            xc = x.astype(complex)
            xc[i] += CS_STEP * 1j
            J[:, i] = np.imag(self.c(xc)) / CS_STEP
        return J

    def cval(self, x):
        return np.real(self.c(np.asarray(x, dtype=float))).astype(float)


class LogisticProblem:
    """min (1/n) sum log(1 + exp(-y_i z_i'x)) + (lambda/2)|x|^2  s.t.  A x = b [, |x|^2 = 1]."""

    def __init__(self, path):
        with open(path, "rb") as fh:
            hdr = np.frombuffer(fh.read(40), dtype=np.int64)
            ns, d, m, unit = (int(v) for v in hdr[:4])
            lam = float(np.frombuffer(fh.read(8), dtype=np.float64)[0])
            rest = np.frombuffer(fh.read(), dtype=np.float64)
        k = 0
        self.Z = rest[k:k + ns * d].reshape(ns, d); k += ns * d
        self.y = rest[k:k + ns]; k += ns
        self.A = rest[k:k + m * d].reshape(m, d); k += m * d
        self.b = rest[k:k + m]; k += m
        if k != rest.size:
            raise ValueError("%s: %d doubles, expected %d" % (path, rest.size, k))
        self.ns, self.n, self.unit, self.lam = ns, d, unit, lam
        self.m = m + unit
        self.x0 = np.full(d, 1.0 / math.sqrt(d))

    def f(self, x):
        t = -self.y * (self.Z @ x)
        return float(np.mean(np.logaddexp(0.0, t)) + 0.5 * self.lam * (x @ x))

    def grad(self, x):
        t = -self.y * (self.Z @ x)
        s = 0.5 * (1.0 + np.tanh(0.5 * t))          # sigmoid(t), overflow-free
        return -(self.Z.T @ (self.y * s)) / self.ns + self.lam * x

    def cval(self, x):
        c = self.A @ x - self.b
        return np.append(c, x @ x - 1.0) if self.unit else c

    def jac(self, x):
        return np.vstack([self.A, 2.0 * x]) if self.unit else self.A.copy()


def kkt(p, x):
    """The common KKT residual (module docstring) at x, with least-squares multipliers."""
    x = np.asarray(x, dtype=float)
    g = p.grad(x)
    if p.m == 0:
        return float(np.linalg.norm(g))
    J = p.jac(x)
    lam = np.linalg.lstsq(J.T, -g, rcond=None)[0]
    r = g + J.T @ lam
    c = p.cval(x)
    return float(math.sqrt(r @ r + c @ c))


# ---------------------------------------------------------------- solvd daemon

class Daemon:
    def __init__(self, solvd, workdir):
        self.log_path = os.path.join(workdir, "solvd.log")
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [solvd, "--listen", "127.0.0.1:0", "--db", os.path.join(workdir, "solvd.db"),
             "--workers", "1", "--progress-interval-ms", "1000"],
            stdout=subprocess.DEVNULL, stderr=self.logf)
        with open(os.path.join(workdir, "solvd.pid"), "w") as fh:   # for the caller's trap
            fh.write("%d\n" % self.proc.pid)
        self.port = None
        deadline = time.time() + 20
        while time.time() < deadline:
            with open(self.log_path) as fh:
                for line in fh:
                    if 'msg="listening"' in line:
                        mt = re.search(r"\bport=(\d+)", line)
                        if mt:
                            self.port = int(mt.group(1))
            if self.port or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not self.port:
            self.stop()
            raise RuntimeError("solvd did not report a port; log in %s" % self.log_path)
        self.base = "http://127.0.0.1:%d" % self.port

    def _req(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def solve(self, problem, params):
        job = self._req("POST", "/v1/jobs", {"solver": "constrained.eal_sketch",
                                             "problem": problem, "params": params})
        deadline = time.time() + JOB_TIMEOUT_S
        delay = 0.002
        while True:
            st = self._req("GET", "/v1/jobs/" + job["id"])
            if st["status"] not in ("queued", "running"):
                break
            if time.time() > deadline:
                raise RuntimeError("job %s still %s after %gs" % (job["id"], st["status"],
                                                                  JOB_TIMEOUT_S))
            time.sleep(delay)
            delay = min(0.05, delay * 1.5)
        if st["status"] != "succeeded":
            raise RuntimeError("job %s %s: %s" % (job["id"], st["status"], st.get("error")))
        return self._req("GET", "/v1/jobs/%s/result" % job["id"])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


# ---------------------------------------------------------------- scipy runs

class StopNow(Exception):
    pass


def scipy_run(p, method, exact, stop_at=None, trace=False):
    """One minimize() call from p.x0. Returns (times, xs, kkts, message): times[k] is the wall
    time from the call to the end of iteration k + 1 (as the callback sees it). With stop_at,
    the call is stopped (an exception from the callback; SLSQP in this scipy ignores a True
    return) once that many iterations have run. With trace, the iterates and their KKT
    residuals are kept, and the call is stopped at the first KKT <= TARGET or once STALL
    iterations have passed without a tenfold drop below the best KKT seen."""
    times, xs, kkts = [], [], []
    best = [math.inf, 0]
    kw = {}
    if method == "SLSQP":
        cons = {"type": "eq", "fun": p.cval}
        if exact:
            cons["jac"] = p.jac
            kw["jac"] = p.grad
        opts = {"ftol": 1e-16, "maxiter": SLSQP_MAXITER}
    else:
        if exact:
            cons = NonlinearConstraint(p.cval, 0.0, 0.0, jac=p.jac)
            kw["jac"] = p.grad
        else:
            cons = NonlinearConstraint(p.cval, 0.0, 0.0)
        opts = {"gtol": 1e-12, "xtol": 1e-15, "maxiter": TC_MAXITER}
    t0 = time.perf_counter()

    def cb(xk, *state):
        times.append(time.perf_counter() - t0)
        if trace:
            xs.append(np.array(xk, dtype=float, copy=True))
            k = kkt(p, xk)
            kkts.append(k)
            if k < 0.1 * best[0]:
                best[:] = [k, len(times)]
            if k <= TARGET or len(times) - best[1] >= STALL:
                raise StopNow()
        if stop_at is not None and len(times) >= stop_at:
            raise StopNow()
        return False

    try:
        res = minimize(p.f, p.x0.copy(), method=method, constraints=[cons], options=opts,
                       callback=cb, **kw)
        message = str(res.message)
    except StopNow:
        message = "stopped by the benchmark"
    return times, xs, kkts, message


def scipy_default_run(p, method):
    """minimize() as a user would call it: default tolerances and finite-difference
    derivatives."""
    cons = ({"type": "eq", "fun": p.cval} if method == "SLSQP"
            else NonlinearConstraint(p.cval, 0.0, 0.0))
    t0 = time.perf_counter()
    res = minimize(p.f, p.x0.copy(), method=method, constraints=[cons])
    return res, time.perf_counter() - t0


def median(v):
    v = sorted(v)
    k = len(v)
    return v[k // 2] if k % 2 else 0.5 * (v[k // 2 - 1] + v[k // 2])


def bench_scipy(p, method, exact, reps):
    _, xs, ks, message = scipy_run(p, method, exact, trace=True)
    if not xs:          # ended before its first iteration
        xs, ks = [p.x0.copy()], [kkt(p, p.x0)]
    hit = next((i for i, k in enumerate(ks) if k <= TARGET), None)
    k = hit if hit is not None else int(np.argmin(ks))
    out = {"iters_run": len(ks), "message": message, "reached": hit is not None,
           "iters": k + 1, "kkt": ks[k], "x": xs[k].tolist(), "f": p.f(xs[k])}
    # Timed repetitions without KKT evaluations in the callback, stopped at the same iterate.
    tt = []
    for _ in range(reps):
        times, _, _, _ = scipy_run(p, method, exact, stop_at=out["iters"])
        tt.append(times[out["iters"] - 1] if len(times) >= out["iters"] else math.nan)
    out["time_s"] = median(tt)
    return out


def bench_eal(daemon, p, problem, reps):
    runs = [daemon.solve(problem, {"tol": TARGET, "seed": 1}) for _ in range(reps)]
    r = runs[0]
    x = np.array(r["x"], dtype=float)
    return {"iters": r["iterations"], "status": r["status"], "reason": r["reason"],
            "own_kkt": r["kkt_residual"], "kkt": kkt(p, x), "reached": kkt(p, x) <= TARGET,
            "time_s": median([q["solve_time_s"] for q in runs]),
            "sketch_iterations": r.get("sketch_iterations"), "f": p.f(x), "x": r["x"]}


# ---------------------------------------------------------------- report

def fmt_ms(s):
    ms = 1e3 * s
    return "%.3g" % ms if ms < 100 else "%.0f" % ms


def cell(o, same):
    """iterations | ms | KKT for one method; a miss is marked, as is a different KKT point."""
    it = str(o["iters"]) if o["reached"] else "(%d)" % o["iters"]
    mark = "" if same else " †"
    return "%s | %s | %.1e%s" % (it, fmt_ms(o["time_s"]), o["kkt"], mark)


def write_report(rows, path, meta):
    L = []
    L.append("### constrained.eal_sketch vs scipy SLSQP and trust-constr\n")
    L.append("Machine: %s; %s. solvd %s (Release build), the daemon with one worker; "
             "Python %s, numpy %s, scipy %s (Debian packages). Generated %s by "
             "`bench/constrained/run.py` (via `bench/issue4.sh`).\n"
             % (meta["cpu"], meta["cores"], meta["commit"], meta["python"], np.__version__,
                scipy.__version__, meta["date"]))
    L.append("""**What is compared.** Every method starts from the problem's `x0` and is judged by
one KKT residual computed by the benchmark from the point it returns:
`KKT(x) = sqrt(|grad f(x) + J(x)' l*|^2 + |c(x)|^2)` with least-squares multipliers
`l* = argmin_l |grad f(x) + J(x)' l|` and exact derivatives (complex step on the expression
strings translated to numpy — `^` becomes `**`; closed forms for the logistic problems). Each cell
is *iterations | milliseconds | KKT* at the first iterate with KKT <= 1e-8; `(k)` in place of the
iteration count means 1e-8 was never reached, and the cell shows iteration k, where the smallest
KKT was reached (scipy runs are cut after %d iterations without a tenfold drop). † marks a run
that ended at a different KKT point than eal_sketch (|f - f_eal| > 1e-6 (1 + |f_eal|)).

* **eal_sketch**: the daemon's `constrained.eal_sketch` with `{"tol": 1e-8, "seed": 1}` and
  otherwise default parameters (block sketch of size 32); it stops on its own residual (its
  multipliers), which is never below the formula above, so its count is an upper bound. Time:
  the job's `solve_time_s` (the solver alone: no HTTP, queueing or JSON).
* **SLSQP**, **trust-constr**: `scipy.optimize.minimize` in-process, wall time of the call up to
  the end of the iteration in question, including Python overhead; iterations are callback
  calls (SLSQP major iterations; trust-constr iterations, rejected steps included).
  trust-constr uses its default quasi-Newton Hessian (BFGS) in both tables. Tolerances are
  tightened so that 1e-8 is not cut off by a stopping test: SLSQP `ftol=1e-16, maxiter=%d`;
  trust-constr `gtol=1e-12, xtol=1e-15, maxiter=%d`.
* Times are medians of %d runs (the scipy ones stopped from the callback at the iterate
  shown, without computing KKT residuals on the way); iteration counts do not vary between runs.
""" % (STALL, SLSQP_MAXITER, TC_MAXITER, meta["reps"]))
    for exact, title in ((False, "scipy with its default derivatives (2-point finite differences "
                                 "for the gradient and the constraint Jacobian)"),
                         (True, "scipy given exact first derivatives (complex step / closed "
                                "form; trust-constr still BFGS)")):
        L.append("\n#### %s\n" % title)
        L.append("| problem | n | m | eal_sketch it | ms | KKT | SLSQP it | ms | KKT "
                 "| trust-constr it | ms | KKT |")
        L.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for r in rows:
            e = r["eal"]
            cells = [cell(e, True)]
            for meth in ("SLSQP", "trust-constr"):
                o = r["scipy"][(meth, exact)]
                same = abs(o["f"] - e["f"]) <= 1e-6 * (1 + abs(e["f"]))
                cells.append(cell(o, same))
            L.append("| %s | %d | %d | %s |" % (r["name"], r["n"], r["m"], " | ".join(cells)))
        reached = {m: sum(1 for r in rows if r["scipy"][(m, exact)]["reached"])
                   for m in ("SLSQP", "trust-constr")}
        L.append("\nReached KKT <= 1e-8: eal_sketch %d/%d, SLSQP %d/%d, trust-constr %d/%d."
                 % (sum(1 for r in rows if r["eal"]["reached"]), len(rows),
                    reached["SLSQP"], len(rows), reached["trust-constr"], len(rows)))
    L.append("\n#### scipy as a user calls it (default tolerances, finite differences)\n")
    L.append("| problem | SLSQP it | ms | KKT | trust-constr it | ms | KKT |")
    L.append("|---|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        c = []
        for meth in ("SLSQP", "trust-constr"):
            d = r["default"][meth]
            c.append("%d | %s | %.1e" % (d["nit"], fmt_ms(d["time_s"]), d["kkt"]))
        L.append("| %s | %s |" % (r["name"], " | ".join(c)))
    L.append("\nDefaults: SLSQP `ftol=1e-6, maxiter=100`; trust-constr `gtol=1e-8, xtol=1e-8, "
             "maxiter=1000` (its own optimality measure with its own multipliers). One run each.")
    with open(path, "w") as fh:
        fh.write("\n".join(L) + "\n")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--solvd", required=True, help="the solvd binary")
    ap.add_argument("--dump", required=True, help="the dump_logistic_eq binary")
    ap.add_argument("--hs-dir", required=True)
    ap.add_argument("--out", required=True, help="Markdown fragment to write")
    ap.add_argument("--json", help="raw results to write")
    ap.add_argument("--workdir", help="temporary directory (default: a new one)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--commit", default="?")
    ap.add_argument("--quick", action="store_true", help="two HS problems, one logistic")
    args = ap.parse_args()

    # A SIGTERM (bench/issue4.sh's time limit) unwinds like an exception, so the daemon is
    # stopped by the finally below instead of being left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("run.py: terminated"))
    np.seterr(all="ignore")   # scipy probes points where log/sqrt are undefined; that is fine
    warnings.filterwarnings("ignore", module="scipy")   # quasi-Newton chatter on linear parts
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench4-constrained-")
    problems = []
    for fn in sorted(os.listdir(args.hs_dir)):
        if fn.endswith(".json"):
            with open(os.path.join(args.hs_dir, fn)) as fh:
                d = json.load(fh)
            problems.append((d["name"], ExprProblem(d["problem"]), d["problem"]))
    logistic = LOGISTIC
    if args.quick:
        problems, logistic = problems[:2], LOGISTIC[:1]
    for (ns, d, m, unit, lam, seed) in logistic:
        path = os.path.join(workdir, "logistic_%d_%d_%d_%d_%d.bin" % (ns, d, m, unit, seed))
        subprocess.run([args.dump, str(ns), str(d), str(m), str(seed), str(unit), repr(lam),
                        path], check=True)
        name = "logistic_eq n=%d d=%d m=%d%s%s" % (ns, d, m, " unit" if unit else "",
                                                  " λ=%g" % lam if lam else "")
        gen = {"generate": {"kind": "logistic_eq", "n": ns, "d": d, "m": m, "seed": seed,
                            "lambda": lam, "unit_norm": bool(unit)}}
        problems.append((name, LogisticProblem(path), gen))

    daemon = Daemon(args.solvd, workdir)
    log("solvd listening on port %d" % daemon.port)
    rows = []
    try:
        for name, p, problem in problems:
            log("%s (n=%d, m=%d)" % (name, p.n, p.m))
            row = {"name": name, "n": p.n, "m": p.m, "eal": bench_eal(daemon, p, problem,
                                                                      args.reps),
                   "scipy": {}, "default": {}}
            e = row["eal"]
            if abs(e["kkt"] - e["own_kkt"]) > 1e-6 * max(1.0, e["own_kkt"]) and \
                    e["kkt"] > e["own_kkt"] * (1 + 1e-6) + 1e-12:
                log("  warning: KKT here %.3g above eal's own %.3g (data mismatch?)"
                    % (e["kkt"], e["own_kkt"]))
            for meth in ("SLSQP", "trust-constr"):
                for exact in (False, True):
                    row["scipy"][(meth, exact)] = bench_scipy(p, meth, exact, args.reps)
                res, t = scipy_default_run(p, meth)
                row["default"][meth] = {"nit": int(getattr(res, "nit", 0)), "time_s": t,
                                        "kkt": kkt(p, res.x), "message": str(res.message)}
            log("  eal %s it %.2g | SLSQP %s %.2g | trust-constr %s %.2g" % (
                e["iters"], e["kkt"],
                row["scipy"][("SLSQP", False)]["iters"], row["scipy"][("SLSQP", False)]["kkt"],
                row["scipy"][("trust-constr", False)]["iters"],
                row["scipy"][("trust-constr", False)]["kkt"]))
            rows.append(row)
    finally:
        daemon.stop()

    meta = {"cpu": cpu_name(), "cores": "%d cores" % os.cpu_count(), "commit": args.commit,
            "python": sys.version.split()[0], "reps": args.reps,
            "date": time.strftime("%Y-%m-%d")}
    write_report(rows, args.out, meta)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([dict(r, scipy={"%s/%s" % (k[0], "exact" if k[1] else "fd"): v
                                      for k, v in r["scipy"].items()}) for r in rows],
                      fh, indent=1)
    return 0


def cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
