#!/usr/bin/env python3
"""The numpy peer of tsp.mcts's 2-opt local search (bench/mcts.sh): best-improvement 2-opt passes
on the instance of a job body's problem.coords, from the nearest-neighbour tour from city 0. One
pass evaluates every pair of tour edges (i, i+1), (j, j+1) at once as an n x n array of the
exchange's length change, takes the best and applies the reversal; the same pass solvd's
method "2opt" makes. Prints one JSON object: passes, us_per_pass, length.

Usage: mcts_numpy.py JOB.json PASSES
"""
import json
import sys
import time

import numpy as np


def main():
    job = json.load(open(sys.argv[1]))
    passes = int(sys.argv[2])
    xy = np.array(job["problem"]["coords"], dtype=float)
    n = len(xy)
    # nearest-neighbour tour
    seen = np.zeros(n, bool)
    tour = np.empty(n, int)
    cur = 0
    for t in range(n):
        tour[t] = cur
        seen[cur] = True
        if t == n - 1:
            break
        d = np.hypot(*(xy - xy[cur]).T)
        d[seen] = np.inf
        cur = int(np.argmin(d))
    iu = np.triu_indices(n, 2)
    mask = np.full((n, n), np.inf)
    mask[iu] = 0.0
    mask[0, n - 1] = np.inf
    done = 0
    t0 = time.perf_counter()
    for _ in range(passes):
        a = xy[tour]
        b = xy[np.roll(tour, -1)]
        dab = np.hypot(*(a - b).T)
        dac = np.hypot(a[:, None, 0] - a[None, :, 0], a[:, None, 1] - a[None, :, 1])
        dbd = np.hypot(b[:, None, 0] - b[None, :, 0], b[:, None, 1] - b[None, :, 1])
        delta = dac + dbd - dab[:, None] - dab[None, :] + mask
        k = int(np.argmin(delta))
        i, j = divmod(k, n)
        done += 1
        if not delta[i, j] < -1e-10:
            break
        tour[i + 1:j + 1] = tour[i + 1:j + 1][::-1].copy()
    el = time.perf_counter() - t0
    length = float(np.hypot(*(xy[tour] - xy[np.roll(tour, -1)]).T).sum())
    print(json.dumps({"passes": done, "us_per_pass": 1e6 * el / done, "length": length}))


main()
