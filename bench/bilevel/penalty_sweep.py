#!/usr/bin/env python3
"""bench/bilevel/penalty_sweep.py - the sweep that chose bilevel.penalty's single-loop defaults
(docs/solvers/bilevel/penalty.md, "Defaults"): runs the single loop over a grid of settings on the
hyperclean instances of bench/bilevel/run.py through a local solvd (run.py's Daemon: 127.0.0.1,
port 0, a temporary store) and prints, for each setting, the time (elapsed_s of the first report
whose validation loss f(x, z) is at or below the instance's common target) or 'n/r'.

The targets are the common targets of the last full bench run (bench/RESULTS.md, bilevel
section); the time limits are run.py's. Timings are measured, never asserted.

Usage: /usr/bin/python3 bench/bilevel/penalty_sweep.py --solvd build/solvd [--grid small]
"""
import argparse
import http.client
import itertools
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402

TARGETS = {"gen-n200-d20": 0.23397, "gen-n1000-d50": 0.20778, "gen-n5000-d100": 0.21752,
           "breast_cancer": 0.11191}
GRIDS = {
    "full": {"momentum": [0.1, 0.3, 1.0], "step_ratio": [2, 5, 10, 20], "batch": [64, 128],
             "decay_k0": [0]},
    "decay": {"momentum": [0.1, 0.3], "step_ratio": [5, 10], "batch": [128],
              "decay_k0": [100, 1000]},
}

def stream(daemon, job_id, timeout, on_progress):
    """Reads the job's Server-Sent Events until a terminal status; on_progress(data) per
    progress event (run.Daemon.events, with a hook)."""
    c = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=timeout)
    try:
        c.request("GET", f"/v1/jobs/{job_id}/events", headers={"Accept": "text/event-stream"})
        r = c.getresponse()
        ev, data = None, []
        while True:
            line = r.readline()
            if not line:
                break
            line = line.decode().rstrip("\r\n")
            if line == "":
                if data:
                    d = json.loads("\n".join(data))
                    if ev == "progress":
                        on_progress(d)
                    if ev == "status" and d.get("status") in run.TERMINAL:
                        break
                ev, data = None, []
            elif line.startswith("event:"):
                ev = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
    finally:
        c.close()


def one(daemon, I, params):
    """One run; cancelled once its validation loss reaches the target (the sweep needs only
    the time to it)."""
    body = {"solver": "bilevel.penalty", "problem": I["problem"], "params": params,
            "time_limit_s": I["time_limit"] + 30}
    st, resp = daemon.request("POST", "/v1/jobs", body)
    if st != 201:
        return {"error": f"HTTP {st} {resp}"}
    jid = resp["id"]
    tgt = TARGETS[I["name"]]
    r = {"t": None, "best": None, "iters": None}

    def on_progress(p):
        m = p.get("metrics", p)
        v = m.get("upper_at_z")
        r["iters"] = p.get("iteration")
        if v is None:
            return
        r["best"] = v if r["best"] is None else min(r["best"], v)
        if r["t"] is None and v <= tgt:
            r["t"] = p.get("elapsed_s")
            daemon.request("POST", f"/v1/jobs/{jid}/cancel")

    stream(daemon, jid, I["time_limit"] + 60, on_progress)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--solvd", required=True)
    ap.add_argument("--grid", default="full", choices=sorted(GRIDS))
    ap.add_argument("--set", default="{}", help="JSON params added to every run")
    ap.add_argument("--instances", default=",".join(TARGETS))
    ap.add_argument("--data-dir", default=os.path.normpath(os.path.join(run.ROOT, "..", "shared",
                                                                         "data")))
    args = ap.parse_args()
    extra = json.loads(args.set)
    names = args.instances.split(",")
    insts = [I for I in run.INSTANCES if I["name"] in names]
    tmp = tempfile.mkdtemp(prefix="solvd-penalty-sweep.", dir="/var/tmp")
    daemon = run.Daemon(args.solvd, tmp, args.data_dir)
    try:
        daemon.start()
        g = GRIDS[args.grid]
        keys = list(g)
        print("| " + " | ".join(keys) + " | " + " | ".join(I["name"] for I in insts) + " |")
        for combo in itertools.product(*(g[k] for k in keys)):
            c = dict(zip(keys, combo))
            params = {"variant": "single_loop", "exact_metrics": False,
                      "momentum": c["momentum"], "step_ratio": c["step_ratio"],
                      "batch_upper": c["batch"], "batch_lower": c["batch"],
                      "decay_k0": c["decay_k0"]}
            params.update(extra)
            cells = []
            for I in insts:
                params["time_limit_s"] = I["time_limit"]
                r = one(daemon, I, params)
                if "error" in r:
                    cells.append("err")
                    print(r["error"], file=sys.stderr)
                    continue
                t = f"{r['t']:.3g}" if r["t"] is not None else "n/r"
                best = f"{r['best']:.3f}" if r["best"] is not None else "-"
                cells.append(f"{t} ({best}, {r['iters']})")
            print("| " + " | ".join(str(v) for v in combo) + " | " + " | ".join(cells) + " |",
                  flush=True)
    finally:
        daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
