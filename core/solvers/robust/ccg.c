/* ccg.c - column-and-constraint generation (Zeng & Zhao 2013) for the two-stage robust problems
 * of ccg.h, with GLPK's branch and cut for every MILP.
 *
 * One iteration: the master min theta s.t. theta >= q(xi^l)^T (x, y^l), A(xi^l) (x, y^l) <= b(xi^l)
 * for every identified scenario xi^l (l = 0 is the nominal vertex lo) gives x and a lower bound;
 * the adversary evaluates Q(x) = max_{xi in U} min_y q(xi)^T (x, y), an upper bound, and its
 * maximiser becomes the next scenario (a column block y^l and its rows). The loop stops when
 * (UB - LB) / max(1, |UB|) <= tol, or when the adversary returns a scenario the master already
 * holds (then LB >= Q(x) >= UB in exact arithmetic).
 *
 * The model is the same for both classes once a scenario is fixed: ccg__fill writes q(xi) and the
 * dense rows A(xi), b(xi) over the N = nx + ny columns (first stage first). GLPK allocates inside
 * glp_intopt (its search tree), so an iteration allocates through GLPK; the solver's own arrays
 * are allocated once, sized by the scenario cap. Every GLPK call honours the time limit: tm_lim
 * is the time left, and the branch-and-cut callback polls the loop (cancel, the job's limit) and
 * terminates the search. */
#include "core/solvers/robust/ccg.h"

#include <glpk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/kernels/glpk_run.h"

static const char *const adversary_choices[] = {"auto", "enumerate", "cuts", NULL};

