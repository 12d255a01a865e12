/* lvhba.c - LV-HBA (Yao, Yu, Zeng, Zhang, ICLR 2024, Algorithm 1) on the sv_bl_problem
 * interface.
 *
 * One iteration at (x, y, z) with the inner pair (theta, lambda), G = A x + B y - b:
 *   d_theta  = grad_y g(x, theta) + B' lambda + (theta - y) / gamma1
 *   d_lambda = -G(x, theta) + (lambda - z) / gamma2
 *   theta+ = P_Y(theta - eta d_theta),  lambda+ = P_Z(lambda - eta d_lambda)
 *   d_x = grad_x f(x, y) / c_k + grad_x g(x, y) - grad_x g(x, theta+) - A' lambda+
 *   d_y = grad_y f(x, y) / c_k + grad_y g(x, y) - (y - theta+) / gamma1
 *   d_z = (z - lambda+) / gamma2
 *   (x+, y+) = P_C((x, y) - alpha (d_x, d_y)),  z+ = P_Z(z - beta d_z)
 * (alpha_x for d_x when the automatic steps are per block: no coupled constraints).
 * (d_x, d_y, d_z) is the gradient of f/c_k + g - v with v's gradient taken at the current inner
 * pair instead of the exact saddle point, which is what keeps the method single-loop and free of
 * second derivatives. P_C is computed by Hildreth's method (dual coordinate ascent over the
 * constraint rows and the box rows), warm-started from the previous iteration's multipliers. */
#include "core/solvers/bilevel/lvhba.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int dx, dy, m, n;    /* n = dx + dy */
    double *theta;       /* dy */
    double *lam, *z;     /* m each */
    double *lam_new;     /* m */
    double *theta_new;   /* dy */
    double *xn, *yn;     /* dx, dy: the trial point */
    double *fx, *fy;     /* upper gradients at (x, y) */
    double *gx, *gy;     /* lower gradients at (x, y) */
    double *tx, *ty;     /* lower gradients at (x, theta) and (x, theta+) */
    double *G;           /* m: constraint values */
    double *M;           /* m x n: [A B], row-major */
    double *J;           /* m x n: the oracle's A (m x dx) then B (m x dy), read once */
    double *rhs;         /* m: b */
    double *rownrm;      /* m: |[A_i B_i]|^2 */
    double *mu;          /* m + 2n: Hildreth's dual variables (constraint rows, then boxes) */
    double *v0, *v1, *v2;/* n each: power iteration */
    double *work;        /* sv_bl_work_size(p) */
} lvhba_ws;

static int check_problem(const sv_bl_problem *p, sv_err *e);
static int ws_alloc(lvhba_ws *w, const sv_bl_problem *p);
static void ws_free(lvhba_ws *w);
static double project_c(const sv_bl_problem *p, lvhba_ws *w, double *x, double *y, double tol,
                        long max_sweeps, long *sweeps, sv_loop *L);
static double box_violation(int n, const double *v, const double *lo, const double *hi);
static double max_violation(const sv_bl_problem *p, lvhba_ws *w, const double *x,
                            const double *y);
static void full_grad(const sv_bl_problem *p, int upper, const double *wv, double *out,
                      lvhba_ws *w);
static double smoothness_fd(const sv_bl_problem *p, int upper, const double *x, const double *y,
                            sv_rng *rng, lvhba_ws *w);
static double smoothness_gyy(const sv_bl_problem *p, const double *x, const double *y,
                             sv_rng *rng, lvhba_ws *w);
static double block_norm_fd(const sv_bl_problem *p, int upper, const double *x, const double *y,
                            int from, int to, sv_rng *rng, lvhba_ws *w);
static double jy_norm(const lvhba_ws *w, sv_rng *rng);
static void random_unit(int n, sv_rng *rng, double *v);
static int metrics(void *ctx, sv_metric *m, int cap);

/* ================================ settings ================================ */

