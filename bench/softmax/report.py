#!/usr/bin/env python3
"""Turns the tab-separated output of bench/softmax/bench.c into the Markdown fragment of
bench/RESULTS.md (bench/softmax.sh). Usage:

    report.py --lib lib.tsv [--native native.tsv] --flags-lib "..." --flags-native "..." --out f.md

Standard library only."""
import argparse
import os
import subprocess
import sys
import time

METHODS = ["two-pass (sv_softmax)", "three-pass (sv_softmax_threepass)",
           "naive three-pass (store, rescale)"]
SHORT = ["two-pass", "three-pass (core)", "naive three-pass"]
AVX2 = ["two-pass (avx2 path)", "three-pass (avx2 path)"]
AVX2_SHORT = ["two-pass, AVX2", "three-pass, AVX2"]
BW = ["read x", "copy x to y"]


def read(path):
    rows = {}
    with open(path) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            f = dict(zip(header, line.rstrip("\n").split("\t")))
            if len(f) == len(header):
                rows.setdefault(int(f["n"]), {})[f["method"]] = f
    return rows


def size_label(n):
    for p in range(9, -1, -1):
        if n == 10 ** p:
            return "1e%d" % p
        if n == 3 * 10 ** p:
            return "3e%d" % p
    return str(n)


def mb(n):
    v = 8.0 * n / 2 ** 20
    return "%.3g" % v if v < 100 else "%.0f" % v


def throughput_table(rows, methods=METHODS, short=SHORT):
    L = ["| n | x (MiB) | " + " | ".join("%s Melem/s | GB/s" % s for s in short)
         + " | two-pass / three-pass | machine: read x GB/s | copy x to y GB/s |",
         "|--:|--:|" + "--:|--:|" * len(short) + "--:|--:|--:|"]
    for n in sorted(rows):
        r = rows[n]
        if methods[0] not in r:
            continue
        cells = []
        for m in methods:
            if m in r:
                best = r[m].get("best_elems_per_s")
                cells.append("%.1f%s | %.2f" % (float(r[m]["elems_per_s"]) / 1e6,
                                                " (%.1f)" % (float(best) / 1e6) if best else "",
                                                float(r[m]["GB_per_s"])))
            else:
                cells.append("– | –")
        ratio = "–"
        if methods[0] in r and methods[1] in r:
            ratio = "%.2f" % (float(r[methods[0]]["elems_per_s"])
                              / float(r[methods[1]]["elems_per_s"]))
        bw = ["%.1f" % float(r[m]["GB_per_s"]) if m in r else "–" for m in BW]
        L.append("| %s | %s | %s | %s | %s |" % (size_label(n), mb(n), " | ".join(cells), ratio,
                                                 " | ".join(bw)))
    return L


def accuracy_table(rows):
    L = ["| n | " + " | ".join("%s max rel. diff | sum err" % s for s in SHORT) + " |",
         "|--:|" + "--:|--:|" * len(SHORT)]
    for n in sorted(rows):
        r = rows[n]
        cells = ["%s | %s" % (r[m]["max_rel_diff"], r[m]["sum_err"]) if m in r else "– | –"
                 for m in METHODS]
        L.append("| %s | %s |" % (size_label(n), " | ".join(cells)))
    return L


def machine():
    cpu, caches = "unknown CPU", []
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            if k.strip() == "Model name":
                cpu = v.strip()
            if k.strip() in ("L1d cache", "L2 cache", "L3 cache"):
                caches.append("%s %s" % (k.strip().split()[0], v.strip()))
    except OSError:
        pass
    return cpu, ", ".join(caches)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--native")
    ap.add_argument("--flags-lib", default="")
    ap.add_argument("--flags-native", default="")
    ap.add_argument("--compiler", default="")
    ap.add_argument("--load", default="")
    ap.add_argument("--load-after", default="")
    ap.add_argument("--commit", default="")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    lib = read(a.lib)
    cpu, caches = machine()
    L = ["## Two-pass vs three-pass softmax throughput (issue 9)\n",
         "Machine: %s, %d cores; caches: %s. %s. Load average before / after the softmax runs: "
         "%s / %s. Generated %s at commit %s by `bench/softmax.sh` (`bench/softmax/bench.c`).\n"
         % (cpu, os.cpu_count(), caches or "unknown", a.compiler, a.load or "?",
            a.load_after or "?", time.strftime("%Y-%m-%d %H:%M"), a.commit or "?"),
         """**Methods** (double precision, one thread, x uniform on [-20, 20], y a separate array):

* **two-pass** — `sv_softmax` (core/kernels/softmax.c, on the AVX-512, AVX2 or scalar path the
  CPU allows, chosen at run time; core/kernels/softmax_simd.inc): pass 1 reads x and accumulates
  sum e^x in the (mantissa, exponent) representation, four accumulators of one vector each with
  per-lane compensation, rescaled only when a lane's exponent rises; pass 2 reads x again and
  writes y = 2^(n_i - n) W_j (1 + p_i), W_j = 2^(j/16)/S a per-call table. Two reads of x, one
  write of y (non-temporal from 2^22 outputs on).
* **three-pass (core)** — `sv_softmax_threepass` (the same vector layer, the same e^x: Tang's
  16-entry table and degree-7 polynomial, four accumulators, non-temporal stores from 2^22 on):
  max; sum of e^{x-max}; y = e^{x-max}/sum (recomputed). Three reads of x, one write of y.
* **naive three-pass** — in bench.c: max; y = e^{x-max} stored while summing; y *= 1/sum. Two
  reads of x, y written twice and read once, one `exp` per element.

**Units.** Melem/s = n / (median time of one call), in parentheses from the fastest sample (the
least disturbed by other work on the machine); GB/s (from the median) = 16 n bytes (x read once,
y written once: the least any softmax moves) / time, so the columns compare the methods
directly; the traffic each really makes is listed above. The machine columns, measured at the
same n in the same run: a read of x (8 n bytes) and glibc's memcpy of x to y (16 n bytes). Median of 7 samples (5 for n >= 1e7),
each sample long enough to cover >= 2e7 elements, the three methods interleaved within each
repetition; x and y are allocated and touched before timing. Nothing is asserted.
"""]
    L.append("#### Library build (`libsolvd_core.a`, %s)\n" % (a.flags_lib or "Release"))
    L += throughput_table(lib)
    if any(AVX2[0] in r for r in lib.values()):
        L.append("\n#### The same library on its AVX2 path (the CPUs without AVX-512)\n")
        L += throughput_table(lib, AVX2, AVX2_SHORT)
    if a.native and os.path.exists(a.native):
        nat = read(a.native)
        if nat:
            L.append("\n#### core/kernels/softmax.c compiled with the benchmark (%s)\n" % a.flags_native)
            L += throughput_table(nat)
    L.append("\n#### Accuracy of the same runs (library build)\n")
    L.append("max rel. diff = max_i |y_i - r_i| / max_i r_i against a three-pass reference whose "
             "sum is compensated (Neumaier); sum err = abs(Σ y_i − 1), summed with compensation "
             "too.\n")
    L += accuracy_table(lib)
    with open(a.out, "w") as fh:
        fh.write("\n".join(L) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
