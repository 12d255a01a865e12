/* inexact.c - MAID (Salehi, Mukherjee, Roberts, Ehrhardt), Algorithms 3.1 and 3.2, on the
 * sv_bl_problem interface.
 *
 * Iteration k at x_k with accuracies (eps_k, delta_k) and trial step alpha_k:
 *   Alg. 3.2  y~ with |grad_y g(x_k, y~)| <= mu eps_k, q~ by CG with residual <= mu delta_k,
 *             z_k = grad_x f - grad^2_xy g q~; while the a-posteriori bound omega(eps, delta)
 *             on |z_k - grad F(x_k)| exceeds (1 - eta)|z_k|: eps, delta *= nu and again.
 *   Alg. 3.1  backtracking over alpha = alpha_k rho^i, i < budget: solve the lower level at
 *             x+ = P(x_k - alpha z_k) to eps_k and accept when
 *                 U(x+) - L(x_k) <= -armijo |x+ - x_k|^2 / alpha      (= -armijo alpha |z|^2)
 *             with U = f(x, y~) + |grad_y f| eps + L_f eps^2 / 2 and L = f - |grad_y f| eps -
 *             L_f eps^2 / 2 (without the last term when f is convex in y): an upper bound of F at
 *             the trial point and a lower bound at the current one, so an accepted step
 *             decreases the true F by at least armijo alpha |z|^2. On success: alpha *= rho_bar,
 *             eps, delta *= nu_bar. On failure: eps, delta *= nu, one more trial in the budget,
 *             and Alg. 3.2 again at the same x_k.
 * Accuracies are certified from residuals (|y~ - y*| <= |grad_y g| / mu, |q~ - q| <= |r| / mu),
 * and the bounds use the certified values, which are never looser than the targets. */
#include "core/solvers/bilevel/inexact.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int dx, dy;
    double *yt;           /* dy: lower solution at the trial point */
    double *q, *r, *d, *Hd;  /* dy: the linear solve (q kept as warm start) */
    double *fy, *fyt;     /* dy: grad_y f at (x, y~) and at the trial */
    double *ag_prev, *ag_w, *ag_g, *ag_best;  /* dy: accelerated gradient */
    double *u, *v, *t1, *t2, *ys;  /* dy: estimates */
    double *fx, *z, *xt, *hb, *bx, *bt, *xs;  /* dx */
    double *work;         /* sv_bl_work_size(p) */
    sv_rng rng;
} mi_ws;

/* Estimated or given constants of the error bound. */
typedef struct {
    double mu;            /* lower strong convexity at the current x */
    double Lf;            /* smoothness of f(x, .) */
    double LA, LB, Lfx;   /* Lipschitz constants in y of grad^2_yy g, grad^2_xy g, grad_x f */
    double LA_raw, LB_raw, Lfx_raw;  /* running maxima of the probes */
    double Bn;            /* |grad^2_xy g| (power iteration, running maximum) */
    int est_LA, est_LB, est_Lf;  /* 1: estimated */
} mi_consts;

static int check_problem(const sv_bl_problem *p, sv_err *e);
static int ws_alloc(mi_ws *w, const sv_bl_problem *p);
static void ws_free(mi_ws *w);
static double lower_solve(const sv_bl_problem *p, const inexact_settings *s, const double *x,
                          double *y, double eps, double mu, mi_ws *w, inexact_info *info,
                          sv_loop *loop);
static double cg_solve(const sv_bl_problem *p, const double *x, const double *y,
                       const double *rhs, double *q, double target, long max_iter, mi_ws *w,
                       inexact_info *info, sv_loop *L);
static double estimate_upper_L(const sv_bl_problem *p, const double *x, const double *y,
                               mi_ws *w);
static double power_step_b(const sv_bl_problem *p, const double *x, const double *y, mi_ws *w);
static void probe_lipschitz(const sv_bl_problem *p, const double *x, const double *y,
                            const double *fx, mi_consts *c, mi_ws *w);
static double error_bound(const mi_consts *c, double eps, double delta, double gy);
static double proj_step_norm(const sv_bl_problem *p, const double *x, const double *z,
                             double scale, double *out);
static void random_unit(int n, sv_rng *rng, double *v);
static int metrics(void *ctx, sv_metric *mt, int cap);

/* ================================ settings ================================ */

static const char *const lower_choices[] = {"agd", "newton", NULL};

/* The largest double below 1: the open upper end of (0, 1) ranges. */
#define BELOW_ONE 0x1.fffffffffffffp-1

