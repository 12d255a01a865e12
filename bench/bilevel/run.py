#!/usr/bin/env python3
"""bench/bilevel/run.py - the bilevel benchmark (issue 3): data hyper-cleaning at a few sizes.

It builds a Release solvd in its own build directory, starts it on 127.0.0.1 (port 0, a fresh
store in a temporary directory, one worker, every progress report streamed), and for each
hyperclean instance
  * submits the instance to every bilevel solver in GET /v1/solvers (a solver that refuses a
    hyperclean problem with 422 is listed as such), reads the job's Server-Sent Events (upper
    objective, elapsed time, oracle-call counters when the solver reports them) and its result
    (validation accuracy, detection precision/recall of the flipped labels);
  * rebuilds the same instance in Python (instance.py, checked against the daemon's own result
    fields) and runs bench/bilevel/borep_numpy.py and penalty_numpy.py on it with the settings
    the daemon reports it used;
  * reports each run's time to a common validation-loss target.
It writes bench/bilevel/results.json, bench/bilevel/RESULTS.md, plots (when matplotlib is there)
and the section between <!-- BEGIN bilevel --> and <!-- END bilevel --> of bench/RESULTS.md.

Timings are measured, never asserted: the exit status is non-zero only when something failed to
run. All traffic goes to 127.0.0.1; every wait is bounded; the daemon and the temporary
directory are removed on any exit. Total run time is kept under --budget seconds (default 540).

Usage: /usr/bin/python3 bench/bilevel/run.py [--quick] [--solvd PATH | --build DIR]
       [--only SOLVER,...]   (re-run only those solvers' rows; the others are kept)
"""
import argparse
import datetime
import http.client
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

try:
    import numpy as np
