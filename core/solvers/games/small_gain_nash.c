/* small_gain_nash.c - the SGN certificate and the certified projected Euler / RK4 iterations.
 *
 * Why the margin certifies: for two points with difference u (blocks u_i),
 *   <u, M u>_W = sum_i w_i u_i'A_ii u_i + sum_{i != j} w_i u_i'B_ij u_j
 *             >= sum_i mu_i v_i^2 - sum_{i != j} L_ij sqrt(w_i / w_j) v_i v_j = v'S(w)v,
 * v_i = sqrt(w_i) |u_i|, so F is alpha(w)-strongly monotone in |.|_W with alpha(w) = lambda_min
 * S(w). alpha(w) > 0 for some w exactly when K = diag(mu) - L (a Z-matrix) is a nonsingular
 * M-matrix, i.e. every mu_i > 0 and the small-gain matrix diag(mu)^-1 L has spectral radius
 * < 1; then w_i = y_i / x_i with K x = 1, K'y = 1 (x, y > 0) already certifies (the classical
 * diagonal Lyapunov scaling of an M-matrix), and a pattern search on log w enlarges the margin.
 *
 * The steps: a box with a block-diagonal metric W = diag(w_i I) is projected coordinate-wise
 * in |.|_W as in the Euclidean norm, so P is nonexpansive in |.|_W, and
 *   Euler:  |P(x - hFx) - P(y - hFy)|_W^2 <= (1 - 2 h alpha + h^2 beta^2) |x - y|_W^2,
 * a contraction for h < 2 alpha / beta^2, best at h = alpha / beta^2 (factor sqrt(1 - k^2),
 * k = alpha / beta). RK4 on the affine field maps a difference u to T u, T = I - Z R(Z),
 * Z = hM, R = I - Z/2 + Z^2/6 - Z^3/24; with z = h beta,
 *   |T u|^2 <= (1 - 2 k z + z^2 [1 + z/3 + z^2/12 + (1 + z/2 + z^2/6 + z^3/24)^2]) |u|^2,
 * convex in z, a contraction below its root z_max and best at its minimiser. That bound is
 * for the unconstrained iteration; with a box the stage points are projected (so that the
 * equilibrium stays a fixed point) and no rate is claimed. */
#include "core/solvers/games/small_gain_nash.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"

static const char *const method_choices[] = {"euler", "rk4", NULL};

