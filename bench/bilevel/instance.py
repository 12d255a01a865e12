"""bench/bilevel/instance.py - the hyperclean instances solvd builds, rebuilt bit for bit in
Python, and the numpy oracles of the class (core/models/bl_hyperclean.c), so that the numpy
versions of BO-REP and of the penalty method run on the very problem the daemon solves.

Two sources, as solvd's problem decoder (api/codecs/bilevel/bilevel_problem.c) has them:
  {"generate": {"class": "hyperclean", ...}}  -> sv_bl_hyperclean_generate (binary case)
  {"dataset": {"name": "breast_cancer", ...}} -> sv__bl_split_dataset + the label flips
Both draw from solvd's generator, xoshiro256** seeded through splitmix64 (core/rng.c), with
normals by Box-Muller (cosine branch), so the same seed gives the same numbers here. run.py
checks the rebuilt instance against the daemon's own result fields (validation accuracy,
f(x, y), |grad_y g|) before it trusts any numpy timing.

Only the binary (logistic) loss is rebuilt: the benchmark uses binary instances.

    hyperclean:  g(x, y) = (1/n) sum_i s(x_i) log(1 + exp(-b_i a_i'y)) + mu/2 |y|^2
                 f(x, y) = (1/n_val) sum_j log(1 + exp(-b_j a_j'y)) + upper_reg/2 |x|^2
"""
import math

import numpy as np
from scipy.special import expit as _expit

M64 = (1 << 64) - 1

# ---- defaults of the generated and data-set forms (api/codecs/bilevel/bilevel_problem.c) ----
DEFAULT_FLIP = 0.3
DEFAULT_MU = 1e-2
DATASETS = {"breast_cancer": ("breast_cancer.csv", 569, 30, 2)}


