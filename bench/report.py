#!/usr/bin/env python3
"""Turns the raw outputs of bench/run.sh (one directory) into the platform section of
bench/RESULTS.md: printed on stdout, or with --into PATH written into that file between
<!-- BEGIN platform --> and <!-- END platform --> (at the top when absent), leaving the other
sections (other benchmarks' scripts own them) untouched.

Reads wrk's WRKJSON lines (bench/wrk_stats.lua), /metrics dumps, and the JSON printed by
bench/ef21_solvd.py and bench/ef21_numpy.py; gathers the machine and versions itself. Asserts
nothing about timing: a number is reported as measured.
"""
import glob
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys

import numpy as np


def sh(*cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (p.stdout + p.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def first_line(s):
    return s.splitlines()[0] if s else "?"


def read(path):
    with open(path) as f:
        return f.read()


def wrk(path):
    for line in read(path).splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[len("WRKJSON "):])
    raise SystemExit(f"report.py: no WRKJSON line in {path}")


def prom(path):
    vals = {}
    for line in read(path).splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                vals[name] = float(value)
            except ValueError:
                pass
    return vals


def ms(us):
    return f"{us / 1000.0:.2f}"


def dpkg_version(pkg):
    out = sh("dpkg-query", "-W", "-f=${Version}", pkg)
    return out if out and "no packages" not in out and out != "?" else None


def blas_libs():
    """The BLAS/LAPACK shared objects numpy has loaded (after a product forces them in)."""
    a = np.ones((64, 64))
    _ = a @ a
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if re.search(r"(blas|lapack)", os.path.basename(path)):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def environment(res):
    solvd = os.environ.get("BENCH_SOLVD", "solvd")
    build = os.environ.get("BENCH_BUILD", "")
    cc = "?"
    cache = os.path.join(build, "CMakeCache.txt")
    if os.path.exists(cache):
        m = re.search(r"^CMAKE_C_COMPILER:\w+=(.*)$", read(cache), re.M)
        if m:
            cc = first_line(sh(m.group(1), "--version"))
    model = "?"
    try:
        m = re.search(r"^model name\s*:\s*(.*)$", read("/proc/cpuinfo"), re.M)
        model = m.group(1) if m else "?"
    except OSError:
        pass
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = sh("git", "-C", root, "rev-parse", "--short", "HEAD")
    db_dir = os.environ.get("BENCH_DB_DIR", "/var/tmp")
    fs = " ".join(sh("findmnt", "-n", "-o", "FSTYPE,SOURCE", "-T", db_dir).split())
    pkgs = []
    for p in ("libmicrohttpd12", "libuv1", "libsqlite3-0", "libjansson4", "libopenblas0-pthread"):
        v = dpkg_version(p)
        if v:
            pkgs.append(f"{p} {v}")
    import scipy  # noqa: F401  (installed with the bench group; its version is worth recording)
    return {
        "date": read(os.path.join(res, "date.txt")).strip(),
        "cores": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "solvd": first_line(sh(solvd, "--version")),
        "commit": commit,
        "cc": cc,
        "nginx": first_line(sh(os.environ.get("BENCH_NGINX", "nginx"), "-v")),
        "wrk": first_line(sh("wrk", "--version")).split("Copyright")[0].strip(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "blas": ", ".join(blas_libs()) or "?",
        "pkgs": ", ".join(pkgs),
        "fs": fs,
        "load_before": read(os.path.join(res, "load_before.txt")).strip(),
        "load_after": read(os.path.join(res, "load_after.txt")).strip(),
    }


def section_a(res, out):
    body = os.path.getsize(os.path.join(res, "a_body.json"))
    rows = [("solvd (one libuv loop thread serves HTTP)", os.path.join(res, "a_solvd.txt"))]
    for w in ("1", "auto"):
        path = os.path.join(res, f"a_nginx_{w}.txt")
        if os.path.exists(path):
            nw = read(os.path.join(res, f"a_nginx_{w}.workers")).strip()
            label = "nginx, 1 worker process" if w == "1" else f"nginx, worker_processes auto ({nw})"
            rows.append((label, path))
    out.append("| server | req/s | p50 ms | p90 ms | p99 ms | max ms | responses | not 200 | socket errors |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, path in rows:
        r = wrk(path)
        secs = r["duration_us"] / 1e6
        lat = r["latency_us"]
        ok = r["statuses"].get("200", 0)
        errs = sum(v for k, v in r["errors"].items() if k != "status")
        out.append(f"| {label} | {r['requests'] / secs:,.0f} | {ms(lat['p50'])} | {ms(lat['p90'])} | "
                   f"{ms(lat['p99'])} | {ms(lat['max'])} | {r['requests']:,} | "
                   f"{r['requests'] - ok:,} | {errs} |")
    out.append("")
    out.append(f"Both serve the same {body}-byte body: the JSON that `GET /v1/jobs/ID` returned for a finished "
               "tiny EF21 job is the static file nginx serves (response headers differ: nginx adds "
               "ETag/Last-Modified/Accept-Ranges).")


def section_b(res, out):
    out.append("| clients (connections) | 201s | submissions/s | p50 ms | p90 ms | p99 ms | max ms | not 201 | "
               "commits | store writes per commit | mean commit ms |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for path in sorted(glob.glob(os.path.join(res, "b_c*.txt")),
                       key=lambda p: int(re.search(r"b_c(\d+)\.txt$", p).group(1))):
        c = int(re.search(r"b_c(\d+)\.txt$", path).group(1))
        r = wrk(path)
        secs = r["duration_us"] / 1e6
        lat = r["latency_us"]
        created = r["statuses"].get("201", 0)
        before = prom(path.replace(".txt", ".before.prom"))
        after = prom(path.replace(".txt", ".after.prom"))

        def delta(name):
            return after.get(name, math.nan) - before.get(name, math.nan)

        batches = delta("solvd_store_batches_total")
        ops = delta("solvd_store_ops_total")
        commit_s = delta("solvd_store_commit_seconds_sum")
        per = ops / batches if batches > 0 else math.nan
        mean_commit = 1000.0 * commit_s / batches if batches > 0 else math.nan
        errs = sum(v for k, v in r["errors"].items() if k != "status")
        bad = r["requests"] - created + errs
        out.append(f"| {c} | {created:,} | {created / secs:,.0f} | {ms(lat['p50'])} | {ms(lat['p90'])} | "
                   f"{ms(lat['p99'])} | {ms(lat['max'])} | {bad:,} | {batches:,.0f} | {per:.1f} | "
                   f"{mean_commit:.2f} |")
    workers = prom(os.path.join(res, "b_workers.prom")).get("solvd_workers", math.nan)
    out.append("")
    out.append(f"Client: wrk with `bench/wrk_stats.lua` (POST of `{read(os.path.join(res, 'tiny_job.json'))}`, "
               f"{len(read(os.path.join(res, 'tiny_job.json')))} bytes; wrk threads: 1 for one connection, else 2). "
               "Latency is wrk's, per request, over all requests of the run. Each 201 was sent only after the "
               "job's insert had committed: the store runs SQLite in WAL mode with `synchronous=FULL`, and "
               "the loop thread hands writes to one writer that commits them in batches (group commit), so one "
               "fsync covers every write of a batch. The jobs also ran while being submitted "
               f"({workers:.0f} worker threads), so the commits carry their status, progress and result "
               "writes as well: \"store writes per commit\" counts all of them (`solvd_store_ops_total` / "
               "`solvd_store_batches_total` over the run), \"mean commit ms\" is "
               "`solvd_store_commit_seconds_sum` / batches (the transaction including its fsync).")


def med(xs):
    return statistics.median(xs) if xs else math.nan


def section_c(res, out):
    metas = sorted(glob.glob(os.path.join(res, "c_d*.meta.json")),
                   key=lambda p: int(re.search(r"c_d(\d+)\.meta", p).group(1)))
    rows, notes, loads = [], [], []
    for mpath in metas:
        meta = json.loads(read(mpath))
        base = mpath[: -len(".meta.json")]
        svs = [json.loads(read(p)) for p in sorted(glob.glob(base + ".solvd.*.json"))]
        npys = [json.loads(read(p)) for p in sorted(glob.glob(base + ".numpy.*.json"))]
        if not svs or not npys:
            raise SystemExit(f"report.py: no runs for {base}")
        sv = svs[0]
        runs = [r for s in svs for r in s["runs"]]
        npy = npys[-1]
        np_its = sorted({n["iterations"] for n in npys})
        np_st = sorted({n["status"] for n in npys})
        xs = np.array(json.loads(read(base + ".x_solvd.json")), dtype=float)
        xn = np.array(json.loads(read(base + ".x_numpy.json")), dtype=float)
        xdiff = float(np.linalg.norm(xs - xn) / max(np.linalg.norm(xn), 1e-300))
        its = sorted({r["iterations"] for r in runs})
        st = sorted({r["status"] for r in runs})
        gdiff = abs(runs[0]["gamma"] - npy["gamma"]) / npy["gamma"]
        t_sv = [r["solve_time_s"] for r in runs]
        t_np = [t for n in npys for t in n["times_s"]]
        loads += [r["load1"] for r in runs] + [x for n in npys for x in n["load1"]]
        sub = [r["submit_s"] for r in runs]
        after_ack = [r["wall_s"] - r["submit_s"] for r in runs]
        wall = [r["wall_s"] for r in runs]
        ratio = med(t_np) / med(t_sv) if med(t_sv) > 0 else math.nan
        rows.append(
            f"| {meta['dim']} | {meta['k']} | {'/'.join(map(str, its))} ({'/'.join(st)}) | "
            f"{'/'.join(map(str, np_its))} ({'/'.join(np_st)}) | {gdiff:.1e} | {xdiff:.1e} | "
            f"{med(t_sv):.3f} ({min(t_sv):.3f}) | {med(t_np):.3f} ({min(t_np):.3f}) | {ratio:.1f}x | "
            f"{med(sub):.2f} (max {max(sub):.2f}) | {med(after_ack):.3f} | {med(wall):.2f} | "
            f"{sv['body_bytes'] / 1e6:.1f} |")
        notes.append(meta)
    m = notes[0] if notes else {}
    out.append(f"Instance: n = {m.get('clients')} clients x {m.get('rows')} rows, least squares, "
               f"lambda = {m.get('lambda')}, heterogeneity h = {m.get('het')} (client i's rows scaled by "
               f"10^(h i/(n-1))), K = d/10, plain EF21 (`variant` ef21), theory step, `init` full, "
               f"stop at |grad f| <= {m.get('tol')}. Times: median over the runs, fastest in brackets; "
               "the two sides ran alternately (solvd, numpy, solvd, ...). 1-minute load average at the "
               f"start of the runs: {min(loads):.2f} to {max(loads):.2f} (on {os.cpu_count()} cores).")
    out.append("")
    out.append("| d | K | solvd iterations | numpy iterations | gamma rel. diff | x rel. diff | "
               "solvd solve_time_s | numpy solve s | numpy / solvd | solvd submit s | solvd ack -> result s | "
               "solvd wall s | body MB |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    out.extend(rows)


BEGIN, END = "<!-- BEGIN platform -->", "<!-- END platform -->"


def merge_into(path, block):
    """Puts block (with its markers) in place of the file's platform section, or at its top."""
    try:
        old = read(path)
    except FileNotFoundError:
        old = ""
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        new = head + block + (tail[1:] if tail.startswith("\n") else tail)
    else:
        # An older run.sh wrote this section without markers, always first: drop that text.
        if old.startswith("# solvd benchmark results"):
            cut = old.find("<!-- BEGIN ")
            old = old[cut:] if cut >= 0 else ""
        new = block + ("\n" + old if old else "\n")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)


def main():
    args = sys.argv[1:]
    into = None
    if len(args) == 3 and args[1] == "--into":
        into = args[2]
    elif len(args) != 1:
        raise SystemExit("usage: report.py RESULTS_DIR [--into RESULTS.md]")
    res = args[0]
    env = environment(res)
    repeat = os.environ.get("BENCH_REPEAT", "?")
    duration = os.environ.get("BENCH_DURATION", "?")
    out = ["# solvd benchmark results", ""]
    out.append(f"Written by `bench/run.sh` (`make bench`) on {env['date']}. Numbers are as measured in that "
               "one run on a shared machine; nothing here is asserted.")
    out.append("")
    out.append("| | |")
    out.append("|---|---|")
    out.append(f"| machine | {env['cores']} cores, {env['cpu']}, Linux {env['kernel']} |")
    out.append(f"| load average | before: `{env['load_before']}`; after: `{env['load_after']}` |")
    out.append(f"| solvd | {env['solvd']}, commit {env['commit']}, Release build, {env['cc']} |")
    out.append(f"| libraries | {env['pkgs']} |")
    out.append(f"| store | a fresh SQLite file per part, in a temp dir on {env['fs']} |")
    out.append(f"| peers | {env['nginx']}; {env['wrk']} |")
    out.append(f"| numpy side | Python {env['python']}, numpy {env['numpy']} (scipy {env['scipy']}), "
               f"BLAS loaded: {env['blas']}; OPENBLAS_NUM_THREADS=1 |")
    out.append("")
    out.append("## (a) GET /v1/jobs/ID: solvd versus nginx")
    out.append("")
    out.append(f"wrk -t2 -c64 -d{duration}s, keep-alive, against 127.0.0.1; client and server share the "
               f"{env['cores']} cores.")
    out.append("")
    section_a(res, out)
    out.append("")
    out.append("## (b) Durable submissions: POST /v1/jobs")
    out.append("")
    out.append(f"{duration} s per row, a fresh store for the part; each row starts with no job queued or running.")
    out.append("")
    section_b(res, out)
    out.append("")
    out.append("## (c) EF21 to a gradient-norm tolerance: solvd versus numpy")
    out.append("")
    section_c(res, out)
    out.append("")
    out.append(
        "Both sides solve the identical numbers: `bench/make_instance.py` draws the instance with numpy "
        "(solvd's generator uses its own xoshiro256** stream and solvd cannot export a generated "
        "instance, so the explicit-clients form is used) and writes one job body; solvd receives that body "
        "and `bench/ef21_numpy.py` parses the same file. The numpy code is the same algorithm as "
        "`core/solvers/distributed/ef21.c`: the same L_i and L (power iterations with the same estimates and "
        "tolerances), the same step 1/(L + L_AM xi), full initialisation, TopK with ties to the lower "
        f"index, the server aggregate rebuilt each round, the stopping test on the exact |grad f|. Each side ran {repeat} times. "
        "`solve_time_s` is solvd's own figure (set-up including the smoothness constants, plus the "
        "rounds), and the numpy column times the same span; OpenBLAS is single-threaded on both sides "
        "(solvd sets it per worker). Submit is the POST until its 201 (upload, parse, validation, durable "
        "insert); ack -> result is from the 201 to the `result` event on the job's SSE stream; wall is "
        "their sum, the time a client waits. \"x rel. diff\" compares the final iterates, "
        "|x_solvd - x_numpy| / |x_numpy|.")
    block = BEGIN + "\n" + "\n".join(out).rstrip("\n") + "\n" + END + "\n"
    if into:
        merge_into(into, block)
    print(block, end="")


if __name__ == "__main__":
    main()