const sv_param_spec small_gain_nash_params[] = {
    SV_P_ENUM(small_gain_nash_settings, method, method_choices, SMALL_GAIN_NASH_EULER,
              "euler: projected Euler x <- P(x - h F(x)); rk4: classical RK4 on x' = -F(x) with "
              "every stage point projected"),
    SV_P_NUMBER_GT(small_gain_nash_settings, step, 0, INFINITY, NAN,
                   "step h; null: the certified step of the method (its best certified rate)"),
    SV_P_INT32(small_gain_nash_settings, weight_sweeps, 0, 100000,
               SMALL_GAIN_NASH_DEFAULT_SWEEPS,
               "pattern-search sweeps on log w enlarging the SGN margin; 0: the M-matrix "
               "weights alone"),
    SV_CONTROL_PARAMS(small_gain_nash_settings, ctl, SMALL_GAIN_NASH_DEFAULT_TOL,
                      "stop when the natural residual |x - P(x - F(x))| <= tol",
                      SMALL_GAIN_NASH_DEFAULT_MAX_ITER, SMALL_GAIN_NASH_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void small_gain_nash_settings_default(small_gain_nash_settings *s)
{
    sv_params_defaults(small_gain_nash_params, s);
}

int small_gain_nash_check_settings(const small_gain_nash_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(small_gain_nash_params, s, "/params", e);
}

/* ================================ validation ================================ */

int small_gain_nash_check_problem(const small_gain_nash_problem *p, sv_err *e)
{
    if (!p || p->n_players < 1 || !p->dims || !p->M || !p->q)
        return sv_fail(e, "/problem", "a game of at least one player is required");
    if (p->n_players > SMALL_GAIN_NASH_MAX_PLAYERS)
        return sv_fail(e, "/problem/players", "%d players exceed the limit of %d", p->n_players,
                       SMALL_GAIN_NASH_MAX_PLAYERS);
    long n = 0;
    for (int i = 0; i < p->n_players; i++) {
        if (p->dims[i] < 1)
            return sv_fail(e, "/problem/players", "player %d has an empty block", i);
        n += p->dims[i];
    }
    if (n != p->n || n > INT_MAX / 2)
        return sv_fail(e, "/problem/players", "the blocks add up to %ld, not n = %d", n, p->n);
    size_t nn = (size_t)n * (size_t)n;
    if (!sv_all_finite(p->n, p->q))
        return sv_fail(e, "/problem/players", "the linear terms b_i must be finite");
    for (size_t t = 0; t < nn; t++)
        if (!isfinite(p->M[t]))
            return sv_fail(e, "/problem/players", "the matrices A_ii and B_ij must be finite");
    int off = 0;
    for (int i = 0; i < p->n_players; i++) {
        int d = p->dims[i];
        double scale = 0;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                scale = fmax(scale, fabs(p->M[(size_t)(off + a) * n + off + b]));
        for (int a = 0; a < d; a++)
            for (int b = a + 1; b < d; b++) {
                double x = p->M[(size_t)(off + a) * n + off + b];
                double y = p->M[(size_t)(off + b) * n + off + a];
                if (fabs(x - y) > 1e-10 * fmax(scale, 1e-300)) {
                    char path[64];
                    snprintf(path, sizeof path, "/problem/players/%d/A", i);
                    return sv_fail(e, path, "A must be symmetric (the Hessian of player %d's "
                                   "cost): entry (%d, %d) = %g but (%d, %d) = %g", i, a, b, x, b,
                                   a, y);
                }
            }
        off += d;
    }
    for (int j = 0; j < p->n; j++) {
        double lo = p->lo ? p->lo[j] : -INFINITY, hi = p->hi ? p->hi[j] : INFINITY;
        if (isnan(lo) || isnan(hi) || lo > hi || lo == INFINITY || hi == -INFINITY)
            return sv_fail(e, "/problem/players", "coordinate %d has an empty box [%g, %g]", j,
                           lo, hi);
    }
    return SV_OK;
}

/* ================================ the certificate ================================ */

typedef struct {
    int N;
    const double *mu, *L;
    double *S;        /* N x N */
    double *ev;       /* N */
    sv_eig_ws eig;
} margin_ws;

/* alpha(w) = lambda_min S(w); NaN when the eigen-solver fails. */
static double margin_at(margin_ws *m, const double *w)
{
    int N = m->N;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            m->S[i * N + j] = i == j ? m->mu[i]
                                     : -0.5 * (m->L[i * N + j] * sqrt(w[i] / w[j]) +
                                               m->L[j * N + i] * sqrt(w[j] / w[i]));
    if (sv_sym_eig_ws(&m->eig, N, m->S, m->ev, 0) != SV_OK)
        return NAN;
    return m->ev[0];
}

/* Largest eigenvalue of the symmetric n x n matrix A (overwritten). */
static int eig_extreme(int n, double *A, double *ev, double *lo, double *hi)
{
    int rc = sv_sym_eig(n, A, ev, 0);
    if (rc != SV_OK)
        return rc;
    if (lo)
        *lo = ev[0];
    if (hi)
        *hi = ev[n - 1];
    return SV_OK;
}

/* The M-matrix weights w_i = y_i / x_i, K x = 1, K'y = 1; 0 when K is not a nonsingular
 * M-matrix (then w is left alone). */
static int mmatrix_weights(int N, const double *mu, const double *L, double *K, double *B,
                           double *w)
{
    for (int i = 0; i < N; i++)
        if (!(mu[i] > 0))
            return 0;
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++)
                K[i * N + j] = i == j ? mu[i] : -(t == 0 ? L[i * N + j] : L[j * N + i]);
            B[t * N + i] = 1.0;
        }
        if (sv_solve_general(N, K, B + t * N, 1) != SV_OK)
            return 0;
        for (int i = 0; i < N; i++)
            if (!(B[t * N + i] > 0) || !isfinite(B[t * N + i]))
                return 0;
    }
    for (int i = 0; i < N; i++)
        w[i] = (B[N + i] / B[i]) / (B[N] / B[0]);
    return 1;
}

