#!/usr/bin/env python3
"""bench/bilevel/sweep.py - the parameter sweep behind the defaults of bilevel.borep and
bilevel.lvhba (issue 9): every grid point on every problem class the solver documents, through
the daemon.

It starts a solvd (the binary given, or the one bench/bilevel/run.py builds) on 127.0.0.1 with a
fresh store, submits each (solver, parameter point, instance) as a job with the solver's
defaults for everything the point does not set, reads the progress stream and the result, and
says whether the run reached the instance's target:

  * hyperclean (the four instances of run.py, its time limits): the bench's common target,
    validation loss <= F0 - 0.9 (F0 - best), F0 = log 2 at x0 = 0, best = the lowest validation
    loss any run of the last bench run reached (BENCH_BEST below, from bench/RESULTS.md), on the
    reported f(x_k, y_k) (the progress event's `objective`, or `upper_at_y` where the objective
    is the exact F(x) and exact_metrics is off) at any report within the time limit;
  * the other classes (quadratic, hyperparam, constrained and the catalog examples): the exact
    F(x) at the returned x (the result's `upper_objective`) <= F* + 0.01 |F0 - F*|, F* the closed
    form (quadratic: the result's x_star) or the lowest F any run of the sweep and the reference
    solvers (bilevel.inexact and bilevel.penalty at tight settings) reached; F0 = F(x0).

Output: a table a grid point a row, a column an instance (time to target in seconds, or 'n/r'),
written to bench/bilevel/sweep_<solver>.md and .json. Reproduce with
    /usr/bin/python3 bench/bilevel/sweep.py            (both solvers; --solver lvhba: one)
The hyperclean targets take the best of the bench's runs and of every run of the sweep.
Timings are single measurements on a shared machine; the outcome (reached or not) is what the
defaults were chosen on.
"""
import argparse
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import run  # noqa: E402  (the Daemon, the instances, the build)

F0_HYPERCLEAN = math.log(2.0)
# the lowest validation loss any run reached in the last full bench run (bench/RESULTS.md)
BENCH_BEST = {"gen-n200-d20": 0.18295, "gen-n1000-d50": 0.15385, "gen-n5000-d100": 0.16468,
              "breast_cancer": 0.047324}

HYPERCLEAN = [dict(I, kind="hyperclean") for I in run.INSTANCES]
# The other documented classes (docs/solvers/bilevel/problems.md).
QUADRATIC = [{"name": f"quad-s{s}", "kind": "exact", "time_limit": 4.0,
              "problem": {"generate": {"class": "quadratic", "dx": dx, "dy": dy, "cond": c,
                                       "seed": s}}}
             for s, dx, dy, c in ((1, 5, 8, 10), (2, 20, 30, 100))]
HYPERPARAM = [{"name": "ridge-global", "kind": "exact", "time_limit": 4.0,
               "problem": {"generate": {"class": "hyperparam", "n_train": 200, "n_val": 200,
                                        "d": 20, "seed": 1}}},
              {"name": "ridge-perfeat", "kind": "exact", "time_limit": 4.0,
               "problem": {"generate": {"class": "hyperparam", "n_train": 200, "n_val": 200,
                                        "d": 20, "per_feature": True, "seed": 2}}},
              {"name": "bc-ridge-logistic", "kind": "exact", "time_limit": 4.0,
               "problem": {"dataset": {"name": "breast_cancer", "class": "hyperparam",
                                       "seed": 0}}}]
CONSTRAINED = [{"name": "toy", "kind": "exact", "time_limit": 4.0,
                "problem": {"class": "constrained", "H": [[1]], "B": [[0]], "h": [2],
                            "c": [1], "lambda": 1,
                            "constraints": {"A": [[-1]], "B": [[1]], "b": [0]},
                            "x0": [3], "y0": [-1]}},
               {"name": "cons-catalog", "kind": "exact", "time_limit": 4.0,
                "problem": {"generate": {"class": "constrained", "dx": 3, "dy": 5, "m": 2,
                                         "seed": 1}}},
               {"name": "cons-s2", "kind": "exact", "time_limit": 4.0,
                "problem": {"generate": {"class": "constrained", "dx": 10, "dy": 20,
                                         "seed": 2}}}]