const sv_param_spec lvhba_params[] = {
    SV_P_NUMBER_GT(lvhba_settings, alpha, 0, INFINITY, NAN,
                   "step of (x, y); null: step_factor / (L_f / c0 + 2 L_g + 2 / gamma1) from "
                   "smoothness estimates at the start (per block of x and y without coupled "
                   "constraints)"),
    SV_P_NUMBER_GT(lvhba_settings, beta, 0, INFINITY, NAN,
                   "step of the multiplier variable z; null: step_factor * gamma2"),
    SV_P_NUMBER_GT(lvhba_settings, eta, 0, INFINITY, NAN,
                   "step of the inner pair (theta, lambda); null: step_factor / (L_gy + 1/gamma1 "
                   "+ 1/gamma2 + |B|)"),
    SV_P_NUMBER_GT(lvhba_settings, step_factor, 0, 1, LVHBA_DEFAULT_STEP_FACTOR,
                   "scales the automatic steps, in (0, 1]"),
    SV_P_NUMBER_GT(lvhba_settings, gamma1, 0, INFINITY, LVHBA_DEFAULT_GAMMA1,
                   "proximal parameter of theta in the proximal Lagrangian value function"),
    SV_P_NUMBER_GT(lvhba_settings, gamma2, 0, INFINITY, LVHBA_DEFAULT_GAMMA2,
                   "proximal parameter of the multiplier lambda"),
    SV_P_NUMBER_GT(lvhba_settings, c0, 0, INFINITY, LVHBA_DEFAULT_C0,
                   "penalty c_k = c0 (k + 1)^p; the upper objective is weighted 1 / c_k"),
    /* [0, 1/2): the largest double below 1/2 closes the range */
    SV_P_NUMBER(lvhba_settings, p, 0, 0x1.fffffffffffffp-2, LVHBA_DEFAULT_P,
                "growth exponent of c_k, in [0, 1/2) (the paper's condition)"),
    SV_P_NUMBER_GT(lvhba_settings, z_max, 0, INFINITY, LVHBA_DEFAULT_Z_MAX,
                   "bound of the multiplier set Z = [0, z_max]^m"),
    SV_CONTROL_PARAMS(lvhba_settings, ctl, LVHBA_DEFAULT_TOL,
                      "stop when the step residual (all variables, scaled by their steps) is "
                      "<= tol",
                      LVHBA_DEFAULT_MAX_ITER, LVHBA_DEFAULT_REPORT_EVERY),
    SV_P_NUMBER_GT(lvhba_settings, proj_tol, 0, INFINITY, LVHBA_DEFAULT_PROJ_TOL,
                   "projection onto {x in X, y in Y, A x + B y <= b}: largest violation left"),
    SV_P_INT(lvhba_settings, proj_max_sweeps, 1, 1e9, LVHBA_DEFAULT_PROJ_MAX_SWEEPS,
             "sweeps of the projection's dual coordinate ascent (Hildreth)"),
    SV_P_NUMBER_GT(lvhba_settings, final_tol, 0, INFINITY, LVHBA_DEFAULT_FINAL_TOL,
                   "lower residual of the closing exact solve behind lower_error"),
    SV_P_SEED(lvhba_settings, seed, LVHBA_DEFAULT_SEED,
              "seed of the power iterations' start vectors"),
    SV_PARAMS_END,
};

void lvhba_settings_default(lvhba_settings *s)
{
    sv_params_defaults(lvhba_params, s);
}

int lvhba_check_settings(const lvhba_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(lvhba_params, s, "/params", e);
}

/* ================================ validation ================================ */

static int check_box(int n, const double *lo, const double *hi, const char *field, sv_err *e)
{
    for (int j = 0; j < n; j++) {
        double l = lo ? lo[j] : -INFINITY, h = hi ? hi[j] : INFINITY;
        if (isnan(l) || isnan(h) || l > h || l == INFINITY || h == -INFINITY)
            return sv_fail(e, field, "entry %d: the box [%g, %g] is empty or not a number", j, l,
                           h);
    }
    return SV_OK;
}

static int check_problem(const sv_bl_problem *p, sv_err *e)
{
    if (!p || !p->ops)
        return sv_fail(e, "/problem", "problem missing");
    const sv_bl_ops *o = p->ops;
    if (!o->upper || !o->lower)
        return sv_fail(e, "/problem", "the problem class lacks the value/gradient oracles");
    if (p->dx < 1 || p->dy < 1)
        return sv_fail(e, "/problem", "dimensions must be >= 1 (dx %d, dy %d)", p->dx, p->dy);
    if (p->n_con < 0)
        return sv_fail(e, "/problem", "negative constraint count");
    if (p->n_con > 0 && !o->constraints)
        return sv_fail(e, "/problem", "the class has constraints but no constraint oracle");
    int rc = check_box(p->dx, p->x_lo, p->x_hi, "/problem/x_lo", e);
    if (rc == SV_OK)
        rc = check_box(p->dy, p->y_lo, p->y_hi, "/problem/y_lo", e);
    return rc;
}

/* ================================ workspace ================================ */