const sv_param_spec ccg_params[] = {
    SV_P_ENUM(ccg_settings, adversary, adversary_choices, CCG_ADV_AUTO,
              "worst-case search: enumerate = a second-stage MILP at every vertex of U; cuts = "
              "a MILP over U with one cut per generated recourse (needs constraints free of xi: "
              "the knapsack); auto = enumerate up to max_vertices vertices, else cuts"),
    SV_P_INT32(ccg_settings, max_vertices, 1, 1000000, CCG_DEFAULT_MAX_VERTICES,
               "auto enumerates U when it has at most this many vertices"),
    SV_P_BOOL(ccg_settings, report_steps, 0,
              "also report after every master solve and every adversary round, at the same "
              "iteration index, told apart by the phase metric"),
    SV_CONTROL_PARAMS(ccg_settings, ctl, CCG_DEFAULT_TOL,
                      "stop when (UB - LB) / max(1, |UB|) <= tol", CCG_DEFAULT_MAX_ITER,
                      CCG_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void ccg_settings_default(ccg_settings *s)
{
    sv_params_defaults(ccg_params, s);
}

int ccg_check_settings(const ccg_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(ccg_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    if (s->ctl.max_iter > CCG_MAX_SCENARIOS - 1)
        return sv_fail(e, "/params/max_iter", "at most %ld (the master holds one scenario an "
                       "iteration)", CCG_MAX_SCENARIOS - 1);
    return SV_OK;
}

double ccg_vertex_count(int d, int gamma)
{
    double total = 0, c = 1;
    for (int k = 0; k <= gamma && k <= d; k++) {
        total += c;
        c = c * (d - k) / (k + 1);
    }
    return total;
}

/* ================================ validation ================================ */

static int finite_array(const double *v, long n, const char *path, int nonneg, sv_err *e)
{
    if (!v)
        return sv_fail(e, path, "missing");
    for (long i = 0; i < n; i++)
        if (!isfinite(v[i]) || (nonneg && v[i] < 0))
            return sv_fail(e, path, "entry %ld must be a finite number%s", i,
                           nonneg ? " >= 0" : "");
    return SV_OK;
}

int ccg_check_problem(const ccg_problem *p, sv_err *e)
{
    int rc;
    if (!p)
        return sv_fail(e, "/problem", "missing");
    if (p->n < 1 || p->n > CCG_MAX_ITEMS)  /* the scenario rows are dense: O(n^2) doubles */
        return sv_fail(e, "/problem", "needs between 1 and %d items, got %d", CCG_MAX_ITEMS,
                       p->n);
    if (p->cls == CCG_KNAPSACK) {
        if ((rc = finite_array(p->p_bar, p->n, "/problem/knapsack/p_bar", 0, e)) ||
            (rc = finite_array(p->p_hat, p->n, "/problem/knapsack/p_hat", 1, e)) ||
            (rc = finite_array(p->c, p->n, "/problem/knapsack/c", 1, e)) ||
            (rc = finite_array(p->t, p->n, "/problem/knapsack/t", 1, e)) ||
            (rc = finite_array(p->f, p->n, "/problem/knapsack/f", 0, e)))
            return rc;
        if (!isfinite(p->C) || p->C < 0)
            return sv_fail(e, "/problem/knapsack/C", "capacity must be finite and >= 0");
        if (p->gamma < 0 || p->gamma > p->n)
            return sv_fail(e, "/problem/knapsack/gamma", "must be in [0, %d]", p->n);
        return SV_OK;
    }
    if (p->cls != CCG_CAPITAL)
        return sv_fail(e, "/problem", "unknown problem class %d", p->cls);
    if (p->d < 1 || p->d > 30)
        return sv_fail(e, "/problem/capital_budgeting/phi", "needs 1 to 30 risk factors, got %d",
                       p->d);
    if ((rc = finite_array(p->c_bar, p->n, "/problem/capital_budgeting/c_bar", 1, e)) ||
        (rc = finite_array(p->r_bar, p->n, "/problem/capital_budgeting/r_bar", 0, e)) ||
        (rc = finite_array(p->phi, (long)p->n * p->d, "/problem/capital_budgeting/phi", 0, e)) ||
        (rc = finite_array(p->psi, (long)p->n * p->d, "/problem/capital_budgeting/psi", 0, e)))
        return rc;
    if (!isfinite(p->budget) || p->budget < 0)
        return sv_fail(e, "/problem/capital_budgeting/budget", "must be finite and >= 0");
    if (!isfinite(p->k) || p->k < 0)
        return sv_fail(e, "/problem/capital_budgeting/k", "must be finite and >= 0");
    if (p->loans && (!isfinite(p->l) || p->l < 0 || !isfinite(p->m) || p->m < 0))
        return sv_fail(e, "/problem/capital_budgeting/l", "loan rates l, m must be finite, >= 0");
    if (p->loans && (!isfinite(p->max_loan) || p->max_loan < 0))
        return sv_fail(e, "/problem/capital_budgeting/max_loan", "must be finite and >= 0");
    return SV_OK;
}

/* ================================ the model ================================ */

typedef struct {
    const ccg_problem *p;
    const ccg_settings *s;
    sv_loop *L;
    int nx, ny, N, m, d, gamma;
    int rows_uncertain;  /* A or b depend on xi */
    double *lo, *hi;     /* d: the box */
    double *obj;         /* N */
    double *A;           /* m x N */
    double *b;           /* m */
    int *ind;            /* N + 2, 1-based for GLPK */
    double *val;         /* N + 2 */
    double *x;           /* nx: the master's x */
    double *xi;          /* d: a trial scenario */
    double *cand;        /* d: the adversary's maximiser */
    double *y;           /* ny: a second-stage solution */
    double *coef;        /* d + 1: a cut's affine coefficients */
    int *sub_idx;        /* d: vertex enumeration */
    glp_prob *master, *sub, *adv;
    long cap;            /* scenarios the arrays hold */
    double lb, ub, gap, master_val;
    int n_adv_rows;
    int phase;           /* what the last report followed: 0 iteration, 1 master, 2 adversary */
    int cuts;            /* the adversary is the cut MILP */
    long k;              /* the iteration under way */
    double adv_value;    /* the adversary's best second-stage value so far (this iteration) */
    double adv_bound;    /* cuts: the cut MILP's bound z */
    int glpk_broken;     /* GLPK failed internally: its environment is freed, the problems gone */
} ccg_ws;

static int is_binary(const ccg_ws *w, int j)
{
    if (w->p->cls == CCG_KNAPSACK || !w->p->loans)
        return 1;
    return !(j == w->nx - 1 || j == w->N - 1);  /* the loans are the last of each stage */
}

static double col_ub(const ccg_ws *w, int j)
{
    return is_binary(w, j) ? 1.0 : w->p->max_loan;
}

/* q(xi) into w->obj; with rows, A(xi) and b(xi) into w->A, w->b. */
static void ccg__fill(ccg_ws *w, const double *xi, int rows)
{
    const ccg_problem *p = w->p;
    int n = p->n, N = w->N;
    if (p->cls == CCG_KNAPSACK) {
        for (int i = 0; i < n; i++) {
            w->obj[i] = p->f[i] - p->p_bar[i];
            w->obj[n + i] = p->p_hat[i] * xi[i] - p->f[i];
            w->obj[2 * n + i] = -p->p_hat[i] * xi[i];
        }
        if (!rows)
            return;
        memset(w->A, 0, (size_t)w->m * N * sizeof *w->A);
        for (int i = 0; i < n; i++) {
            w->A[n + i] = p->c[i];
            w->A[2 * n + i] = p->t[i];
            double *r1 = w->A + (size_t)(1 + i) * N, *r2 = w->A + (size_t)(1 + n + i) * N;
            r1[n + i] = 1, r1[i] = -1;
            r2[2 * n + i] = 1, r2[n + i] = -1;
            w->b[1 + i] = 0, w->b[1 + n + i] = 0;
        }
        w->b[0] = p->C;
        return;
    }
    int L = p->loans, d = p->d;
    for (int i = 0; i < n; i++) {
        double a = 0;
        for (int j = 0; j < d; j++)
            a += p->psi[(size_t)i * d + j] * xi[j];
        double rev = (1 + a / 2) * p->r_bar[i];
        w->obj[i] = -rev;
        w->obj[w->nx + i] = -p->k * rev;
    }
    if (L) {
        w->obj[n] = p->l;
        w->obj[w->nx + n] = p->l * p->m;
    }
    if (!rows)
        return;
    memset(w->A, 0, (size_t)w->m * N * sizeof *w->A);
    double *bud = w->A + (size_t)n * N;
    for (int i = 0; i < n; i++) {
        double a = 0;
        for (int j = 0; j < d; j++)
            a += p->phi[(size_t)i * d + j] * xi[j];
        double cost = (1 + a / 2) * p->c_bar[i];
        double *r = w->A + (size_t)i * N;
        r[i] = 1, r[w->nx + i] = 1;
        w->b[i] = 1;
        bud[i] = cost, bud[w->nx + i] = cost;
        if (L)
            w->A[(size_t)(n + 1) * N + i] = cost;
    }
    w->b[n] = p->budget;
    if (L) {
        bud[n] = -1, bud[w->nx + n] = -1;
        w->A[(size_t)(n + 1) * N + n] = -1;
        w->b[n + 1] = p->budget;
    }
}

/* ================================ GLPK ================================ */

static void ccg__callback(glp_tree *T, void *info)
{
    ccg_ws *w = info;
    if (sv_loop_poll(w->L))
        glp_ios_terminate(T);
}

enum { MILP_OPT = 0, MILP_INFEASIBLE = 1, MILP_STOPPED = 2, MILP_ERROR = -1 };

/* One glp_intopt under sv_glpk_run (core/kernels/glpk_run.h): a GLPK internal error comes back
 * as SV_GLPK_FAILED with GLPK's environment freed (its documented recovery), which deletes every
 * problem object of the thread; the solve then ends with SV_ENUMERIC instead of taking the
 * daemon down. */
typedef struct {
    glp_prob *P;
    glp_iocp *parm;
} ccg__intopt;

static int ccg__run_intopt(void *ctx)
{
    ccg__intopt *c = ctx;
    return glp_intopt(c->P, c->parm);
}

static int ccg__milp(ccg_ws *w, glp_prob *P, double *value)
{
    if (sv_loop_poll(w->L))
        return MILP_STOPPED;
    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_ON;
    parm.mip_gap = 0.0;
    parm.cb_func = ccg__callback;
    parm.cb_info = w;
    double limit = w->s->ctl.time_limit_s;
    if (limit > 0) {
        double left_ms = (limit - sv_loop_elapsed(w->L)) * 1e3;
        parm.tm_lim = left_ms >= 2e9 ? 2000000000 : (int)ceil(fmax(left_ms, 0.0)) + 1;
    }
    ccg__intopt call = {P, &parm};
    int rc = 0;
    if (sv_glpk_run(w->L, ccg__run_intopt, &call, &rc) != SV_GLPK_DONE) {
        w->master = w->sub = w->adv = NULL;
        w->glpk_broken = 1;
        return MILP_ERROR;
    }
    if (rc == GLP_ESTOP || rc == GLP_ETMLIM) {
        if (!sv_loop_poll(w->L))
            w->L->status = SV_TIME_LIMIT;  /* GLPK's clock ran out a hair before ours */
        return MILP_STOPPED;
    }
    if (rc == GLP_ENOPFS)
        return MILP_INFEASIBLE;
    if (rc != 0)
        return MILP_ERROR;
    int st = glp_mip_status(P);
    if (st == GLP_NOFEAS)
        return MILP_INFEASIBLE;
    if (st != GLP_OPT)
        return MILP_ERROR;
    *value = glp_mip_obj_val(P);
    return MILP_OPT;
}

/* Sets row r of P to the nonzeros of coefs[0..len) (GLPK columns col0+1...). */
static void set_row(ccg_ws *w, glp_prob *P, int r, const double *coefs, int len, int col0,
                    double extra_col, int extra_idx)
{
    int k = 0;
    for (int j = 0; j < len; j++)
        if (coefs[j] != 0) {
            k++;
            w->ind[k] = col0 + j + 1;
            w->val[k] = coefs[j];
        }
    if (extra_idx > 0) {
        k++;
        w->ind[k] = extra_idx;
        w->val[k] = extra_col;
    }
    glp_set_mat_row(P, r, k, w->ind, w->val);
}

/* Adds scenario xi to the master: columns y^l, the epigraph row and the m rows. */
static void master_add(ccg_ws *w, const double *xi)
{
    glp_prob *P = w->master;
    ccg__fill(w, xi, 1);
    int c0 = glp_add_cols(P, w->ny);
    for (int j = 0; j < w->ny; j++) {
        int c = c0 + j;
        if (is_binary(w, w->nx + j)) {
            glp_set_col_kind(P, c, GLP_BV);
        } else {
            glp_set_col_kind(P, c, GLP_CV);
            glp_set_col_bnds(P, c, col_ub(w, w->nx + j) > 0 ? GLP_DB : GLP_FX, 0.0,
                             col_ub(w, w->nx + j));
        }
    }
    int r0 = glp_add_rows(P, 1 + w->m);
    int theta = w->nx + 1;
    /* row r0: q_x x + q_y y^l - theta <= 0 */
    int k = 0;
    for (int j = 0; j < w->N; j++)
        if (w->obj[j] != 0) {
            k++;
            w->ind[k] = j < w->nx ? j + 1 : c0 + (j - w->nx);
            w->val[k] = w->obj[j];
        }
    k++;
    w->ind[k] = theta;
    w->val[k] = -1;
    glp_set_mat_row(P, r0, k, w->ind, w->val);
    glp_set_row_bnds(P, r0, GLP_UP, 0.0, 0.0);
    for (int r = 0; r < w->m; r++) {
        const double *a = w->A + (size_t)r * w->N;
        k = 0;
        for (int j = 0; j < w->N; j++)
            if (a[j] != 0) {
                k++;
                w->ind[k] = j < w->nx ? j + 1 : c0 + (j - w->nx);
                w->val[k] = a[j];
            }
        glp_set_mat_row(P, r0 + 1 + r, k, w->ind, w->val);
        glp_set_row_bnds(P, r0 + 1 + r, GLP_UP, 0.0, w->b[r]);
    }
}

/* min_y q(xi)^T (x, y) s.t. A(xi) (x, y) <= b(xi) at the master's x: *value, y in w->y. */
static int second_stage(ccg_ws *w, const double *xi, double *value)
{
    glp_prob *P = w->sub;
    ccg__fill(w, xi, 1);
    double cst = 0;
    for (int j = 0; j < w->nx; j++)
        cst += w->obj[j] * w->x[j];
    glp_set_obj_coef(P, 0, cst);
    for (int j = 0; j < w->ny; j++)
        glp_set_obj_coef(P, j + 1, w->obj[w->nx + j]);
    for (int r = 0; r < w->m; r++) {
        const double *a = w->A + (size_t)r * w->N;
        double rhs = w->b[r], mag = fabs(w->b[r]);
        for (int j = 0; j < w->nx; j++) {
            rhs -= a[j] * w->x[j];
            mag += fabs(a[j] * w->x[j]);
        }
        set_row(w, P, r + 1, a + w->nx, w->ny, 0, 0, 0);
        /* The master's x satisfied this row within GLPK's tolerance: the same slack here. */
        glp_set_row_bnds(P, r + 1, GLP_UP, 0.0, rhs + 1e-9 * (1 + mag));
    }
    int rc = ccg__milp(w, P, value);
    if (rc == MILP_INFEASIBLE)
        *value = INFINITY;
    if (rc == MILP_OPT)
        for (int j = 0; j < w->ny; j++)
            w->y[j] = glp_mip_col_val(P, j + 1);
    return rc;
}

/* xi for the subset idx[0..k) at hi, the rest at lo. */
static void vertex(const ccg_ws *w, const int *idx, int k, double *xi)
{
    memcpy(xi, w->lo, (size_t)w->d * sizeof *xi);
    for (int i = 0; i < k; i++)
        xi[idx[i]] = w->hi[idx[i]];
}

/* Q(x) by enumerating U: *q and its maximiser in w->cand. */
static int adversary_enumerate(ccg_ws *w, double *q, ccg_info *info)
{
    int d = w->d, *idx = w->sub_idx;
    *q = -INFINITY;
    for (int k = 0; k <= w->gamma && k <= d; k++) {
        for (int i = 0; i < k; i++)
            idx[i] = i;
        for (;;) {
            double v;
            vertex(w, idx, k, w->xi);
            int rc = second_stage(w, w->xi, &v);
            info->subproblems++;
            if (rc == MILP_STOPPED || rc == MILP_ERROR)
                return rc;
            if (v > *q) {
                *q = v;
                w->adv_value = v;
                memcpy(w->cand, w->xi, (size_t)d * sizeof *w->cand);
                if (isinf(v))
                    return MILP_OPT;  /* infeasible: nothing is worse */
            }
            int i = k - 1;  /* next k-subset in lexicographic order */
            while (i >= 0 && idx[i] == d - k + i)
                i--;
            if (i < 0)
                break;
            idx[i]++;
            for (int j = i + 1; j < k; j++)
                idx[j] = idx[j - 1] + 1;
        }
    }
    return MILP_OPT;
}

/* The cut z <= q(xi(u))^T (x, y) = a0 + sum_j a_j u_j for the recourse in w->y. */
static void add_cut(ccg_ws *w)
{
    int d = w->d;
    double a0 = 0;
    ccg__fill(w, w->lo, 0);
    for (int j = 0; j < w->N; j++)
        a0 += w->obj[j] * (j < w->nx ? w->x[j] : w->y[j - w->nx]);
    for (int i = 0; i < d; i++) {
        memcpy(w->xi, w->lo, (size_t)d * sizeof *w->xi);
        w->xi[i] = w->hi[i];
        ccg__fill(w, w->xi, 0);
        double v = 0;
        for (int j = 0; j < w->N; j++)
            v += w->obj[j] * (j < w->nx ? w->x[j] : w->y[j - w->nx]);
        w->coef[i] = -(v - a0);
    }
    /* Differences that cancel leave 1e-13-sized coefficients, on which GLPK's MIP presolve
     * returned a wrong optimum (z at its bound below a0): they are rounding, drop them. */
    double scale = fabs(a0);
    for (int i = 0; i < d; i++)
        scale = fmax(scale, fabs(w->coef[i]));
    for (int i = 0; i < d; i++)
        if (fabs(w->coef[i]) <= 1e-11 * scale)
            w->coef[i] = 0;
    glp_prob *P = w->adv;
    int r = glp_add_rows(P, 1);
    w->n_adv_rows++;
    set_row(w, P, r, w->coef, d, 0, 1.0, d + 1);
    glp_set_row_bnds(P, r, GLP_UP, 0.0, a0);
}

/* A sub-step report (report_steps): 1 when the monitor asks to stop. */
static int step_report(ccg_ws *w, int phase)
{
    if (!w->s->report_steps)
        return 0;
    w->phase = phase;
    int stop = sv_loop_report(w->L, w->k, w->ub);
    w->phase = 0;
    return stop;
}

/* Q(x) by cut generation over U (rows free of xi): *q (the MILP's bound at convergence, an
 * upper bound on Q(x) within 1e-9 relative of the recourse value found there). */
static int adversary_cuts(ccg_ws *w, double *q, ccg_info *info)
{
    glp_prob *P = w->adv;
    int d = w->d;
    while (w->n_adv_rows > 0) {  /* the cuts of the previous x are void */
        int nr = glp_get_num_rows(P), del = w->n_adv_rows < w->N ? w->n_adv_rows : w->N;
        for (int i = 0; i < del; i++)
            w->ind[i + 1] = nr - del + 1 + i;
        glp_del_rows(P, del, w->ind);
        w->n_adv_rows -= del;
    }
    double v;
    int rc = second_stage(w, w->lo, &v);
    info->subproblems++;
    if (rc != MILP_OPT) {
        if (rc == MILP_INFEASIBLE) {
            *q = INFINITY;
            memcpy(w->cand, w->lo, (size_t)d * sizeof *w->cand);
            return MILP_OPT;
        }
        return rc;
    }
    add_cut(w);
    /* z's range from the first cut: at most its largest value; at u = 0 every later cut is
     * >= a0 (the nominal recourse is optimal there), so z = a0 - 1 stays feasible. A free z
     * made GLPK's simplex cycle on some instances. */
    double a0 = glp_get_row_ub(P, glp_get_num_rows(P)), span = 1;
    for (int j = 0; j < d; j++)
        span += fabs(w->coef[j]);
    glp_set_col_bnds(P, d + 1, GLP_DB, a0 - 1, a0 + span);
    for (;;) {
        double z;
        info->adversary_rounds++;
        rc = ccg__milp(w, P, &z);
        if (rc != MILP_OPT)
            return rc == MILP_INFEASIBLE ? MILP_ERROR : rc;
        for (int j = 0; j < d; j++)
            w->xi[j] = glp_mip_col_val(P, j + 1) > 0.5 ? w->hi[j] : w->lo[j];
        memcpy(w->cand, w->xi, (size_t)d * sizeof *w->cand);
        rc = second_stage(w, w->cand, &v);
        info->subproblems++;
        if (rc == MILP_INFEASIBLE) {
            *q = INFINITY;
            return MILP_OPT;
        }
        if (rc != MILP_OPT)
            return rc;
        w->adv_value = fmax(w->adv_value, v);
        w->adv_bound = z;
        if (v >= z - 1e-9 * (1 + fabs(z))) {
            *q = z;
            return MILP_OPT;
        }
        if (step_report(w, 2))
            return MILP_STOPPED;
        add_cut(w);
    }
}

/* ================================ workspace ================================ */

static void ws_free(ccg_ws *w)
{
    free(w->lo);
    free(w->hi);
    free(w->obj);
    free(w->A);
    free(w->b);
    free(w->ind);
    free(w->val);
    free(w->x);
    free(w->xi);
    free(w->cand);
    free(w->y);
    free(w->coef);
    free(w->sub_idx);
    if (w->master)
        glp_delete_prob(w->master);
    if (w->sub)
        glp_delete_prob(w->sub);
    if (w->adv)
        glp_delete_prob(w->adv);
    w->master = w->sub = w->adv = NULL;
    if (!w->glpk_broken)
        glp_free_env();  /* GLPK keeps a per-thread environment: a worker thread must not leak it */
}

void ccg_info_free(ccg_info *info)
{
    if (!info)
        return;
    free(info->x);
    free(info->worst);
    free(info->scenarios);
    info->x = info->worst = info->scenarios = NULL;
}

static int ws_alloc(ccg_ws *w, const ccg_problem *p, ccg_info *info)
{
    int n = p->n;
    if (p->cls == CCG_KNAPSACK) {
        w->nx = n, w->ny = 2 * n, w->m = 1 + 2 * n, w->d = n, w->gamma = p->gamma;
        w->rows_uncertain = 0;
    } else {
        w->nx = n + p->loans, w->ny = n + p->loans, w->m = n + 1 + p->loans, w->d = p->d;
        w->gamma = p->d;
        w->rows_uncertain = 1;
    }
    w->N = w->nx + w->ny;
    int d = w->d;
    w->lo = malloc((size_t)d * sizeof *w->lo);
    w->hi = malloc((size_t)d * sizeof *w->hi);
    w->obj = malloc((size_t)w->N * sizeof *w->obj);
    w->A = malloc((size_t)w->m * w->N * sizeof *w->A);
    w->b = malloc((size_t)w->m * sizeof *w->b);
    w->ind = malloc((size_t)(w->N + d + 2) * sizeof *w->ind);
    w->val = malloc((size_t)(w->N + d + 2) * sizeof *w->val);
    w->x = calloc((size_t)w->nx, sizeof *w->x);
    w->xi = malloc((size_t)d * sizeof *w->xi);
    w->cand = malloc((size_t)d * sizeof *w->cand);
    w->y = calloc((size_t)w->ny, sizeof *w->y);
    w->coef = malloc((size_t)(d + 1) * sizeof *w->coef);
    w->sub_idx = malloc((size_t)d * sizeof *w->sub_idx);
    info->x = calloc((size_t)w->nx, sizeof *info->x);
    info->worst = calloc((size_t)d, sizeof *info->worst);
    info->scenarios = malloc((size_t)w->cap * d * sizeof *info->scenarios);
    if (!w->lo || !w->hi || !w->obj || !w->A || !w->b || !w->ind || !w->val || !w->x || !w->xi ||
        !w->cand || !w->y || !w->coef || !w->sub_idx || !info->x || !info->worst ||
        !info->scenarios)
        return SV_ENOMEM;
    for (int j = 0; j < d; j++) {
        w->lo[j] = p->cls == CCG_KNAPSACK ? 0.0 : -1.0;
        w->hi[j] = 1.0;
    }
    return SV_OK;
}

/* The three GLPK problems: the master's first stage and theta, the second stage's columns and
 * rows (coefficients set per scenario), the adversary's budget set. */
static void build_problems(ccg_ws *w)
{
    w->master = glp_create_prob();
    glp_add_cols(w->master, w->nx + 1);
    for (int j = 0; j < w->nx; j++) {
        if (is_binary(w, j)) {
            glp_set_col_kind(w->master, j + 1, GLP_BV);
        } else {
            glp_set_col_kind(w->master, j + 1, GLP_CV);
            glp_set_col_bnds(w->master, j + 1, col_ub(w, j) > 0 ? GLP_DB : GLP_FX, 0.0,
                             col_ub(w, j));
        }
    }
    glp_set_col_bnds(w->master, w->nx + 1, GLP_FR, 0.0, 0.0);
    glp_set_obj_coef(w->master, w->nx + 1, 1.0);

    w->sub = glp_create_prob();
    glp_add_cols(w->sub, w->ny);
    for (int j = 0; j < w->ny; j++) {
        if (is_binary(w, w->nx + j)) {
            glp_set_col_kind(w->sub, j + 1, GLP_BV);
        } else {
            glp_set_col_kind(w->sub, j + 1, GLP_CV);
            glp_set_col_bnds(w->sub, j + 1, col_ub(w, w->nx + j) > 0 ? GLP_DB : GLP_FX, 0.0,
                             col_ub(w, w->nx + j));
        }
    }
    glp_add_rows(w->sub, w->m);

    w->adv = glp_create_prob();
    glp_set_obj_dir(w->adv, GLP_MAX);
    glp_add_cols(w->adv, w->d + 1);
    for (int j = 0; j < w->d; j++)
        glp_set_col_kind(w->adv, j + 1, GLP_BV);
    glp_set_col_bnds(w->adv, w->d + 1, GLP_FR, 0.0, 0.0);
    glp_set_obj_coef(w->adv, w->d + 1, 1.0);
    glp_add_rows(w->adv, 1);
    for (int j = 0; j < w->d; j++)
        w->coef[j] = 1.0;
    set_row(w, w->adv, 1, w->coef, w->d, 0, 0, 0);
    glp_set_row_bnds(w->adv, 1, GLP_UP, 0.0, (double)w->gamma);
}

/* ================================ the loop ================================ */

typedef struct {
    ccg_ws *w;
    ccg_info *info;
} ccg_ctx;

static int metrics(void *ctx, sv_metric *m, int cap)
{
    ccg_ctx *c = ctx;
    if (cap < 10)
        return 0;
    m[0] = (sv_metric){"lower_bound", c->w->lb};
    m[1] = (sv_metric){"upper_bound", c->w->ub};
    m[2] = (sv_metric){"gap", c->w->gap};
    m[3] = (sv_metric){"master_value", c->w->master_val};
    m[4] = (sv_metric){"scenarios", (double)c->info->n_scenarios};
    m[5] = (sv_metric){"subproblems", (double)c->info->subproblems};
    m[6] = (sv_metric){"phase", (double)c->w->phase};
    m[7] = (sv_metric){"adversary_value", c->w->adv_value};
    if (!c->w->cuts)
        return 8;
    m[8] = (sv_metric){"adversary_bound", c->w->adv_bound};
    m[9] = (sv_metric){"adversary_rounds", (double)c->info->adversary_rounds};
    return 10;
}

static int known_scenario(const ccg_info *info, const double *xi, int d)
{
    for (int l = 0; l < info->n_scenarios; l++)
        if (memcmp(info->scenarios + (size_t)l * d, xi, (size_t)d * sizeof *xi) == 0)
            return 1;
    return 0;
}

int ccg_solve(const ccg_problem *p, const ccg_settings *s, const sv_monitor *mon, ccg_info *info,
              sv_err *e)
{
    ccg_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    if ((rc = ccg_check_settings(s, e)) != SV_OK || (rc = ccg_check_problem(p, e)) != SV_OK)
        return rc;
    int d = p->cls == CCG_KNAPSACK ? p->n : p->d;
    int gamma = p->cls == CCG_KNAPSACK ? p->gamma : p->d;
    double nv = ccg_vertex_count(d, gamma);
    int adv = s->adversary;
    if (adv == CCG_ADV_AUTO)
        adv = nv <= s->max_vertices || p->cls == CCG_CAPITAL ? CCG_ADV_ENUMERATE : CCG_ADV_CUTS;
    if (adv == CCG_ADV_CUTS && p->cls == CCG_CAPITAL)
        return sv_fail(e, "/params/adversary", "cuts needs constraints free of xi; the capital "
                       "budgeting costs are uncertain: use enumerate");
    if (adv == CCG_ADV_ENUMERATE && nv > 1e7)
        return sv_fail(e, "/params/adversary", "enumerate would visit %.3g vertices (limit 1e7)",
                       nv);

    ccg_ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.s = s;
    w.cap = s->ctl.max_iter + 1;
    if (nv + 1 < (double)w.cap)
        w.cap = (long)nv + 1;
    if ((rc = ws_alloc(&w, p, info)) != SV_OK) {
        ws_free(&w);
        ccg_info_free(info);
        return rc;
    }
    info->adversary = adv;
    info->vertices = nv;
    info->n_first = w.nx;
    info->d = d;
    build_problems(&w);

    sv_loop L;
    ccg_ctx ctx = {&w, info};
    sv_loop_begin(&L, &s->ctl, mon, metrics, &ctx);
    w.L = &L;
    w.lb = -INFINITY, w.ub = INFINITY, w.gap = INFINITY, w.master_val = -INFINITY;
    w.adv_value = -INFINITY, w.adv_bound = INFINITY;
    w.cuts = adv == CCG_ADV_CUTS;
    master_add(&w, w.lo);
    memcpy(info->scenarios, w.lo, (size_t)d * sizeof *w.lo);
    info->n_scenarios = 1;
    int converged = 0, failed = 0, infeasible = 0;
    long k;
    /* The incumbent x = 0 (no item, no project, no loan) is feasible in every scenario of both
     * classes: its Q(0) is a finite first upper bound, so every report has a finite objective. */
    {
        double q0 = INFINITY;
        int rc0 = adv == CCG_ADV_CUTS ? adversary_cuts(&w, &q0, info)
                                      : adversary_enumerate(&w, &q0, info);
        if (rc0 == MILP_ERROR)
            failed = 1;
        else if (rc0 == MILP_OPT) {
            w.ub = q0;
            memcpy(info->worst, w.cand, (size_t)d * sizeof *w.cand);
        }
    }
    for (k = 0; !failed && !sv_loop_stopped(&L); k++) {
        if (sv_loop_check(&L, k, w.ub, 0, converged))
            break;
        w.k = k;
        double theta;
        rc = ccg__milp(&w, w.master, &theta);
        if (rc == MILP_STOPPED)
            break;
        if (rc == MILP_INFEASIBLE) {
            infeasible = 1;
            break;
        }
        if (rc == MILP_ERROR) {
            failed = 1;
            break;
        }
        w.master_val = theta;
        w.lb = fmax(w.lb, theta);
        for (int j = 0; j < w.nx; j++) {
            double v = glp_mip_col_val(w.master, j + 1);
            w.x[j] = is_binary(&w, j) ? (v > 0.5 ? 1.0 : 0.0) : v;
        }
        w.adv_value = -INFINITY, w.adv_bound = INFINITY;
        if (step_report(&w, 1))
            break;
        double q = INFINITY;
        rc = adv == CCG_ADV_CUTS ? adversary_cuts(&w, &q, info)
                                 : adversary_enumerate(&w, &q, info);
        if (rc == MILP_STOPPED)
            break;
        if (rc == MILP_ERROR) {
            failed = 1;
            break;
        }
        w.adv_value = q;
        if (q < w.ub) {
            w.ub = q;
            memcpy(info->x, w.x, (size_t)w.nx * sizeof *w.x);
            memcpy(info->worst, w.cand, (size_t)d * sizeof *w.cand);
        }
        w.gap = isfinite(w.ub) && isfinite(w.lb)
                    ? fmax(0.0, (w.ub - w.lb) / fmax(1.0, fabs(w.ub))) : INFINITY;
        if (w.gap <= s->ctl.tol || known_scenario(info, w.cand, d)) {
            converged = 1;
            continue;
        }
        if (info->n_scenarios < w.cap) {  /* always: one scenario an iteration, cap max_iter+1 */
            master_add(&w, w.cand);
            memcpy(info->scenarios + (size_t)info->n_scenarios * d, w.cand,
                   (size_t)d * sizeof *w.cand);
            info->n_scenarios++;
        }
    }
    info->lower_bound = w.lb;
    info->upper_bound = w.ub;
    info->gap = w.gap;
    if (failed) {
        ws_free(&w);
        return sv_loop_fail(&L, &info->base, k, SV_ENUMERIC);
    }
    if (infeasible)
        L.status = SV_INFEASIBLE;
    sv_loop_end(&L, &info->base, k, w.ub, w.gap);
    ws_free(&w);
    return SV_OK;
}