/* rho(diag(mu)^-1 L) by LAPACK's dgeev; +inf when some mu_i <= 0. */
static double small_gain_radius(int N, const double *mu, const double *L, double *G, double *wr,
                                double *wi)
{
    for (int i = 0; i < N; i++)
        if (!(mu[i] > 0))
            return INFINITY;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            G[i * N + j] = L[i * N + j] / mu[i];
    if (LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', N, G, N, wr, wi, NULL, 1, NULL, 1) != 0)
        return NAN;
    double r = 0;
    for (int i = 0; i < N; i++)
        r = fmax(r, hypot(wr[i], wi[i]));
    return r;
}

/* Pattern search on log w_1..log w_{N-1} (w_0 = 1: S depends on ratios only): steps of factor
 * e^s along each coordinate, s halved after a sweep without gain. */
static double refine_weights(margin_ws *m, double *w, int sweeps)
{
    int N = m->N;
    double best = margin_at(m, w), s = 1.0;
    for (int sweep = 0; sweep < sweeps && N > 1 && s > 1e-9; sweep++) {
        int gained = 0;
        for (int i = 1; i < N; i++) {
            double wi = w[i];
            for (int dir = -1; dir <= 1; dir += 2) {
                w[i] = wi * exp(dir * s);
                double a = margin_at(m, w);
                if (a > best + 1e-15 * fabs(best)) {
                    best = a;
                    gained = 1;
                    break;
                }
                w[i] = wi;
            }
        }
        if (!gained)
            s *= 0.5;
    }
    return best;
}

double small_gain_nash_euler_rate(double alpha, double beta, double h)
{
    if (!(alpha > 0 && beta > 0 && h > 0 && h < 2 * alpha / (beta * beta)))
        return NAN;
    return sqrt(fmax(0.0, 1.0 - 2 * h * alpha + h * h * beta * beta));
}

/* The squared RK4 bound at z = h beta, k = alpha / beta. */
static double rk4_bound_sq(double k, double z)
{
    double r = 1 + z / 2 + z * z / 6 + z * z * z / 24;
    return 1 - 2 * k * z + z * z * (1 + z / 3 + z * z / 12 + r * r);
}

/* The root z_max of rk4_bound_sq = 1 in (0, 2k]: z p(z) = 2k with z p(z) increasing. */
static double rk4_zmax(double k)
{
    double lo = 0, hi = 2 * k;
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        if (rk4_bound_sq(k, mid) < 1)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

double small_gain_nash_rk4_rate(double alpha, double beta, double h)
{
    if (!(alpha > 0 && beta > 0 && h > 0))
        return NAN;
    double k = alpha / beta, z = h * beta;
    if (!(z < rk4_zmax(k)))
        return NAN;
    return sqrt(fmax(0.0, rk4_bound_sq(k, z)));
}

/* The minimiser of the convex rk4 bound on (0, z_max), by golden section. */
static double rk4_best_z(double k)
{
    double a = 0, b = rk4_zmax(k), g = 0.5 * (sqrt(5.0) - 1);
    double c = b - g * (b - a), d = a + g * (b - a);
    for (int it = 0; it < 200; it++) {
        if (rk4_bound_sq(k, c) < rk4_bound_sq(k, d))
            b = d;
        else
            a = c;
        c = b - g * (b - a);
        d = a + g * (b - a);
    }
    return 0.5 * (a + b);
}

int small_gain_nash_certify(const small_gain_nash_problem *p, int weight_sweeps,
                            small_gain_nash_cert *c, sv_err *e, sv_loop *Lp)
{
    int rc = small_gain_nash_check_problem(p, e);
    if (rc != SV_OK)
        return rc;
    if (weight_sweeps < 0)
        return sv_fail(e, "/params/weight_sweeps", "must be >= 0");
    int N = p->n_players, n = p->n, dmax = 0;
    for (int i = 0; i < N; i++)
        dmax = p->dims[i] > dmax ? p->dims[i] : dmax;
    size_t NN = (size_t)N * N, nn = (size_t)n * n;
    double *mu = malloc((size_t)N * sizeof *mu), *L = calloc(NN, sizeof *L),
           *w = calloc((size_t)N, sizeof *w), *S = malloc(NN * sizeof *S),
           *K = malloc(NN * sizeof *K), *B = malloc(2 * (size_t)N * sizeof *B),
           *wr = malloc((size_t)N * sizeof *wr), *wi = malloc((size_t)N * sizeof *wi),
           *blk = malloc((size_t)dmax * dmax * sizeof *blk),
           *gram = malloc((size_t)dmax * dmax * sizeof *gram),
           *Mh = malloc(nn * sizeof *Mh), *G = malloc(nn * sizeof *G),
           *ev = malloc((size_t)(n > N ? n : N) * sizeof *ev), *sw = malloc((size_t)n * sizeof *sw);
    int *off = malloc((size_t)(N + 1) * sizeof *off);
    margin_ws m = {N, mu, L, S, ev, {0}};
    if (!mu || !L || !w || !S || !K || !B || !wr || !wi || !blk || !gram || !Mh || !G || !ev ||
        !sw || !off || sv_eig_ws_alloc(&m.eig, N, 0) != SV_OK) {
        rc = SV_ENOMEM;
        goto done;
    }
    off[0] = 0;
    for (int i = 0; i < N; i++)
        off[i + 1] = off[i] + p->dims[i];

    /* curvatures mu_i = lambda_min(A_ii) */
    for (int i = 0; i < N && rc == SV_OK; i++) {
        int d = p->dims[i];
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                blk[a * d + b] = 0.5 * (p->M[(size_t)(off[i] + a) * n + off[i] + b] +
                                        p->M[(size_t)(off[i] + b) * n + off[i] + a]);
        rc = eig_extreme(d, blk, ev, &mu[i], NULL);
        if (rc == SV_OK && sv_loop_poll(Lp))
            rc = SV_CANCELLED;
    }
    /* couplings L_ij = |B_ij|_2 = sqrt(lambda_max(B_ij' B_ij)) */
    for (int i = 0; i < N && rc == SV_OK; i++)
        for (int j = 0; j < N && rc == SV_OK; j++) {
            if (i == j)
                continue;
            int di = p->dims[i], dj = p->dims[j], nz = 0;
            for (int a = 0; a < di; a++)
                for (int b = 0; b < dj; b++)
                    if ((blk[a * dj + b] = p->M[(size_t)(off[i] + a) * n + off[j] + b]) != 0)
                        nz = 1;
            if (!nz)
                continue;
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dj, dj, di, 1.0, blk, dj, blk,
                        dj, 0.0, gram, dj);
            double top = 0;
            rc = eig_extreme(dj, gram, ev, NULL, &top);
            L[i * N + j] = sqrt(fmax(top, 0.0));
            if (rc == SV_OK && sv_loop_poll(Lp))
                rc = SV_CANCELLED;
        }
    if (rc != SV_OK)
        goto done;

    /* weights: the M-matrix scaling when K is one, then the pattern search */
    for (int i = 0; i < N; i++)
        w[i] = 1.0;
    c->margin_unit = margin_at(&m, w);
    c->small_gain_radius = small_gain_radius(N, mu, L, K, wr, wi);
    if (mmatrix_weights(N, mu, L, K, B, w) && !(margin_at(&m, w) >= c->margin_unit))
        for (int i = 0; i < N; i++)  /* rounding made the scaling worse than none: keep 1 */
            w[i] = 1.0;
    double alpha = refine_weights(&m, w, weight_sweeps);
    if (isnan(alpha) || isnan(c->margin_unit)) {
        rc = SV_ENUMERIC;
        goto done;
    }
    c->margin = alpha;
    c->certified = alpha > 0;

    /* the metric: Mh = W^1/2 M W^-1/2; beta = |Mh|_2, the exact modulus lambda_min sym(Mh), the
     * Euclidean one lambda_min sym(M) */
    for (int i = 0; i < N; i++)
        for (int a = off[i]; a < off[i + 1]; a++)
            sw[a] = sqrt(w[i]);
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            Mh[(size_t)a * n + b] = sw[a] * p->M[(size_t)a * n + b] / sw[b];
    /* n x n products and eigenvalues: each a single BLAS/LAPACK call that cannot be
     * interrupted, so the stop request is read between them (seconds apart at n = 2000). */
    if (sv_loop_poll(Lp)) {
        rc = SV_CANCELLED;
        goto done;
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0, Mh, n, Mh, n, 0.0, G, n);
    double top = 0;
    if (sv_loop_poll(Lp)) {
        rc = SV_CANCELLED;
        goto done;
    }
    if ((rc = eig_extreme(n, G, ev, NULL, &top)) != SV_OK)
        goto done;
    if (sv_loop_poll(Lp)) {
        rc = SV_CANCELLED;
        goto done;
    }
    c->lipschitz = sqrt(fmax(top, 0.0));
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            G[(size_t)a * n + b] = 0.5 * (Mh[(size_t)a * n + b] + Mh[(size_t)b * n + a]);
    if ((rc = eig_extreme(n, G, ev, &c->weighted_margin, NULL)) != SV_OK)
        goto done;
    if (sv_loop_poll(Lp)) {
        rc = SV_CANCELLED;
        goto done;
    }
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            G[(size_t)a * n + b] = 0.5 * (p->M[(size_t)a * n + b] + p->M[(size_t)b * n + a]);
    if ((rc = eig_extreme(n, G, ev, &c->euclidean_margin, NULL)) != SV_OK)
        goto done;

    /* steps and rates */
    double beta = c->lipschitz;
    c->euler_step_max = c->euler_step = c->euler_rate = NAN;
    c->rk4_step_max = c->rk4_step = c->rk4_rate = NAN;
    c->band_lo = c->band_hi = NAN;
    if (c->certified && beta > 0) {
        double k = fmin(alpha / beta, 1.0);
        c->euler_step_max = 2 * alpha / (beta * beta);
        c->euler_step = alpha / (beta * beta);
        c->euler_rate = sqrt(fmax(0.0, 1 - k * k));
        c->rk4_step_max = rk4_zmax(k) / beta;
        c->rk4_step = rk4_best_z(k) / beta;
        c->rk4_rate = sqrt(fmax(0.0, rk4_bound_sq(k, rk4_best_z(k))));
    }
    if (N == 2 && mu[0] > 0 && mu[1] > 0 && L[1] > 0 && L[2] > 0) {
        double mm = mu[0] * mu[1], P = L[1] * L[2];
        if (P < mm) {
            double base = 2 * mm - P, rad = 2 * sqrt(mm * (mm - P)), den = L[2] * L[2];
            c->band_lo = (base - rad) / den;
            c->band_hi = (base + rad) / den;
        }
    }
    if (c->mu)
        memcpy(c->mu, mu, (size_t)N * sizeof *mu);
    if (c->L)
        memcpy(c->L, L, NN * sizeof *L);
    if (c->w)
        memcpy(c->w, w, (size_t)N * sizeof *w);
done:
    free(mu), free(L), free(w), free(S), free(K), free(B), free(wr), free(wi), free(blk);
    free(gram), free(Mh), free(G), free(ev), free(sw), free(off);
    sv_eig_ws_free(&m.eig);
    return rc;
}

/* ================================ the iterations ================================ */

typedef struct {
    const small_gain_nash_problem *p;
    int nb;                  /* nonzero blocks of M when F runs block by block, else 0 */
    int *blocks;             /* 4 nb: row offset, column offset, rows, columns */
    double *wc;              /* n: w of each coordinate's block */
    double *g, *y, *acc, *xprev, *tmp;
    double res, dstep, obs_rate, rate;
    long evals;
} sgn_ws;

/* F(x) = M x + q. A game whose players couple with few others (a chain, a star) has mostly
 * zero blocks; an iteration streams M from memory once or more, so F then runs over the nonzero
 * blocks only. */
static void field(sgn_ws *s, const double *x, double *out)
{
    const small_gain_nash_problem *p = s->p;
    int n = p->n;
    if (s->nb == 0) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, n, n, 1.0, p->M, n, x, 1, 0.0, out, 1);
        cblas_daxpy(n, 1.0, p->q, 1, out, 1);
    } else {
        sv_copy(n, p->q, out);
        for (int t = 0; t < s->nb; t++) {
            const int *b = s->blocks + 4 * t;
            cblas_dgemv(CblasRowMajor, CblasNoTrans, b[2], b[3], 1.0,
                        p->M + (size_t)b[0] * n + b[1], n, x + b[1], 1, 1.0, out + b[0], 1);
        }
    }
    s->evals++;
}