static int ws_alloc(lvhba_ws *w, const sv_bl_problem *p)
{
    memset(w, 0, sizeof *w);
    w->dx = p->dx;
    w->dy = p->dy;
    w->m = p->n_con;
    w->n = p->dx + p->dy;
    size_t dx = (size_t)p->dx, dy = (size_t)p->dy, m = (size_t)p->n_con, n = dx + dy;
    size_t pv = n > m ? n : m;  /* power-iteration vectors also hold m-vectors */
    size_t total = 2 * dy          /* theta, theta_new */
                   + 4 * m         /* lam, z, lam_new, G */
                   + 4 * dx + 4 * dy  /* xn yn fx fy gx gy tx ty */
                   + 2 * m * n + 2 * m /* M, J, rhs, rownrm */
                   + m + 2 * n     /* mu */
                   + 3 * pv + sv_bl_work_size(p);
    double *b = calloc(total, sizeof *b);
    if (!b)
        return SV_ENOMEM;
    w->theta = b;
    w->theta_new = w->theta + dy;
    w->lam = w->theta_new + dy;
    w->z = w->lam + m;
    w->lam_new = w->z + m;
    w->G = w->lam_new + m;
    w->xn = w->G + m;
    w->yn = w->xn + dx;  /* xn and yn are contiguous: one n-vector where needed */
    w->fx = w->yn + dy;
    w->fy = w->fx + dx;
    w->gx = w->fy + dy;
    w->gy = w->gx + dx;
    w->tx = w->gy + dy;
    w->ty = w->tx + dx;
    w->M = w->ty + dy;
    w->J = w->M + m * n;
    w->rhs = w->J + m * n;
    w->rownrm = w->rhs + m;
    w->mu = w->rownrm + m;
    w->v0 = w->mu + m + 2 * n;
    w->v1 = w->v0 + pv;
    w->v2 = w->v1 + pv;
    w->work = w->v2 + pv;
    return SV_OK;
}

static void ws_free(lvhba_ws *w)
{
    free(w->theta);  /* the head of the one block */
    memset(w, 0, sizeof *w);
}

/* ================================ projection onto C ================================ */

/* Hildreth's method for min |u - v|^2 / 2 subject to the rows a_r'u <= b_r: cyclic exact
 * maximisation of the dual in one multiplier at a time,
 *   mu_r <- max(0, mu_r + (a_r'u - b_r) / |a_r|^2),  u <- u - (change of mu_r) a_r,
 * which converges to the projection for any feasible polyhedron. The rows are the m coupled
 * constraints [A_i B_i] (x, y) <= b_i and the bounds of the boxes of x and y (a_r = +-e_j).
 * u = v - sum_r mu_r a_r holds throughout, so a warm start from the previous multipliers only
 * has to apply them to the new v. Stops when, after a sweep, no row is violated by more than
 * tol and no multiplier moved u by more than tol. It polls L before every sweep and leaves the
 * projection unfinished when the solve must stop. Returns the largest violation left. */
static double project_c(const sv_bl_problem *p, lvhba_ws *w, double *x, double *y, double tol,
                        long max_sweeps, long *sweeps, sv_loop *L)
{
    const int dx = w->dx, dy = w->dy, m = w->m;
    double *mub = w->mu + m;  /* box multipliers: [upper x | upper y | lower x | lower y] */
    const int n = w->n;
    /* apply the warm-start multipliers */
    for (int i = 0; i < m; i++) {
        if (w->mu[i] > 0) {
            const double *a = w->M + (size_t)i * n;
            sv_axpy(dx, -w->mu[i], a, x);
            sv_axpy(dy, -w->mu[i], a + dx, y);
        }
    }
    for (int j = 0; j < n; j++) {
        double *u = j < dx ? &x[j] : &y[j - dx];
        *u -= mub[j];       /* upper bound row: a = +e_j */
        *u += mub[n + j];   /* lower bound row: a = -e_j */
    }
    long s = 0;
    double viol = 0.0;
    for (; s < max_sweeps && !sv_loop_poll(L); s++) {
        double moved = 0.0;
        viol = 0.0;
        for (int i = 0; i < m; i++) {
            if (!(w->rownrm[i] > 0))
                continue;
            const double *a = w->M + (size_t)i * n;
            double r = sv_dot(dx, a, x) + sv_dot(dy, a + dx, y) - w->rhs[i];
            viol = fmax(viol, r);
            double nm = fmax(0.0, w->mu[i] + r / w->rownrm[i]);
            double d = nm - w->mu[i];
            if (d != 0.0) {
                sv_axpy(dx, -d, a, x);
                sv_axpy(dy, -d, a + dx, y);
                w->mu[i] = nm;
                moved = fmax(moved, fabs(d) * sqrt(w->rownrm[i]));
            }
        }
        for (int j = 0; j < n; j++) {
            const double *hi = j < dx ? p->x_hi : p->y_hi;
            const double *lo = j < dx ? p->x_lo : p->y_lo;
            int jj = j < dx ? j : j - dx;
            double *u = j < dx ? &x[jj] : &y[jj];
            if (hi) {
                double r = *u - hi[jj];
                viol = fmax(viol, r);
                double nm = fmax(0.0, mub[j] + r);
                double d = nm - mub[j];
                if (d != 0.0) {
                    *u -= d;
                    mub[j] = nm;
                    moved = fmax(moved, fabs(d));
                }
            }
            if (lo) {
                double r = lo[jj] - *u;
                viol = fmax(viol, r);
                double nm = fmax(0.0, mub[n + j] + r);
                double d = nm - mub[n + j];
                if (d != 0.0) {
                    *u += d;
                    mub[n + j] = nm;
                    moved = fmax(moved, fabs(d));
                }
            }
        }
        if (viol <= tol && moved <= tol) {
            s++;
            break;
        }
        /* Without coupled rows one sweep is the exact box projection. */
        if (m == 0) {
            s++;
            break;
        }
    }
    if (m == 0) {
        /* the box projection is exact: clear rounding of the bound rows */
        sv_project_box(dx, p->x_lo, p->x_hi, x);
        sv_project_box(dy, p->y_lo, p->y_hi, y);
    }
    if (sweeps)
        *sweeps = s;
    return max_violation(p, w, x, y);
}