const sv_param_spec inexact_params[] = {
    SV_P_NUMBER_GT(inexact_settings, eps0, 0, INFINITY, INEXACT_DEFAULT_EPS0,
                   "starting lower-level accuracy epsilon_0: |y - y*(x)| certified by "
                   "|grad_y g| / mu"),
    SV_P_NUMBER_GT(inexact_settings, delta0, 0, INFINITY, INEXACT_DEFAULT_DELTA0,
                   "starting accuracy delta_0 of the linear solve inside the hypergradient"),
    SV_P_NUMBER_GT(inexact_settings, alpha0, 0, INFINITY, NAN,
                   "first trial step; null: 1 / |z_0| (a first step of length 1)"),
    SV_P_NUMBER_GT(inexact_settings, rho, 0, BELOW_ONE, INEXACT_DEFAULT_RHO,
                   "backtracking factor in (0, 1)"),
    SV_P_NUMBER(inexact_settings, rho_bar, 1, 100, INEXACT_DEFAULT_RHO_BAR,
                "step increase after an accepted step (>= 1)"),
    SV_P_NUMBER_GT(inexact_settings, nu, 0, BELOW_ONE, INEXACT_DEFAULT_NU,
                   "accuracy tightening factor in (0, 1) when the descent test or the line "
                   "search fails"),
    SV_P_NUMBER(inexact_settings, nu_bar, 1, 100, INEXACT_DEFAULT_NU_BAR,
                "accuracy loosening factor after an accepted step (>= 1)"),
    SV_P_NUMBER_GT(inexact_settings, eta, 0, BELOW_ONE, INEXACT_DEFAULT_ETA,
                   "descent test of Algorithm 3.2: the error bound omega must be <= "
                   "(1 - eta)|z|"),
    SV_P_NUMBER_GT(inexact_settings, armijo, 0, BELOW_ONE, INEXACT_DEFAULT_ARMIJO,
                   "certified sufficient decrease armijo * alpha * |z|^2, below eta"),
    SV_P_INT(inexact_settings, max_bt, 1, 1000, INEXACT_DEFAULT_MAX_BT,
             "line-search trials at first; one more after each failure in the same iteration"),
    SV_P_INT(inexact_settings, max_refine, 1, 10000, INEXACT_DEFAULT_MAX_REFINE,
             "accuracy tightenings allowed in one iteration"),
    SV_P_NUMBER_GT(inexact_settings, eps_min, 0, INFINITY, INEXACT_DEFAULT_EPS_MIN,
                   "floor of epsilon and delta; the solve stops when no step can be certified "
                   "there"),
    SV_P_BOOL(inexact_settings, descent_check, 1,
              "run Algorithm 3.2's test with the a-posteriori error bound (constants estimated "
              "by finite differences unless given)"),
    SV_P_BOOL(inexact_settings, upper_convex, 0,
              "f(x, .) is convex in y: the tighter lower bound of the paper's remark"),
    SV_P_ENUM(inexact_settings, lower_solver, lower_choices, INEXACT_DEFAULT_LOWER,
              "agd: accelerated gradient descent with the class's mu and L; newton: the class's "
              "own solver or Newton-CG"),
    SV_P_INT(inexact_settings, lower_max_iter, 1, 1e9, INEXACT_DEFAULT_LOWER_MAX_ITER,
             "iterations of one lower-level solve"),
    SV_P_INT(inexact_settings, cg_max_iter, 1, 1e9, INEXACT_DEFAULT_CG_MAX_ITER,
             "iterations of one conjugate-gradient solve"),
    SV_P_NUMBER(inexact_settings, upper_L, 0, INFINITY, NAN,
                "smoothness of f(x, .) in y; null: estimated at the start"),
    SV_P_NUMBER(inexact_settings, lip_hyy, 0, INFINITY, NAN,
                "Lipschitz constant in y of the lower Hessian grad^2_yy g; null: estimated"),
    SV_P_NUMBER(inexact_settings, lip_hxy, 0, INFINITY, NAN,
                "Lipschitz constant in y of the cross Hessian grad^2_xy g; null: estimated"),
    SV_CONTROL_PARAMS(inexact_settings, ctl, INEXACT_DEFAULT_TOL,
                      "stop when the inexact hypergradient's norm (projected step with a box) "
                      "is <= tol",
                      INEXACT_DEFAULT_MAX_ITER, INEXACT_DEFAULT_REPORT_EVERY),
    SV_P_NUMBER_GT(inexact_settings, final_tol, 0, INFINITY, INEXACT_DEFAULT_FINAL_TOL,
                   "lower residual of the closing exact solve behind lower_error (and the core's "
                   "F_exact, hypergrad_norm)"),
    SV_P_SEED(inexact_settings, seed, INEXACT_DEFAULT_SEED,
              "seed of the random directions of the constant estimates"),
    SV_PARAMS_END,
};

void inexact_settings_default(inexact_settings *s)
{
    sv_params_defaults(inexact_params, s);
}

