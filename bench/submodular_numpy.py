#!/usr/bin/env python3
"""The numpy peer of submodular.dynamic's `dynamic` algorithm (core/solvers/submodular/dynamic.c),
for bench/submodular.sh: the same leveled threshold-sampling structure per guess of OPT (guesses
(1+eps)^j in [m / (2k(1+eps)), m / 2], levels built from a random order in batches 1, 2, 4, ...
with a filter after each batch until the pool shrinks to (1 - eps) of the level's size, an
insertion walking up one gain a level, a level rebuilt with those above once eps |R_i| updates
touched it, waiting survivors built when a deletion frees room), on a coverage instance whose
sets all have the same size, with the gains of a pool computed by numpy in one call. Its random
order differs from solvd's (numpy's generator), so its query count is close to solvd's, not
equal.

Usage: submodular_numpy.py JOB.json UPDATES   (JOB.json: a solvd job body with explicit "sets"
and "stream"; the first UPDATES updates are processed). Prints {"us_per_update", "queries",
"updates", "value"}.
"""
import json
import math
import sys
import time

import numpy as np


class Guess:
    def __init__(self, n, universe, maxlev, expo, tau):
        self.expo, self.tau = expo, tau
        self.top = np.full(n, -1, dtype=np.int64)
        self.insol = np.zeros(n, dtype=bool)
        self.nlev = 0
        self.lsize = [0] * (maxlev + 1)
        self.lcnt = [0] * (maxlev + 1)
        self.sol, self.sol_lev = [], []
        self.st = np.zeros(universe)
        self.value = 0.0