static double box_violation(int n, const double *v, const double *lo, const double *hi)
{
    double viol = 0.0;
    for (int j = 0; j < n; j++) {
        if (lo)
            viol = fmax(viol, lo[j] - v[j]);
        if (hi)
            viol = fmax(viol, v[j] - hi[j]);
    }
    return viol;
}

/* max(0, max_i G_i(x, y), box violations), G computed from the stored rows. */
static double max_violation(const sv_bl_problem *p, lvhba_ws *w, const double *x,
                            const double *y)
{
    double viol = fmax(box_violation(w->dx, x, p->x_lo, p->x_hi),
                       box_violation(w->dy, y, p->y_lo, p->y_hi));
    for (int i = 0; i < w->m; i++) {
        const double *a = w->M + (size_t)i * w->n;
        viol = fmax(viol, sv_dot(w->dx, a, x) + sv_dot(w->dy, a + w->dx, y) - w->rhs[i]);
    }
    return fmax(viol, 0.0);
}

/* ================================ smoothness estimates ================================ */

static void random_unit(int n, sv_rng *rng, double *v)
{
    for (int j = 0; j < n; j++)
        v[j] = sv_rng_normal(rng);
    double nr = sv_nrm2(n, v);
    sv_scal(n, nr > 0 ? 1.0 / nr : 1.0, v);
}

/* out (n) = the gradient of f (upper != 0) or g in (x, y) at wv = (x, y). */
static void full_grad(const sv_bl_problem *p, int upper, const double *wv, double *out,
                      lvhba_ws *w)
{
    const double *x = wv, *y = wv + w->dx;
    if (upper)
        sv_bl_upper(p, x, y, NULL, out, out + w->dx, w->work);
    else
        sv_bl_lower(p, x, y, NULL, out, out + w->dx, w->work);
}

/* Largest |eigenvalue| of the Hessian of f or g in (x, y) at (x, y), by power iteration on
 * finite differences of the gradient: the Lipschitz constant of the gradient there. */
static double smoothness_fd(const sv_bl_problem *p, int upper, const double *x, const double *y,
                            sv_rng *rng, lvhba_ws *w)
{
    const int n = w->n;
    double *base = w->v0, *v = w->v1, *g1 = w->v2;
    /* g0 is kept in xn|yn (contiguous: yn follows xn) */
    double *g0 = w->xn;
    sv_copy(w->dx, x, base);
    sv_copy(w->dy, y, base + w->dx);
    full_grad(p, upper, base, g0, w);
    double h = LVHBA_FD_STEP * fmax(1.0, sv_nrm2(n, base));
    random_unit(n, rng, v);
    double est = 0.0;
    for (int it = 0; it < LVHBA_POWER_ITER; it++) {
        sv_axpy(n, h, v, base);
        full_grad(p, upper, base, g1, w);
        sv_axpy(n, -h, v, base);
        sv_axpy(n, -1.0, g0, g1);
        sv_scal(n, 1.0 / h, g1);
        double nr = sv_nrm2(n, g1);
        if (!(nr > 0) || !isfinite(nr))
            break;
        est = nr;
        sv_copy(n, g1, v);
        sv_scal(n, 1.0 / nr, v);
    }
    return est;
}