int inexact_check_settings(const inexact_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(inexact_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    if (!(s->armijo < s->eta))
        return sv_fail(e, "/params/armijo", "must be below eta (%g): the paper's 0 < lambda < "
                       "eta", s->eta);
    if (s->eps_min > s->eps0 || s->eps_min > s->delta0)
        return sv_fail(e, "/params/eps_min", "must be at most eps0 (%g) and delta0 (%g)",
                       s->eps0, s->delta0);
    return SV_OK;
}

/* ================================ validation ================================ */

static int check_problem(const sv_bl_problem *p, sv_err *e)
{
    if (!p || !p->ops)
        return sv_fail(e, "/problem", "problem missing");
    const sv_bl_ops *o = p->ops;
    if (!o->upper || !o->lower || !o->hvp_yy || !o->hvp_xy || !o->lower_mu)
        return sv_fail(e, "/problem", "the problem class lacks an oracle MAID needs (values, "
                       "gradients, Hessian-vector products, lower_mu)");
    if (p->dx < 1 || p->dy < 1)
        return sv_fail(e, "/problem", "dimensions must be >= 1 (dx %d, dy %d)", p->dx, p->dy);
    if (p->n_con != 0 || p->y_lo || p->y_hi)
        return sv_fail(e, "/problem", "bilevel.inexact needs an unconstrained lower level; the "
                       "constrained class is for bilevel.lvhba");
    for (int j = 0; j < p->dx; j++) {
        double l = p->x_lo ? p->x_lo[j] : -INFINITY, h = p->x_hi ? p->x_hi[j] : INFINITY;
        if (isnan(l) || isnan(h) || l > h || l == INFINITY || h == -INFINITY)
            return sv_fail(e, "/problem/x_lo", "entry %d: the box [%g, %g] of x is empty", j, l,
                           h);
    }
    return SV_OK;
}

/* ================================ workspace ================================ */

static int ws_alloc(mi_ws *w, const sv_bl_problem *p)
{
    memset(w, 0, sizeof *w);
    w->dx = p->dx;
    w->dy = p->dy;
    size_t dx = (size_t)p->dx, dy = (size_t)p->dy;
    size_t total = 16 * dy + 7 * dx + sv_bl_work_size(p);
    double *b = calloc(total, sizeof *b);
    if (!b)
        return SV_ENOMEM;
    double *c = b;
    double **dys[] = {&w->yt, &w->q, &w->r, &w->d, &w->Hd, &w->fy, &w->fyt, &w->ag_prev,
                      &w->ag_w, &w->ag_g, &w->ag_best, &w->u, &w->v, &w->t1, &w->t2, &w->ys};
    for (size_t i = 0; i < sizeof dys / sizeof dys[0]; i++, c += dy)
        *dys[i] = c;
    double **dxs[] = {&w->fx, &w->z, &w->xt, &w->hb, &w->bx, &w->bt, &w->xs};
    for (size_t i = 0; i < sizeof dxs / sizeof dxs[0]; i++, c += dx)
        *dxs[i] = c;
    w->work = c;
    return SV_OK;
}

static void ws_free(mi_ws *w)
{
    free(w->yt);  /* the head of the one block */
    memset(w, 0, sizeof *w);
}

/* ================================ inner solvers ================================ */

/* Largest eigenvalue of grad^2_yy g(x, y) by power iteration (for AGD when the class gives no
 * smoothness constant). */
static double lower_L_power(const sv_bl_problem *p, const double *x, const double *y, mi_ws *w)
{
    random_unit(w->dy, &w->rng, w->t1);
    double est = 0.0;
    for (int it = 0; it < INEXACT_POWER_ITER; it++) {
        sv_bl_hvp_yy(p, x, y, w->t1, NULL, w->t2, w->work);
        double nr = sv_nrm2(w->dy, w->t2);
        if (!(nr > 0) || !isfinite(nr))
            break;
        est = nr;
        sv_copy(w->dy, w->t2, w->t1);
        sv_scal(w->dy, 1.0 / nr, w->t1);
    }
    return est;
}

/* Solves the lower level at x from y (in: warm start, out: the point reached) until
 * |grad_y g| <= mu eps, and returns the certified accuracy |grad_y g(x, y)| / mu. AGD is
 * Nesterov's method for mu-strongly convex, L-smooth functions (momentum (sqrt(kappa) - 1) /
 * (sqrt(kappa) + 1)), stopped at the first gradient point that meets the target; if the budget
 * runs out, the point with the smallest gradient seen is returned. It polls the loop at every
 * step and returns early (the best point so far, its honest accuracy) when the solve must stop. */
static double lower_solve(const sv_bl_problem *p, const inexact_settings *s, const double *x,
                          double *y, double eps, double mu, mi_ws *w, inexact_info *info,
                          sv_loop *loop)
{
    const int n = w->dy;
    const double target = mu * eps;
    if (s->lower_solver == INEXACT_LOWER_NEWTON) {
        int it = s->lower_max_iter > 1000000 ? 1000000 : (int)s->lower_max_iter;
        double res = sv_bl_solve_lower(p, x, y, target, it, w->work, loop);
        info->lower_grads++;
        return res / mu;
    }
    double L = sv_bl_lower_L(p, x);
    if (!(isfinite(L) && L > 0))
        L = INEXACT_EST_SAFETY * lower_L_power(p, x, y, w);
    if (!(L >= mu))
        L = mu;
    double sk = sqrt(L / mu);
    double beta = (sk - 1.0) / (sk + 1.0);
    sv_copy(n, y, w->ag_prev);
    sv_copy(n, y, w->ag_w);
    double best = INFINITY;
    for (long it = 0; it < s->lower_max_iter && !sv_loop_poll(loop); it++) {
        sv_bl_lower(p, x, w->ag_w, NULL, NULL, w->ag_g, w->work);
        info->lower_grads++;
        double gn = sv_nrm2(n, w->ag_g);
        if (!isfinite(gn))
            break;
        if (gn < best) {
            best = gn;
            sv_copy(n, w->ag_w, w->ag_best);
        }
        if (gn <= target)
            break;
        /* y_new = w - grad / L, kept in ag_g; then w = y_new + beta (y_new - y_prev) */
        sv_scal(n, -1.0 / L, w->ag_g);
        sv_axpy(n, 1.0, w->ag_w, w->ag_g);
        for (int j = 0; j < n; j++) {
            double yn = w->ag_g[j];
            w->ag_w[j] = yn + beta * (yn - w->ag_prev[j]);
            w->ag_prev[j] = yn;
        }
    }
    if (isfinite(best))
        sv_copy(n, w->ag_best, y);
    return best / mu;
}

/* Conjugate gradients on grad^2_yy g(x, y) q = rhs from the warm start q until |r| <= target,
 * polling L at every step (a stop leaves q where it is). Returns |r| (recomputed from the
 * operator at the end, not the recursion). */
static double cg_solve(const sv_bl_problem *p, const double *x, const double *y,
                       const double *rhs, double *q, double target, long max_iter, mi_ws *w,
                       inexact_info *info, sv_loop *L)
{
    const int n = w->dy;
    if (!sv_all_finite(n, q))
        sv_zero(n, q);
    sv_bl_hvp_yy(p, x, y, q, NULL, w->Hd, w->work);
    info->hvps++;
    for (int j = 0; j < n; j++)
        w->r[j] = rhs[j] - w->Hd[j];
    double rr = sv_dot(n, w->r, w->r);
    sv_copy(n, w->r, w->d);
    for (long it = 0; it < max_iter && sqrt(rr) > target && !sv_loop_poll(L); it++) {
        sv_bl_hvp_yy(p, x, y, w->d, NULL, w->Hd, w->work);
        info->hvps++;
        double dHd = sv_dot(n, w->d, w->Hd);
        if (!(dHd > 0))
            break;
        double a = rr / dHd;
        sv_axpy(n, a, w->d, q);
        sv_axpy(n, -a, w->Hd, w->r);
        double rn = sv_dot(n, w->r, w->r);
        double b = rn / rr;
        rr = rn;
        for (int j = 0; j < n; j++)
            w->d[j] = w->r[j] + b * w->d[j];
    }
    /* the recursion drifts from the true residual; the certificate needs the true one */
    sv_bl_hvp_yy(p, x, y, q, NULL, w->Hd, w->work);
    info->hvps++;
    double sq = 0.0;
    for (int j = 0; j < n; j++)
        sq += (rhs[j] - w->Hd[j]) * (rhs[j] - w->Hd[j]);
    return sqrt(sq);
}

/* ================================ constants ================================ */

static void random_unit(int n, sv_rng *rng, double *v)
{
    for (int j = 0; j < n; j++)
        v[j] = sv_rng_normal(rng);
    double nr = sv_nrm2(n, v);
    sv_scal(n, nr > 0 ? 1.0 / nr : 1.0, v);
}

/* Largest |eigenvalue| of grad^2_yy f(x, .) at y: power iteration on central differences of
 * grad_y f. */
static double estimate_upper_L(const sv_bl_problem *p, const double *x, const double *y,
                               mi_ws *w)
{
    const int n = w->dy;
    double h = INEXACT_FD_STEP * fmax(1.0, sv_nrm2(n, y));
    random_unit(n, &w->rng, w->u);
    double est = 0.0;
    for (int it = 0; it < INEXACT_POWER_ITER; it++) {
        sv_copy(n, y, w->ys);
        sv_axpy(n, h, w->u, w->ys);
        sv_bl_upper(p, x, w->ys, NULL, NULL, w->t1, w->work);
        sv_copy(n, y, w->ys);
        sv_axpy(n, -h, w->u, w->ys);
        sv_bl_upper(p, x, w->ys, NULL, NULL, w->t2, w->work);
        sv_axpy(n, -1.0, w->t2, w->t1);
        sv_scal(n, 0.5 / h, w->t1);
        double nr = sv_nrm2(n, w->t1);
        if (!(nr > 0) || !isfinite(nr))
            break;
        est = nr;
        sv_copy(n, w->t1, w->u);
        sv_scal(n, 1.0 / nr, w->u);
    }
    return est;
}

/* One power-iteration step for |B|, B = grad^2_xy g(x, y) (dy -> dx through hvp_xy), on B B':
 * B' u = d/dt grad_y g(x + t u, y) by central differences. The iterate bx persists across calls
 * so the estimate keeps improving as the solve goes on. Returns |B' bx| for unit bx. */
static double power_step_b(const sv_bl_problem *p, const double *x, const double *y, mi_ws *w)
{
    const int dx = w->dx, dy = w->dy;
    double nb = sv_nrm2(dx, w->bx);
    if (!(nb > 0) || !isfinite(nb)) {
        random_unit(dx, &w->rng, w->bx);
        nb = 1.0;
    }
    sv_scal(dx, 1.0 / nb, w->bx);
    double h = INEXACT_FD_STEP * fmax(1.0, sv_nrm2(dx, x));
    sv_copy(dx, x, w->xs);
    sv_axpy(dx, h, w->bx, w->xs);
    sv_bl_lower(p, w->xs, y, NULL, NULL, w->t1, w->work);
    sv_copy(dx, x, w->xs);
    sv_axpy(dx, -h, w->bx, w->xs);
    sv_bl_lower(p, w->xs, y, NULL, NULL, w->t2, w->work);
    sv_axpy(dy, -1.0, w->t2, w->t1);
    sv_scal(dy, 0.5 / h, w->t1);  /* B' bx */
    double nbt = sv_nrm2(dy, w->t1);
    if (!(nbt > 0) || !isfinite(nbt))
        return 0.0;
    sv_bl_hvp_xy(p, x, y, w->t1, NULL, w->bt, w->work);  /* B B' bx */
    sv_copy(dx, w->bt, w->bx);
    return nbt;
}

/* Finite-difference probes of the Lipschitz constants in y of grad^2_yy g, grad^2_xy g and
 * grad_x f along one random direction; the running maxima grow as the solve visits more points
 * (the authors estimate these constants the same way, by random perturbations). */
static void probe_lipschitz(const sv_bl_problem *p, const double *x, const double *y,
                            const double *fx, mi_consts *c, mi_ws *w)
{
    const int dx = w->dx, dy = w->dy;
    double s = INEXACT_PROBE_STEP * fmax(1.0, sv_nrm2(dy, y));
    random_unit(dy, &w->rng, w->u);
    random_unit(dy, &w->rng, w->v);
    sv_copy(dy, y, w->ys);
    sv_axpy(dy, s, w->u, w->ys);
    if (c->est_LA) {
        sv_bl_hvp_yy(p, x, w->ys, w->v, NULL, w->t1, w->work);
        sv_bl_hvp_yy(p, x, y, w->v, NULL, w->t2, w->work);
        sv_axpy(dy, -1.0, w->t2, w->t1);
        c->LA_raw = fmax(c->LA_raw, sv_nrm2(dy, w->t1) / s);
        c->LA = INEXACT_EST_SAFETY * c->LA_raw;
    }
    if (c->est_LB) {
        sv_bl_hvp_xy(p, x, w->ys, w->v, NULL, w->hb, w->work);
        sv_bl_hvp_xy(p, x, y, w->v, NULL, w->xs, w->work);
        sv_axpy(dx, -1.0, w->xs, w->hb);
        c->LB_raw = fmax(c->LB_raw, sv_nrm2(dx, w->hb) / s);
        c->LB = INEXACT_EST_SAFETY * c->LB_raw;
    }
    sv_bl_upper(p, x, w->ys, NULL, w->hb, NULL, w->work);
    sv_axpy(dx, -1.0, fx, w->hb);
    c->Lfx_raw = fmax(c->Lfx_raw, sv_nrm2(dx, w->hb) / s);
    c->Lfx = INEXACT_EST_SAFETY * c->Lfx_raw;
}

/* The a-posteriori bound on |z - grad F(x)| for |y~ - y*| <= eps and |q~ - q(y~)| <= delta,
 * q(y) = A(y)^{-1} grad_y f(x, y), A = grad^2_yy g, B = grad^2_xy g, gy = |grad_y f(x, y~)|:
 *   |grad_x f(y~) - grad_x f(y*)|                 <= Lfx eps
 *   |B(y~)(q~ - q(y~))|                           <= |B| delta
 *   |B(y~)(q(y~) - q(y*))|                        <= |B| (Lf eps / mu + LA eps G* / mu^2)
 *   |(B(y~) - B(y*)) q(y*)|                       <= LB eps G* / mu
 * with G* = |grad_y f(y*)| <= gy + Lf eps (the paper's bound, Section 3, in this notation). */
static double error_bound(const mi_consts *c, double eps, double delta, double gy)
{
    double Gs = gy + c->Lf * eps;
    return c->Lfx * eps + c->Bn * delta +
           c->Bn * (c->Lf * eps / c->mu + c->LA * eps * Gs / (c->mu * c->mu)) +
           c->LB * eps * Gs / c->mu;
}

/* |x - P_X(x - scale z)| / scale, with P_X(x - scale z) written to out. */
static double proj_step_norm(const sv_bl_problem *p, const double *x, const double *z,
                             double scale, double *out)
{
    const int n = p->dx;
    for (int j = 0; j < n; j++)
        out[j] = x[j] - scale * z[j];
    sv_bl_project_x(p, out);
    double sq = 0.0;
    for (int j = 0; j < n; j++)
        sq += (x[j] - out[j]) * (x[j] - out[j]);
    return sqrt(sq) / scale;
}

/* ================================ progress ================================ */

enum { M_EPS, M_DELTA, M_ALPHA, M_ZNORM, M_OMEGA, M_BT, M_REF, M_LOWER, M_HVP, M_COUNT };

static const char *const metric_names[M_COUNT] = {
    "eps", "delta", "alpha", "z_norm", "omega", "backtracks", "refinements", "lower_grads", "hvps",
};

/* The metrics of a report (core/control.h): the snapshot m[M_COUNT] the solve keeps, set when a
 * step is accepted, so that a report describes the step that produced the reported iterate. */
static int metrics(void *ctx, sv_metric *mt, int cap)
{
    const double *m = ctx;
    if (cap < M_COUNT)
        return 0;
    for (int i = 0; i < M_COUNT; i++)
        mt[i] = (sv_metric){metric_names[i], m[i]};
    return M_COUNT;
}

/* Ends the loop with an outcome MAID finds itself between checks (divergence or |z| <= tol after
 * a tightening, the accuracy floor, an exhausted refinement budget); the first decision stands. */
static void loop_stop(sv_loop *L, sv_status status)
{
    if (L->status == SV_UNSOLVED)
        L->status = status;
}

/* ================================ solve ================================ */

int inexact_solve(const sv_bl_problem *p, const inexact_settings *s, const sv_monitor *mon,
                     double *x, double *y, inexact_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->z_norm = info->omega = NAN;
    info->eps = info->delta = info->eps_min_seen = info->alpha = NAN;
    info->upper_L = info->lip_hyy = info->lip_hxy = info->lip_fx = info->b_norm = NAN;
    info->F_exact = info->hypergrad_norm = info->lower_error = NAN;

    int rc = check_problem(p, e);
    if (rc != SV_OK)
        return rc;
    if ((rc = inexact_check_settings(s, e)) != SV_OK)
        return rc;
    if (!x || !y)
        return sv_fail(e, x ? "/problem/y0" : "/problem/x0", "starting point missing");
    if (!sv_all_finite(p->dx, x))
        return sv_fail(e, "/problem/x0", "must be finite");
    if (!sv_all_finite(p->dy, y))
        return sv_fail(e, "/problem/y0", "must be finite");
    sv_bl_project_x(p, x);
    double mu0 = sv_bl_lower_mu(p, x);
    if (!(isfinite(mu0) && mu0 > 0))
        return sv_fail(e, "/problem", "the lower level's strong-convexity constant is unknown "
                       "(%g) at x0: MAID certifies its accuracies with it", mu0);

    double m[M_COUNT];
    for (int i = 0; i < M_COUNT; i++)
        m[i] = 0.0;
    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, m);
    mi_ws w;
    if (ws_alloc(&w, p) != SV_OK)
        return SV_ENOMEM;
    sv_rng_seed(&w.rng, s->seed);
    const int dx = w.dx, dy = w.dy;

    mi_consts c;
    memset(&c, 0, sizeof c);
    c.mu = mu0;
    c.est_LA = isnan(s->lip_hyy);
    c.est_LB = isnan(s->lip_hxy);
    c.est_Lf = isnan(s->upper_L);
    c.LA = c.est_LA ? 0.0 : s->lip_hyy;
    c.LB = c.est_LB ? 0.0 : s->lip_hxy;

    double eps = s->eps0, delta = s->delta0, alpha = s->alpha0;

    /* ---- the lower level at x0, and the constants that do not change ---- */
    double eps_hat = lower_solve(p, s, x, y, eps, c.mu, &w, info, &L);
    c.Lf = c.est_Lf ? INEXACT_EST_SAFETY * estimate_upper_L(p, x, y, &w) : s->upper_L;
    if (s->descent_check)
        for (int it = 0; it < INEXACT_POWER_ITER; it++)
            c.Bn = fmax(c.Bn, power_step_b(p, x, y, &w));

    /* The objective of iteration t, in its report and in the result: f(x_t, y~) with the lower
     * solution x_t was accepted with (at x_0: the first hypergradient's). Tightenings at x_t
     * after its report refine y but do not change it, so that the last report and the result
     * agree; f at the returned y is the codec's upper_at_y. */
    double obj_t = NAN;
    long t = 0;
    double fval = NAN, zn = NAN, znr = NAN, omega = NAN, delta_hat = NAN;
    double eps_used = eps, delta_used = delta;
    info->eps_min_seen = eps;
    int first = 1;
    while (!sv_loop_stopped(&L)) {
        long bt_step = 0, ref_step = 0;
        int accepted = 0;
        double alpha_start = alpha;
        for (long r = 0; r < s->max_refine && !accepted; r++) {
            /* ---- Algorithm 3.2: inexact hypergradient accurate enough to descend ---- */
            for (;;) {
                c.mu = sv_bl_lower_mu(p, x);
                if (eps_hat > eps)
                    eps_hat = lower_solve(p, s, x, y, eps, c.mu, &w, info, &L);
                if (sv_loop_stopped(&L))
                    break;
                fval = sv_bl_upper(p, x, y, NULL, w.fx, w.fy, w.work);
                info->upper_evals++;
                delta_hat = cg_solve(p, x, y, w.fy, w.q, c.mu * delta, s->cg_max_iter, &w, info,
                                     &L) /
                            c.mu;
                if (sv_loop_stopped(&L))
                    break;
                sv_bl_hvp_xy(p, x, y, w.q, NULL, w.hb, w.work);
                for (int j = 0; j < dx; j++)
                    w.z[j] = w.fx[j] - w.hb[j];
                znr = sv_nrm2(dx, w.z);
                zn = proj_step_norm(p, x, w.z, 1.0, w.xt);
                if (!s->descent_check)
                    break;
                probe_lipschitz(p, x, y, w.fx, &c, &w);
                c.Bn = fmax(c.Bn, power_step_b(p, x, y, &w));
                omega = error_bound(&c, eps_hat, delta_hat, sv_nrm2(dy, w.fy));
                if (omega <= (1.0 - s->eta) * znr || (eps <= s->eps_min && delta <= s->eps_min))
                    break;
                eps = fmax(s->nu * eps, s->eps_min);
                delta = fmax(s->nu * delta, s->eps_min);
                info->check_refinements++;
                ref_step++;
            }
            if (sv_loop_stopped(&L))
                break;  /* stopped inside the iteration: x, y stay the last accepted pair */
            eps_used = eps;
            delta_used = delta;
            info->eps_min_seen = fmin(info->eps_min_seen, eps);
            int diverged = !isfinite(fval) || !isfinite(znr) || !sv_all_finite(dx, x);
            if (r == 0) {
                if (first && !diverged) {
                    first = 0;
                    if (isnan(alpha))
                        alpha = znr > 0 ? 1.0 / znr : 1.0;
                    alpha_start = alpha;
                    m[M_EPS] = eps;
                    m[M_DELTA] = delta;
                    m[M_ALPHA] = alpha;
                    m[M_ZNORM] = zn;
                    m[M_OMEGA] = s->descent_check ? omega : 0.0;
                    m[M_LOWER] = (double)info->lower_grads;
                    m[M_HVP] = (double)info->hvps;
                    obj_t = fval;
                }
                /* diverged, solved, report, max_iter, time limit, cancel (core/control.h) */
                if (sv_loop_check(&L, t, obj_t, diverged, zn <= s->ctl.tol))
                    break;
            } else {
                /* after a tightening at the same x_t: no new report, the same stop tests */
                if (diverged)
                    loop_stop(&L, SV_DIVERGED);
                else if (zn <= s->ctl.tol)
                    loop_stop(&L, SV_SOLVED);
                if (sv_loop_poll(&L))
                    break;
            }

            /* ---- Algorithm 3.1: backtracking on certified bounds ---- */
            double gy = sv_nrm2(dy, w.fy);
            double lower_bound = fval - gy * eps_hat -
                                 (s->upper_convex ? 0.0 : 0.5 * c.Lf * eps_hat * eps_hat);
            double a = alpha_start;
            long budget = s->max_bt + r;
            for (long i = 0; i < budget; i++) {
                proj_step_norm(p, x, w.z, a, w.xt);
                sv_copy(dy, y, w.yt);
                double mut = sv_bl_lower_mu(p, w.xt);
                if (!(isfinite(mut) && mut > 0))
                    mut = c.mu;
                double eps_t = lower_solve(p, s, w.xt, w.yt, eps, mut, &w, info, &L);
                if (sv_loop_stopped(&L))
                    break;  /* the trial is abandoned, not judged */
                double ft = sv_bl_upper(p, w.xt, w.yt, NULL, NULL, w.fyt, w.work);
                info->upper_evals++;
                double upper_bound = ft + sv_nrm2(dy, w.fyt) * eps_t + 0.5 * c.Lf * eps_t * eps_t;
                double step_sq = 0.0;
                for (int j = 0; j < dx; j++)
                    step_sq += (w.xt[j] - x[j]) * (w.xt[j] - x[j]);
                if (isfinite(upper_bound) && step_sq > 0 &&
                    upper_bound - lower_bound + s->armijo * step_sq / a <= 0) {
                    sv_copy(dx, w.xt, x);
                    sv_copy(dy, w.yt, y);
                    eps_hat = eps_t;
                    fval = ft;
                    info->alpha = a;
                    alpha = s->rho_bar * a;
                    accepted = 1;
                    break;
                }
                bt_step++;
                info->backtracks++;
                a *= s->rho;
            }
            if (accepted || sv_loop_stopped(&L))
                break;
            /* the line search failed: tighten the accuracies (Algorithm 3.1) or give up at the
             * floor, where no step can be certified any more */
            if (eps <= s->eps_min && delta <= s->eps_min) {
                info->floor_reached = 1;
                loop_stop(&L, SV_STALLED);
                break;
            }
            eps = fmax(s->nu * eps, s->eps_min);
            delta = fmax(s->nu * delta, s->eps_min);
            info->refinements++;
            ref_step++;
        }
        if (sv_loop_stopped(&L))
            break;
        if (!accepted) {
            loop_stop(&L, SV_MAX_ITER);  /* max_refine tightenings found no certified step */
            break;
        }
        t++;
        obj_t = fval;
        m[M_EPS] = eps_used;
        m[M_DELTA] = delta_used;
        m[M_ALPHA] = info->alpha;
        m[M_ZNORM] = zn;
        m[M_OMEGA] = s->descent_check ? omega : 0.0;
        m[M_BT] = (double)bt_step;
        m[M_REF] = (double)ref_step;
        m[M_LOWER] = (double)info->lower_grads;
        m[M_HVP] = (double)info->hvps;
        eps = s->nu_bar * eps;
        delta = s->nu_bar * delta;
    }

    info->z_norm = zn;
    info->omega = s->descent_check ? omega : NAN;
    info->eps = eps_used;
    info->delta = delta_used;
    info->upper_L = c.Lf;
    info->lip_hyy = c.LA;
    info->lip_hxy = c.LB;
    info->lip_fx = c.Lfx;
    info->b_norm = s->descent_check ? c.Bn : NAN;
    /* The closing exact evaluation runs after a cancel or a time limit too, without the loop
     * (which has said stop): bounded by sv_bl_evaluate's limits, it gives a stopped run its
     * F_exact, hypergradient and lower error. */
    if (L.status != SV_DIVERGED) {
        if (isnan(obj_t))  /* stopped before the first hypergradient */
            obj_t = sv_bl_upper(p, x, y, NULL, NULL, NULL, w.work);
        double F = NAN;
        sv_copy(dy, y, w.ys);
        if (sv_bl_evaluate(p, x, w.ys, s->final_tol, &F, w.hb, w.work, NULL) == SV_OK) {
            info->F_exact = F;
            info->hypergrad_norm = proj_step_norm(p, x, w.hb, 1.0, w.xt);
            double sq = 0.0;
            for (int j = 0; j < dy; j++)
                sq += (y[j] - w.ys[j]) * (y[j] - w.ys[j]);
            info->lower_error = sqrt(sq);
        }
    }
    /* A report of iteration t on the report_every rhythm describes the step to x_t, wherever
     * the loop ended; a final report off the rhythm shows the returned state's |z| and work. */
    if (t % s->ctl.report_every != 0) {
        m[M_ZNORM] = zn;
        m[M_LOWER] = (double)info->lower_grads;
        m[M_HVP] = (double)info->hvps;
    }
    sv_loop_end(&L, &info->base, t, obj_t, zn);
    ws_free(&w);
    return SV_OK;
}