CATALOG_HC = {"name": "catalog-hc", "kind": "exact", "time_limit": 4.0,
              "problem": {"generate": {"class": "hyperclean", "n_train": 200, "n_val": 100,
                                       "d": 10, "flip": 0.3, "seed": 1}}}

INSTANCES = {
    "borep": HYPERCLEAN + [CATALOG_HC] + QUADRATIC + HYPERPARAM,
    "lvhba": HYPERCLEAN + [CATALOG_HC] + QUADRATIC + HYPERPARAM + CONSTRAINED,
}


def grid(spec):
    keys = list(spec)
    for vals in itertools.product(*(spec[k] for k in keys)):
        pt = {k: v for k, v in zip(keys, vals) if v is not None}
        if "batch" in pt:  # one size for both levels
            b = pt.pop("batch")
            pt["batch_upper"] = pt["batch_lower"] = b
        yield pt


# The grids. Stage 1 crosses the main step parameters; stage 2 varies the rest one at a time
# around the chosen point (None: the solver's default).
GRIDS = {
    "borep": [
        {"eta": [0.1, 0.3, 0.5, 1.0], "schedule": ["cosine"], "beta": [0.5, 0.9],
         "batch": [32, 0]},
        {"eta": [0.01, 0.5], "schedule": ["constant"], "batch": [32, 0]},
        {"eta": [0.5], "batch": [128]},
        {"eta": [0.5], "period": [2], "lower_steps": [10, 50]},
        {"eta": [0.5], "lower_steps": [50]},
    ],
    "lvhba": [
        {"c0": [0.1, 1.0, 10.0], "step_factor": [0.5, 1.0], "gamma1": [1.0, 10.0]},
        {"p": [0.0, 0.45]},
        {"gamma2": [1.0]},
    ],
}
COMMON = {"borep": {"exact_metrics": False}, "lvhba": {}}
REFERENCES = [("bilevel.inexact", {"max_iter": 2000}), ("bilevel.penalty", {})]


def trace(progress):
    """[(elapsed_s, f(x_k, y_k))] of a run's reports."""
    out = []
    for p in progress:
        v = p.get("objective")
        if v is None:
            v = p.get("upper_at_y")
        if v is not None and p.get("elapsed_s") is not None:
            out.append((p["elapsed_s"], v))
    return out


def one(daemon, solver, params, I):
    body = {"solver": solver, "problem": I["problem"],
            "params": dict(params, time_limit_s=I["time_limit"]),
            "time_limit_s": I["time_limit"] + 30}
    st, resp = daemon.request("POST", "/v1/jobs", body)
    if st != 201:
        return {"refused": True, "http": st, "error": str(resp)[:300]}
    jid = resp["id"]
    evs = daemon.events(jid, timeout=I["time_limit"] + 60)
    job = None
    for _ in range(200):
        st, job = daemon.request("GET", f"/v1/jobs/{jid}")
        if st == 200 and job.get("status") in run.TERMINAL:
            break
        time.sleep(0.05)
    st, res = daemon.request("GET", f"/v1/jobs/{jid}/result", timeout=60)
    res = res if st == 200 and isinstance(res, dict) else {}
    progress = [d for e, d, _ in evs if e == "progress"]
    return {"job": job.get("status") if job else None, "status": res.get("status"),
            "trace": trace(progress), "F": res.get("upper_objective"),
            "x_error": res.get("x_error"), "iterations": res.get("iterations"),
            "reports": len(progress), "x_star": res.get("x_star") is not None,
            "best": min((v for _, v in trace(progress)), default=None),
            "val_acc": res.get("validation_accuracy")}


def f_at_start(daemon, I):
    """F(x0) of an instance: a BO-REP job with no iteration (exact metrics at x0)."""
    r = one(daemon, "bilevel.borep", {"max_iter": 0, "init_epochs": 0}, I)
    if r.get("F") is None:  # the constrained class: lvhba with no iteration
        r = one(daemon, "bilevel.lvhba", {"max_iter": 0}, I)
    return r.get("F")


def fmt_time(t):
    return "n/r" if t is None else f"{t:.3g}"