/* The spectral norm of one block of the Hessian of f (upper != 0) or g in (x, y) at (x, y),
 * by power iteration on finite differences of the gradient: rows of block `to`, columns of
 * block `from` (0: x, 1: y). A diagonal block is symmetric (plain power iteration); the cross
 * block H_yx alternates with its transpose H_xy (the Hessian is symmetric), two gradients an
 * iteration. Uses v0 (the base point), v1 (the direction), v2 and xn|yn (gradients). */
static double block_norm_fd(const sv_bl_problem *p, int upper, const double *x, const double *y,
                            int from, int to, sv_rng *rng, lvhba_ws *w)
{
    const int n = w->n, dx = w->dx;
    double *base = w->v0, *v = w->v1, *g1 = w->v2, *g0 = w->xn;
    sv_copy(dx, x, base);
    sv_copy(w->dy, y, base + dx);
    full_grad(p, upper, base, g0, w);
    const double h = LVHBA_FD_STEP * fmax(1.0, sv_nrm2(n, base));
    int cur = from;  /* the block v lives in */
    random_unit(cur ? w->dy : dx, rng, v);
    double est = 0.0;
    const int rounds = from == to ? LVHBA_POWER_ITER : 2 * LVHBA_POWER_ITER;
    for (int it = 0; it < rounds; it++) {
        const int nc = cur ? w->dy : dx, oc = cur ? dx : 0;
        const int dst = from == to ? cur : !cur, nd = dst ? w->dy : dx, od = dst ? dx : 0;
        sv_axpy(nc, h, v, base + oc);
        full_grad(p, upper, base, g1, w);
        sv_axpy(nc, -h, v, base + oc);
        for (int j = 0; j < nd; j++)
            v[j] = (g1[od + j] - g0[od + j]) / h;
        double nr = sv_nrm2(nd, v);
        if (!(nr > 0) || !isfinite(nr))
            break;
        if (dst == to)
            est = nr;  /* |H_{to,from} v| for a unit v of the from block */
        sv_scal(nd, 1.0 / nr, v);
        cur = dst;
    }
    return est;
}

/* Largest eigenvalue of grad^2_yy g at (x, y), by power iteration on the class's HVP. */
static double smoothness_gyy(const sv_bl_problem *p, const double *x, const double *y,
                             sv_rng *rng, lvhba_ws *w)
{
    const int dy = w->dy;
    double *v = w->v0, *hv = w->v1;
    random_unit(dy, rng, v);
    double est = 0.0;
    for (int it = 0; it < LVHBA_POWER_ITER; it++) {
        sv_bl_hvp_yy(p, x, y, v, NULL, hv, w->work);
        double nr = sv_nrm2(dy, hv);
        if (!(nr > 0) || !isfinite(nr))
            break;
        est = nr;
        sv_copy(dy, hv, v);
        sv_scal(dy, 1.0 / nr, v);
    }
    return est;
}

/* Spectral norm of the constraints' y-Jacobian B (the y-columns of M). */
static double jy_norm(const lvhba_ws *w, sv_rng *rng)
{
    const int m = w->m, dx = w->dx, dy = w->dy, n = w->n;
    if (m == 0)
        return 0.0;
    double *v = w->v0, *u = w->v1;
    random_unit(dy, rng, v);
    double est = 0.0;
    for (int it = 0; it < 100; it++) {
        for (int i = 0; i < m; i++)
            u[i] = sv_dot(dy, w->M + (size_t)i * n + dx, v);
        double *bt = w->v2;
        sv_zero(dy, bt);
        for (int i = 0; i < m; i++)
            sv_axpy(dy, u[i], w->M + (size_t)i * n + dx, bt);
        double nr = sv_nrm2(dy, bt);
        if (!(nr > 0))
            break;
        est = sqrt(nr);
        sv_copy(dy, bt, v);
        sv_scal(dy, 1.0 / nr, v);
    }
    return est;
}

/* ================================ progress ================================ */

/* The metrics of a report (core/control.h), read from the info struct the iteration fills. */
static int metrics(void *ctx, sv_metric *m, int cap)
{
    const lvhba_info *info = ctx;
    if (cap < 5)
        return 0;
    m[0] = (sv_metric){"residual", info->residual};
    m[1] = (sv_metric){"value_gap", info->value_gap};
    m[2] = (sv_metric){"max_violation", info->max_violation};
    m[3] = (sv_metric){"ck", info->ck};
    m[4] = (sv_metric){"grad_evals", (double)info->grad_evals};
    return 5;
}