class Dynamic:
    def __init__(self, items, universe, k, eps, seed):
        self.items = items                     # n x s item indices
        self.n = items.shape[0]
        self.universe, self.k, self.eps = universe, min(k, self.n), eps
        self.G = int(math.ceil(math.log(self.k * (1 + eps)) / math.log1p(eps))) + 2
        self.maxlev = int(math.ceil(math.log(self.n + 1.0) / -math.log1p(-eps))) + self.k + 3
        self.rng = np.random.default_rng(seed)
        self.alive = np.zeros(self.n, dtype=bool)
        self.sing = np.zeros(self.n)
        self.m, self.at_max = 0.0, 0
        self.guesses = {}
        self.queries = 0

    # -- the oracle: coverage with unit weights --
    def gain(self, st, e):
        self.queries += 1
        return float(np.count_nonzero(st[self.items[e]] == 0))

    def gains(self, st, elems):
        self.queries += len(elems)
        return np.count_nonzero(st[self.items[elems]] == 0, axis=1).astype(float)

    def add(self, g, e, level, gn):
        g.sol.append(e)
        g.sol_lev.append(level)
        g.insol[e] = True
        g.value += gn
        g.st[self.items[e]] += 1

    def truncate(self, g, keep):
        for e in g.sol[keep:]:
            g.insol[e] = False
        del g.sol[keep:]
        del g.sol_lev[keep:]
        g.st[:] = 0
        g.value = 0.0
        for e in g.sol:
            g.value += float(np.count_nonzero(g.st[self.items[e]] == 0))
            g.st[self.items[e]] += 1

    def build_from(self, g, i, pool):
        shrink = 1.0 - self.eps
        while len(pool) > 0 and len(g.sol) < self.k and i < self.maxlev:
            g.lsize[i], g.lcnt[i], g.nlev = len(pool), 0, i + 1
            pool = self.rng.permutation(pool)
            start, batch = len(pool), 1
            while True:
                pos = 0
                end = min(batch, len(pool))
                while pos < end and len(g.sol) < self.k:
                    e = int(pool[pos])
                    gn = self.gain(g.st, e)
                    if gn >= g.tau:
                        self.add(g, e, i, gn)
                    pos += 1
                rest = pool[pos:]
                if len(g.sol) < self.k:
                    rest = rest[self.gains(g.st, rest) >= g.tau] if len(rest) else rest
                else:
                    rest = rest[~g.insol[rest]]
                pool = rest
                if len(g.sol) >= self.k or len(pool) == 0 or len(pool) <= shrink * start:
                    break
                batch *= 2
            i += 1
            g.top[pool] = i

    def rebuild(self, g, i):
        keep = 0
        while keep < len(g.sol) and g.sol_lev[keep] < i:
            keep += 1
        self.truncate(g, keep)
        pool = np.flatnonzero(g.top >= i)
        g.top[pool] = i
        g.nlev = i
        self.build_from(g, i, pool)

    def stale(self, g):
        for i in range(g.nlev):
            if g.lcnt[i] >= self.eps * g.lsize[i]:
                return i
        return -1

    def activate(self, expo):
        g = Guess(self.n, self.universe, self.maxlev, expo, (1 + self.eps) ** expo)
        g.top[self.alive & (self.sing >= g.tau)] = 0
        self.rebuild(g, 0)
        self.guesses[expo] = g

    def window(self):
        if not self.m > 0:
            return 1, 0
        lg = math.log1p(self.eps)
        lo = int(math.ceil(math.log(self.m / (2 * self.k * (1 + self.eps))) / lg - 1e-9))
        hi = int(math.floor(math.log(self.m / 2) / lg + 1e-9))
        return max(lo, hi - self.G + 1), hi

    def insert_guess(self, g, e):
        if self.sing[e] < g.tau:
            g.top[e] = -1
            return
        scratch = np.zeros(self.universe)
        t = 0
        if g.nlev > 0:
            g.lcnt[0] += 1
        i = 1
        while i <= g.nlev:
            while t < len(g.sol) and g.sol_lev[t] == i - 1:
                scratch[self.items[g.sol[t]]] += 1
                t += 1
            gn = self.gain(scratch, e)
            if gn < g.tau:
                break
            if i < g.nlev:
                g.lcnt[i] += 1
            elif len(g.sol) < self.k and g.nlev < self.maxlev:
                g.lsize[i], g.lcnt[i], g.nlev = 1, 0, i + 1
                g.top[e] = i
                self.add(g, e, i, gn)
                s = self.stale(g)
                if s >= 0:
                    self.rebuild(g, s)
                return
            i += 1
        g.top[e] = i - 1
        if g.nlev == 0 and len(g.sol) < self.k:
            g.lsize[0], g.lcnt[0], g.nlev = 1, 0, 1
            g.top[e] = 0
            self.add(g, e, 0, self.sing[e])
            return
        s = self.stale(g)
        if s >= 0:
            self.rebuild(g, s)

    def delete_guess(self, g, e):
        if g.top[e] < 0:
            return
        for i in range(min(int(g.top[e]), g.nlev - 1) + 1):
            g.lcnt[i] += 1
        g.top[e] = -1
        was = bool(g.insol[e])
        if was:
            j = g.sol.index(e)
            del g.sol[j]
            del g.sol_lev[j]
            g.insol[e] = False
            self.truncate(g, len(g.sol))
        s = self.stale(g)
        if s >= 0:
            self.rebuild(g, s)
            return
        if was and len(g.sol) < self.k:
            pool = np.flatnonzero(g.top == g.nlev)
            if len(pool):
                self.build_from(g, g.nlev, pool)

    def update(self, op, e):
        if op == "insert":
            self.alive[e] = True
            self.sing[e] = self.gain(np.zeros(self.universe), e)
            if self.sing[e] > self.m:
                self.m, self.at_max = self.sing[e], 1
            elif self.sing[e] == self.m:
                self.at_max += 1
        else:
            self.alive[e] = False
            if self.sing[e] == self.m:
                self.at_max -= 1
                if self.at_max == 0:
                    live = self.sing[self.alive]
                    self.m = float(live.max()) if len(live) else 0.0
                    self.at_max = int(np.count_nonzero(live == self.m)) if len(live) else 0
        lo, hi = self.window()
        for x in [x for x in self.guesses if x < lo or x > hi]:
            del self.guesses[x]
        for g in self.guesses.values():
            (self.insert_guess if op == "insert" else self.delete_guess)(g, e)
        for x in range(lo, hi + 1):
            if x not in self.guesses:
                self.activate(x)

    def value(self):
        return max((g.value for g in self.guesses.values()), default=0.0)


def main():
    job = json.load(open(sys.argv[1]))
    limit = int(sys.argv[2])
    p, params = job["problem"], job.get("params", {})
    items = np.array(p["sets"], dtype=np.int64)
    universe = p.get("universe", int(items.max()) + 1)
    d = Dynamic(items, universe, p["k"], params.get("eps", 0.1), params.get("seed", 0))
    stream = p["stream"][:limit]
    t0 = time.perf_counter()
    for u in stream:
        d.update(u["op"], u["element"])
    dt = time.perf_counter() - t0
    print(json.dumps({"us_per_update": 1e6 * dt / len(stream), "queries": d.queries,
                      "updates": len(stream), "value": d.value()}))


if __name__ == "__main__":
    main()
