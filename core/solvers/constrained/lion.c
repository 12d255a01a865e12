/* lion.c - Lion-K with decoupled weight decay (see lion.h and docs/solvers/constrained/lion.md).
 *
 * Stopping test. For lambda > 0 the problem Lion-K solves is min F(x) = f(x) + R(x) with
 * R(x) = K*(lambda x)/lambda, and R*(y) = K(y)/lambda. Fenchel-Young gives the duality gap
 *   gap(x) = <g, x> + R(x) + K(-g)/lambda >= 0,   g = grad f(x),
 * zero exactly at the fixed points of the update (-g in dK*(lambda x)), and for convex f an upper
 * bound on F(x) - min F. It needs only K, never a projection, so every K gets the same test. */
#include "core/solvers/constrained/lion.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/matcheck.h"
#include "core/rng.h"

typedef struct {
    double *m;      /* d: momentum */
    double *c;      /* d: interpolated momentum, then grad K of it */
    double *g;      /* d: full gradient at x */
    double *gs;     /* d: mini-batch gradient (batch mode only) */
    double *work;   /* glm workspace: rows doubles */
    int *idx;       /* batch_size indices (batch mode only) */
} lion_ws;

/* Full-gradient quantities at the current x. */
typedef struct {
    double obj, grad_norm, gap, composite, x_inf, violation, box_violation;
} lion_state;

static int check_problem(const lion_problem *p, const lion_settings *s, sv_err *e);
static int check_glm(const sv_glm *g, int dim, sv_err *e);
static int ws_alloc(lion_ws *w, int d, int rows, long batch);
static void ws_free(lion_ws *w);
static double objective(const lion_problem *p, const double *x, double *g, double *work);
static void evaluate(const lion_problem *p, const lion_settings *s, const double *x, lion_ws *w,
                     lion_state *st);
static double radius_of(const lion_settings *s);
static double dual_exponent(double p);
static int metrics(void *ctx, sv_metric *m, int cap);

/* ================================ settings ================================ */

static const char *const k_choices[] = {"sign", "l2", "lp", "linf", "huber", "relativistic",
                                        "quadratic", NULL};

const sv_param_spec lion_params[] = {
    SV_P_ENUM(lion_settings, k, k_choices, LION_DEFAULT_K,
              "the convex K whose gradient replaces sign: sign = Lion (box |x|_inf <= "
              "1/weight_decay), l2 (ball |x|_2 <= 1/wd), lp (ball |x|_q <= 1/wd, 1/p + 1/q = 1), "
              "linf (ball |x|_1 <= 1/wd), huber and relativistic (box plus a penalty), quadratic "
              "(momentum with L2 penalty)"),
    SV_P_NUMBER_GT(lion_settings, p, 1, 1e6, LION_DEFAULT_P, "exponent of K = |x|_p when k is lp"),
    SV_P_NUMBER_GT(lion_settings, delta, 0, INFINITY, LION_DEFAULT_DELTA,
                   "width of the huber and relativistic K"),
    SV_P_NUMBER_GT(lion_settings, lr, 0, INFINITY, LION_DEFAULT_LR,
                   "largest step size (the schedule scales it); lr * weight_decay must be at "
                   "most 1"),
    SV_P_NUMBER(lion_settings, beta1, 0, LION_BETA_MAX, LION_DEFAULT_BETA1,
                "interpolation of momentum and gradient inside K, in [0, 1)"),
    SV_P_NUMBER(lion_settings, beta2, 0, LION_BETA_MAX, LION_DEFAULT_BETA2,
                "momentum decay, in [0, 1)"),
    SV_P_NUMBER(lion_settings, weight_decay, 0, INFINITY, LION_DEFAULT_WEIGHT_DECAY,
                "decoupled weight decay lambda: the constraint radius is 1/lambda; 0 = "
                "unconstrained"),
    SV_P_INT(lion_settings, batch_size, 0, INT_MAX, LION_DEFAULT_BATCH_SIZE,
             "built-in models: rows per stochastic gradient (seeded); 0 = full gradients"),
    SV_P_SEED(lion_settings, seed, LION_DEFAULT_SEED, "seed of the mini-batch sampling"),
    SV_CONTROL_PARAMS(lion_settings, ctl, LION_DEFAULT_TOL,
                      "stop when the duality gap (weight_decay > 0) or |grad f| (weight_decay = "
                      "0) is at most tol; max_iter is also the schedule's budget",
                      LION_DEFAULT_MAX_ITER, LION_DEFAULT_REPORT_EVERY),
    SV_P_SCHEDULE_KIND(lion_settings, schedule, LION_DEFAULT_SCHEDULE,
                       "step-size schedule over max_iter iterations (docs/schedules.md)"),
    SV_PARAMS_END,
};

