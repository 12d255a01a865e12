#!/usr/bin/env python3
"""The multiple-choice knapsack DP in numpy: the same recursion as
core/solvers/allocation/mck.c, vectorised over the budget for each option of each group
(f_{i+1}(b) = max_j f_i(b - c_ij) + v_ij, the arg-max kept in an int16 table, the choice read
backwards), for bench/mck.sh. Ties keep the lowest option index, as in solvd.

Usage: mck_numpy.py JOB.json  -> prints {"groups", "seconds", "ms_per_group", "objective",
"total_cost", "choice"} as JSON. JOB.json is an allocation.mck job of the "groups" form with
parallel arrays ({"cost": [...], "value": [...]}) and integer costs (cost_unit 1).
"""
import json
import sys
import time

import numpy as np


def main():
    job = json.load(open(sys.argv[1]))
    prob = job["problem"]
    groups = [(np.array(g["cost"], dtype=np.int64), np.array(g["value"], dtype=float))
              for g in prob["groups"]]
    n = len(groups)
    budget = int(prob["budget"])
    t0 = time.perf_counter()
    bp = min(budget, sum(int(c[c <= budget].max(initial=0)) for c, _ in groups))
    row = bp + 1
    prev = np.zeros(row)
    cur = np.empty(row)
    tmp = np.empty(row)
    mask = np.empty(row, dtype=bool)
    table = np.zeros((n, row), dtype=np.int16)
    for i, (cost, value) in enumerate(groups):
        cur.fill(-np.inf)
        arg = table[i]
        for j in range(len(cost)):
            c = int(cost[j])
            if c > bp:
                continue
            k = row - c
            np.add(prev[:k], value[j], out=tmp[:k])
            np.greater(tmp[:k], cur[c:], out=mask[:k])
            np.copyto(cur[c:], tmp[:k], where=mask[:k])
            np.copyto(arg[c:], j, where=mask[:k])
        prev, cur = cur, prev
    obj = float(prev[bp])
    choice = [0] * n
    b = bp
    total = 0
    for i in range(n - 1, -1, -1):
        j = int(table[i, b])
        choice[i] = j
        b -= int(groups[i][0][j])
        total += int(groups[i][0][j])
    sec = time.perf_counter() - t0
    print(json.dumps({"groups": n, "seconds": sec, "ms_per_group": 1e3 * sec / n,
                      "objective": obj, "total_cost": total, "choice": choice}))


if __name__ == "__main__":
    main()