class Rng:
    """xoshiro256** seeded through splitmix64: core/rng.c, call for call."""

    def __init__(self, seed):
        x = seed & M64
        s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            s.append(z ^ (z >> 31))
        if (s[0] | s[1] | s[2] | s[3]) == 0:
            s[0] = 0x9E3779B97F4A7C15
        self.s = s

    def next(self):
        s0, s1, s2, s3 = self.s
        t1 = (s1 * 5) & M64
        result = ((((t1 << 7) | (t1 >> 57)) & M64) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & M64
        self.s = [s0, s1, s2, s3]
        return result

    def uniform(self):
        return (self.next() >> 11) * (2.0 ** -53)

    def normal(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)

    def below(self, n):
        if n <= 1:
            return 0
        threshold = ((1 << 64) - n) % n
        while True:
            x = self.next()
            if x >= threshold:
                return x % n

    def shuffle(self, idx):
        for i in range(len(idx) - 1, 0, -1):
            j = self.below(i + 1)
            idx[i], idx[j] = idx[j], idx[i]

    def sample(self, n, k):
        if k <= 0 or n <= 0:
            return []
        k = min(k, n)
        out = []
        if k * k <= 4 * n:
            for c, j in enumerate(range(n - k, n)):
                t = self.below(j + 1)
                out.append(j if t in out[:c] else t)
        else:
            for i in range(n):
                if len(out) >= k:
                    break
                if self.below(n - i) < k - len(out):
                    out.append(i)
        self.shuffle(out)
        return out


def lround(v):
    """C's lround: halves away from zero."""
    return int(math.floor(v + 0.5)) if v >= 0 else -int(math.floor(-v + 0.5))


class Hyperclean:
    """A binary hyperclean instance: A (n x d), b (+-1), Av, bv, flipped (0/1), mu, upper_reg."""

    def __init__(self, A, b, Av, bv, flipped, mu, upper_reg, At=None, bt=None):
        self.A = np.ascontiguousarray(A, dtype=float)
        self.b = np.asarray(b, dtype=float)
        self.Av = np.ascontiguousarray(Av, dtype=float)
        self.bv = np.asarray(bv, dtype=float)
        self.At = At
        self.bt = bt
        self.flipped = np.asarray(flipped, dtype=int)
        self.mu = float(mu)
        self.upper_reg = float(upper_reg)
        self.n, self.d = self.A.shape
        self.nv = self.Av.shape[0]
        self.dx, self.dy = self.n, self.d

    # ---- sizes and constants ----
    def lower_L(self):
        """The class's lower_L: (1/4) lambda_max(A'A / n) + mu (hc_L)."""
        G = self.A.T @ self.A / self.n
        return 0.25 * float(np.linalg.eigvalsh(G)[-1]) + self.mu

    def lower_mu(self):
        return self.mu

    # ---- oracles over all rows or a batch idx (mean over the batch, as sv_bl_batch) ----
    def upper(self, x, y, idx=None, grad=True):
        """f, grad_x f, grad_y f (grad=False: f only)."""
        A, b = (self.Av, self.bv) if idx is None else (self.Av[idx], self.bv[idx])
        m = b * (A @ y)
        f = float(np.mean(np.logaddexp(0.0, -m)))
        if self.upper_reg > 0:
            f += 0.5 * self.upper_reg * float(x @ x)
        if not grad:
            return f
        gx = self.upper_reg * x
        gy = A.T @ (-b * _sig(-m)) / len(b)
        return f, gx, gy

    def upper_gy(self, y, idx=None):
        """grad_y f alone."""
        A, b = (self.Av, self.bv) if idx is None else (self.Av[idx], self.bv[idx])
        m = b * (A @ y)
        return A.T @ (-b * _sig(-m)) / len(b)

    def lower(self, x, y, idx=None, grad=True, want_gx=True, want_gy=True, w=None):
        """g, grad_x g (dx, zero off the batch), grad_y g (grad=False: g only). w: sigmoid(x)
        when the caller has it (all rows)."""
        if idx is None:
            A, b = self.A, self.b
            wi = _sig(x) if w is None else w
        else:
            A, b = self.A[idx], self.b[idx]
            wi = _sig(x[idx]) if w is None else w[idx]
        k = len(b)
        m = b * (A @ y)
        l = np.logaddexp(0.0, -m)
        g = float(wi @ l) / k + 0.5 * self.mu * float(y @ y)
        if not grad:
            return g
        gy = A.T @ (wi * (-b * _sig(-m))) / k + self.mu * y if want_gy else None
        gx = None
        if want_gx:
            gxs = wi * (1.0 - wi) * l / k
            if idx is None:
                gx = gxs
            else:
                gx = np.zeros(self.n)
                np.add.at(gx, idx, gxs)
        return g, gx, gy

    def hvp_yy(self, x, y, v, idx=None, w=None):
        if idx is None:
            A, b = self.A, self.b
            wi = _sig(x) if w is None else w
        else:
            A, b = self.A[idx], self.b[idx]
            wi = _sig(x[idx]) if w is None else w[idx]
        k = len(b)
        p = _sig(b * (A @ y))
        c = wi * p * (1.0 - p)
        return A.T @ (c * (A @ v)) / k + self.mu * v

    def hvp_xy(self, x, y, v, idx=None, w=None):
        """grad_x (grad_y g . v): entry i = s'(x_i) (grad l_i(y) . v) / k."""
        if idx is None:
            A, b = self.A, self.b
            wi = _sig(x) if w is None else w
        else:
            A, b = self.A[idx], self.b[idx]
            wi = _sig(x[idx]) if w is None else w[idx]
        k = len(b)
        m = b * (A @ y)
        dots = (-b * _sig(-m)) * (A @ v)
        vals = wi * (1.0 - wi) * dots / k
        if idx is None:
            return vals
        out = np.zeros(self.n)
        np.add.at(out, idx, vals)
        return out

    # ---- reporting ----
    def val_loss(self, y):
        return float(np.mean(np.logaddexp(0.0, -self.bv * (self.Av @ y))))

    def accuracy(self, y, which="val"):
        A, b = {"val": (self.Av, self.bv), "train": (self.A, self.b)}[which]
        s = A @ y
        return float(np.mean(np.where(s >= 0, 1.0, -1.0) == b))

    def detection(self, x, threshold=0.5):
        flagged = _sig(x) < threshold
        hit = int(np.sum(flagged & (self.flipped == 1)))
        nfl, nfp = int(flagged.sum()), int(self.flipped.sum())
        return (hit / nfl if nfl else float("nan"), hit / nfp if nfp else float("nan"))

    def solve_lower(self, x, y0=None, tol=1e-10, max_iter=200):
        """y*(x) by Newton's method with an Armijo backtrack on g (the lower level is strongly
        convex, so this converges from any start), to |grad_y g| <= tol."""
        y = np.zeros(self.d) if y0 is None else np.array(y0, dtype=float)
        w = _sig(x)
        A, b = self.A, self.b
        for _ in range(max_iter):
            m = b * (A @ y)
            gv = float(w @ np.logaddexp(0.0, -m)) / self.n + 0.5 * self.mu * float(y @ y)
            gy = A.T @ (w * (-b * _sig(-m))) / self.n + self.mu * y
            if np.linalg.norm(gy) <= tol:
                break
            p = _sig(m)
            H = (A.T * (w * p * (1 - p))) @ A / self.n + self.mu * np.eye(self.d)
            step = np.linalg.solve(H, gy)
            dec = float(gy @ step)
            t = 1.0
            while t > 1e-12:
                yt = y - t * step
                mt = b * (A @ yt)
                gt = float(w @ np.logaddexp(0.0, -mt)) / self.n + 0.5 * self.mu * float(yt @ yt)
                # accept on sufficient decrease, or when the decrease is below rounding
                if gt <= gv - 1e-4 * t * dec or abs(gt - gv) <= 1e-15 * max(1.0, abs(gv)):
                    break
                t *= 0.5
            y = y - t * step
        return y


def _sig(t):
    """Logistic sigmoid, overflow-free (scipy's expit)."""
    return _expit(t)


def _flip(b, flip, rng):
    n = len(b)
    nf = lround(flip * n)
    flipped = np.zeros(n, dtype=int)
    for i in rng.sample(n, nf):
        flipped[i] = 1
        b[i] = -b[i]
    return flipped


def generate(spec):
    """sv_bl_hyperclean_generate for classes = 2, from the JSON "generate" object."""
    if int(spec.get("classes", 2)) != 2:
        raise ValueError("only binary hyperclean instances are rebuilt in Python")
    n, nv, nt = int(spec["n_train"]), int(spec["n_val"]), int(spec.get("n_test", 0))
    d0 = int(spec["d"])
    icpt = 1 if spec.get("intercept", True) else 0
    d = d0 + icpt
    rng = Rng(int(spec.get("seed", 0)))
    wst = [rng.normal() for _ in range(d0)]
    sets = []
    for rows in (n, nv, nt):
        A = np.zeros((rows, d))
        b = np.zeros(rows)
        for r in range(rows):
            row = [rng.normal() for _ in range(d0)]
            score = 0.0
            for j in range(d0):  # the C order of the sum: only its sign matters, kept exact
                score += row[j] * wst[j]
            A[r, :d0] = row
            if icpt:
                A[r, d0] = 1.0
            b[r] = 1.0 if score >= 0 else -1.0
        sets.append((A, b))
    (A, b), (Av, bv), (At, bt) = sets
    flipped = _flip(b, float(spec.get("flip", DEFAULT_FLIP)), rng)
    return Hyperclean(A, b, Av, bv, flipped, spec.get("mu", DEFAULT_MU),
                      spec.get("upper_reg", 0.0), At, bt)


def load_csv(path):
    """sv_dataset_load for breast_cancer.csv: a header line "rows,cols,names...", then rows."""
    with open(path) as fh:
        lines = [ln.strip() for ln in fh if ln.strip()]
    head = lines[0].split(",")
    try:
        [float(v) for v in head]
        body = lines
    except ValueError:
        body = lines[1:]
    data = np.array([[float(v) for v in ln.split(",")] for ln in body])
    return data[:, :-1], data[:, -1]


def from_dataset(spec, data_dir):
    """sv_bl_hyperclean_from_dataset for a binary data set, from the JSON "dataset" object."""
    fname, rows, cols, classes = DATASETS[spec["name"]]
    X, lab = load_csv(f"{data_dir}/{fname}")
    rows = X.shape[0]
    n = int(spec.get("n_train", rows // 2))
    nv = int(spec.get("n_val", rows // 4))
    nt = int(spec["n_test"]) if spec.get("n_test") is not None else max(rows - n - nv, 0)
    icpt = 1 if spec.get("intercept", True) else 0
    seed = int(spec.get("seed", 0))
    perm = list(range(rows))
    Rng(seed).shuffle(perm)
    d0 = X.shape[1]
    mean = np.zeros(d0)
    for r in range(n):  # the C order of the sums, row after row
        mean += X[perm[r]] / n
    sd = np.zeros(d0)
    for r in range(n):
        t = X[perm[r]] - mean
        sd += t * t / n
    sd = np.where(sd > 0, np.sqrt(sd), 0.0)
    out, off = [], 0
    for cnt in (n, nv, nt):
        A = np.zeros((cnt, d0 + icpt))
        b = np.zeros(cnt)
        for r in range(cnt):
            i = perm[off + r]
            A[r, :d0] = np.where(sd > 0, (X[i] - mean) / np.where(sd > 0, sd, 1.0), 0.0)
            if icpt:
                A[r, d0] = 1.0
            b[r] = 1.0 if lab[i] == 1.0 else -1.0
        out.append((A, b))
        off += cnt
    (A, b), (Av, bv), (At, bt) = out
    rng = Rng(seed ^ 0x9E3779B97F4A7C15)
    flipped = _flip(b, float(spec.get("flip", DEFAULT_FLIP)), rng)
    return Hyperclean(A, b, Av, bv, flipped, spec.get("mu", DEFAULT_MU),
                      spec.get("upper_reg", 0.0), At, bt)


def build(problem, data_dir=None):
    """The instance of a job's "problem" object (generate or dataset form)."""
    if "generate" in problem:
        return generate(problem["generate"])
    if "dataset" in problem:
        return from_dataset(problem["dataset"], data_dir)
    raise ValueError("only the generate and dataset forms are rebuilt")


def load_npz(path):
    """An instance saved by run.py (np.savez of A, b, Av, bv, flipped, mu, upper_reg)."""
    z = np.load(path)
    return Hyperclean(z["A"], z["b"], z["Av"], z["bv"], z["flipped"], float(z["mu"]),
                      float(z["upper_reg"]))