void lion_settings_default(lion_settings *s)
{
    sv_params_defaults(lion_params, s);
}

int lion_check_settings(const lion_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(lion_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    if (s->lr * s->weight_decay > 1.0)
        return sv_fail(e, "/params/lr", "lr * weight_decay = %g exceeds 1: the decay step "
                       "(1 - lr lambda) x would flip the sign of x and the iterates would leave the "
                       "constraint set", s->lr * s->weight_decay);
    return SV_OK;
}

/* ================================ the K family ================================ */

static double dual_exponent(double p)
{
    return p / (p - 1.0);
}

/* |x|_r for r >= 1, scaled by |x|_inf so that no power overflows. */
static double lp_norm(int n, const double *x, double r)
{
    double s = sv_nrminf(n, x);
    if (!(s > 0) || !isfinite(s))
        return s;
    double acc = 0.0;
    for (int i = 0; i < n; i++)
        acc += pow(fabs(x[i]) / s, r);
    return s * pow(acc, 1.0 / r);
}

static double norm1(int n, const double *x)
{
    double acc = 0.0;
    for (int i = 0; i < n; i++)
        acc += fabs(x[i]);
    return acc;
}

void lion_grad_k(const lion_settings *s, int n, const double *c, double *out)
{
    switch (s->k) {
    case LION_K_SIGN:
        for (int i = 0; i < n; i++)
            out[i] = c[i] > 0 ? 1.0 : c[i] < 0 ? -1.0 : 0.0;
        break;
    case LION_K_L2: {
        double nrm = sv_nrm2(n, c);
        for (int i = 0; i < n; i++)
            out[i] = nrm > 0 ? c[i] / nrm : 0.0;
        break;
    }
    case LION_K_LP: {
        /* sign(c)|c|^(p-1) / |c|_p^(p-1), all divided through by |c|_inf first */
        double sc = sv_nrminf(n, c);
        if (!(sc > 0)) {
            sv_zero(n, out);
            break;
        }
        double nrm = lp_norm(n, c, s->p) / sc;
        double den = pow(nrm, s->p - 1.0);
        for (int i = 0; i < n; i++) {
            double u = c[i] / sc;
            out[i] = copysign(pow(fabs(u), s->p - 1.0) / den, u);
        }
        break;
    }
    case LION_K_LINF: {
        int j = -1;
        double best = 0.0;
        for (int i = 0; i < n; i++)
            if (fabs(c[i]) > best) {
                best = fabs(c[i]);
                j = i;
            }
        double v = j >= 0 ? (c[j] > 0 ? 1.0 : -1.0) : 0.0;
        sv_zero(n, out);
        if (j >= 0)
            out[j] = v;
        break;
    }
    case LION_K_HUBER:
        for (int i = 0; i < n; i++) {
            double u = c[i] / s->delta;
            out[i] = u > 1.0 ? 1.0 : u < -1.0 ? -1.0 : u;
        }
        break;
    case LION_K_RELATIVISTIC:
        for (int i = 0; i < n; i++)
            out[i] = c[i] / hypot(c[i], s->delta);
        break;
    default: /* LION_K_QUADRATIC */
        if (out != c)
            sv_copy(n, c, out);
        break;
    }
}

double lion_k_value(const lion_settings *s, int n, const double *v)
{
    double acc = 0.0;
    switch (s->k) {
    case LION_K_SIGN: return norm1(n, v);
    case LION_K_L2: return sv_nrm2(n, v);
    case LION_K_LP: return lp_norm(n, v, s->p);
    case LION_K_LINF: return sv_nrminf(n, v);
    case LION_K_HUBER:
        for (int i = 0; i < n; i++) {
            double a = fabs(v[i]);
            acc += a <= s->delta ? 0.5 * a * a / s->delta : a - 0.5 * s->delta;
        }
        return acc;
    case LION_K_RELATIVISTIC:
        /* sqrt(v^2 + delta^2) - delta, written without cancellation */
        for (int i = 0; i < n; i++)
            acc += v[i] * v[i] / (hypot(v[i], s->delta) + s->delta);
        return acc;
    default:
        return 0.5 * sv_dot(n, v, v);
    }
}

double lion_set_norm(const lion_settings *s, int n, const double *x)
{
    switch (s->k) {
    case LION_K_L2: return sv_nrm2(n, x);
    case LION_K_LP: return lp_norm(n, x, dual_exponent(s->p));
    case LION_K_LINF: return norm1(n, x);
    case LION_K_QUADRATIC: return 0.0;
    default: return sv_nrminf(n, x);  /* sign, huber, relativistic: the box */
    }
}

static double radius_of(const lion_settings *s)
{
    return s->weight_decay > 0 ? 1.0 / s->weight_decay : INFINITY;
}

double lion_regularizer(const lion_settings *s, int n, const double *x)
{
    const double lam = s->weight_decay;
    if (!(lam > 0))
        return 0.0;
    if (s->k == LION_K_QUADRATIC)
        return 0.5 * lam * sv_dot(n, x, x);
    double r = 1.0 / lam;
    if (lion_set_norm(s, n, x) > r * (1.0 + LION_SET_TOL))
        return INFINITY;
    double acc = 0.0;
    switch (s->k) {
    case LION_K_HUBER:
        return 0.5 * s->delta * lam * sv_dot(n, x, x);
    case LION_K_RELATIVISTIC:
        /* (delta/lambda)(1 - sqrt(1 - u^2)) = (delta/lambda) u^2 / (1 + sqrt(1 - u^2)) */
        for (int i = 0; i < n; i++) {
            double u = fmin(fabs(lam * x[i]), 1.0);
            acc += u * u / (1.0 + sqrt(1.0 - u * u));
        }
        return s->delta / lam * acc;
    default:
        return 0.0;  /* indicator of the ball, and x is in it */
    }
}

/* ================================ validation ================================ */

static int check_glm(const sv_glm *g, int dim, sv_err *e)
{
    char path[64];
    const sv_mat *A = g->A;
    if (g->loss != SV_LOSS_SQUARED && g->loss != SV_LOSS_LOGISTIC)
        return sv_fail(e, "/problem/loss", "must be \"squared\" or \"logistic\"");
    if (!A || A->rows < 1 || A->cols < 1)
        return sv_fail(e, "/problem/A", "needs at least one row and column");
    if (A->cols != dim)
        return sv_fail(e, "/problem/A", "has %d columns, the problem dimension is %d", A->cols,
                       dim);
    if (sv_mat_check_storage(A, "/problem/A", e) != SV_OK)
        return SV_EINVAL;
    if (!g->b)
        return sv_fail(e, "/problem/b", "targets missing");
    for (int r = 0; r < A->rows; r++) {
        double b = g->b[r];
        if (!isfinite(b) || (g->loss == SV_LOSS_LOGISTIC && b != 1.0 && b != -1.0)) {
            snprintf(path, sizeof path, "/problem/b/%d", r);
            return sv_fail(e, path, g->loss == SV_LOSS_LOGISTIC ? "logistic labels must be -1 or 1"
                                                                : "must be finite");
        }
        if (g->w && !(isfinite(g->w[r]) && g->w[r] >= 0)) {
            snprintf(path, sizeof path, "/problem/w/%d", r);
            return sv_fail(e, path, "sample weights must be finite and >= 0");
        }
    }
    if (!(isfinite(g->lambda) && g->lambda >= 0))
        return sv_fail(e, "/problem/lambda", "must be a finite number >= 0");
    if (g->lambda_vec)
        for (int j = 0; j < dim; j++)
            if (!(isfinite(g->lambda_vec[j]) && g->lambda_vec[j] >= 0)) {
                snprintf(path, sizeof path, "/problem/lambda/%d", j);
                return sv_fail(e, path, "must be a finite number >= 0");
            }
    return SV_OK;
}

static int check_problem(const lion_problem *p, const lion_settings *s, sv_err *e)
{
    if (!p)
        return sv_fail(e, "/problem", "problem missing");
    int kinds = !!p->glm + !!p->expr + !!p->fn;
    if (kinds != 1)
        return sv_fail(e, "/problem", "exactly one of a model, an expression problem or an "
                       "objective function is needed");
    if (p->dim < 1)
        return sv_fail(e, "/problem", "the dimension must be at least 1, got %d", p->dim);
    if (p->glm)
        return check_glm(p->glm, p->dim, e);
    if (s->batch_size > 0)
        return sv_fail(e, "/params/batch_size", "mini-batches need a built-in model with data "
                       "rows; this problem has a single objective (use 0)");
    if (p->expr) {
        if (sv_expr_problem_dim(p->expr) != p->dim)
            return sv_fail(e, "/problem/variables", "the expression problem has %d unknowns, "
                           "expected %d", sv_expr_problem_dim(p->expr), p->dim);
        if (!sv_expr_problem_has_objective(p->expr))
            return sv_fail(e, "/problem/objective", "required: Lion minimises an objective");
        if (sv_expr_problem_n_eq(p->expr) > 0)
            return sv_fail(e, "/problem/equalities", "constrained.lion takes no equality "
                           "constraints: its constraint is the norm ball of radius "
                           "1/weight_decay");
        if (sv_expr_problem_n_ineq(p->expr) > 0)
            return sv_fail(e, "/problem/inequalities", "constrained.lion takes no inequality "
                           "constraints: its constraint is the norm ball of radius "
                           "1/weight_decay");
        const double *lo = sv_expr_problem_lower(p->expr), *hi = sv_expr_problem_upper(p->expr);
        for (int j = 0; j < p->dim; j++)
            if (isfinite(lo[j]) || isfinite(hi[j]))
                return sv_fail(e, "/problem/variables", "constrained.lion takes no variable "
                               "bounds: its box is |x|_inf <= 1/weight_decay");
    }
    return SV_OK;
}

/* ================================ workspace ================================ */

static int ws_alloc(lion_ws *w, int d, int rows, long batch)
{
    memset(w, 0, sizeof *w);
    size_t total = 4 * (size_t)d + (size_t)rows;
    w->m = calloc(total, sizeof *w->m);
    if (batch > 0)
        w->idx = malloc((size_t)batch * sizeof *w->idx);
    if (!w->m || (batch > 0 && !w->idx)) {
        free(w->m);
        free(w->idx);
        memset(w, 0, sizeof *w);
        return SV_ENOMEM;
    }
    w->c = w->m + d;
    w->g = w->c + d;
    w->gs = w->g + d;
    w->work = w->gs + d;
    return SV_OK;
}

static void ws_free(lion_ws *w)
{
    free(w->m);
    free(w->idx);
    memset(w, 0, sizeof *w);
}

/* ================================ numerics ================================ */

/* f(x) and its full gradient g. */
static double objective(const lion_problem *p, const double *x, double *g, double *work)
{
    if (p->glm)
        return sv_glm_value(p->glm, x, g, work);
    if (p->expr)
        return sv_expr_problem_grad(p->expr, x, g);
    return p->fn(x, g, p->fn_data);
}

static void evaluate(const lion_problem *p, const lion_settings *s, const double *x, lion_ws *w,
                     lion_state *st)
{
    const int d = p->dim;
    const double lam = s->weight_decay, r = radius_of(s);
    st->obj = objective(p, x, w->g, w->work);
    st->grad_norm = sv_nrm2(d, w->g);
    st->x_inf = sv_nrminf(d, x);
    st->box_violation = lam > 0 ? fmax(0.0, st->x_inf - r) : 0.0;
    st->violation = lam > 0 && s->k != LION_K_QUADRATIC ? fmax(0.0, lion_set_norm(s, d, x) - r)
                                                        : 0.0;
    double reg = lion_regularizer(s, d, x);
    st->composite = st->obj + reg;
    if (lam > 0)
        st->gap = isfinite(reg) ? fmax(0.0, sv_dot(d, w->g, x) + reg +
                                                lion_k_value(s, d, w->g) / lam)
                                : INFINITY;
    else
        st->gap = NAN;
}

/* What a report shows: the full-gradient state at the reported x and the last step size. */
typedef struct {
    const lion_state *st;
    const double *eta;
} lion_report;

/* The metrics of a report (core/control.h). */
static int metrics(void *ctx, sv_metric *m, int cap)
{
    const lion_report *r = ctx;
    if (cap < 7)
        return 0;
    m[0] = (sv_metric){"grad_norm", r->st->grad_norm};
    m[1] = (sv_metric){"gap", r->st->gap};
    m[2] = (sv_metric){"composite", r->st->composite};
    m[3] = (sv_metric){"x_inf", r->st->x_inf};
    m[4] = (sv_metric){"violation", r->st->violation};
    m[5] = (sv_metric){"box_violation", r->st->box_violation};
    m[6] = (sv_metric){"lr", *r->eta};
    return 7;
}

/* ================================ solve ================================ */

int lion_solve(const lion_problem *p, const lion_settings *s, const sv_monitor *mon, double *x,
               lion_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->grad_norm = info->gap = info->composite = NAN;
    info->x_inf = info->violation = info->box_violation = info->lr = NAN;
    info->entry_iter = -1;

    int rc = lion_check_settings(s, e);
    if (rc != SV_OK)
        return rc;
    if ((rc = check_problem(p, s, e)) != SV_OK)
        return rc;
    const int d = p->dim;
    if (!x)
        return sv_fail(e, "/problem/x0", "starting point missing");
    if (!sv_all_finite(d, x))
        return sv_fail(e, "/problem/x0", "must be finite");
    const int rows = p->glm ? p->glm->A->rows : 0;
    long batch = p->glm && s->batch_size > 0 && s->batch_size < rows ? s->batch_size : 0;
    info->radius = radius_of(s);

    const long T = s->ctl.max_iter;
    double eta = sv_schedule_lr(&s->schedule, s->lr, 0, T);
    lion_state st;
    lion_report rep = {&st, &eta};
    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &rep);
    lion_ws w;
    if (ws_alloc(&w, d, rows, batch) != SV_OK)
        return SV_ENOMEM;
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);

    const double lam = s->weight_decay;
    const double set_slack = LION_SET_TOL * (isfinite(info->radius) ? info->radius : 1.0);
    evaluate(p, s, x, &w, &st);
    int fresh = 1;  /* st and w.g belong to the current x */
    const double obj_scale = fabs(st.obj) + 1.0;
    if (st.violation <= set_slack)
        info->entry_iter = 0;

    long t = 0;
    for (;; t++) {
        /* With mini-batches the full quantities are refreshed where a report needs them, so
         * that the tests and the report see the current x. */
        if (!fresh && t % s->ctl.report_every == 0) {
            evaluate(p, s, x, &w, &st);
            fresh = 1;
        }
        const int diverged = !isfinite(st.obj) ||
                             fabs(st.obj) > LION_DIVERGENCE_FACTOR * obj_scale ||
                             !sv_all_finite(d, x);
        const double res = lam > 0 ? st.gap : st.grad_norm;
        if (sv_loop_check(&L, t, st.obj, diverged, fresh && res <= s->ctl.tol))
            break;

        /* ---- one Lion-K step ---- */
        const double *g = w.g;
        if (batch > 0) {
            sv_rng_sample(&rng, rows, (int)batch, w.idx);
            sv_glm_batch_value(p->glm, w.idx, (int)batch, x, w.gs);
            g = w.gs;
        }
        eta = sv_schedule_lr(&s->schedule, s->lr, t, T);
        for (int j = 0; j < d; j++)
            w.c[j] = s->beta1 * w.m[j] + (1.0 - s->beta1) * g[j];
        lion_grad_k(s, d, w.c, w.c);
        for (int j = 0; j < d; j++) {
            x[j] -= eta * (w.c[j] + lam * x[j]);
            w.m[j] = s->beta2 * w.m[j] + (1.0 - s->beta2) * g[j];
        }

        if (batch > 0) {
            fresh = 0;  /* full quantities only at reports and at the end */
            if (info->entry_iter < 0 && lam > 0 && s->k != LION_K_QUADRATIC &&
                lion_set_norm(s, d, x) - info->radius <= set_slack)
                info->entry_iter = t + 1;
        } else {
            evaluate(p, s, x, &w, &st);
            if (info->entry_iter < 0 && st.violation <= set_slack)
                info->entry_iter = t + 1;
        }
    }

    if (!fresh)
        evaluate(p, s, x, &w, &st);
    info->grad_norm = st.grad_norm;
    info->gap = st.gap;
    info->composite = st.composite;
    info->x_inf = st.x_inf;
    info->violation = st.violation;
    info->box_violation = st.box_violation;
    info->lr = eta;
    sv_loop_end(&L, &info->base, t, st.obj, lam > 0 ? st.gap : st.grad_norm);
    ws_free(&w);
    return SV_OK;
}