/* The nonzero blocks of M, when at least a quarter of them are zero (else F stays one dense
 * product: nb = 0). SV_OK or SV_ENOMEM. */
static int block_pattern(sgn_ws *s)
{
    const small_gain_nash_problem *p = s->p;
    int N = p->n_players, n = p->n, pass, count = 0;
    for (pass = 0; pass < 2; pass++) {
        count = 0;
        for (int i = 0, oi = 0; i < N; oi += p->dims[i], i++)
            for (int j = 0, oj = 0; j < N; oj += p->dims[j], j++) {
                int nz = 0;
                for (int a = 0; a < p->dims[i] && !nz; a++)
                    for (int b = 0; b < p->dims[j] && !nz; b++)
                        nz = p->M[(size_t)(oi + a) * n + oj + b] != 0;
                if (!nz)
                    continue;
                if (pass == 1) {
                    int *blk = s->blocks + 4 * count;
                    blk[0] = oi, blk[1] = oj, blk[2] = p->dims[i], blk[3] = p->dims[j];
                }
                count++;
            }
        if (pass == 0) {
            if ((double)count > 0.75 * (double)N * (double)N || count == 0)
                return SV_OK;
            if (!(s->blocks = malloc((size_t)count * 4 * sizeof *s->blocks)))
                return SV_ENOMEM;
        }
    }
    s->nb = count;
    return SV_OK;
}

