"""bench/bilevel/peer_common.py - what the numpy peers of the bilevel solvers share: the command
line, the instance, the progress trace (recorded as solvd's monitor would stream it) and the
result fields (computed as api/codecs/bilevel/bilevel_problem.c computes them).

A peer is run as
    python3 PEER.py --instance FILE.npz --settings JSON [--time-limit S] [--out FILE.json]
or, standalone, with --problem JSON (a generate or dataset problem, rebuilt by instance.py) in
place of --instance. --settings holds the solver's parameters by their solvd names (missing
ones take the solver's defaults)."""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import instance as inst_mod  # noqa: E402


class Trace:
    """Progress reports: (elapsed_s, objective, iteration, oracle total) and the last metrics."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.rows = []
        self.last = {}

    def elapsed(self):
        return time.perf_counter() - self.t0

    def report(self, it, obj, counters, **metrics):
        e = self.elapsed()
        tot = float(sum(counters.values())) if counters else None
        self.rows.append((e, obj, it, tot))
        self.last = dict(counters)
        self.last.update(metrics)
        return e


def nan_if_none(v):
    return float("nan") if v is None else float(v)


def parse(desc):
    ap = argparse.ArgumentParser(description=desc)
    ap.add_argument("--instance", help=".npz written by run.py")
    ap.add_argument("--problem", help="a generate/dataset problem JSON (rebuilt in Python)")
    ap.add_argument("--data-dir", default=os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data")))
    ap.add_argument("--settings", default="{}", help="solver parameters (JSON object)")
    ap.add_argument("--time-limit", type=float, default=0.0)
    ap.add_argument("--out", help="write the result JSON here (default: stdout)")
    args = ap.parse_args()
    if args.instance:
        h = inst_mod.load_npz(args.instance)
    elif args.problem:
        h = inst_mod.build(json.loads(args.problem), args.data_dir)
    else:
        ap.error("give --instance or --problem")
    settings = json.loads(args.settings)
    if args.time_limit > 0 and not settings.get("time_limit_s"):
        settings["time_limit_s"] = args.time_limit
    return args, h, settings


def finish(args, h, x, y, status, iterations, trace, extra):
    """The result fields solvd's bilevel encoder gives, for the final (x, y)."""
    ys = h.solve_lower(x, y.copy(), tol=1e-10)
    prec, rec = h.detection(x)
    out = {"status": status, "iterations": iterations,
           "solve_time_s": trace.elapsed(),
           "upper_at_y": h.upper(x, y, grad=False),
           "upper_objective": h.upper(x, ys, grad=False),
           "validation_accuracy": h.accuracy(y), "train_accuracy": h.accuracy(y, "train"),
           "precision": None if math.isnan(prec) else prec,
           "recall": None if math.isnan(rec) else rec,
           "trace": trace.rows, "last_metrics": trace.last,
           "x_norm": float(np.linalg.norm(x))}
    out.update(extra)
    text = json.dumps(out, default=float)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    else:
        print(text)