except ImportError:  # the Debian python3 has it (apt-get install python3-numpy python3-scipy)
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != \
            os.path.realpath("/usr/bin/python3") and not os.environ.get("BENCH_REEXEC"):
        os.environ["BENCH_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("bench/bilevel: numpy is missing (apt-get install -y python3-numpy python3-scipy)")

sys.path.insert(0, HERE)
import instance as inst_mod  # noqa: E402

# ---- the instances (generated: classes 2, 30% flipped; and the breast cancer data set) ----
INSTANCES = [
    {"name": "gen-n200-d20", "time_limit": 4.0,
     "problem": {"generate": {"class": "hyperclean", "n_train": 200, "n_val": 200, "d": 20,
                              "flip": 0.3, "seed": 1}}},
    {"name": "gen-n1000-d50", "time_limit": 6.0,
     "problem": {"generate": {"class": "hyperclean", "n_train": 1000, "n_val": 500, "d": 50,
                              "flip": 0.3, "seed": 2}}},
    {"name": "gen-n5000-d100", "time_limit": 10.0,
     "problem": {"generate": {"class": "hyperclean", "n_train": 5000, "n_val": 1000, "d": 100,
                              "flip": 0.3, "seed": 3}}},
    {"name": "breast_cancer", "time_limit": 4.0,
     "problem": {"dataset": {"name": "breast_cancer", "class": "hyperclean", "flip": 0.3,
                             "seed": 0}}},
]
QUICK = ["gen-n200-d20", "breast_cancer"]

# Parameters set for every solver that has them (GET /v1/solvers/{name} "params"): the exact
# second-order monitoring metrics some solvers offer cost a Newton solve per report and are not
# part of the algorithm, so they are off; everything else stays at the solver's defaults.
COMMON_PARAMS = {"exact_metrics": False}
# The two algorithms with a numpy peer, and the peer scripts.
PEERS = {"bilevel.borep": "borep_numpy.py", "bilevel.penalty": "penalty_numpy.py"}
# Runs besides each solver's defaults: (solver, params, label suffix), used when the solver is
# served and its params schema has every key.
# Set on a solver's default run only. The penalty method's double loop makes thousands of oracle
# calls per iteration and its report costs two full passes, so it reports every iteration
# (default: every 10th) and its time to a target is resolved to one iteration.
DEFAULT_OVERRIDES = {"bilevel.penalty": {"report_every": 1}}
# BO-REP's default eta was 0.01 (too little for hundreds of weights); its catalog example takes
# eta = 1, and so do two BO-REP runs. Its defaults now (bench/bilevel/sweep.py) are full
# batches; 'batch 32' is the stochastic method at the other defaults.
EXTRA_CONFIGS = [("bilevel.penalty", {"variant": "single_loop"}, "single_loop"),
                 ("bilevel.borep", {"batch_upper": 32, "batch_lower": 32}, "batch 32"),
                 ("bilevel.borep", {"eta": 1.0}, "eta=1"),
                 # full batches make BO-REP deterministic: its numpy peer must then follow the
                 # same trajectory, a check that the two run the same algorithm
                 ("bilevel.borep", {"eta": 1.0, "batch_upper": 0, "batch_lower": 0},
                  "eta=1 full-batch")]
TARGET_FRACTION = 0.9  # common target: this fraction of the largest decrease any run reached
ORACLE_RE = re.compile(r"(_grads|_evals|hvps|_hvps|_calls|_jvps)$")
TERMINAL = ("succeeded", "failed", "cancelled", "timed_out")


def log(msg):
    print(f"bench/bilevel: {msg}", file=sys.stderr, flush=True)


class Fail(Exception):
    pass


# ============================================================================================
# The daemon
# ============================================================================================

class Daemon:
    def __init__(self, binary, tmp, data_dir):
        self.binary, self.tmp, self.data_dir = binary, tmp, data_dir
        self.proc = None
        self.port = None
        self.logf = os.path.join(tmp, "solvd.log")

    def start(self):
        db = os.path.join(self.tmp, "bench.db")
        args = [self.binary, "--listen", "127.0.0.1:0", "--db", db, "--workers", "1",
                "--progress-interval-ms", "0", "--data-dir", self.data_dir,
                "--max-job-seconds", "600", "--log-level", "info"]
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        with open(self.logf, "w") as err:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = time.time() + 15
        while time.time() < deadline:
            with open(self.logf) as fh:
                for line in fh:
                    if 'msg="listening"' in line:
                        m = re.search(r"\bport=(\d+)", line)
                        if m:
                            self.port = int(m.group(1))
            if self.port:
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not self.port:
            raise Fail("solvd did not start:\n" + open(self.logf).read()[-2000:])
        while time.time() < deadline:
            try:
                st, _ = self.request("GET", "/healthz", timeout=2)
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise Fail(f"solvd on port {self.port} does not answer /healthz")

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def request(self, method, path, body=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            hdr = {"Content-Type": "application/json"} if data is not None else {}
            c.request(method, path, data, hdr)
            r = c.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw) if raw else None
            except ValueError:
                return r.status, raw.decode(errors="replace")
        finally:
            c.close()

    def events(self, job_id, timeout):
        """The job's SSE stream until a terminal status (or the stream ends): [(event, data)]."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        out = []
        try:
            c.request("GET", f"/v1/jobs/{job_id}/events", headers={"Accept": "text/event-stream"})
            r = c.getresponse()
            if r.status != 200:
                raise Fail(f"events of {job_id}: HTTP {r.status}")
            ev, data = None, []
            while True:
                line = r.readline()  # decodes the chunked transfer encoding
                if not line:
                    break
                line = line.decode().rstrip("\r\n")
                if line == "":
                    if data:
                        try:
                            d = json.loads("\n".join(data))
                        except ValueError:
                            d = {"unparsed": "\n".join(data)[:200]}
                        out.append((ev or "message", d, time.time()))
                        if ev == "status" and d.get("status") in TERMINAL:
                            break
                    ev, data = None, []
                elif line.startswith(":"):
                    continue
                elif line.startswith("event:"):
                    ev = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
        finally:
            c.close()
        return out


# ============================================================================================
# Runs
# ============================================================================================

def oracle_counts(progress):
    """The oracle-call counters of one progress event: {name: value}."""
    return {k: v for k, v in progress.items()
            if ORACLE_RE.search(k) and isinstance(v, (int, float))}


def trace_of(progress_events):
    """[(elapsed_s, objective, iteration, oracle_total or None)]."""
    tr = []
    for p in progress_events:
        obj = p.get("objective")
        if obj is None:  # BO-REP without exact_metrics: its objective is the exact F(x), null
            obj = p.get("upper_at_y")  # f(x_k, y_k), the bench's validation loss
        if obj is None:
            continue
        oc = oracle_counts(p)
        tr.append((p.get("elapsed_s"), obj, p.get("iteration"),
                   sum(oc.values()) if oc else None))
    return tr


def run_solvd(daemon, solver, schema, problem, time_limit, extra):
    props = (schema or {}).get("properties", {})
    params = {k: v for k, v in COMMON_PARAMS.items() if k in props}
    params.update(extra)
    if "time_limit_s" in props:
        params["time_limit_s"] = time_limit
    body = {"solver": solver, "problem": problem, "params": params,
            "time_limit_s": time_limit + 30, "tags": ["bench-bilevel"]}
    t0 = time.time()
    st, resp = daemon.request("POST", "/v1/jobs", body)
    if st in (400, 422):
        err = (resp or {}).get("error", {}) if isinstance(resp, dict) else {}
        return {"solver": solver, "refused": True, "http": st,
                "error": f"{err.get('path', '')}: {err.get('message', resp)}"}
    if st != 201:
        raise Fail(f"POST /v1/jobs for {solver}: HTTP {st} {resp}")
    jid = resp["id"]
    evs = daemon.events(jid, timeout=time_limit + 60)
    wall = time.time() - t0
    job = None
    for _ in range(200):  # the stored job may trail the stream by a batch
        st, job = daemon.request("GET", f"/v1/jobs/{jid}")
        if st == 200 and job.get("status") in TERMINAL:
            break
        time.sleep(0.05)
    else:
        raise Fail(f"job {jid} ({solver}) did not end")
    res = None
    if job["status"] == "succeeded" or job.get("result"):
        st, res = daemon.request("GET", f"/v1/jobs/{jid}/result", timeout=60)
        if st != 200:
            res = job.get("result")
    progress = [d for e, d, _ in evs if e == "progress"]
    # bilevel.penalty without exact_metrics: its objective is the exact F(x), null; the bench's
    # validation loss is f(x_k, z_k), its metric upper_at_z
    progress = [dict(d, objective=d["upper_at_z"]) if d.get("objective") is None and
                d.get("upper_at_z") is not None else d for d in progress]
    first = next((t for e, d, t in evs if e == "status" and d.get("status") == "running"), None)
    return {"solver": solver, "id": jid, "params": params, "status": job["status"],
            "error": job.get("error"), "wall_s": wall, "progress": progress,
            "trace": trace_of(progress), "result": res,
            "oracle_names": sorted(oracle_counts(progress[-1]).keys()) if progress else [],
            "stream_started": first is not None}


def run_peer(script, npz, problem_json, settings, time_limit, out_json):
    args = [sys.executable, os.path.join(HERE, script), "--instance", npz,
            "--settings", json.dumps(settings), "--time-limit", str(time_limit),
            "--out", out_json]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    t0 = time.time()
    try:
        p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=time_limit + 120)
    except subprocess.TimeoutExpired:  # run() has killed it
        return {"status": "failed", "error": f"killed after {time_limit + 120:g} s",
                "wall_s": time.time() - t0}
    wall = time.time() - t0
    if p.returncode != 0:
        return {"status": "failed", "error": p.stderr.decode(errors="replace")[-2000:],
                "wall_s": wall}
    with open(out_json) as fh:
        r = json.load(fh)
    r["wall_s"] = wall
    r["trace"] = [(e, o, i, oc) for e, o, i, oc in r["trace"]]
    return r


def verify_instance(h, res):
    """Checks the Python instance against the daemon's result fields at the daemon's (x, y)."""
    x, y = np.asarray(res["x"], float), np.asarray(res["y"], float)
    if x.shape != (h.dx,) or y.shape != (h.dy,):
        return False, f"shapes x {x.shape} y {y.shape} vs ({h.dx},) ({h.dy},)"
    f = h.upper(x, y, grad=False)
    _, _, gy = h.lower(x, y)
    checks = [("upper_at_y", f, res.get("upper_at_y"), 1e-9),
              ("lower_residual", float(np.linalg.norm(gy)), res.get("lower_residual"), 1e-6),
              ("validation_accuracy", h.accuracy(y), res.get("validation_accuracy"), 0),
              ("train_accuracy", h.accuracy(y, "train"), res.get("train_accuracy"), 0)]
    det = res.get("detection") or {}
    if det.get("precision") is not None:
        checks.append(("precision", h.detection(x)[0], det["precision"], 1e-12))
    for name, mine, theirs, tol in checks:
        if theirs is None:
            continue
        if not abs(mine - theirs) <= tol * max(1.0, abs(theirs)) + 1e-15:
            return False, f"{name}: python {mine!r} vs solvd {theirs!r}"
    return True, "f(x,y), |grad_y g|, accuracies, detection agree"


# ============================================================================================
# Tables
# ============================================================================================

def slim(r):
    """A run for results.json: no vectors, the last progress event, a thinned trace."""
    out = {}
    for k, v in r.items():
        if k == "progress":
            out["last_progress"] = v[-1] if v else None
        elif k == "trace":
            out["trace"] = thin(v)
        elif k in ("result", "settings") and isinstance(v, dict):
            out[k] = {a: b for a, b in v.items() if not isinstance(b, list)}
        elif not isinstance(v, list):
            out[k] = v
    return out


def thin(trace, most=120):
    """At most `most` rows of a trace, spread evenly over its index range, ends kept."""
    if len(trace) <= most:
        return [list(t) for t in trace]
    idx = sorted(set(round(i * (len(trace) - 1) / (most - 1)) for i in range(most)))
    return [[float(f"{v:.6g}") if isinstance(v, float) else v for v in trace[i]] for i in idx]


def per_iter(trace):
    """Seconds per iteration between the first and the last report (setup excluded)."""
    if len(trace) < 2 or trace[-1][2] is None or trace[0][2] is None:
        return None
    di = trace[-1][2] - trace[0][2]
    return (trace[-1][0] - trace[0][0]) / di if di > 0 else None


def agreement(ts, tn):
    """How far two runs' objectives are apart at the iterations both reported."""
    a = {r[2]: r for r in ts}
    common = [(a[r[2]], r) for r in tn if r[2] in a and a[r[2]][1] is not None
              and r[1] is not None]
    if not common:
        return None, "no common report"
    rel = max(abs(p[1] - q[1]) / max(abs(p[1]), 1e-300) for p, q in common)
    same_counts = all(p[3] == q[3] for p, q in common)
    return rel, (f"{rel:.1e} over {len(common)} reports; oracle counts "
                 f"{'equal' if same_counts else 'differ'}")


def first_time_below(trace, target):
    for e, o, _, _ in trace:
        if o is not None and e is not None and o <= target:
            return e
    return None


def best_of(trace):
    vals = [o for _, o, _, _ in trace if o is not None and math.isfinite(o)]
    return min(vals) if vals else None


def fmt(v, spec=".4g", none="–"):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return none
    return format(v, spec)


def summarize_run(label, kind, r, h):
    """One row: the final state of a run (solvd or numpy)."""
    tr = r.get("trace") or []
    res = r.get("result") or {}
    last = (r.get("progress") or [{}])[-1] if kind == "solvd" else r.get("last_metrics", {})
    oc = oracle_counts(last) if last else {}
    row = {"label": label, "kind": kind, "status": r.get("status"),
           "iterations": (tr[-1][2] if tr else None),
           "elapsed_s": (tr[-1][0] if tr else None), "wall_s": r.get("wall_s"),
           "final_obj": (tr[-1][1] if tr else None), "best_obj": best_of(tr),
           "oracles": oc, "setup_s": (tr[0][0] if tr else None)}
    if kind == "solvd":
        det = res.get("detection") or {}
        row.update(val_acc=res.get("validation_accuracy"), F=res.get("upper_objective"),
                   precision=det.get("precision"), recall=det.get("recall"),
                   unweighted=res.get("unweighted_validation_accuracy"),
                   result_status=res.get("status"))
    else:
        row.update(val_acc=r.get("validation_accuracy"), F=r.get("upper_objective"),
                   precision=r.get("precision"), recall=r.get("recall"),
                   result_status=r.get("status"))
    return row


def oracle_text(oc):
    if not oc:
        return "not reported"
    return ", ".join(f"{k} {int(v)}" for k, v in sorted(oc.items()))


def section(meta, instances, missing):
    L = []
    L.append("## Bilevel: data hyper-cleaning (bench/bilevel)")
    L.append("")
    L.append(f"Run {meta['date']} on {meta['host']} ({meta['cpus']} CPUs, load average "
             f"{meta['load_before']} before, {meta['load_after']} after; other builds may have "
             f"been running): Release solvd ({meta['solvd']}), one worker, every progress report "
             f"streamed; numpy {meta['numpy']}, scipy {meta['scipy']}, Python "
             f"{meta['python']}, OpenBLAS single-threaded on both sides. "
             f"`/usr/bin/python3 bench/bilevel/run.py` reproduces it (about "
             f"{meta['total_s']:.0f} s).")
    L.append("")
    L.append("Problem: min over per-sample weights sigmoid(x_i) of the validation logistic loss "
             "of the weighted, ridge-regularised (mu = 0.01) logistic regression trained on "
             "labels of which 30% were flipped; x0 = 0 (all weights 1/2), y0 = 0. The "
             "'validation loss' of a run at a time is the objective of its progress report: "
             "f(x_k, y_k), the validation loss of the solver's current lower-level iterate "
             "(upper_reg = 0). Times are `elapsed_s` of the reports: for solvd since the job "
             "started on its worker (decoding and generating the instance included), for numpy "
             "since the solve started (the instance already in memory). Every solver runs with "
             "its defaults" + (" (exact_metrics off)" if COMMON_PARAMS else "") +
             " under a per-instance time limit (its time_limit_s parameter)" +
             "".join(f", {sv} with {json.dumps(p)}" for sv, p in DEFAULT_OVERRIDES.items()) +
             " (a finer trace; the report is cheap next to an iteration); besides, " +
             "; ".join(f"{sv} {json.dumps(p)} ('{suf}')" for sv, p, suf in EXTRA_CONFIGS) +
             ".")
    L.append("")
    if missing:
        L.append("**Missing:** " + "; ".join(missing))
        L.append("")
    # ---- headline 1: time to the common target, every run, every instance ----
    labels = []
    for I in instances:
        for row in I["rows"]:
            if row["label"] not in labels:
                labels.append(row["label"])
    L.append(f"**Time (s) to the common target** (validation loss within "
             f"{100 * (1 - TARGET_FRACTION):.0f}% of the best any run reached, measured from "
             f"the loss at x0: F0 - {TARGET_FRACTION:g} (F0 - best)); 'n/r': not reached within "
             f"the run, 'refused': the solver does not take hyperclean problems.")
    L.append("")
    L.append("| run | " + " | ".join(f"{I['name']} (<= {fmt(I.get('target'), '.4g')})"
                                     for I in instances) + " |")
    L.append("|---|" + "---|" * len(instances))
    for lab in labels:
        cells = []
        for I in instances:
            row = next((r for r in I["rows"] if r["label"] == lab), None)
            if row is None:
                cells.append("–")
            elif row.get("refused"):
                cells.append("refused")
            elif row.get("failed"):
                cells.append("failed")
            else:
                cells.append(fmt(row.get("t_target"), ".3g", "n/r"))
        L.append(f"| {lab} | " + " | ".join(cells) + " |")
    L.append("")
    # ---- headline 2: solvd versus numpy, the same algorithm ----
    L.append("**solvd versus numpy, the same algorithm, settings and instance.** Pair target: "
             "the higher of the two runs' best validation losses (so both reach it); s/iter "
             "from the first to the last report (set-up excluded); agreement: the largest "
             "relative difference of the reported validation loss at the iterations both "
             "reported (deterministic runs must agree to rounding; stochastic ones draw "
             "different mini-batches).")
    L.append("")
    L.append("| instance | algorithm (solvd run) | pair target | solvd t (s) | numpy t (s) | "
             "numpy / solvd | solvd s/iter | numpy s/iter | agreement |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for I in instances:
        for p in I.get("pairs", []):
            L.append(f"| {I['name']} | {p['label']} | {fmt(p['target'], '.5g')} | "
                     f"{fmt(p['t_solvd'], '.3g', 'n/r')} | {fmt(p['t_numpy'], '.3g', 'n/r')} | "
                     f"{fmt(p['ratio'], '.2g')} | {fmt(p['iter_s_solvd'], '.2e')} | "
                     f"{fmt(p['iter_s_numpy'], '.2e')} | {p['agreement']} |")
    L.append("")
    fs = findings(instances)
    if fs:
        L.append("Findings of this run:")
        L.append("")
        for f in fs:
            L.append(f"- {f}")
        L.append("")
    # ---- per instance ----
    for I in instances:
        L.append(f"### {I['name']}: n_train {I['n']}, n_val {I['nv']}, d {I['d']} (with the "
                 f"intercept), {I['flipped']} flipped; time limit {I['time_limit']:g} s a run")
        L.append("")
        L.append(f"Instance: `{json.dumps(I['problem'])}`; Python rebuild "
                 f"{'identical' if I['verified'] else 'NOT verified'} ({I['verify_msg']}). "
                 f"Validation loss at x0: {fmt(I['F0'])}; training on the noisy labels with "
                 f"all weights 1 gives validation accuracy {fmt(I.get('unweighted'), '.3f')}. "
                 f"Common target: {fmt(I.get('target'), '.5g')}.")
        L.append("")
        L.append("| run | status | iters | first report (s) | last report (s) | final val. loss "
                 "| best | F(x) exact | val. acc | precision / recall | oracle calls (last "
                 "report) | t target (s) |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for row in I["rows"]:
            if row.get("refused"):
                L.append(f"| {row['label']} | refused (HTTP {row['http']}) | | | | | | | | | "
                         f"{row['error']} | |")
                continue
            if row.get("failed"):
                L.append(f"| {row['label']} | failed | | | | | | | | | {row['error']} | |")
                continue
            pr = f"{fmt(row.get('precision'), '.2f')} / {fmt(row.get('recall'), '.2f')}"
            L.append(
                f"| {row['label']} | {row.get('result_status') or row['status']} | "
                f"{fmt(row['iterations'], 'd')} | {fmt(row['setup_s'], '.3g')} | "
                f"{fmt(row['elapsed_s'], '.3g')} | "
                f"{fmt(row['final_obj'], '.5g')} | {fmt(row['best_obj'], '.5g')} | "
                f"{fmt(row.get('F'), '.5g')} | {fmt(row.get('val_acc'), '.3f')} | {pr} | "
                f"{oracle_text(row['oracles'])} | "
                f"{fmt(row.get('t_target'), '.3g', 'n/r')} |")
        L.append("")
    L.append("Plots: `bench/bilevel/objective_vs_time.png` (validation loss against time) and "
             "`bench/bilevel/objective_vs_oracles.png` (against oracle calls, for the runs that "
             "count them); raw traces in `bench/bilevel/results.json`.")
    L.append("")
    for note in meta.get("notes", []):
        L.append(f"- {note}")
    if meta.get("notes"):
        L.append("")
    return "\n".join(L)


def findings(instances):
    """A few sentences computed from the tables (so that they stay true when it is rerun)."""
    out = []
    for I in instances:
        done = [r for r in I["rows"] if r.get("t_target") is not None]
        if done:
            best = min(done, key=lambda r: r["t_target"])
            sv = [r for r in done if r["kind"] == "solvd"]
            txt = f"{I['name']}: first to the common target {best['label']} ({best['t_target']:.3g} s)"
            b2 = min(sv, key=lambda r: r["t_target"]) if sv else None
            if b2 is not None and b2 is not best:
                txt += f", first solvd run {b2['label']} ({b2['t_target']:.3g} s)"
            out.append(txt + ".")
    det = [p for I in instances for p in I.get("pairs", [])
           if p.get("rel_diff") is not None and p["rel_diff"] < 1e-4 and p["iter_s_solvd"]
           and p["iter_s_numpy"]]
    sto = [p for I in instances for p in I.get("pairs", [])
           if p.get("rel_diff") is not None and p["rel_diff"] >= 1e-4 and p["iter_s_solvd"]
           and p["iter_s_numpy"]]
    for name, group in (("deterministic (same trajectory, to the agreement shown)", det),
                        ("stochastic (mini-batch)", sto)):
        if group:
            r = [p["iter_s_numpy"] / p["iter_s_solvd"] for p in group]
            out.append(f"Per iteration, numpy / solvd time for the {name} pairs: "
                       f"{min(r):.2g}x to {max(r):.2g}x over {len(r)} pairs.")
    first = []
    for I in instances:
        s = [r["setup_s"] for r in I["rows"] if r.get("kind") == "solvd" and r.get("setup_s")]
        n = [r["setup_s"] for r in I["rows"] if r.get("kind") == "numpy" and r.get("setup_s")]
        if s:
            first.append(f"{I['name']} solvd {min(s):.3g} s" +
                         (f", numpy {min(n):.3g} s" if n else ""))
    if first:
        out.append("Earliest first report of any run (job start to iteration 0: decoding, "
                   "building the instance for solvd, each solver's set-up): " +
                   "; ".join(first) + ".")
    never = []
    for lab in dict.fromkeys(r["label"] for I in instances for r in I["rows"]):
        rows = [r for I in instances for r in I["rows"] if r["label"] == lab]
        if all(not r.get("refused") and not r.get("failed") and r.get("t_target") is None
               for r in rows):
            never.append(lab)
    if never:
        out.append("Never at the common target within the time limit and the default "
                   "iteration budget: " + ", ".join(never) + ".")
    return out


# ---- --only: a partial re-run replaces its own rows of the previous section ----

def read_section(path):
    """The text between the bilevel markers of path ('' when absent)."""
    begin, end = "<!-- BEGIN bilevel -->", "<!-- END bilevel -->"
    if not os.path.exists(path):
        return ""
    with open(path) as fh:
        old = fh.read()
    if begin not in old or end not in old:
        return ""
    return old[old.index(begin) + len(begin):old.index(end)].strip("\n")


def section_targets(text):
    """{instance: common target} from a section's per-instance paragraphs."""
    out, name = {}, None
    for line in text.split("\n"):
        m = re.match(r"### (\S+): ", line)
        if m:
            name = m.group(1)
        m = re.search(r"Common target: ([0-9.eE+-]+)\.", line)
        if m and name:
            out[name] = float(m.group(1))
    return out


def row_keys(lines):
    """(group, label) for each table row of a section's lines (None for other lines): groups
    are the time table, the pair table per instance and each instance's table."""
    keys, table, inst = [], None, None
    for line in lines:
        m = re.match(r"### (\S+): ", line)
        if m:
            inst, table = m.group(1), "inst"
        elif line.startswith("**Time (s) to the common target**"):
            table = "time"
        elif line.startswith("**solvd versus numpy"):
            table = "pair"
        if line.startswith("| ") and not line.startswith("| run |") and \
                not line.startswith("| instance |"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if table == "time":
                keys.append((("time",), cells[0]))
            elif table == "pair":
                keys.append((("pair", cells[0]), cells[1]))
            elif table == "inst":
                keys.append((("inst", inst), cells[0]))
            else:
                keys.append(None)
        else:
            keys.append(None)
    return keys


def merge_section(old, new, labels, meta, only):
    """The previous section with the rows of `labels` replaced by (or, when new, added from)
    the partial run's section; a line under the run line says which rows were re-run, and the
    findings that the tables decide are recomputed from the merged tables."""
    olines, nlines = old.split("\n"), new.split("\n")
    nkeys = row_keys(nlines)
    fresh = {k: l for k, l in zip(nkeys, nlines) if k and k[1] in labels}
    okeys = row_keys(olines)
    out, used = [], set()
    note = f"Rows of {', '.join(only)} (and their numpy peers) re-run "
    for i, (line, k) in enumerate(zip(olines, okeys)):
        if line.startswith(note) or (line == "" and i + 1 < len(olines) and
                                     olines[i + 1].startswith(note)):
            continue  # the note of an earlier partial run of the same solvers
        if k in fresh:
            out.append(fresh[k])
            used.add(k)
        elif not (k and k[1] in labels):
            out.append(line)
        nxt = okeys[i + 1] if i + 1 < len(okeys) else None
        if k and (nxt is None or nxt[0] != k[0]):  # the group's last row: add its new rows
            for fk, fl in fresh.items():
                if fk[0] == k[0] and fk not in used:
                    out.append(fl)
                    used.add(fk)
        if line.startswith("Run ") and "reproduces it" in line:
            out.append("")
            out.append(f"{note}{meta['date']} with `run.py --only {','.join(only)}` (load "
                       f"average {meta['load_before']} before, {meta['load_after']} after), "
                       f"timed against the common targets of the run above; the other rows, "
                       f"the plots and the findings on per-iteration ratios and first reports "
                       f"are that run's (the findings on the common target are recomputed).")
    return refresh_findings(out)


def refresh_findings(lines):
    """Recomputes the 'first to the common target' and 'never at it' findings from the merged
    time table (the other findings keep their text)."""
    keys = row_keys(lines)
    head = next((l for l in lines if l.startswith("| run | ") and "(<=" in l), None)
    if head is None:
        return "\n".join(lines)
    insts = [c.strip().split(" ")[0] for c in head.strip("|").split("|")[1:]]
    times = {}
    for line, k in zip(lines, keys):
        if k and k[0] == ("time",):
            times[k[1]] = [c.strip() for c in line.strip("|").split("|")[1:]]

    def num(c):
        try:
            return float(c)
        except ValueError:
            return None

    first, never = {}, []
    for j, name in enumerate(insts):
        done = [(num(v[j]), lab) for lab, v in times.items() if num(v[j]) is not None]
        if done:
            best = min(done)
            sv = [d for d in done if "_numpy" not in d[1]]
            txt = f"{name}: first to the common target {best[1]} ({best[0]:.3g} s)"
            if sv and min(sv) != best:
                txt += f", first solvd run {min(sv)[1]} ({min(sv)[0]:.3g} s)"
            first[name] = f"- {txt}."
    for lab, v in times.items():
        if all(c == "n/r" for c in v):
            never.append(lab)
    out = []
    for line in lines:
        m = re.match(r"- (\S+): first to the common target ", line)
        if m and m.group(1) in first:
            out.append(first[m.group(1)])
        elif line.startswith("- Never at the common target"):
            if never:
                out.append("- Never at the common target within the time limit and the "
                           "default iteration budget: " + ", ".join(never) + ".")
        else:
            out.append(line)
    return "\n".join(out)


def merge_raw(path, raw, meta):
    """The previous results.json with the re-run labels' runs replaced, and a note of the
    partial run in its meta."""
    try:
        with open(path) as fh:
            old = json.load(fh)
    except (OSError, ValueError):
        return {"meta": meta, "missing": [], "runs": raw}
    by = {r["instance"]: r for r in old.get("runs", [])}
    for r in raw:
        o = by.setdefault(r["instance"], {"instance": r["instance"], "problem": r["problem"],
                                          "solvd": {}, "numpy": {}})
        o["solvd"].update(r["solvd"])
        o["numpy"].update(r["numpy"])
    m = old.get("meta", {})
    m.setdefault("partial_runs", []).append(meta)
    return {"meta": m, "missing": old.get("missing", []), "runs": list(by.values())}


def write_section(path, text):
    begin, end = "<!-- BEGIN bilevel -->", "<!-- END bilevel -->"
    block = f"{begin}\n{text}\n{end}\n"
    old = ""
    if os.path.exists(path):
        with open(path) as fh:
            old = fh.read()
    if begin in old and end in old and old.index(begin) < old.index(end):
        a = old.index(begin)
        b = old.index(end) + len(end)
        rest = old[b:]
        if rest.startswith("\n"):
            rest = rest[1:]
        new = old[:a] + block + rest
    else:
        new = old + ("\n" if old and not old.endswith("\n") else "") + \
            ("\n" if old else "") + block
    tmp = path + ".bilevel.tmp"
    with open(tmp, "w") as fh:
        fh.write(new)
    os.replace(tmp, path)


def plots(instances, outdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no plots")
        return []
    made = []
    keys = []
    for I in instances:
        for *_, ck in I["plot"]:
            if ck not in keys:
                keys.append(ck)
    cmap = plt.get_cmap("tab10")
    color = {k: cmap(i % 10) for i, k in enumerate(keys)}
    for key, fname, xlabel in (("time", "objective_vs_time.png", "time (s), log scale"),
                               ("oracles", "objective_vs_oracles.png",
                                "oracle calls (sum of the counters the run reports), log scale")):
        n = len(instances)
        cols = 2 if n > 1 else 1
        rows_ = (n + cols - 1) // cols
        fig, axes = plt.subplots(rows_, cols, figsize=(7 * cols, 4.6 * rows_), squeeze=False)
        handles = {}
        for ax, I in zip(axes.flat, instances):
            for lab, tr, dashed, ck in I["plot"]:
                pts = [(e if key == "time" else oc, o) for e, o, _, oc in tr]
                pts = [(a, b) for a, b in pts if a is not None and b is not None and a > 0]
                if not pts:
                    continue
                ln, = ax.plot([a for a, _ in pts], [b for _, b in pts], "--" if dashed else "-",
                              color=color[ck], lw=1.2 if dashed else 1.5, label=lab)
                handles.setdefault(lab, ln)
            if I.get("target") is not None:
                ax.axhline(I["target"], color="grey", lw=0.8, ls=":")
            ax.set_xscale("log")
            ax.set_title(f"{I['name']} (dotted: common target)", fontsize=10)
            ax.set_xlabel(xlabel, fontsize=9)
            ax.set_ylabel("validation loss f(x_k, y_k)", fontsize=9)
            ax.grid(True, which="major", lw=0.3)
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        fig.legend(list(handles.values()), list(handles.keys()), loc="lower center",
                   ncol=4, fontsize=8, frameon=False)
        fig.suptitle("bench/bilevel: hyperclean, solvd (solid) and numpy peers (dashed)",
                     fontsize=11)
        fig.tight_layout(rect=(0, 0.04 + 0.025 * ((len(handles) + 3) // 4), 1, 0.97))
        p = os.path.join(outdir, fname)
        fig.savefig(p, dpi=72)
        plt.close(fig)
        made.append(p)
    return made


# ============================================================================================
# Main
# ============================================================================================

def bench_instance(daemon, I, configs, schemas, args, tmp, raw):
    """Every configuration and numpy peer on one instance; returns its summary for the tables."""
    log(f"instance {I['name']}")
    t0 = time.time()
    h = inst_mod.build(I["problem"], args.data_dir)
    build_py = time.time() - t0
    npz = os.path.join(tmp, f"{I['name']}.npz")
    np.savez(npz, A=h.A, b=h.b, Av=h.Av, bv=h.bv, flipped=h.flipped, mu=h.mu,
             upper_reg=h.upper_reg)
    runs, peers, verified, vmsg = {}, {}, None, "no solvd result to compare with"
    for c in configs:
        log(f"  {c['label']}")
        r = run_solvd(daemon, c["solver"], schemas.get(c["solver"]), I["problem"],
                      I["time_limit"], c["params"])
        runs[c["label"]] = r
        if r.get("result") and verified is None and "x" in r["result"]:
            verified, vmsg = verify_instance(h, r["result"])
            log(f"  python instance: {'identical' if verified else 'DIFFERS'}: {vmsg}")
    for c in configs:
        script = PEERS.get(c["solver"])
        r = runs[c["label"]]
        if not script or r.get("refused") or not r.get("result"):
            continue
        plabel = peer_label(c)
        if not verified:
            peers[plabel] = {"status": "failed", "error": "instance not verified: " + vmsg}
            continue
        res = r["result"]
        settings = dict(res.get("settings") or res.get("params") or {})
        settings.update(c["params"])
        settings["time_limit_s"] = I["time_limit"]
        log(f"  numpy {plabel}")
        peers[plabel] = run_peer(script, npz, I["problem"], settings, I["time_limit"],
                                 os.path.join(tmp, f"{I['name']}.{plabel.replace(' ', '_')}.json"))
    # ---- summary ----
    F0 = h.upper(np.zeros(h.dx), np.zeros(h.dy), grad=False)
    rows, plot = [], []
    for c in configs:
        r = runs[c["label"]]
        if r.get("refused"):
            rows.append({"label": c["label"], "refused": True, "http": r["http"],
                         "error": r["error"].replace("|", "/")})
            continue
        row = summarize_run(c["label"], "solvd", r, h)
        row["ref"] = c["solver"] in PEERS
        row["trace"] = r["trace"]
        rows.append(row)
        plot.append((c["label"], r["trace"], False, c["label"]))
        plabel = peer_label(c) if c["solver"] in PEERS else None
        if plabel in peers:
            p = peers[plabel]
            if not p.get("trace"):
                rows.append({"label": plabel, "failed": True,
                             "error": str(p.get("error", ""))[-300:].replace("\n", " ")
                             .replace("|", "/")})
            else:
                prow = summarize_run(plabel, "numpy", p, h)
                prow["ref"] = True
                prow["trace"] = p["trace"]
                prow["pair"] = c["label"]
                rows.append(prow)
                plot.append((plabel, p["trace"], True, c["label"]))
    # the common target: 90% of the largest decrease of the validation loss any run reached
    allbest = [row["best_obj"] for row in rows if row.get("best_obj") is not None]
    target = F0 - TARGET_FRACTION * (F0 - min(allbest)) if allbest else None
    if args.only and I["name"] in args.prev_targets:  # the kept rows were timed against it
        target = args.prev_targets[I["name"]]
    traces = {}
    for row in rows:
        tr = row.pop("trace", None)
        if tr:
            traces[row["label"]] = tr
            row["t_target"] = first_time_below(tr, target) if target is not None else None
    pairs = []
    for row in rows:
        if not row.get("pair") or row["pair"] not in traces or row["label"] not in traces:
            continue
        ts, tn = traces[row["pair"]], traces[row["label"]]
        a = next(r for r in rows if r["label"] == row["pair"])
        # the pair's own target: the loss both runs reached (the higher of their best losses)
        pt = max(a["best_obj"], row["best_obj"])
        pt += 1e-9 * max(1.0, abs(pt))
        t_s, t_n = first_time_below(ts, pt), first_time_below(tn, pt)
        pairs.append({"label": row["pair"], "target": pt, "t_solvd": t_s, "t_numpy": t_n,
                      "ratio": t_n / t_s if t_s and t_n else None,
                      "iter_s_solvd": per_iter(ts), "iter_s_numpy": per_iter(tn),
                      "rel_diff": agreement(ts, tn)[0], "agreement": agreement(ts, tn)[1]})
    unweighted = next((r["result"].get("unweighted_validation_accuracy")
                       for r in runs.values() if r.get("result")), None)
    raw.append({"instance": I["name"], "problem": I["problem"],
                "solvd": {lab: slim(r) for lab, r in runs.items()},
                "numpy": {lab: slim(p) for lab, p in peers.items()}})
    return {"name": I["name"], "problem": I["problem"], "time_limit": I["time_limit"],
            "n": h.n, "nv": h.nv, "d": h.d, "flipped": int(h.flipped.sum()),
            "verified": bool(verified), "verify_msg": vmsg, "F0": F0, "unweighted": unweighted,
            "target": target, "rows": rows, "pairs": pairs, "plot": plot,
            "python_build_s": build_py}


def peer_label(c):
    stem = PEERS[c["solver"]].replace(".py", "")
    return f"{stem} {c['suffix']}" if c["suffix"] else stem


def build_solvd(build_dir, logf):
    log(f"building Release solvd in {build_dir}")
    with open(logf, "w") as fh:
        subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"],
                       stdout=fh, stderr=subprocess.STDOUT, check=True, timeout=300)
        p = subprocess.run(["cmake", "--build", build_dir, "-j2", "--target", "solvd"],
                           stdout=fh, stderr=subprocess.STDOUT, timeout=600)
    if p.returncode != 0:
        raise Fail("build failed:\n" + open(logf).read()[-3000:])
    return os.path.join(build_dir, "solvd")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench3"))
    ap.add_argument("--solvd", help="use this solvd binary (no build)")
    ap.add_argument("--data-dir", default=os.path.normpath(os.path.join(ROOT, "..", "shared",
                                                                         "data")))
    ap.add_argument("--quick", action="store_true", help="the two small instances only")
    ap.add_argument("--budget", type=float, default=540.0, help="seconds for everything")
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    ap.add_argument("--no-results", action="store_true", help="leave bench/RESULTS.md alone")
    ap.add_argument("--only", help="comma-separated solvers: run only their configurations and "
                    "replace only their rows of the bilevel section (and of RESULTS.md, "
                    "results.json), timed against the section's common targets; plots are "
                    "left alone")
    args = ap.parse_args()
    args.only = [s for s in (args.only or "").split(",") if s]
    args.prev_section, args.prev_targets = "", {}
    if args.only:
        args.prev_section = read_section(args.results)
        if not args.prev_section:
            sys.exit(f"bench/bilevel: --only needs a bilevel section in {args.results}")
        args.prev_targets = section_targets(args.prev_section)
    t_start = time.time()
    tmp = tempfile.mkdtemp(prefix="solvd-bench-bilevel.", dir="/var/tmp")
    daemon = None

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        binary = args.solvd or build_solvd(args.build, os.path.join(tmp, "build.log"))
        load_before = os.getloadavg()
        daemon = Daemon(binary, tmp, args.data_dir)
        daemon.start()
        log(f"solvd on 127.0.0.1:{daemon.port}")
        st, cat = daemon.request("GET", "/v1/solvers")
        if st != 200:
            raise Fail(f"GET /v1/solvers: HTTP {st}")
        solvers = sorted(s["name"] for s in cat["solvers"] if s.get("family") == "bilevel")
        schemas = {}
        for s in solvers:
            st, d = daemon.request("GET", f"/v1/solvers/{s}")
            schemas[s] = d.get("params") if st == 200 else None
        log("bilevel solvers: " + ", ".join(solvers))
        missing = [f"{s} is not in GET /v1/solvers (not built yet), so it and its numpy peer "
                   f"comparison are absent" for s in ("bilevel.borep", "bilevel.penalty",
                                                      "bilevel.inexact", "bilevel.lvhba")
                   if s not in solvers]
        chosen = [I for I in INSTANCES if not args.quick or I["name"] in QUICK]
        out_instances, raw = [], []
        configs = []
        for s in solvers:
            if args.only and s not in args.only:
                continue
            props = (schemas.get(s) or {}).get("properties", {})
            over = {k: v for k, v in DEFAULT_OVERRIDES.get(s, {}).items() if k in props}
            configs.append({"solver": s, "params": over, "label": s, "suffix": ""})
            for es, ep, suffix in EXTRA_CONFIGS:
                if es == s and all(k in props for k in ep):
                    configs.append({"solver": s, "params": ep, "label": f"{s} {suffix}",
                                    "suffix": suffix})
        for I in chosen:
            elapsed = time.time() - t_start
            need = I["time_limit"] * (len(configs) + sum(c["solver"] in PEERS
                                                          for c in configs)) + 20
            if elapsed + need > args.budget:
                missing.append(f"instance {I['name']} skipped: the time budget of "
                               f"{args.budget:.0f} s would be exceeded")
                log(f"skipping {I['name']} (budget)")
                continue
            out_instances.append(bench_instance(daemon, I, configs, schemas, args, tmp, raw))
        load_after = os.getloadavg()
        daemon.stop()
        import scipy
        import platform
        meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "host": platform.node() or "this machine", "cpus": os.cpu_count(),
                "load_before": f"{load_before[0]:.2f}", "load_after": f"{load_after[0]:.2f}",
                "solvd": os.path.relpath(binary, ROOT) if binary.startswith(ROOT) else binary,
                "numpy": np.__version__, "scipy": scipy.__version__,
                "python": platform.python_version(), "total_s": time.time() - t_start,
                "notes": notes()}
        text = section(meta, out_instances, missing)
        rj = os.path.join(args.out_dir, "results.json")
        out = {"meta": meta, "missing": missing, "runs": raw}
        if args.only:
            labels = [c["label"] for c in configs] + \
                [peer_label(c) for c in configs if c["solver"] in PEERS]
            text = merge_section(args.prev_section, text, labels, meta, args.only)
            out = merge_raw(rj, raw, meta)
        os.makedirs(args.out_dir, exist_ok=True)
        with open(rj, "w") as fh:
            json.dump(out, fh, default=float, separators=(",", ":"))
        with open(os.path.join(args.out_dir, "RESULTS.md"), "w") as fh:
            fh.write(text + "\n")
        if not args.only:
            plots(out_instances, args.out_dir)
        if not args.no_results:
            write_section(args.results, text)
            log(f"wrote the bilevel section of {args.results}")
        print(text)
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except (Fail, subprocess.SubprocessError, OSError) as e:
        log(f"error: {e}")
        return 1
    except Exception:  # a bug here: say where, still clean up
        import traceback
        traceback.print_exc()
        return 1
    finally:
        if daemon:
            daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def notes():
    return [
        "The numpy peers (bench/bilevel/borep_numpy.py, penalty_numpy.py) follow the C code of "
        "core/solvers/bilevel/borep.c and penalty.c step for step with the settings each solvd job "
        "reports in its result (the same steps, schedules, batch sizes, stopping rules and "
        "report cadence); their mini-batches come from numpy's generator, not solvd's "
        "xoshiro stream, so stochastic runs agree in distribution, not sample for sample.",
        "The instance is rebuilt in Python from the same generator (xoshiro256**, Box-Muller) "
        "or the same data-set split, and checked against the daemon's result fields at the "
        "daemon's final (x, y) before any numpy run.",
        "'refused' rows: the solver answered 422 to a hyperclean problem (it serves other "
        "problem classes).",
        "Oracle calls are the counters each solver puts in its progress reports (their names "
        "are in the tables; a solver that reports none says 'not reported'). A call counts "
        "once whatever its batch: a 32-row mini-batch gradient and a full pass over n_train "
        "rows are one call each, so the counts compare runs of one solver, not solvers.",
        "F(x) exact: the upper objective at the final x with the lower level solved to "
        "|grad_y g| <= 1e-10 (solvd's result field upper_objective; the numpy peers solve it by "
        "Newton's method). It differs from the last reported validation loss where the solver's "
        "own y is not the lower-level solution (stochastic and single-loop methods).",
        "Timings are single measurements on a shared 2-core machine: read them as orders of "
        "magnitude, not to the percent.",
    ]


if __name__ == "__main__":
    sys.exit(main())