/* |x - P(x - g)|, g = F(x) */
static double natural_residual(sgn_ws *s, const double *x, const double *g)
{
    int n = s->p->n;
    for (int j = 0; j < n; j++)
        s->tmp[j] = x[j] - g[j];
    sv_project_box(n, s->p->lo, s->p->hi, s->tmp);
    double r = 0;
    for (int j = 0; j < n; j++)
        r += (x[j] - s->tmp[j]) * (x[j] - s->tmp[j]);
    return sqrt(r);
}

static double wnorm_diff(const sgn_ws *s, const double *x, const double *y)
{
    double r = 0;
    for (int j = 0; j < s->p->n; j++)
        r += s->wc[j] * (x[j] - y[j]) * (x[j] - y[j]);
    return sqrt(r);
}

/* y = P(x - c k) */
static void stage(const sgn_ws *s, const double *x, double c, const double *k, double *y)
{
    for (int j = 0; j < s->p->n; j++)
        y[j] = x[j] - c * k[j];
    sv_project_box(s->p->n, s->p->lo, s->p->hi, y);
}

/* One step from x with F(x) in s->g; x is overwritten. */
static void step(sgn_ws *s, int method, double h, double *x)
{
    int n = s->p->n;
    if (method == SMALL_GAIN_NASH_EULER) {
        stage(s, x, h, s->g, s->y);
        sv_copy(n, s->y, x);
        return;
    }
    /* k1 = g; acc collects k1 + 2 k2 + 2 k3 + k4; tmp holds each new stage value */
    sv_copy(n, s->g, s->acc);
    stage(s, x, 0.5 * h, s->g, s->y);
    field(s, s->y, s->tmp);
    cblas_daxpy(n, 2.0, s->tmp, 1, s->acc, 1);
    stage(s, x, 0.5 * h, s->tmp, s->y);
    field(s, s->y, s->tmp);
    cblas_daxpy(n, 2.0, s->tmp, 1, s->acc, 1);
    stage(s, x, h, s->tmp, s->y);
    field(s, s->y, s->tmp);
    cblas_daxpy(n, 1.0, s->tmp, 1, s->acc, 1);
    stage(s, x, h / 6.0, s->acc, s->y);
    sv_copy(n, s->y, x);
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    sgn_ws *s = ctx;
    if (cap < 4)
        return 0;
    m[0] = (sv_metric){"residual", s->res};
    m[1] = (sv_metric){"step_norm", s->dstep};
    m[2] = (sv_metric){"observed_rate", s->obs_rate};
    m[3] = (sv_metric){"certified_rate", s->rate};
    return 4;
}

