#!/usr/bin/env python3
"""The greedy minimum-entropy coupling of coupling.mec (core/solvers/coupling/mec.c) in numpy,
for bench/mec.sh: the same algorithm on the same job body. Each marginal is a max-heap of its
remaining masses (heapq on negated masses, ties to the smaller index as in solvd); a step puts
m = the smallest of the tops on their cell and subtracts it; the top equal to m leaves its heap,
the others go back with their residual. Prints one JSON object: steps, seconds, us_per_step,
joint_entropy.

Usage: mec_numpy.py JOB.json
"""
import heapq
import json
import sys
import time

import numpy as np


def greedy(ps):
    heaps = []
    for p in ps:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
        h = [(-float(v), int(i)) for i, v in enumerate(p) if v > 0]
        heapq.heapify(h)
        heaps.append(h)
    masses = []
    cells = []
    while all(heaps):
        tops = [h[0] for h in heaps]
        m = min(-t[0] for t in tops)
        cells.append(tuple(t[1] for t in tops))
        masses.append(m)
        for h, (negv, i) in zip(heaps, tops):
            r = -negv - m
            if r > 0:
                heapq.heapreplace(h, (-r, i))
            else:
                heapq.heappop(h)
    masses = np.array(masses)
    return cells, masses


def main():
    job = json.load(open(sys.argv[1]))
    ps = job["problem"]["marginals"]
    t0 = time.perf_counter()
    cells, masses = greedy(ps)
    dt = time.perf_counter() - t0
    h = float(-(masses * np.log2(masses)).sum())
    print(json.dumps({"steps": len(masses), "seconds": dt, "us_per_step": 1e6 * dt / len(masses),
                      "joint_entropy": h}))


if __name__ == "__main__":
    main()