def write_results(path, sections, t_start):
    """The bilevel_sweep section of bench/RESULTS.md (bench/lib/section.sh): per solver the
    defaults' row and the rows that solve the most instances; the full tables are in
    bench/bilevel/sweep_<solver>.md and the solver's doc page."""
    L = ["## Bilevel: the sweep behind the defaults of bilevel.borep and bilevel.lvhba "
         "(bench/bilevel/sweep.py)", "",
         f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(t_start))}; "
         "`/usr/bin/python3 bench/bilevel/sweep.py` reproduces it (both solvers, every grid "
         "point on every instance through the daemon, one worker). Full tables: "
         "bench/bilevel/sweep_borep.md, sweep_lvhba.md and the doc pages "
         "docs/solvers/bilevel/borep.md, lvhba.md (Defaults). Here, per solver, the defaults "
         "(after the sweep) and the points solving the most instances.", ""]
    for stem, head, rows, targets in sections:
        L += [f"**bilevel.{stem}.** " + head, ""] + rows + ["", targets, ""]
    sect = tempfile.NamedTemporaryFile("w", suffix=".md", delete=False)
    sect.write("\n".join(L).rstrip() + "\n")
    sect.close()
    try:
        subprocess.run(["bash", "-c", 'source "$0"; replace_section "$1" "$2" "$3" "$4"',
                        os.path.join(ROOT, "bench", "lib", "section.sh"),
                        "<!-- BEGIN bilevel_sweep -->", "<!-- END bilevel_sweep -->", sect.name,
                        path], check=True)
    finally:
        os.unlink(sect.name)
    run.log(f"wrote the bilevel_sweep section of {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--solver", nargs="+", choices=["borep", "lvhba"],
                    default=["borep", "lvhba"])
    ap.add_argument("--solvd", help="use this solvd binary (default: build it as run.py does)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench3"))
    ap.add_argument("--data-dir", default=os.path.normpath(os.path.join(ROOT, "..", "shared",
                                                                         "data")))
    ap.add_argument("--grid", help="a JSON object {param: [values]} instead of the built-in "
                    "grid (one solver)")
    ap.add_argument("--only", help="comma-separated instance names")
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    ap.add_argument("--no-results", action="store_true", help="leave bench/RESULTS.md alone")
    args = ap.parse_args()
    plan = []  # (solver stem, params, instances)
    for stem in args.solver:
        grids = [json.loads(args.grid)] if args.grid else GRIDS[stem]
        pts = [dict(COMMON[stem], **g) for spec in grids for g in grid(spec)]
        pts = [dict(COMMON[stem])] + [p for p in pts if p != COMMON[stem]]
        insts = [I for I in INSTANCES[stem]
                 if not args.only or I["name"] in args.only.split(",")]
        plan += [(stem, pt, insts) for pt in pts]
    all_insts = {I["name"]: I for _, _, insts in plan for I in insts}
    tmp = tempfile.mkdtemp(prefix="solvd-bench-sweep.", dir="/var/tmp")
    daemon = None
    t_start = time.time()
    try:
        binary = args.solvd or run.build_solvd(args.build, os.path.join(tmp, "build.log"))
        daemon = run.Daemon(binary, tmp, args.data_dir)
        daemon.start()
        # F0 and the references of the exact-F instances
        ref = {}
        for I in all_insts.values():
            if I["kind"] != "exact":
                continue
            F0 = f_at_start(daemon, I)
            best = []
            for rs, rp in REFERENCES:
                r = one(daemon, rs, rp, I)
                if r.get("F") is not None:
                    best.append(r["F"])
            ref[I["name"]] = {"F0": F0, "best": min(best) if best else None}
            run.log(f"{I['name']}: F0 {F0}, references {best}")
        rows = []
        for k, (stem, pt, insts) in enumerate(plan):
            row = {"solver": "bilevel." + stem, "params": pt, "runs": {}}
            for I in insts:
                r = one(daemon, row["solver"], pt, I)
                row["runs"][I["name"]] = r
                if I["kind"] == "exact" and r.get("F") is not None and \
                        math.isfinite(r["F"]):
                    b = ref[I["name"]]["best"]
                    ref[I["name"]]["best"] = r["F"] if b is None else min(b, r["F"])
            rows.append(row)
            run.log(f"{k + 1}/{len(plan)} {stem} {json.dumps(pt)}")
        # the hyperclean targets: the bench's, from the best of its last run (not this
        # sweep's: a method whose y is not the lower-level solution can push f(x_k, y_k) below
        # the bilevel optimum, and LV-HBA with a small c0 does)
        best_hc = dict(BENCH_BEST)
        targets = {}
        for nm, I in all_insts.items():
            if I["kind"] == "hyperclean":
                targets[nm] = F0_HYPERCLEAN - 0.9 * (F0_HYPERCLEAN - best_hc[nm])
            else:
                F0, Fs = ref[nm]["F0"], ref[nm]["best"]
                targets[nm] = Fs + 0.01 * abs(F0 - Fs)
        # outcomes
        for row in rows:
            for nm, r in row["runs"].items():
                if r.get("refused"):
                    r["t"], r["reached"] = None, None
                    continue
                tgt = r["target"] = targets[nm]
                if all_insts[nm]["kind"] == "hyperclean":
                    r["t"] = next((e for e, v in r["trace"] if v <= tgt), None)
                    # solved: the trace reaches the target and so does the exact F at the end
                    r["biased"] = r["t"] is not None and not (r.get("F") is not None and
                                                              r["F"] <= tgt)
                    r["reached"] = r["t"] is not None and not r["biased"]
                else:
                    r["reached"] = r.get("F") is not None and r["F"] <= tgt
                    r["t"] = r["trace"][-1][0] if r["reached"] and r["trace"] else None
        os.makedirs(args.out_dir, exist_ok=True)
        load = os.getloadavg()[0]
        sections = []
        for stem in args.solver:
            srows = [r for r in rows if r["solver"] == "bilevel." + stem]
            names = list(srows[0]["runs"])
            L = [f"Sweep of bilevel.{stem}: {len(srows)} points x {len(names)} instances, run "
                 f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(t_start))} "
                 f"({time.time() - t_start:.0f} s for the whole sweep, load average "
                 f"{load:.2f} at the end). A cell: on the four hyperclean instances the time "
                 f"(s) at which the reported f(x_k, y_k) first reaches the bench's common "
                 f"target, provided the exact F(x) at the end is below it too ('F v': the "
                 f"trace reached it but the final exact F is v); on the other instances the "
                 f"time of the last report when the final exact F(x) is within 1% of F0 - F*; "
                 f"'n/r' not reached. 'all': instances solved.", "",
                 "| params | " + " | ".join(names) + " | all |",
                 "|---|" + "---|" * (len(names) + 1)]
            for row in srows:
                cells, n = [], 0
                for nm in names:
                    r = row["runs"][nm]
                    if r.get("refused"):
                        cells.append("refused")
                        continue
                    n += bool(r["reached"])
                    cells.append(fmt_time(r["t"]) if r["reached"] else
                                 f"F {r['F']:.3g}" if r.get("biased") else "n/r")
                shown = {k: v for k, v in row["params"].items() if k not in COMMON[stem]}
                L.append(f"| {json.dumps(shown) if shown else 'defaults'} | " +
                         " | ".join(cells) + f" | {n}/{len(names)} |")
            L += ["", "Targets: " + "; ".join(f"{nm} {targets[nm]:.5g}" for nm in names)]
            text = "\n".join(L)
            base = os.path.join(args.out_dir, f"sweep_{stem}")
            with open(base + ".md", "w") as fh:
                fh.write(text + "\n")
            with open(base + ".json", "w") as fh:
                json.dump({"ref": ref, "targets": targets, "rows": [
                    {"params": r["params"], "runs": {
                        k: {a: b for a, b in v.items() if a != "trace"}
                        for k, v in r["runs"].items()}} for r in srows]},
                    fh, default=float, indent=0)
            print(text + "\n")
            sections.append((stem, L[0], L[2:4] + [L[4]] + sorted(
                L[5:5 + len(srows) - 1], key=lambda ln: -int(ln.rsplit("|", 2)[1].split("/")[0]))[:4],
                L[-1]))
        if not args.no_results and not args.grid and not args.only:
            write_results(args.results, sections, t_start)
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        if daemon:
            daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