int small_gain_nash_solve(const small_gain_nash_problem *p, const small_gain_nash_settings *s,
                          const sv_monitor *mon, double *x, small_gain_nash_info *info,
                          sv_err *e)
{
    small_gain_nash_info dummy;
    if (!info) {
        memset(&dummy, 0, sizeof dummy);
        info = &dummy;
    }
    small_gain_nash_cert keep = info->cert;  /* the caller's arrays */
    memset(info, 0, sizeof *info);
    info->cert.mu = keep.mu;
    info->cert.L = keep.L;
    info->cert.w = keep.w;
    sv_info_init(&info->base);
    info->step = info->rate = info->observed_rate = info->observed_rate_max = NAN;
    int rc;
    if ((rc = small_gain_nash_check_settings(s, e)) != SV_OK ||
        (rc = small_gain_nash_check_problem(p, e)) != SV_OK)
        return rc;
    if (!x || !sv_all_finite(p->n, x))
        return sv_fail(e, "/problem/x0", "starting point missing or not finite");

    int N = p->n_players, n = p->n;
    double *w = malloc((size_t)N * sizeof *w);
    sgn_ws ws;
    memset(&ws, 0, sizeof ws);
    ws.p = p;
    ws.wc = malloc((size_t)n * sizeof *ws.wc);
    ws.g = malloc((size_t)n * sizeof *ws.g);
    ws.y = malloc((size_t)n * sizeof *ws.y);
    ws.acc = malloc((size_t)n * sizeof *ws.acc);
    ws.xprev = malloc((size_t)n * sizeof *ws.xprev);
    ws.tmp = malloc((size_t)n * sizeof *ws.tmp);
    small_gain_nash_cert *c = &info->cert;
    double *w_user = c->w;
    c->w = w;
    /* The clock starts before the certificate: a cancel or time limit stops it too. */
    ws.res = ws.dstep = ws.obs_rate = ws.rate = NAN;
    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &ws);
    if (!w || !ws.wc || !ws.g || !ws.y || !ws.acc || !ws.xprev || !ws.tmp)
        rc = SV_ENOMEM;
    else
        rc = small_gain_nash_certify(p, s->weight_sweeps, c, e, &L);
    c->w = w_user;
    if (rc == SV_CANCELLED) {
        /* Stopped during the certificate: no iteration, no certified numbers. */
        c->certified = 0;
        info->step = info->rate = NAN;
        sv_loop_end(&L, &info->base, 0, NAN, NAN);
        rc = SV_OK;
        goto done;
    }
    if (rc == SV_OK && w_user)
        memcpy(w_user, w, (size_t)N * sizeof *w);
    if (rc == SV_OK)
        rc = block_pattern(&ws);
    if (rc != SV_OK)
        goto done;
    for (int i = 0, a = 0; i < N; i++)
        for (int t = 0; t < p->dims[i]; t++)
            ws.wc[a++] = w[i];

    int boxed = 0;
    for (int j = 0; j < n; j++)
        if ((p->lo && isfinite(p->lo[j])) || (p->hi && isfinite(p->hi[j])))
            boxed = 1;
    double h = s->step;
    if (isnan(h))
        h = s->method == SMALL_GAIN_NASH_RK4 ? c->rk4_step : c->euler_step;
    info->step = h;
    if (c->certified)
        ws.rate = s->method == SMALL_GAIN_NASH_RK4
                      ? (boxed ? NAN : small_gain_nash_rk4_rate(c->margin, c->lipschitz, h))
                      : small_gain_nash_euler_rate(c->margin, c->lipschitz, h);
    else
        ws.rate = NAN;
    info->rate = ws.rate;
    ws.obs_rate = ws.dstep = NAN;

    sv_project_box(n, p->lo, p->hi, x);
    field(&ws, x, ws.g);
    ws.res = natural_residual(&ws, x, ws.g);
    if (!(h > 0)) {  /* not certified and no step given: nothing is safe to run */
        info->base.obj = info->base.res = ws.res;
        info->gradient_evals = ws.evals;
        goto done;
    }
    double r0 = fmax(ws.res, 1.0), d_first = NAN, d_prev = NAN, d_last = NAN, ratio_max = NAN;
    long counted = 0, k;
    for (k = 0;; k++) {
        int diverged = !isfinite(ws.res) || ws.res > SMALL_GAIN_NASH_DIVERGENCE_FACTOR * r0;
        if (sv_loop_check(&L, k, ws.res, diverged, ws.res <= s->ctl.tol))
            break;
        sv_copy(n, x, ws.xprev);
        step(&ws, s->method, h, x);
        ws.dstep = wnorm_diff(&ws, x, ws.xprev);
        /* the rounding floor of a step: below it the ratios measure noise, not contraction */
        double scale = 0;
        for (int j = 0; j < n; j++)
            scale += ws.wc[j] * x[j] * x[j];
        double floor_ = 1e6 * DBL_EPSILON * (sqrt(scale) + 1.0);
        if (ws.dstep > floor_) {
            if (counted == 0)
                d_first = ws.dstep;
            else if (d_prev > floor_) {
                double ratio = ws.dstep / d_prev;
                ratio_max = isnan(ratio_max) ? ratio : fmax(ratio_max, ratio);
            }
            counted++;
            d_last = ws.dstep;
            if (counted >= 2)
                ws.obs_rate = pow(d_last / d_first, 1.0 / (double)(counted - 1));
        }
        d_prev = ws.dstep;
        field(&ws, x, ws.g);
        ws.res = natural_residual(&ws, x, ws.g);
    }
    info->observed_rate = ws.obs_rate;
    info->observed_rate_max = ratio_max;
    info->gradient_evals = ws.evals;
    sv_loop_end(&L, &info->base, k, ws.res, ws.res);
done:
    free(w);
    free(ws.wc), free(ws.g), free(ws.y), free(ws.acc), free(ws.xprev), free(ws.tmp);
    free(ws.blocks);
    return rc;
}
