#!/usr/bin/env python3
"""scipy's trust-constr on the Hock-Schittkowski problems of tests/data/hs/ (the issue-9 set of
constrained.eal_sketch, docs/solvers/constrained/eal_sketch.md), from the same starts, with
exact first derivatives (complex step, bench/constrained/run.py's expression translation) and
its default quasi-Newton Hessian; gtol 1e-10, at most 1000 iterations. Prints a Markdown table:
problem, f*, trust-constr's f, |f - f*| / (1 + |f*|), iterations, its status. Nothing is asserted.
Needs numpy and scipy (Debian: python3-numpy python3-scipy; run with /usr/bin/python3)."""
import json
import os
import sys
import warnings

import numpy as np
from scipy.optimize import NonlinearConstraint, minimize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import ExprProblem  # noqa: E402


def main():
    hs_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "hs")
    print("| problem | f* | trust-constr f | rel. error | iterations | status |")
    print("|---|--:|--:|--:|--:|---|")
    for fn in sorted(os.listdir(hs_dir)):
        if not fn.endswith(".json"):
            continue
        with open(os.path.join(hs_dir, fn)) as fh:
            doc = json.load(fh)
        p = ExprProblem(doc["problem"])
        fstar = float(doc["f_star"])
        cons = NonlinearConstraint(p.cval, 0.0, 0.0, jac=p.jac)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = minimize(p.f, p.x0.copy(), jac=p.grad, method="trust-constr",
                               constraints=[cons],
                               options={"gtol": 1e-10, "xtol": 1e-14, "maxiter": 1000})
                f, nit, st = float(res.fun), int(res.nit), int(res.status)
                feas = float(np.linalg.norm(p.cval(res.x)))
            except Exception as exc:  # a failure to run is a result here
                print("| %s | %.10g | (%s) | | | |" % (doc["name"], fstar, type(exc).__name__))
                continue
        status = {0: "max_iter", 1: "gtol", 2: "xtol", 3: "callback"}.get(st, str(st))
        if feas > 1e-6:
            status += ", |c| = %.1e" % feas
        print("| %s | %.10g | %.10g | %.1e | %d | %s |" %
              (doc["name"], fstar, f, abs(f - fstar) / (1 + abs(fstar)), nit, status))


if __name__ == "__main__":
    main()
