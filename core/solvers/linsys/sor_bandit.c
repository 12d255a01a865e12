/* sor_bandit.c - SOR with its relaxation learned across a sequence of instances (Khodak, Chow,
 * Balcan, Talwalkar, ICLR 2024).
 *
 * Instance t is (A_t + s_t I) x = b_t, solved by SOR from x = 0 to |b - A x| <= tol |b|; its
 * cost is the iteration count (sor_max_iter when it does not get there). The learners see only
 * the costs of the instances before t (and the contextual one the instance's context c_t):
 *
 * Tsallis-INF (the paper's Algorithm for the best fixed omega, run as its experiments run it):
 * arms are the grid omegas, eta_t = 2 / sqrt(t), p_t,i = 4 / (eta_t (Lhat_i / scale - x))^2 with
 * the normaliser x found by Newton's method, Lhat_i the importance-weighted sums of the shifted
 * costs (cost - 1) / p, and scale the mean shifted cost so far (the costs' unknown range).
 *
 * ChebCB (the paper's contextual bandit for diagonal shifts): per arm, a box-constrained least
 * squares fit of the normalised cost on Chebyshev features T_0 .. T_{m-1} of the context mapped
 * to [-1, 1]; arms drawn by inverse-gap weighting p_i = 1 / (d + eta (yhat_i - yhat_min)), the
 * rest on the argmin, eta growing like t^(3/2) / sqrt(regression error).
 *
 * The SOR sweep needs the diagonal of each row: CSR columns are sorted, so the strictly lower
 * part of row i comes before its diagonal and the strictly upper part after it. The residual
 * of the new iterate is got from the correction d = x_new - x_old alone:
 *   r_new,i = (a_ii + s)(1/omega - 1) d_i - sum_{j > i} a_ij d_j,
 * half a matrix-vector product instead of a whole one. */
#include "core/solvers/linsys/sor_bandit.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

static const char *const algorithm_choices[] = {"tsallis_inf", "contextual", "fixed", "sweep",
                                                NULL};

