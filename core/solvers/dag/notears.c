/* notears.c - NOTEARS (Zheng, Aragam, Ravikumar, Xing, NeurIPS 2018) by the augmented Lagrangian
 * of the authors' linear code, see notears.h.
 *
 * The loop of core/control.h counts L-BFGS iterations over all subproblems, so that stop
 * requests, time limits and reports hold inside a subproblem; a subproblem's end is handled
 * between two iterations by the reference's rule:
 *     solve the subproblem at (rho, alpha) from w_est, giving w_new and h_new;
 *     if h_new > h_factor h and rho < rho_max: rho *= rho_factor and solve again from w_est;
 *     else w_est = w_new, h = h_new, alpha += rho h, and stop when h <= tol or rho >= rho_max.
 * The variable of the subproblems is w = (w+, w-) of 2 d^2 entries, W = w+ - w-, with the
 * bounds 0 <= w (and w_ii = 0 on the diagonal, lo = hi = 0), which makes lambda1 |W|_1 the
 * linear term lambda1 sum(w). */
#include "core/solvers/dag/notears.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels/lbfgsb.h"
#include "core/linalg.h"

const sv_param_spec notears_params[] = {
    SV_P_NUMBER(notears_settings, lambda1, 0, 1e6, NOTEARS_DEFAULT_LAMBDA1,
                "l1 weight of the score: L(W) + lambda1 |W|_1"),
    SV_P_NUMBER(notears_settings, w_threshold, 0, 1e6, NOTEARS_DEFAULT_W_THRESHOLD,
                "entries with |W_ij| below it are no edge in the returned W"),
    SV_P_NUMBER_GT(notears_settings, rho, 0, 1e300, NOTEARS_DEFAULT_RHO,
                   "the first penalty weight of the augmented Lagrangian"),
    SV_P_NUMBER_GT(notears_settings, rho_max, 0, 1e300, NOTEARS_DEFAULT_RHO_MAX,
                   "the run ends (stalled) once rho reaches it"),
    SV_P_NUMBER_GT(notears_settings, rho_factor, 1, 1e6, NOTEARS_DEFAULT_RHO_FACTOR,
                   "rho *= rho_factor while a subproblem does not shrink h enough"),
    SV_P_NUMBER_GT(notears_settings, h_factor, 0, 1, NOTEARS_DEFAULT_H_FACTOR,
                   "enough: the new h at most h_factor times the previous h"),
    SV_P_INT32(notears_settings, max_dual_iter, 1, 1000000, NOTEARS_DEFAULT_MAX_DUAL_ITER,
               "dual ascent steps (alpha += rho h); the reference's max_iter"),
    SV_P_INT32(notears_settings, inner_max_iter, 1, 1000000000, NOTEARS_DEFAULT_INNER_MAX_ITER,
               "L-BFGS iterations of one subproblem"),
    SV_P_INT32(notears_settings, memory, 1, 100, SV_LBFGSB_DEFAULT_MEMORY,
               "L-BFGS memory (pairs)"),
    SV_P_NUMBER(notears_settings, inner_gtol, 0, 1e6, SV_LBFGSB_DEFAULT_GTOL,
                "a subproblem ends when its projected gradient's largest entry is <= this"),
    SV_P_NUMBER(notears_settings, inner_ftol, 0, 1, SV_LBFGSB_DEFAULT_FTOL,
                "... or when an iteration decreases its objective by at most this, relatively"),
    SV_P_BOOL(notears_settings, center, 1, "centre the columns of X first (as the reference)"),
    SV_CONTROL_PARAMS(notears_settings, ctl, NOTEARS_DEFAULT_H_TOL,
                      "h_tol: solved when h(W) <= tol after a dual ascent step",
                      NOTEARS_DEFAULT_MAX_ITER, NOTEARS_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void notears_settings_default(notears_settings *s)
{
    sv_params_defaults(notears_params, s);
}

int notears_check_settings(const notears_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(notears_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    if (!(s->rho < s->rho_max))
        return sv_fail(e, "/params/rho_max", "must exceed rho (%g)", s->rho);
    return SV_OK;
}

/* ================================ validation ================================ */

static int check_problem(const notears_problem *p, sv_err *e)
{
    if (!p)
        return sv_fail(e, "/problem/data", "a data matrix of at least one sample and one "
                       "variable is required");
    return sv_dag_check_data(p->n, p->d, p->X, p->W_true, e);
}

/* ================================ workspace ================================ */

typedef struct {
    double loss, h, l1;
} nt_vals;

typedef struct {
    const notears_problem *p;
    const notears_settings *s;
    sv_loop *L;
    int d;
    size_t dd;
    sv_dag_ls ls;
    sv_dag_h_ws hw;
    sv_lbfgsb lb;
    sv_lbfgsb_opts lo_opts;
    double *lo, *hi;      /* 2 dd: the bounds of w */
    double *w_est;        /* 2 dd: the last dual step's solution */
    double *W, *Gl, *Gh;  /* dd: W, grad L, grad h */
    double rho, alpha, h_est;
    nt_vals trial;        /* at the last evaluation */
    nt_vals cur;          /* at the L-BFGS iterate */
    int dual_iter, subproblems;
    long fevals;
} nt_ws;

static void ws_free(nt_ws *t)
{
    sv_dag_ls_free(&t->ls);
    sv_dag_h_ws_free(&t->hw);
    sv_lbfgsb_free(&t->lb);
    free(t->lo);
    free(t->hi);
    free(t->w_est);
    free(t->W);
    free(t->Gl);
    free(t->Gh);
}

static int ws_alloc(nt_ws *t, const notears_problem *p, const notears_settings *s)
{
    int d = p->d, rc;
    t->d = d;
    t->dd = (size_t)d * d;
    if ((rc = sv_dag_ls_init(&t->ls, p->n, d, p->X, s->center, -1)) != SV_OK ||
        (rc = sv_dag_h_ws_alloc(&t->hw, d)) != SV_OK ||
        (rc = sv_lbfgsb_alloc(&t->lb, (int)(2 * t->dd), s->memory)) != SV_OK) {
        ws_free(t);
        return rc == SV_EINVAL ? SV_EINTERNAL : rc;
    }
    t->lo = calloc(2 * t->dd, sizeof *t->lo);
    t->hi = malloc(2 * t->dd * sizeof *t->hi);
    t->w_est = calloc(2 * t->dd, sizeof *t->w_est);
    t->W = malloc(t->dd * sizeof *t->W);
    t->Gl = malloc(t->dd * sizeof *t->Gl);
    t->Gh = malloc(t->dd * sizeof *t->Gh);
    if (!t->lo || !t->hi || !t->w_est || !t->W || !t->Gl || !t->Gh) {
        ws_free(t);
        return SV_ENOMEM;
    }
    for (int half = 0; half < 2; half++)
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                t->hi[half * t->dd + (size_t)i * d + j] = i == j ? 0.0 : INFINITY;
    return SV_OK;
}

/* ================================ the subproblem ================================ */

/* W = w+ - w-, and the values at w. */
static void adj(const nt_ws *t, const double *w, double *W, double *l1)
{
    double s = 0;
    for (size_t i = 0; i < t->dd; i++) {
        W[i] = w[i] - w[t->dd + i];
        s += w[i] + w[t->dd + i];
    }
    *l1 = s;
}

/* The augmented Lagrangian L(W) + (rho/2) h^2 + alpha h + lambda1 sum(w) and its gradient in
 * the doubled variables: (G + lambda1, -G + lambda1), G = grad L + (rho h + alpha) grad h. */
static int eval(void *ctx, const double *w, double *f, double *g)
{
    nt_ws *t = ctx;
    if (sv_loop_poll(t->L))
        return 1;
    size_t dd = t->dd;
    double l1, h;
    adj(t, w, t->W, &l1);
    double loss = sv_dag_ls_value(&t->ls, t->W, t->Gl);
    int rc = sv_dag_h(&t->hw, t->W, &h, t->Gh);
    t->fevals++;
    t->trial = (nt_vals){loss, h, l1};
    if (rc != SV_OK || !isfinite(loss)) {
        *f = NAN;
        sv_zero((int)(2 * dd), g);
        return 0;
    }
    double lam = t->s->lambda1, c = t->rho * h + t->alpha;
    *f = loss + 0.5 * t->rho * h * h + t->alpha * h + lam * l1;
    for (size_t i = 0; i < dd; i++) {
        double gs = t->Gl[i] + c * t->Gh[i];
        g[i] = gs + lam;
        g[dd + i] = -gs + lam;
    }
    return 0;
}

static int start_sub(nt_ws *t)
{
    t->subproblems++;
    int st = sv_lbfgsb_start(&t->lb, &t->lo_opts, t->lo, t->hi, t->w_est, eval, t);
    if (st != SV_LBFGSB_ABORTED)
        t->cur = t->trial;
    return st;
}

enum { GO_ON = 0, DONE_SOLVED, DONE_STALLED, DONE_MAX_DUAL, DONE_ABORTED, DONE_DIVERGED };

/* The subproblem ended (state *st) at lb.x: the reference's rule of the file's header, then the
 * next subproblem's start. */
static int next_subproblem(nt_ws *t, int *st)
{
    const notears_settings *s = t->s;
    for (;;) {
        if (*st == SV_LBFGSB_ABORTED)
            return DONE_ABORTED;
        if (*st == SV_LBFGSB_BAD_START)
            return DONE_DIVERGED;
        double h_new = t->cur.h;
        if (h_new > s->h_factor * t->h_est) {
            t->rho *= s->rho_factor;
            if (t->rho < s->rho_max) {
                *st = start_sub(t);
                if (*st == SV_LBFGSB_RUNNING)
                    return GO_ON;
                continue;
            }
        }
        sv_copy((int)(2 * t->dd), t->lb.x, t->w_est);
        t->h_est = h_new;
        t->alpha += t->rho * h_new;
        t->dual_iter++;
        if (h_new <= s->ctl.tol)
            return DONE_SOLVED;
        if (t->rho >= s->rho_max)
            return DONE_STALLED;
        if (t->dual_iter >= s->max_dual_iter)
            return DONE_MAX_DUAL;
        *st = start_sub(t);
        if (*st == SV_LBFGSB_RUNNING)
            return GO_ON;
    }
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    nt_ws *t = ctx;
    if (cap < 7)
        return 0;
    m[0] = (sv_metric){"score", t->cur.loss};
    m[1] = (sv_metric){"h", t->cur.h};
    m[2] = (sv_metric){"rho", t->rho};
    m[3] = (sv_metric){"alpha", t->alpha};
    m[4] = (sv_metric){"lagrangian", t->lb.f};
    m[5] = (sv_metric){"pg_norm", t->lb.pg};
    m[6] = (sv_metric){"dual_iter", t->dual_iter};
    return 7;
}

/* ================================ the solver ================================ */

int notears_solve(const notears_problem *p, const notears_settings *s, const sv_monitor *mon,
                  double *W, double *W_raw, notears_info *info, sv_err *e)
{
    notears_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    if ((rc = notears_check_settings(s, e)) != SV_OK || (rc = check_problem(p, e)) != SV_OK)
        return rc;
    if (!W)
        return sv_fail(e, "/problem", "no room for the estimate");

    nt_ws t;
    memset(&t, 0, sizeof t);
    t.p = p;
    t.s = s;
    if ((rc = ws_alloc(&t, p, s)) != SV_OK)
        return rc;
    t.lo_opts.ftol = s->inner_ftol;
    t.lo_opts.gtol = s->inner_gtol;
    t.lo_opts.max_ls = SV_LBFGSB_DEFAULT_MAX_LS;
    t.rho = s->rho;
    t.alpha = 0;
    t.h_est = INFINITY;

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &t);
    t.L = &L;
    int st = start_sub(&t), done = GO_ON;
    if (st != SV_LBFGSB_RUNNING)
        done = next_subproblem(&t, &st);
    long k;
    for (k = 0;; k++) {
        double obj = t.cur.loss + s->lambda1 * t.cur.l1;
        if (done == DONE_DIVERGED && L.status == SV_UNSOLVED)
            L.status = SV_DIVERGED;
        if (done == DONE_STALLED && L.status == SV_UNSOLVED)
            L.status = SV_STALLED;
        if (done == DONE_MAX_DUAL && L.status == SV_UNSOLVED)
            L.status = SV_MAX_ITER;
        if (sv_loop_check(&L, k, obj, !isfinite(obj), done == DONE_SOLVED) ||
            done == DONE_ABORTED)
            break;
        st = sv_lbfgsb_step(&t.lb);
        if (st == SV_LBFGSB_ABORTED)
            break;
        if (st != SV_LBFGSB_LS_FAILED)
            t.cur = t.trial;
        if (st != SV_LBFGSB_RUNNING || t.lb.iter >= s->inner_max_iter)
            done = next_subproblem(&t, &st);
    }

    /* The final values at the last iterate, evaluated once more without polls (the run has
     * ended either way), so that they belong to the returned W whatever stopped the loop. */
    t.L = NULL;
    double f;
    eval(&t, t.lb.x, &f, t.lb.gt);
    t.cur = t.trial;
    sv_copy((int)t.dd, t.W, W);
    if (W_raw)
        sv_copy((int)t.dd, t.W, W_raw);
    info->score_raw = t.cur.loss;
    info->h = t.cur.h;
    info->edges = sv_dag_threshold(t.d, W, s->w_threshold);
    info->score = sv_dag_ls_value(&t.ls, W, NULL);
    int *order = (int *)t.Gl;  /* d ints of scratch each, in workspace no longer needed */
    int *work = (int *)t.Gh;
    info->acyclic = sv_dag_topo_sort(t.d, W, order, work) == t.d;
    if (sv_dag_h(&t.hw, W, &info->h_returned, NULL) != SV_OK)
        info->h_returned = NAN;
    if (p->W_true) {
        info->has_accuracy = 1;
        sv_dag_accuracy_of(t.d, p->W_true, W, &info->accuracy);
    }
    info->rho = t.rho;
    info->alpha = t.alpha;
    info->dual_iter = t.dual_iter;
    info->subproblems = t.subproblems;
    info->fevals = t.fevals;
    sv_loop_end(&L, &info->base, k, t.cur.loss + s->lambda1 * t.cur.l1, t.cur.h);
    ws_free(&t);
    return SV_OK;
}