/* ================================ solve ================================ */

int lvhba_solve(const sv_bl_problem *p, const lvhba_settings *s, const sv_monitor *mon,
                double *x, double *y, double *z, lvhba_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->residual = info->value_gap = NAN;
    info->max_violation = info->ck = info->alpha = info->alpha_x = info->beta = info->eta = NAN;
    info->L_f = info->L_g = info->L_gy = NAN;
    info->F_exact = info->hypergrad_norm = info->lower_error = NAN;

    int rc = check_problem(p, e);
    if (rc != SV_OK)
        return rc;
    if ((rc = lvhba_check_settings(s, e)) != SV_OK)
        return rc;
    if (!x || !y)
        return sv_fail(e, x ? "/problem/y0" : "/problem/x0", "starting point missing");
    if (!sv_all_finite(p->dx, x))
        return sv_fail(e, "/problem/x0", "must be finite");
    if (!sv_all_finite(p->dy, y))
        return sv_fail(e, "/problem/y0", "must be finite");
    if (z && p->n_con > 0 && !sv_all_finite(p->n_con, z))
        return sv_fail(e, "/problem/z0", "must be finite");

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, info);
    lvhba_ws w;
    if (ws_alloc(&w, p) != SV_OK)
        return SV_ENOMEM;
    const int dx = w.dx, dy = w.dy, m = w.m, n = w.n;
    const double g1 = s->gamma1, g2 = s->gamma2;
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);

    /* ---- the constraint rows [A B] and b, read once (the constraints are linear) ---- */
    if (m > 0) {
        /* the oracle writes A and B as separate blocks; M interleaves them row by row */
        double *Jx = w.J, *Jy = w.J + (size_t)m * dx;
        sv_bl_constraints(p, x, y, w.G, Jx, Jy);
        for (int i = 0; i < m; i++) {
            double *row = w.M + (size_t)i * n;
            sv_copy(dx, Jx + (size_t)i * dx, row);
            sv_copy(dy, Jy + (size_t)i * dy, row + dx);
            w.rhs[i] = sv_dot(dx, row, x) + sv_dot(dy, row + dx, y) - w.G[i];
            w.rownrm[i] = sv_dot(n, row, row);
        }
    }

    /* ---- a feasible start ---- */
    long sweeps = 0;
    /* unpolled (set-up, bounded by proj_max_sweeps), so that every returned point is feasible */
    double viol = project_c(p, &w, x, y, s->proj_tol, s->proj_max_sweeps, &sweeps, NULL);
    info->proj_sweeps += sweeps;
    double bscale = 1.0;
    for (int i = 0; i < m; i++)
        bscale = fmax(bscale, fabs(w.rhs[i]));
    if (!(viol <= 1e-6 * bscale)) {
        /* an outcome, not a failure, found before the first iteration: no report, as before */
        info->max_violation = viol;
        info->base.status = SV_INFEASIBLE;
        info->base.solve_time_s = sv_loop_elapsed(&L);
        ws_free(&w);
        return SV_OK;
    }
    sv_copy(dy, y, w.theta);
    for (int i = 0; z && i < m; i++)
        w.z[i] = w.lam[i] = fmin(fmax(z[i], 0.0), s->z_max);

    /* ---- steps ---- */
    info->alpha = s->alpha;
    info->beta = s->beta;
    info->eta = s->eta;
    if (isnan(s->eta)) {
        double Lgy = sv_bl_lower_L(p, x);
        if (!(isfinite(Lgy) && Lgy > 0))
            Lgy = smoothness_gyy(p, x, y, &rng, &w);
        info->L_gy = Lgy;
        info->eta = s->step_factor / (Lgy + 1.0 / g1 + (m > 0 ? 1.0 / g2 + jy_norm(&w, &rng) : 0));
    }
    info->alpha_x = s->alpha;
    if (isnan(s->alpha)) {
        info->L_f = smoothness_fd(p, 1, x, y, &rng, &w);
        info->L_g = smoothness_fd(p, 0, x, y, &rng, &w);
        info->alpha = s->step_factor / (info->L_f / s->c0 + 2.0 * info->L_g + 2.0 / g1);
        info->alpha_x = info->alpha;
        info->grad_evals += 2 * (LVHBA_POWER_ITER + 1);
        if (m == 0) {
            /* No coupled rows: C is a box (separable), so each block may take its own step
             * (a diagonal scaling keeps the fixed points of the projected step). The same
             * bound as above per block row, with the cross block added (block Gershgorin:
             * the scaled Hessian then has norm at most step_factor): */
            double Lb[2][3];  /* [f, g][xx, yy, xy] */
            for (int u = 0; u < 2; u++) {
                Lb[u][0] = block_norm_fd(p, !u, x, y, 0, 0, &rng, &w);
                Lb[u][1] = block_norm_fd(p, !u, x, y, 1, 1, &rng, &w);
                Lb[u][2] = block_norm_fd(p, !u, x, y, 1, 0, &rng, &w);
            }
            info->grad_evals += 2 * (4 * LVHBA_POWER_ITER + 3);
            const double c0 = s->c0;
            double Lxx = Lb[0][0] / c0 + 2.0 * Lb[1][0];
            double Lyy = Lb[0][1] / c0 + 2.0 * Lb[1][1] + 2.0 / g1;
            double Lxy = Lb[0][2] / c0 + 2.0 * Lb[1][2];
            double ax = s->step_factor / (Lxx + Lxy), ay = s->step_factor / (Lyy + Lxy);
            /* The x block's curvature at the start must be measurable: where it is at the
             * level of the differences' rounding (hyperparam from y0 = 0, where the ridge
             * term exp(x)|y|^2/2 is flat in x) it says nothing about the curvature a step
             * later, and the joint step stays. */
            if (isfinite(ax) && isfinite(ay) && ay > 0 &&
                Lxx + Lxy > LVHBA_BLOCK_MIN_CURV * (Lyy + Lxy)) {
                info->alpha = ay;
                info->alpha_x = ax;
            }
        }
    }
    if (isnan(s->beta))
        info->beta = s->step_factor * g2;
    const double alpha = info->alpha, alpha_x = info->alpha_x, beta = info->beta,
                 eta = info->eta;
    if (!(isfinite(alpha) && alpha > 0 && isfinite(alpha_x) && alpha_x > 0 && isfinite(eta) &&
          eta > 0)) {
        ws_free(&w);
        sv_fail(e, isfinite(alpha) && alpha > 0 ? "/params/eta" : "/params/alpha",
                "the automatic step came out as %g; give the step", isfinite(alpha) ? eta : alpha);
        return sv_loop_fail(&L, &info->base, 0, SV_ENUMERIC);
    }

    /* ---- iterations ---- */
    long k = 0;
    double fval = NAN;
    for (;;) {
        const double ck = s->c0 * pow((double)(k + 1), s->p);
        info->ck = ck;

        /* (theta, lambda): one projected gradient step on the proximal Lagrangian */
        sv_bl_lower(p, x, w.theta, NULL, NULL, w.ty, w.work);
        info->grad_evals++;
        if (m > 0)
            sv_bl_constraints(p, x, w.theta, w.G, NULL, NULL);
        for (int j = 0; j < dy; j++)
            w.theta_new[j] = w.theta[j] - eta * (w.ty[j] + (w.theta[j] - y[j]) / g1);
        for (int i = 0; i < m; i++) {
            const double *bi = w.M + (size_t)i * n + dx;
            sv_axpy(dy, -eta * w.lam[i], bi, w.theta_new);
            double lnew = w.lam[i] - eta * (-w.G[i] + (w.lam[i] - w.z[i]) / g2);
            w.lam_new[i] = fmin(fmax(lnew, 0.0), s->z_max);
        }
        sv_bl_project_y(p, w.theta_new);

        /* (x, y, z): one projected gradient step on f/c_k + g - v */
        double gth = sv_bl_lower(p, x, w.theta_new, NULL, w.tx, NULL, w.work);
        fval = sv_bl_upper(p, x, y, NULL, w.fx, w.fy, w.work);
        double gval = sv_bl_lower(p, x, y, NULL, w.gx, w.gy, w.work);
        info->grad_evals += 3;

        /* v at the current inner pair: the reformulation's gap g - v (>= 0 near the solution
         * when the inner pair is accurate) */
        double vv = gth;
        if (m > 0) {
            sv_bl_constraints(p, x, w.theta_new, w.G, NULL, NULL);
            vv += sv_dot(m, w.lam_new, w.G);
        }
        double dth = 0.0, dl = 0.0;
        for (int j = 0; j < dy; j++) {
            double d = w.theta_new[j] - y[j];
            dth += d * d;
        }
        for (int i = 0; i < m; i++) {
            double d = w.lam_new[i] - w.z[i];
            dl += d * d;
        }
        vv += dth / (2 * g1) - dl / (2 * g2);
        info->value_gap = gval - vv;

        for (int j = 0; j < dx; j++)
            w.xn[j] = x[j] - alpha_x * (w.fx[j] / ck + w.gx[j] - w.tx[j]);
        for (int i = 0; i < m; i++)
            sv_axpy(dx, alpha_x * w.lam_new[i], w.M + (size_t)i * n, w.xn);
        for (int j = 0; j < dy; j++)
            w.yn[j] = y[j] - alpha * (w.fy[j] / ck + w.gy[j] - (y[j] - w.theta_new[j]) / g1);
        viol = project_c(p, &w, w.xn, w.yn, s->proj_tol, s->proj_max_sweeps, &sweeps, &L);
        info->proj_sweeps += sweeps;
        if (sv_loop_stopped(&L))
            break;  /* stopped inside the projection: the step is abandoned, (x, y) stays */

        /* residual of the whole step, before moving */
        double rxy = 0.0, rx = 0.0, rz = 0.0, rin = 0.0;
        for (int j = 0; j < dx; j++)
            rx += (w.xn[j] - x[j]) * (w.xn[j] - x[j]);
        /* per block steps: the step of each block over its own step size */
        const double sx = alpha_x == alpha ? 1.0 : alpha / alpha_x;
        rxy = sx == 1.0 ? rx : rx * sx * sx;
        for (int j = 0; j < dy; j++) {
            rxy += (w.yn[j] - y[j]) * (w.yn[j] - y[j]);
            rin += (w.theta_new[j] - w.theta[j]) * (w.theta_new[j] - w.theta[j]);
        }
        for (int i = 0; i < m; i++) {
            double zn = fmin(fmax(w.z[i] - beta * (w.z[i] - w.lam_new[i]) / g2, 0.0), s->z_max);
            rz += (zn - w.z[i]) * (zn - w.z[i]);
            rin += (w.lam_new[i] - w.lam[i]) * (w.lam_new[i] - w.lam[i]);
            w.z[i] = zn;
        }
        double res = sqrt(rxy) / alpha + (m > 0 ? sqrt(rz) / beta : 0.0) + sqrt(rin) / eta;
        info->residual = res;
        info->max_violation = max_violation(p, &w, x, y);

        /* the iteration's tests, at the point (x, y) the step started from: diverged, solved,
         * report, max_iter, time limit, cancel (core/control.h) */
        int diverged = !isfinite(fval) || !isfinite(res) || !sv_all_finite(dx, w.xn) ||
                       !sv_all_finite(dy, w.yn) || sv_nrm2(dx, w.xn) > LVHBA_DIVERGENCE_NORM ||
                       sv_nrm2(dy, w.yn) > LVHBA_DIVERGENCE_NORM;
        if (sv_loop_check(&L, k, fval, diverged, res <= s->ctl.tol))
            break;
        /* move */
        sv_copy(dx, w.xn, x);
        sv_copy(dy, w.yn, y);
        sv_copy(dy, w.theta_new, w.theta);
        if (m > 0)
            sv_copy(m, w.lam_new, w.lam);
        k++;
    }

    if (z && m > 0)
        sv_copy(m, w.z, z);
    info->max_violation = max_violation(p, &w, x, y);
    /* "objective" (reports and result) is fval: f(x, y) at the returned iterate, computed by
     * the iteration that started there (also when a stop abandoned its step) */

    /* ---- the true upper objective at the returned x, for F_exact, hypergrad_norm and
     * lower_error: after a cancel or a time limit too, without the loop (which has said stop),
     * bounded by sv_bl_evaluate's own limits ---- */
    if (L.status != SV_DIVERGED) {
        double *ys = w.yn, *hg = w.xn, F = NAN;
        sv_copy(dy, y, ys);
        if (sv_bl_evaluate(p, x, ys, s->final_tol, &F, hg, w.work, NULL) == SV_OK) {
            info->F_exact = F;
            /* projected hypergradient step |x - P_X(x - grad F)| (the norm when X = R^dx) */
            for (int j = 0; j < dx; j++)
                w.fx[j] = x[j] - hg[j];
            sv_project_box(dx, p->x_lo, p->x_hi, w.fx);
            double sq = 0.0;
            for (int j = 0; j < dx; j++)
                sq += (x[j] - w.fx[j]) * (x[j] - w.fx[j]);
            info->hypergrad_norm = sqrt(sq);
            double le = 0.0;
            for (int j = 0; j < dy; j++)
                le += (y[j] - ys[j]) * (y[j] - ys[j]);
            info->lower_error = sqrt(le);
        }
    }
    sv_loop_end(&L, &info->base, k, fval, info->residual);
    ws_free(&w);
    return SV_OK;
}