const sv_param_spec sor_bandit_params[] = {
    SV_P_ENUM(sor_bandit_settings, algorithm, algorithm_choices, SOR_BANDIT_TSALLIS_INF,
              "how omega is chosen: tsallis_inf = bandit over the grid from iteration counts; "
              "contextual = ChebCB, also using each instance's context; fixed = omega; sweep = "
              "every grid omega on every instance (the best fixed omega in hindsight)"),
    SV_P_NUMBER_GT(sor_bandit_settings, omega, 0, 1.999999, 1.0,
                   "fixed: the relaxation omega in (0, 2); 1 is Gauss-Seidel"),
    SV_P_NUMBER_GT(sor_bandit_settings, omega_min, 0, 1.999999, SOR_BANDIT_DEFAULT_OMEGA_MIN,
                   "smallest grid omega"),
    SV_P_NUMBER_GT(sor_bandit_settings, omega_max, 0, 1.999999, SOR_BANDIT_DEFAULT_OMEGA_MAX,
                   "largest grid omega (> omega_min unless grid is 1)"),
    SV_P_INT32(sor_bandit_settings, grid, 1, 1000, SOR_BANDIT_DEFAULT_GRID,
               "grid points evenly spaced in [omega_min, omega_max]: the bandits' arms"),
    SV_P_BOOL(sor_bandit_settings, compare, 1,
              "also solve every instance at every grid omega: best fixed omega in hindsight, "
              "its total and the regret (grid + 1 solves per instance)"),
    SV_P_INT32(sor_bandit_settings, features, 1, 32, SOR_BANDIT_DEFAULT_FEATURES,
               "contextual: Chebyshev features T_0 .. T_{features-1} of the context"),
    SV_P_NUMBER(sor_bandit_settings, context_lo, -1e300, 1e300, NAN,
                "contextual: lower end of the context interval; null: the sequence's least"),
    SV_P_NUMBER(sor_bandit_settings, context_hi, -1e300, 1e300, NAN,
                "contextual: upper end of the context interval; null: the sequence's largest"),
    SV_P_INT(sor_bandit_settings, sor_max_iter, 1, 1e9, SOR_BANDIT_DEFAULT_SOR_MAX_ITER,
             "SOR iteration cap per instance; an instance that reaches it costs this many"),
    SV_P_SEED(sor_bandit_settings, seed, 0, "seed of the bandits' draws"),
    SV_CONTROL_PARAMS(sor_bandit_settings, ctl, SOR_BANDIT_DEFAULT_TOL,
                      "each SOR solve stops when |b - A x| <= tol |b|",
                      SOR_BANDIT_DEFAULT_MAX_ITER, SOR_BANDIT_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void sor_bandit_settings_default(sor_bandit_settings *s)
{
    sv_params_defaults(sor_bandit_params, s);
}

int sor_bandit_check_settings(const sor_bandit_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(sor_bandit_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    if (s->grid > 1 && !(s->omega_min < s->omega_max))
        return sv_fail(e, "/params/omega_max", "must be > omega_min = %g when grid > 1, got %g",
                       s->omega_min, s->omega_max);
    if (!isnan(s->context_lo) && !isnan(s->context_hi) && !(s->context_lo < s->context_hi))
        return sv_fail(e, "/params/context_hi", "must be > context_lo = %g, got %g",
                       s->context_lo, s->context_hi);
    return SV_OK;
}

/* ================================ the SOR kernel ================================ */

/* Rows swept between two polls of the loop. */
#define SOR_POLL_ROWS 16384

int sor_bandit_diag_index(const sv_csr *A, double shift, int *diag, sv_err *e)
{
    for (int i = 0; i < A->rows; i++) {
        int q = A->rowptr[i], end = A->rowptr[i + 1];
        while (q < end && A->colind[q] < i)
            q++;
        if (q == end || A->colind[q] != i)
            return sv_fail(e, "/problem", "row %d has no diagonal entry (SOR divides by it)", i);
        if (!(A->val[q] + shift != 0))
            return sv_fail(e, "/problem", "diagonal entry %d is zero (SOR divides by it)", i);
        diag[i] = q;
    }
    return SV_OK;
}

long sor_bandit_sor(const sv_csr *A, const int *diag, double shift, const double *b,
                    double omega, double tol, long cap, double *x, double *work, sv_loop *L,
                    int *stopped, double *relres)
{
    const int n = A->rows;
    const int *rp = A->rowptr, *ci = A->colind;
    const double *v = A->val;
    double bb = 0;  /* |b| by a plain loop: no BLAS rounding path in the counts */
    for (int i = 0; i < n; i++)
        bb += b[i] * b[i];
    const double bn = sqrt(bb), target = tol * bn, shrink = 1.0 / omega - 1.0;
    double *dx = work, *wdiag = work + n;  /* the correction; omega / (a_ii + shift) */
    double rn = bn;
    long k = 0;
    int budget = SOR_POLL_ROWS;
    sv_zero(n, x);
    if (stopped)
        *stopped = 0;
    if (bn == 0) {
        if (relres)
            *relres = 0;
        return 0;
    }
    for (int i = 0; i < n; i++)
        wdiag[i] = omega / (v[diag[i]] + shift);
    while (k < cap) {
        /* Row i: the residual of the current mixture of new (j < i) and old (j >= i) values,
         * b_i - sum_j a_ij x_j - shift x_i, times omega / (a_ii + shift). */
        for (int i = 0; i < n; i++) {
            double s = b[i] - shift * x[i];
            for (int q = rp[i]; q < rp[i + 1]; q++)
                s -= v[q] * x[ci[q]];
            const double di = wdiag[i] * s;
            x[i] += di;
            dx[i] = di;
            if (--budget == 0) {
                budget = SOR_POLL_ROWS;
                if (sv_loop_poll(L)) {
                    if (stopped)
                        *stopped = 1;
                    if (relres)
                        *relres = rn / bn;
                    return k;
                }
            }
        }
        k++;
        double rr = 0;
        for (int i = 0; i < n; i++) {
            const int di = diag[i];
            double r = (v[di] + shift) * shrink * dx[i];
            for (int q = di + 1; q < rp[i + 1]; q++)
                r -= v[q] * dx[ci[q]];
            rr += r * r;
        }
        rn = sqrt(rr);
        if (rn <= target || !isfinite(rn))
            break;
    }
    if (relres)
        *relres = rn / bn;
    return k;
}

/* ================================ validation ================================ */

int sor_bandit_check_problem(const sor_bandit_problem *p, const sor_bandit_settings *s,
                             sv_err *e)
{
    char path[96];
    if (!p || p->n_instances < 1 || !p->inst || p->n_mats < 1 || !p->mats)
        return sv_fail(e, "/problem", "a sequence of at least one instance is required");
    for (int m = 0; m < p->n_mats; m++) {
        const sv_csr *A = &p->mats[m];
        if (A->rows < 1 || A->rows != A->cols)
            return sv_fail(e, "/problem", "matrix %d is %d x %d: SOR needs a square matrix", m,
                           A->rows, A->cols);
        for (int q = 0; q < A->nnz; q++)
            if (!isfinite(A->val[q]))
                return sv_fail(e, "/problem", "matrix %d has a non-finite entry", m);
    }
    int need_context = s->algorithm == SOR_BANDIT_CONTEXTUAL;
    for (int t = 0; t < p->n_instances; t++) {
        const sor_bandit_instance *in = &p->inst[t];
        snprintf(path, sizeof path, "/problem/instances/%d", t);
        if (in->mat < 0 || in->mat >= p->n_mats || !in->b)
            return sv_fail(e, path, "instance has no matrix or right-hand side");
        if (!isfinite(in->shift))
            return sv_fail(e, path, "shift is not finite");
        if (!sv_all_finite(p->mats[in->mat].rows, in->b))
            return sv_fail(e, path, "right-hand side is not finite");
        const sv_csr *A = &p->mats[in->mat];
        for (int i = 0; i < A->rows; i++) {
            int q = A->rowptr[i], end = A->rowptr[i + 1];
            while (q < end && A->colind[q] < i)
                q++;
            if (q == end || A->colind[q] != i || !(A->val[q] + in->shift != 0)) {
                snprintf(path, sizeof path, "/problem/instances/%d/A", t);
                return sv_fail(e, path, "diagonal entry %d of A + shift I is %s (SOR divides by "
                               "it)", i, q == end || A->colind[q] != i ? "missing" : "zero");
            }
        }
        if (need_context && !isfinite(in->context)) {
            snprintf(path, sizeof path, "/problem/instances/%d/context", t);
            return sv_fail(e, path, "required (a finite number) by algorithm contextual");
        }
    }
    if ((s->compare || s->algorithm == SOR_BANDIT_SWEEP) &&
        (double)s->grid * p->n_instances > (double)SOR_BANDIT_MAX_TABLE)
        return sv_fail(e, s->algorithm == SOR_BANDIT_SWEEP ? "/params/algorithm"
                                                           : "/params/compare",
                       "grid * instances = %.0f iteration counts exceed the limit of %ld",
                       (double)s->grid * p->n_instances, SOR_BANDIT_MAX_TABLE);
    return SV_OK;
}

/* ================================ Tsallis-INF ================================ */

typedef struct {
    int d;
    long t;         /* the round about to be played, from 1 */
    double *lhat;   /* d: importance-weighted sums of the shifted costs */
    double *p;      /* d: the last distribution */
    double scale;   /* mean shifted cost so far (1 before any) */
    double sum;     /* sum of the costs */
    int arm;        /* the arm last drawn */
} tsallis;

/* Draws an arm from p (sums to 1 up to rounding). */
static int draw(const double *p, int d, sv_rng *r)
{
    double u = sv_rng_uniform(r), c = 0;
    for (int i = 0; i < d; i++) {
        c += p[i];
        if (u < c)
            return i;
    }
    for (int i = d - 1; i > 0; i--)  /* u rounded past the total: the last arm with mass */
        if (p[i] > 0)
            return i;
    return 0;
}

/* p_i = 4 / (eta (l_i - x))^2 summing to 1: f(x) = sum p - 1 is convex and increasing for
 * x < min l, and from x0 = min l - 2 / eta (where the smallest term alone is 1, so f >= 0)
 * Newton's steps decrease monotonically to the root. */
static void tsallis_probs(tsallis *b)
{
    const double eta = 2.0 / sqrt((double)b->t);
    double lmin = INFINITY;
    for (int i = 0; i < b->d; i++)
        lmin = fmin(lmin, b->lhat[i] / b->scale);
    double x = lmin - 2.0 / eta, sum = 0;
    for (int it = 0; it < 100; it++) {
        double s1 = 0, s3 = 0;
        for (int i = 0; i < b->d; i++) {
            double w = eta * (b->lhat[i] / b->scale - x);
            double pi = 4.0 / (w * w);
            b->p[i] = pi;
            s1 += pi;
            s3 += pi * sqrt(pi);
        }
        sum = s1;
        double step = (s1 - 1.0) / (eta * s3);
        x -= step;
        if (fabs(s1 - 1.0) < 1e-13 || !(step > 0))
            break;
    }
    for (int i = 0; i < b->d; i++)
        b->p[i] /= sum;
}

static int tsallis_choose(tsallis *b, sv_rng *r)
{
    tsallis_probs(b);
    b->arm = draw(b->p, b->d, r);
    return b->arm;
}

static void tsallis_update(tsallis *b, double cost)
{
    b->lhat[b->arm] += (cost - 1.0) / b->p[b->arm];
    b->sum += cost;
    double mean = b->sum / (double)b->t;
    b->scale = mean - 1.0 > 0 ? mean - 1.0 : 1.0;
    b->t++;
}

/* ================================ ChebCB ================================ */

typedef struct {
    int d, m;
    long t;            /* rounds played so far */
    double lo, bma;    /* the context interval [lo, lo + bma] */
    double *G;         /* d m x m: sum of f f' per arm */
    double *h;         /* d m: sum of f (cost - 1) per arm */
    double *yy;        /* d: sum of (cost - 1)^2 per arm */
    long *count;       /* d */
    double *theta;     /* d m: the fits, in cost units (cost - 1) / scale */
    double *f;         /* m: the current features */
    double *yhat;      /* d */
    double *p;         /* d */
    double *M;         /* m x m scratch */
    double *z;         /* m scratch */
    double *ub;        /* m: the fits' bounds */
    double eta, scale, kmax, kmin, sq;  /* sq: sum of (prediction - cost)^2 in iterations */
    double predicted;  /* the drawn arm's prediction, in iterations */
    int arm;
} chebcb;

static void cheb_features(chebcb *c, double context)
{
    double u = 2.0 * (context - c->lo) / c->bma - 1.0;
    u = u < -1 ? -1 : (u > 1 ? 1 : u);
    c->f[0] = 1.0;
    if (c->m > 1)
        c->f[1] = u;
    for (int j = 2; j < c->m; j++)
        c->f[j] = 2.0 * u * c->f[j - 1] - c->f[j - 2];
}

static int chebcb_choose(chebcb *c, double context, sv_rng *r)
{
    const int d = c->d, m = c->m;
    cheb_features(c, context);
    int star = 0;
    for (int i = 0; i < d; i++) {
        double y = 0;
        for (int j = 0; j < m; j++)
            y += c->theta[(size_t)i * m + j] * c->f[j];
        c->yhat[i] = y;
        if (y < c->yhat[star])
            star = i;
    }
    double rest = 0;
    for (int i = 0; i < d; i++) {
        if (i == star)
            continue;
        c->p[i] = 1.0 / (d + c->eta * (c->yhat[i] - c->yhat[star]));
        rest += c->p[i];
    }
    c->p[star] = fmax(0.0, 1.0 - rest);
    c->arm = draw(c->p, d, r);
    c->predicted = 1.0 + c->scale * c->yhat[c->arm];
    return c->arm;
}

/* The fit of arm i: min |F theta - y / scale|^2 over the box |theta_j| <= ub_j, from its
 * normal equations G theta = h / scale (a relative ridge of 1e-9 makes them definite when the
 * arm has seen fewer distinct contexts than features). The unconstrained solution by
 * Cholesky; when it leaves the box, projected coordinate descent from its clipped copy.
 * Returns the squared residual when the box was active, else -1. */
static double chebcb_fit(chebcb *c, int i)
{
    const int m = c->m;
    const double *G = c->G + (size_t)i * m * m, *h = c->h + (size_t)i * m;
    double *th = c->theta + (size_t)i * m, *M = c->M, *z = c->z;
    double tr = 0;
    for (int j = 0; j < m; j++)
        tr += G[j * m + j];
    if (!(tr > 0))
        return -1;
    const double ridge = 1e-9 * tr / m;
    for (int j = 0; j < m * m; j++)
        M[j] = G[j];
    for (int j = 0; j < m; j++) {
        M[j * m + j] += ridge;
        z[j] = h[j] / c->scale;
    }
    /* Cholesky M = R'R in the lower triangle, then the two triangular solves into z. */
    for (int j = 0; j < m; j++) {
        double djj = M[j * m + j];
        for (int k = 0; k < j; k++)
            djj -= M[j * m + k] * M[j * m + k];
        djj = sqrt(fmax(djj, ridge * 1e-6));
        M[j * m + j] = djj;
        for (int q = j + 1; q < m; q++) {
            double s = M[q * m + j];
            for (int k = 0; k < j; k++)
                s -= M[q * m + k] * M[j * m + k];
            M[q * m + j] = s / djj;
        }
    }
    for (int j = 0; j < m; j++) {
        double s = z[j];
        for (int k = 0; k < j; k++)
            s -= M[j * m + k] * z[k];
        z[j] = s / M[j * m + j];
    }
    for (int j = m - 1; j >= 0; j--) {
        double s = z[j];
        for (int k = j + 1; k < m; k++)
            s -= M[k * m + j] * z[k];
        z[j] = s / M[j * m + j];
    }
    int inside = 1;
    for (int j = 0; j < m; j++) {
        th[j] = z[j];
        if (!(fabs(z[j]) <= c->ub[j]))
            inside = 0;
    }
    if (inside)
        return -1;
    for (int j = 0; j < m; j++)
        th[j] = fmax(-c->ub[j], fmin(c->ub[j], isfinite(th[j]) ? th[j] : 0.0));
    for (int sweep = 0; sweep < 1000; sweep++) {
        double moved = 0, size = 0;
        for (int j = 0; j < m; j++) {
            double g = h[j] / c->scale;
            for (int k = 0; k < m; k++)
                if (k != j)
                    g -= G[j * m + k] * th[k];
            double nj = g / (G[j * m + j] + ridge);
            nj = fmax(-c->ub[j], fmin(c->ub[j], nj));
            moved = fmax(moved, fabs(nj - th[j]));
            size = fmax(size, fabs(nj));
            th[j] = nj;
        }
        if (moved <= 1e-12 * (1.0 + size))
            break;
    }
    double res = c->yy[i] / (c->scale * c->scale);
    for (int j = 0; j < m; j++) {
        double gt = 0;
        for (int k = 0; k < m; k++)
            gt += G[j * m + k] * th[k];
        res += th[j] * gt - 2.0 * th[j] * h[j] / c->scale;
    }
    return fmax(res, 0.0);
}

static void chebcb_update(chebcb *c, double cost)
{
    const int d = c->d, m = c->m, a = c->arm;
    const double y = cost - 1.0;
    double *G = c->G + (size_t)a * m * m, *h = c->h + (size_t)a * m;
    for (int j = 0; j < m; j++) {
        h[j] += c->f[j] * y;
        for (int k = 0; k < m; k++)
            G[j * m + k] += c->f[j] * c->f[k];
    }
    c->yy[a] += y * y;
    c->count[a]++;
    c->t++;
    c->kmax = c->t == 1 ? cost : fmax(c->kmax, cost);
    c->kmin = c->t == 1 ? cost : fmin(c->kmin, cost);
    c->sq += (c->predicted - cost) * (c->predicted - cost);
    const double K = c->kmax, Lc = (c->kmax - c->kmin) / c->bma;
    const double N = 2.0 + 4.0 * c->bma * Lc / (K > 0 ? K : 1.0) * (1.0 + log((double)m));
    double scale = K * N > 0 ? K * N : 1.0;
    int rescale = scale != c->scale;
    c->scale = scale;
    c->ub[0] = 1.0 / N;
    for (int j = 1; j < m; j++)
        c->ub[j] = 2.0 * c->bma * Lc / scale / j;
    double resnorm = 0;
    for (int i = 0; i < d; i++) {
        if ((rescale || i == a) && c->count[i] > 0) {
            double r = chebcb_fit(c, i);
            if (r >= 0)
                resnorm = r;
        }
    }
    const double alpha = (M_PI + 2.0 / M_PI * log(2.0 * m + 1.0)) / (2.0 * scale * (m + 1)) *
                         c->bma * Lc;
    const double t = (double)c->t;
    const double denom = c->sq / (scale * scale) - resnorm + 2.0 * alpha * alpha * t;
    const double eta_max = 1e15;
    c->eta = denom > 0 ? fmin(eta_max, 2.0 * t * sqrt(d * t / denom)) : eta_max;
}

/* ================================ workspace ================================ */

typedef struct {
    const sor_bandit_problem *p;
    const sor_bandit_settings *s;
    int nmax, d;
    int *diag;          /* per matrix: its rows' diagonal positions (offsets in diag_at) */
    long *diag_at;      /* n_mats */
    double *x;          /* nmax */
    double *work;       /* 2 nmax: sor_bandit_sor's scratch */
    double *grid;       /* d */
    long *cum;          /* d: cumulative iterations of each grid omega (compare) */
    int *table;         /* instances x d: iteration counts (compare) */
    tsallis ts;
    chebcb cb;
    int compare;
    /* the state the reports show */
    long done;          /* instances done */
    double omega;       /* the last instance's omega */
    long iters;         /* its iterations */
    long total;         /* cumulative iterations of the chosen omegas */
    int best;           /* the grid omega with the least cumulative so far */
} sor_ws;

static void ws_free(sor_ws *w)
{
    free(w->diag);
    free(w->diag_at);
    free(w->x);
    free(w->work);
    free(w->grid);
    free(w->cum);
    free(w->table);
    free(w->ts.lhat);
    free(w->ts.p);
    free(w->cb.G);
    free(w->cb.h);
    free(w->cb.yy);
    free(w->cb.count);
    free(w->cb.theta);
    free(w->cb.f);
    free(w->cb.yhat);
    free(w->cb.p);
    free(w->cb.M);
    free(w->cb.z);
    free(w->cb.ub);
}

static int ws_alloc(sor_ws *w)
{
    const sor_bandit_problem *p = w->p;
    const sor_bandit_settings *s = w->s;
    long rows = 0;
    w->nmax = 1;
    for (int m = 0; m < p->n_mats; m++) {
        rows += p->mats[m].rows;
        if (p->mats[m].rows > w->nmax)
            w->nmax = p->mats[m].rows;
    }
    const int d = w->d = s->grid, m = s->features;
    const size_t nd = (size_t)d;
    w->diag = malloc((size_t)rows * sizeof *w->diag);
    w->diag_at = malloc((size_t)p->n_mats * sizeof *w->diag_at);
    w->x = malloc((size_t)w->nmax * sizeof *w->x);
    w->work = malloc(2 * (size_t)w->nmax * sizeof *w->work);
    w->grid = malloc(nd * sizeof *w->grid);
    w->cum = calloc(nd, sizeof *w->cum);
    int ok = w->diag && w->diag_at && w->x && w->work && w->grid && w->cum;
    if (ok && w->compare)
        ok = (w->table = malloc((size_t)p->n_instances * nd * sizeof *w->table)) != NULL;
    if (ok && s->algorithm == SOR_BANDIT_TSALLIS_INF) {
        w->ts.lhat = calloc(nd, sizeof *w->ts.lhat);
        w->ts.p = malloc(nd * sizeof *w->ts.p);
        ok = w->ts.lhat && w->ts.p;
    }
    if (ok && s->algorithm == SOR_BANDIT_CONTEXTUAL) {
        const size_t mm = (size_t)m;
        w->cb.G = calloc(nd * mm * mm, sizeof *w->cb.G);
        w->cb.h = calloc(nd * mm, sizeof *w->cb.h);
        w->cb.yy = calloc(nd, sizeof *w->cb.yy);
        w->cb.count = calloc(nd, sizeof *w->cb.count);
        w->cb.theta = calloc(nd * mm, sizeof *w->cb.theta);
        w->cb.f = malloc(mm * sizeof *w->cb.f);
        w->cb.yhat = malloc(nd * sizeof *w->cb.yhat);
        w->cb.p = malloc(nd * sizeof *w->cb.p);
        w->cb.M = malloc(mm * mm * sizeof *w->cb.M);
        w->cb.z = malloc(mm * sizeof *w->cb.z);
        w->cb.ub = malloc(mm * sizeof *w->cb.ub);
        ok = w->cb.G && w->cb.h && w->cb.yy && w->cb.count && w->cb.theta && w->cb.f &&
             w->cb.yhat && w->cb.p && w->cb.M && w->cb.z && w->cb.ub;
    }
    if (!ok) {
        ws_free(w);
        return SV_ENOMEM;
    }
    return SV_OK;
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    const sor_ws *w = ctx;
    int n = 0;
    if (w->done == 0 || cap < 6)
        return 0;
    m[n++] = (sv_metric){"omega", w->omega};
    m[n++] = (sv_metric){"sor_iterations", (double)w->iters};
    m[n++] = (sv_metric){"cumulative_iterations", (double)w->total};
    if (w->compare) {
        m[n++] = (sv_metric){"best_fixed_omega", w->grid[w->best]};
        m[n++] = (sv_metric){"best_fixed_cumulative", (double)w->cum[w->best]};
        m[n++] = (sv_metric){"regret", (double)(w->total - w->cum[w->best])};
    }
    return n;
}

/* ================================ the solver ================================ */

int sor_bandit_solve(const sor_bandit_problem *p, const sor_bandit_settings *s,
                     const sv_monitor *mon, sor_bandit_out *out, sor_bandit_info *info,
                     sv_err *e)
{
    sor_bandit_info dummy;
    sor_bandit_out none;
    if (!info)
        info = &dummy;
    if (!out) {
        memset(&none, 0, sizeof none);
        out = &none;
    }
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    if ((rc = sor_bandit_check_settings(s, e)) != SV_OK ||
        (rc = sor_bandit_check_problem(p, s, e)) != SV_OK)
        return rc;

    sor_ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.s = s;
    w.compare = s->compare || s->algorithm == SOR_BANDIT_SWEEP;
    if ((rc = ws_alloc(&w)) != SV_OK)
        return rc;
    long at = 0;
    for (int m = 0; m < p->n_mats; m++) {
        w.diag_at[m] = at;
        at += p->mats[m].rows;
    }
    /* Every matrix's diagonal positions, once (present in every row an instance uses, and
     * non-zero with each instance's shift: checked above). */
    for (int m = 0; m < p->n_mats; m++) {
        const sv_csr *A = &p->mats[m];
        int *dg = w.diag + w.diag_at[m];
        for (int i = 0; i < A->rows; i++) {
            int q = A->rowptr[i], end = A->rowptr[i + 1];
            while (q < end && A->colind[q] < i)
                q++;
            dg[i] = q < end && A->colind[q] == i ? q : -1;  /* -1: a matrix no instance uses */
        }
    }
    const int d = w.d;
    for (int i = 0; i < d; i++)
        w.grid[i] = d == 1 ? s->omega_min
                           : s->omega_min + (s->omega_max - s->omega_min) * i / (double)(d - 1);
    if (s->algorithm == SOR_BANDIT_TSALLIS_INF) {
        w.ts.d = d;
        w.ts.t = 1;
        w.ts.scale = 1.0;
    }
    if (s->algorithm == SOR_BANDIT_CONTEXTUAL) {
        double lo = s->context_lo, hi = s->context_hi, cmin = INFINITY, cmax = -INFINITY;
        for (int t = 0; t < p->n_instances; t++) {
            cmin = fmin(cmin, p->inst[t].context);
            cmax = fmax(cmax, p->inst[t].context);
        }
        if (isnan(lo))
            lo = isnan(hi) ? cmin : fmin(cmin, hi - 1.0);
        if (isnan(hi))
            hi = cmax > lo ? cmax : lo + 1.0;
        w.cb.d = d;
        w.cb.m = s->features;
        w.cb.lo = lo;
        w.cb.bma = hi - lo;
        info->context_lo = lo;
        info->context_hi = hi;
    }
    for (int i = 0; out->grid_omega && i < d; i++)
        out->grid_omega[i] = w.grid[i];

    sv_rng r;
    sv_rng_seed(&r, s->seed);
    const double tol = s->ctl.tol;
    const long cap = s->sor_max_iter;
    double relres = NAN;
    long k;
    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    for (k = 0;; k++) {
        if (sv_loop_check(&L, k, (double)w.total, 0, k == p->n_instances))
            break;
        const sor_bandit_instance *in = &p->inst[k];
        const sv_csr *A = &p->mats[in->mat];
        const int *dg = w.diag + w.diag_at[in->mat];
        int arm = -1, stopped = 0;
        double omega;
        switch (s->algorithm) {
        case SOR_BANDIT_TSALLIS_INF:
            arm = tsallis_choose(&w.ts, &r);
            omega = w.grid[arm];
            break;
        case SOR_BANDIT_CONTEXTUAL:
            arm = chebcb_choose(&w.cb, in->context, &r);
            omega = w.grid[arm];
            break;
        case SOR_BANDIT_FIXED:
            omega = s->omega;
            break;
        default:
            omega = NAN;  /* sweep: decided below */
            break;
        }
        long cost = 0;
        if (s->algorithm != SOR_BANDIT_SWEEP) {
            double rel;
            long it = sor_bandit_sor(A, dg, in->shift, in->b, omega, tol, cap, w.x, w.work, &L,
                                     &stopped, &rel);
            if (stopped)
                break;
            info->sor_iterations_run += it;
            int conv = rel <= tol || (it == 0);
            cost = conv ? it : cap;
            if (!conv)
                info->unconverged++;
            relres = rel;
        }
        if (w.compare) {
            int *row = w.table + (size_t)k * d;
            for (int g = 0; g < d && !stopped; g++) {
                if (g == arm) {
                    row[g] = (int)cost;  /* the same solve: deterministic */
                    continue;
                }
                double rel;
                long it = sor_bandit_sor(A, dg, in->shift, in->b, w.grid[g], tol, cap, w.x,
                                         w.work, &L, &stopped, &rel);
                info->sor_iterations_run += it;
                row[g] = (int)(rel <= tol || it == 0 ? it : cap);
            }
            if (stopped)
                break;
            int best = 0;
            for (int g = 0; g < d; g++) {
                w.cum[g] += row[g];
                if (w.cum[g] < w.cum[best])
                    best = g;
            }
            w.best = best;
            if (s->algorithm == SOR_BANDIT_SWEEP) {
                omega = w.grid[best];
                cost = w.cum[best] - w.total;  /* the reports follow the best so far */
            }
        }
        if (s->algorithm == SOR_BANDIT_TSALLIS_INF)
            tsallis_update(&w.ts, (double)cost);
        else if (s->algorithm == SOR_BANDIT_CONTEXTUAL)
            chebcb_update(&w.cb, (double)cost);
        w.omega = omega;
        w.iters = cost;
        w.total += cost;
        w.done = k + 1;
        if (out->omega)
            out->omega[k] = omega;
        if (out->iterations)
            out->iterations[k] = cost;
    }
    const long done = w.done;
    if (w.compare && done > 0) {
        int best = w.best;
        info->compared = 1;
        info->best_omega = w.grid[best];
        info->best_total = w.cum[best];
        long opt = 0;
        for (long t = 0; t < done; t++) {
            const int *row = w.table + (size_t)t * d;
            int lo = row[0];
            for (int g = 1; g < d; g++)
                lo = row[g] < lo ? row[g] : lo;
            opt += lo;
            if (out->best_iterations)
                out->best_iterations[t] = row[best];
        }
        info->instance_optimal = opt;
        if (s->algorithm == SOR_BANDIT_SWEEP) {
            /* In hindsight every instance is played at the best fixed omega. */
            w.total = w.cum[best];
            for (long t = 0; t < done; t++) {
                if (out->omega)
                    out->omega[t] = w.grid[best];
                if (out->iterations)
                    out->iterations[t] = w.table[(size_t)t * d + best];
            }
            /* The last solve of a sweep is the last grid omega's, not the best one's. */
            relres = NAN;
            info->unconverged = 0;
            for (long t = 0; t < done; t++)
                info->unconverged += w.table[(size_t)t * d + best] >= cap;
        }
        info->regret = w.total - info->best_total;
        for (int g = 0; out->grid_total && g < d; g++)
            out->grid_total[g] = w.cum[g];
    }
    info->total = w.total;
    sv_loop_end(&L, &info->base, k, (double)w.total, relres);
    ws_free(&w);
    return SV_OK;
}
