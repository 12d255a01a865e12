/* mfac.c - secondorder.mfac: M-FAC preconditioned SGD (dynamic algorithm) and OBS pruning (static
 * algorithm) on a linear model, and the instance generator. The IHVP engines are core/kernels/mfac.c.
 *
 * A solve runs up to three phases on one clock, one iteration counter and one monitor:
 *   fit       the optimizer for max_iter steps (the whole solve in optimize mode)
 *   prune     prune_steps OBS rounds (prune mode)
 *   finetune  the optimizer again for finetune_iter steps with the pruned weights held at zero
 * Any phase ending in cancellation, time limit or divergence ends the solve.
 *
 * The phases share one sv_loop (core/control.h): its control block is the run's own copy of the
 * settings' one, whose max_iter is moved to the end of the current optimizer phase, so that
 * sv_loop_check applies the common order (diverged, solved, report, the phase's budget, time
 * limit, the monitor's poll) at every step of every phase; a phase that ran its course (or, in
 * prune mode, a fit that met tol) hands over to the next by clearing the loop's status. A pruning
 * round polls while it forms the Fisher gradients and between the blocks of the static
 * algorithm's precomputation, and is abandoned (x as after the previous round) on a stop. */
#include "core/solvers/secondorder/mfac.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels/mfac.h"
#include "core/rng.h"

enum { PHASE_FIT = 0, PHASE_PRUNE = 1, PHASE_FINETUNE = 2 };

typedef struct {
    double *g;       /* d: step gradient */
    double *gfull;   /* d: full gradient at x */
    double *dir;     /* d: preconditioned direction */
    double *mom;     /* d: momentum buffer */
    double *acc;     /* d: one Fisher gradient before compaction */
    double *xcopy;   /* d: magnitude-pruning baseline */
    double *keys;    /* d: TopK scratch of the baseline */
    double *work;    /* rows: glm workspace; in pruning the per-sample derivatives */
    int *perm;       /* rows: sampling order */
    int *active;     /* d: indices of unpruned weights (prune mode) */
    unsigned char *mask; /* d: 1 = pruned (held at zero); NULL outside prune mode */
    sv_mfac_window win;
    int has_win;
} mfac_ws;

/* What the phases share. */
typedef struct {
    const sv_glm *glm;
    const mfac_settings *s;
    sv_control ctl;         /* s->ctl with max_iter = the end of the current optimizer phase */
    sv_loop L;
    int d, rows;
    double f0;              /* f(x0), for the divergence test */
    double gn;              /* |grad f| at the last evaluation, for reports */
    double lr;              /* step size of the last step of the phase (NaN: none yet) */
    long iter;              /* optimizer steps so far, all phases */
    int phase;
    int pos;                /* next unused position in ws.perm */
    sv_rng rng;
    mfac_ws w;
    mfac_info *info;
} mfac_run;

static int check_problem(const mfac_problem *p, sv_err *e);
static int ws_alloc(mfac_run *r);
static void ws_free(mfac_ws *w);
static const int *next_batch(mfac_run *r, int k);
static double full_eval(mfac_run *r, const double *x, double *gn);
static double pruned_fraction(const mfac_run *r, const double *x);
static int metrics(void *ctx, sv_metric *m, int cap);
static int sgd_phase(mfac_run *r, double *x, long steps, double lr_max, int *rc);
static void prune_phase(mfac_run *r, double *x, int *rc);
static int prune_round(mfac_run *r, double *x, long keep, int *stopped);
static double magnitude_baseline(mfac_run *r, const double *x, long keep);
static int cmp_score(const void *a, const void *b);

/* ================================ settings ================================ */

static const char *const mode_choices[] = {"optimize", "prune", NULL};
static const char *const precond_choices[] = {"mfac", "none", NULL};
static const char *const obs_choices[] = {"independent", "group", NULL};

const sv_param_spec mfac_params[] = {
    SV_P_ENUM(mfac_settings, mode, mode_choices, MFAC_DEFAULT_MODE,
              "optimize: M-FAC preconditioned SGD (the dynamic algorithm); prune: fit for "
              "max_iter steps, then optimal-brain-surgeon pruning to the target sparsity (the "
              "static algorithm)"),
    SV_PN_ENUM(mfac_settings, precond, "preconditioner", precond_choices, MFAC_DEFAULT_PRECOND,
               "optimizer steps: mfac = the inverse empirical Fisher of the last `window` "
               "gradients; none = plain SGD with the same momentum and schedule"),
    SV_P_INT(mfac_settings, window, 1, MFAC_MAX_WINDOW, MFAC_DEFAULT_WINDOW,
             "m of the optimizer: gradients in the sliding window"),
    SV_P_NUMBER_GT(mfac_settings, damp, 0, INFINITY, NAN,
                   "dampening lambda of F = lambda I + (1/m) sum g g' (relative by default, see "
                   "damp_relative); null: 0.1 for the window, 0.001 for the pruning Fisher"),
    SV_P_BOOL(mfac_settings, damp_relative, MFAC_DEFAULT_DAMP_RELATIVE,
              "true: lambda = damp * the mean diagonal of (1/m) sum g g', recomputed as the "
              "window changes; false: lambda = damp"),
    SV_P_NUMBER_GT(mfac_settings, lr, 0, INFINITY, MFAC_DEFAULT_LR,
                   "largest step size (the schedule scales it)"),
    SV_P_NUMBER(mfac_settings, momentum, 0, MFAC_BELOW_ONE, MFAC_DEFAULT_MOMENTUM,
                "beta in [0, 1): v = beta v + (1 - beta) direction, x = x - lr v"),
    SV_P_INT(mfac_settings, batch_size, 0, INT_MAX, MFAC_DEFAULT_BATCH_SIZE,
             "rows per stochastic gradient (seeded, without replacement within an epoch); 0 = "
             "all"),
    SV_P_INT(mfac_settings, fisher_grads, 1, MFAC_MAX_WINDOW, MFAC_DEFAULT_FISHER_GRADS,
             "prune: m of the static algorithm, gradients in the pruning Fisher (a few times the "
             "dimension gives an accurate Fisher; fewer gives the paper's low-rank-plus-damping "
             "regime)"),
    SV_P_INT(mfac_settings, fisher_batch_size, 1, INT_MAX, MFAC_DEFAULT_FISHER_BATCH_SIZE,
             "prune: rows averaged into each Fisher gradient (1 = per-sample gradients)"),
    SV_P_SEED(mfac_settings, seed, MFAC_DEFAULT_SEED, "seed of the mini-batch and Fisher sampling"),
    SV_CONTROL_PARAMS(mfac_settings, ctl, MFAC_DEFAULT_TOL,
                      "stop an optimizer phase when |grad f| <= tol (checked at reports, or every "
                      "step with full gradients); 0: never; max_iter: optimizer steps (prune "
                      "mode: the fit before pruning, 0 = prune x0 as given), the budget of the "
                      "schedule",
                      MFAC_DEFAULT_MAX_ITER, MFAC_DEFAULT_REPORT_EVERY),
    SV_P_SCHEDULE_KIND(mfac_settings, schedule, MFAC_DEFAULT_SCHEDULE,
                       "step-size schedule over each optimizer phase (docs/schedules.md)"),
    SV_P_NUMBER(mfac_settings, sparsity, 0, MFAC_BELOW_ONE, MFAC_DEFAULT_SPARSITY,
                "prune: fraction of the weights set to zero, in [0, 1)"),
    SV_P_INT(mfac_settings, prune_steps, 1, 1000, MFAC_DEFAULT_PRUNE_STEPS,
             "prune: rounds to reach the sparsity (geometric density schedule), each with a "
             "fresh Fisher"),
    SV_P_INT(mfac_settings, finetune_iter, 0, 1e9, MFAC_DEFAULT_FINETUNE_ITER,
             "prune: optimizer steps after pruning with the removed weights held at zero"),
    SV_P_NUMBER_GT(mfac_settings, finetune_lr, 0, INFINITY, NAN,
                   "prune: largest step size of the fine-tune; null: lr"),
    SV_P_ENUM(mfac_settings, obs_update, obs_choices, MFAC_DEFAULT_OBS_UPDATE,
              "prune: independent = the removed weights' single-weight OBS corrections summed "
              "(the authors' pruner); group = the exact multi-weight OBS step for the removed "
              "set"),
    SV_PARAMS_END,
};

void mfac_settings_default(mfac_settings *s)
{
    sv_params_defaults(mfac_params, s);
}

long mfac_round_keep(int d, double sparsity, long prune_steps, long k)
{
    const long keep_final = d - lround(sparsity * d);
    if (k >= prune_steps)
        return keep_final;
    long keep = lround(d * pow(1.0 - sparsity, (double)k / prune_steps));
    return keep < keep_final ? keep_final : keep;
}

int mfac_check_settings(const mfac_settings *s, int dim, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(mfac_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    /* Checks against the dimension last, so that every scalar error is named first. */
    if (dim > 0 && (double)s->window * dim > MFAC_MAX_WINDOW_ENTRIES)
        return sv_fail(e, "/params/window", "window * dimension = %.0f exceeds the limit of %.0f "
                       "stored gradient entries", (double)s->window * dim,
                       MFAC_MAX_WINDOW_ENTRIES);
    if (dim > 0 && s->mode == MFAC_MODE_PRUNE &&
        (double)s->fisher_grads * dim > MFAC_MAX_WINDOW_ENTRIES)
        return sv_fail(e, "/params/fisher_grads", "fisher_grads * dimension = %.0f exceeds the "
                       "limit of %.0f stored gradient entries", (double)s->fisher_grads * dim,
                       MFAC_MAX_WINDOW_ENTRIES);
    if (dim > 0 && s->mode == MFAC_MODE_PRUNE && s->obs_update == MFAC_OBS_GROUP) {
        long prev = dim;
        for (long k = 1; k <= s->prune_steps; k++) {
            const long keep = mfac_round_keep(dim, s->sparsity, s->prune_steps, k);
            if (prev - keep > MFAC_MAX_GROUP)
                return sv_fail(e, "/params/obs_update", "a \"group\" round would remove %ld "
                               "weights at once, more than %ld: raise prune_steps or use "
                               "\"independent\"", prev - keep, MFAC_MAX_GROUP);
            if (keep < prev)
                prev = keep;
        }
    }
    return SV_OK;
}

/* ================================ validation ================================ */

static int check_problem(const mfac_problem *p, sv_err *e)
{
    if (!p || !p->glm)
        return sv_fail(e, "/problem", "problem missing");
    const sv_glm *c = p->glm;
    if (c->loss != SV_LOSS_SQUARED && c->loss != SV_LOSS_LOGISTIC)
        return sv_fail(e, "/problem/loss", "must be \"squared\" or \"logistic\"");
    const sv_mat *A = c->A;
    if (!A || A->rows < 1 || A->cols < 1)
        return sv_fail(e, "/problem/A", "needs at least one row and one column");
    if (A->kind == SV_MAT_DENSE) {
        if (!A->dense.data || A->dense.rows != A->rows || A->dense.cols != A->cols)
            return sv_fail(e, "/problem/A", "dense storage does not match the shape");
        for (int r = 0; r < A->rows; r++)
            if (!sv_all_finite(A->cols, A->dense.data + (size_t)r * A->cols))
                return sv_fail(e, "/problem/A", "row %d holds a non-finite entry", r);
    } else if (A->kind == SV_MAT_CSR) {
        if (!A->csr.rowptr || A->csr.rows != A->rows || A->csr.cols != A->cols || A->csr.nnz < 0 ||
            (A->csr.nnz > 0 && (!A->csr.colind || !A->csr.val)))
            return sv_fail(e, "/problem/A", "sparse storage does not match the shape");
        if (!sv_all_finite(A->csr.nnz, A->csr.val))
            return sv_fail(e, "/problem/A", "holds a non-finite entry");
    } else {
        return sv_fail(e, "/problem/A", "unknown matrix kind");
    }
    if (!c->b)
        return sv_fail(e, "/problem/b", "targets missing");
    char path[64];
    for (int r = 0; r < A->rows; r++) {
        double b = c->b[r];
        if (!isfinite(b) || (c->loss == SV_LOSS_LOGISTIC && b != 1.0 && b != -1.0)) {
            snprintf(path, sizeof path, "/problem/b/%d", r);
            return sv_fail(e, path, c->loss == SV_LOSS_LOGISTIC ? "logistic labels must be -1 or 1"
                                                                : "must be finite");
        }
        if (c->w && !(isfinite(c->w[r]) && c->w[r] >= 0)) {
            snprintf(path, sizeof path, "/problem/w/%d", r);
            return sv_fail(e, path, "sample weights must be finite and >= 0");
        }
    }
    if (!(isfinite(c->lambda) && c->lambda >= 0))
        return sv_fail(e, "/problem/lambda", "must be a finite number >= 0");
    if (c->lambda_vec)
        for (int j = 0; j < A->cols; j++)
            if (!(isfinite(c->lambda_vec[j]) && c->lambda_vec[j] >= 0)) {
                snprintf(path, sizeof path, "/problem/lambda/%d", j);
                return sv_fail(e, path, "must be a finite number >= 0");
            }
    return SV_OK;
}

/* ================================ workspace ================================ */

static int ws_alloc(mfac_run *r)
{
    mfac_ws *w = &r->w;
    const int d = r->d, rows = r->rows;
    const int prune = r->s->mode == MFAC_MODE_PRUNE;
    memset(w, 0, sizeof *w);
    w->g = calloc((size_t)d * 7, sizeof *w->g);
    w->work = calloc((size_t)rows, sizeof *w->work);
    w->perm = malloc((size_t)rows * sizeof *w->perm);
    if (prune) {
        w->active = malloc((size_t)d * sizeof *w->active);
        w->mask = calloc((size_t)d, sizeof *w->mask);
    }
    if (!w->g || !w->work || !w->perm || (prune && (!w->active || !w->mask))) {
        ws_free(w);
        return SV_ENOMEM;
    }
    w->gfull = w->g + d;
    w->dir = w->gfull + d;
    w->mom = w->dir + d;
    w->acc = w->mom + d;
    w->xcopy = w->acc + d;
    w->keys = w->xcopy + d;
    for (int i = 0; i < rows; i++)
        w->perm[i] = i;
    r->pos = rows;  /* the first batch shuffles */
    if (r->s->precond == MFAC_PRECOND_MFAC &&
        (r->s->ctl.max_iter > 0 || (prune && r->s->finetune_iter > 0))) {
        const double damp = isnan(r->s->damp) ? MFAC_DEFAULT_DAMP_WINDOW : r->s->damp;
        int rc = sv_mfac_window_init(&w->win, d, (int)r->s->window, damp);
        if (rc != SV_OK) {
            ws_free(w);
            return rc == SV_EINVAL ? SV_EINTERNAL : rc;
        }
        if (r->s->damp_relative)
            sv_mfac_window_set_relative(&w->win, damp);
        /* F over the gradients actually held: a window still filling does not shrink F by
         * count/m, which would lengthen the first steps of every phase m-fold. */
        sv_mfac_window_normalize_by_count(&w->win, 1);
        w->has_win = 1;
    }
    return SV_OK;
}

static void ws_free(mfac_ws *w)
{
    free(w->g);  /* head of the seven d-vectors */
    free(w->work);
    free(w->perm);
    free(w->active);
    free(w->mask);
    sv_mfac_window_free(&w->win);
    memset(w, 0, sizeof *w);
}

/* ================================ helpers ================================ */

/* k row indices: the next k of a random order of the rows, reshuffled (seeded) when used up, so
 * every row is visited once per epoch. k <= rows. */
static const int *next_batch(mfac_run *r, int k)
{
    if (r->pos + k > r->rows) {
        sv_rng_shuffle(&r->rng, r->w.perm, r->rows);
        r->pos = 0;
    }
    const int *idx = r->w.perm + r->pos;
    r->pos += k;
    return idx;
}

/* f(x), gfull = grad f(x) with pruned entries zeroed, *gn = |gfull|. */
static double full_eval(mfac_run *r, const double *x, double *gn)
{
    double f = sv_glm_value(r->glm, x, r->w.gfull, r->w.work);
    if (r->w.mask)
        for (int j = 0; j < r->d; j++)
            if (r->w.mask[j])
                r->w.gfull[j] = 0.0;
    *gn = sv_nrm2(r->d, r->w.gfull);
    return f;
}

static double pruned_fraction(const mfac_run *r, const double *x)
{
    long zeros = 0;
    for (int j = 0; j < r->d; j++)
        zeros += x[j] == 0.0;
    return (double)zeros / r->d;
}

/* The metrics of a report (core/control.h). */
static int metrics(void *ctx, sv_metric *m, int cap)
{
    const mfac_run *r = ctx;
    if (cap < 5)
        return 0;
    m[0] = (sv_metric){"grad_norm", r->gn};
    m[1] = (sv_metric){"lr", r->lr};
    m[2] = (sv_metric){"window", r->w.has_win ? (double)r->w.win.count : 0.0};
    m[3] = (sv_metric){"pruned", (double)r->info->pruned};
    m[4] = (sv_metric){"phase", (double)r->phase};
    return 5;
}

/* The static algorithm's precomputation asks this between its blocks. */
static int poll_stop(void *data)
{
    return sv_loop_poll(data);
}

/* ================================ optimizer ================================ */

/* `steps` optimizer steps from x. Returns SV_UNSOLVED when they all ran (the caller decides what
 * that means), or the status that ended the phase early: SV_SOLVED (tol), SV_CANCELLED,
 * SV_TIME_LIMIT, SV_DIVERGED. *rc gets SV_ENUMERIC if the window's factorisation fails. */
/* `steps` optimizer steps from x on the solve's loop. Returns 1 when they all ran (the loop's
 * status is then cleared for the caller to decide what that means), 0 when the loop ended the
 * phase early: SV_SOLVED (tol; cleared too in prune mode's fit by the caller), SV_CANCELLED,
 * SV_TIME_LIMIT, SV_DIVERGED. *rc gets SV_ENUMERIC if the window's factorisation fails. */
static int sgd_phase(mfac_run *r, double *x, long steps, double lr_max, int *rc)
{
    const mfac_settings *s = r->s;
    const int d = r->d;
    mfac_ws *w = &r->w;
    const int full = s->batch_size == 0 || s->batch_size >= r->rows;
    const int k = full ? r->rows : (int)s->batch_size;
    const int precond = s->precond == MFAC_PRECOND_MFAC;
    const long every = s->ctl.report_every;
    mfac_info *info = r->info;
    sv_loop *L = &r->L;

    r->ctl.max_iter = r->iter + steps;  /* the phase's budget on the solve's counter */
    r->lr = NAN;
    sv_zero(d, w->mom);
    if (w->has_win)
        sv_mfac_window_clear(&w->win);
    for (long t = 0;; t++) {
        /* Full quantities at every step with full gradients, else where a report or the end of
         * the phase needs them; the tests of tol and divergence run on them only. */
        const int eval = full || r->iter % every == 0 || t == steps;
        double f = NAN;
        int diverged = 0, solved = 0;
        if (eval) {
            double gn;
            f = full_eval(r, x, &gn);
            r->gn = gn;
            info->base.obj = f;
            info->grad_norm = info->base.res = gn;
            diverged = !isfinite(f) || !isfinite(gn) || !sv_all_finite(d, x) ||
                       fabs(f) > MFAC_DIVERGENCE_FACTOR * (1.0 + fabs(r->f0));
            solved = s->ctl.tol > 0 && gn <= s->ctl.tol;
        }
        if (sv_loop_check(L, r->iter, f, diverged, solved)) {
            if (L->status != SV_MAX_ITER)
                return 0;
            /* The phase ran its course: its last iterate is reported whatever the rhythm. */
            L->status = SV_UNSOLVED;
            if (L->last_report != r->iter && sv_loop_report(L, r->iter, f))
                return 0;
            return 1;
        }

        if (full)
            sv_copy(d, w->gfull, w->g);  /* already masked */
        else {
            sv_glm_batch_value(r->glm, next_batch(r, k), k, x, w->g);
            if (w->mask)
                for (int j = 0; j < d; j++)
                    if (w->mask[j])
                        w->g[j] = 0.0;
        }
        if (precond) {
            if ((*rc = sv_mfac_window_push(&w->win, w->g)) != SV_OK)
                return 0;
            sv_mfac_window_ihvp(&w->win, w->g, w->dir);
            info->window_updates++;
            info->ihvp_count++;
        } else {
            sv_copy(d, w->g, w->dir);
        }
        sv_scal(d, s->momentum, w->mom);
        sv_axpy(d, 1.0 - s->momentum, w->dir, w->mom);
        r->lr = sv_schedule_lr(&s->schedule, lr_max, t, steps);
        sv_axpy(d, -r->lr, w->mom, x);
        info->lr_final = r->lr;
        r->iter++;
    }
}

/* ================================ pruning ================================ */

typedef struct {
    double score;
    int index;  /* position in the active list */
} scored;

static int cmp_score(const void *a, const void *b)
{
    const scored *p = a, *q = b;
    if (p->score < q->score)
        return -1;
    if (p->score > q->score)
        return 1;
    return (p->index > q->index) - (p->index < q->index);
}

/* f of x with all but the `keep` largest |x_j| zeroed (ties: lower index kept). */
static double magnitude_baseline(mfac_run *r, const double *x, long keep)
{
    double *xc = r->w.xcopy;
    sv_copy(r->d, x, xc);
    sv_topk(r->d, (int)keep, xc, r->w.keys);
    return sv_glm_value(r->glm, xc, NULL, r->w.work);
}

/* u_Q = -([F^-1]_QQ)^{-1} x_Q for Q = the first nq entries of sc (positions in the active list),
 * u zero elsewhere. [F^-1]_QQ = I/lambda - W'W with W_iq = v_iq / sqrt(denom_i), over
 * the m x nq gathered columns of V, then a Cholesky solve. SV_OK, SV_ENOMEM or SV_ENUMERIC. */
static int group_update(const sv_mfac_static *st, const scored *sc, int nq, const double *x,
                        const int *active, double *u)
{
    const int m = st->m, d = st->d;
    double *W = malloc((size_t)m * nq * sizeof *W);
    double *S = calloc((size_t)nq * nq, sizeof *S);
    double *z = malloc((size_t)nq * sizeof *z);
    int rc = SV_ENOMEM;
    if (!W || !S || !z)
        goto out;
    for (int i = 0; i < m; i++) {
        const double *v = st->V + (size_t)i * d;
        const double c = 1.0 / sqrt(st->denom[i]);
        for (int a = 0; a < nq; a++)
            W[(size_t)i * nq + a] = c * v[sc[a].index];
    }
    for (int a = 0; a < nq; a++)
        S[(size_t)a * nq + a] = 1.0 / st->lambda;
    /* S -= W'W, one dgemm (the Cholesky solve reads the upper triangle). */
    sv_dense Wd = {m, nq, W}, Sd = {nq, nq, S};
    sv_dense_gemm(1, 0, -1.0, &Wd, &Wd, 1.0, &Sd);
    for (int a = 0; a < nq; a++)
        z[a] = x[active[sc[a].index]];
    if ((rc = sv_solve_spd(nq, S, z, 1)) != SV_OK)
        goto out;
    sv_zero(d, u);
    for (int a = 0; a < nq; a++)
        u[sc[a].index] = -z[a];
    rc = SV_OK;
out:
    free(W);
    free(S);
    free(z);
    return rc;
}

/* One OBS round: Fisher from m fresh gradients over the unpruned weights, then remove the least
 * salient until `keep` remain. Polls the loop while it forms the gradients and builds the
 * static algorithm; *stopped = 1 when a poll said stop (x is then untouched). Returns SV_OK,
 * SV_ENOMEM or SV_ENUMERIC. */
static int prune_round(mfac_run *r, double *x, long keep, int *stopped)
{
    const mfac_settings *s = r->s;
    mfac_ws *w = &r->w;
    const int d = r->d, m = (int)s->fisher_grads;
    int na = 0;
    for (int j = 0; j < d; j++)
        if (!w->mask[j])
            w->active[na++] = j;
    const int ndrop = na - (int)keep;
    if (ndrop <= 0)
        return SV_OK;

    sv_mfac_static st;
    memset(&st, 0, sizeof st);
    double *G = malloc((size_t)m * na * sizeof *G);
    double *diag = malloc((size_t)na * 2 * sizeof *diag);
    scored *sc = malloc((size_t)na * sizeof *sc);
    int rc = SV_ENOMEM;
    if (!G || !diag || !sc)
        goto done;

    /* m loss gradients: each the mean of fisher_batch_size per-sample gradients w_i l'_i a_i. */
    double *d1 = w->work;
    sv_glm_sample_derivs(r->glm, x, NULL, NULL, d1, NULL);
    const int fb = (int)(s->fisher_batch_size < r->rows ? s->fisher_batch_size : r->rows);
    for (int i = 0; i < m; i++) {
        if (sv_loop_poll(&r->L)) {
            *stopped = 1;
            rc = SV_OK;
            goto done;
        }
        const int *idx = next_batch(r, fb);
        sv_zero(d, w->acc);
        for (int k = 0; k < fb; k++) {
            const int row = idx[k];
            const double wt = r->glm->w ? r->glm->w[row] : 1.0;
            sv_mat_row_axpy(r->glm->A, row, wt * d1[row] / fb, w->acc);
        }
        double *gi = G + (size_t)i * na;
        for (int k = 0; k < na; k++)
            gi[k] = w->acc[w->active[k]];
    }
    const double damp = isnan(s->damp) ? MFAC_DEFAULT_DAMP_PRUNE : s->damp;
    double lambda = damp;
    if (s->damp_relative) {
        const double scale = sv_mfac_mean_diag(G, m, na);
        lambda = scale > 0 ? damp * scale : damp;
    }
    if ((rc = sv_mfac_static_init(&st, na, m, lambda)) != SV_OK) {
        rc = rc == SV_ENOMEM ? SV_ENOMEM : SV_ENUMERIC;
        goto done;
    }
    if ((rc = sv_mfac_static_build_until(&st, G, poll_stop, &r->L)) != SV_OK) {
        if (rc == SV_MFAC_STOPPED) {
            *stopped = 1;
            rc = SV_OK;
        }
        goto done;
    }

    /* Saliencies x_q^2 / (2 [F^-1]_qq); the ndrop smallest go. */
    sv_mfac_static_inv_diag(&st, diag);
    for (int k = 0; k < na; k++) {
        const double xq = x[w->active[k]];
        sc[k].score = xq * xq / (2.0 * diag[k]);
        sc[k].index = k;
    }
    qsort(sc, (size_t)na, sizeof *sc, cmp_score);

    /* OBS update delta = F^{-1} u for the removed set Q: independent, u_q = -x_q / [F^-1]_qq (the
     * single-weight corrections summed, as the authors' pruner does); group, u_Q = -z with
     * [F^-1]_QQ z = x_Q. */
    double *u = diag + na;
    sv_zero(na, u);
    for (int k = 0; k < ndrop; k++) {
        const int q = sc[k].index;
        u[q] = -x[w->active[q]] / diag[q];
        r->info->saliency += sc[k].score;
    }
    if (s->obs_update == MFAC_OBS_GROUP && (rc = group_update(&st, sc, ndrop, x, w->active, u)) !=
        SV_OK)
        goto done;
    sv_mfac_static_ihvp(&st, u, u);
    r->info->ihvp_count++;
    for (int k = 0; k < na; k++)
        x[w->active[k]] += u[k];
    for (int k = 0; k < ndrop; k++) {
        const int j = w->active[sc[k].index];
        x[j] = 0.0;
        w->mask[j] = 1;
    }
    r->info->pruned += ndrop;
    rc = SV_OK;
done:
    sv_mfac_static_free(&st);
    free(G);
    free(diag);
    free(sc);
    return rc;
}

/* The OBS rounds. Density after round k of K: (1 - sparsity)^(k/K), the last one exact. */
/* The OBS rounds. Density after round k of K: (1 - sparsity)^(k/K), the last one exact. A report
 * after every round; between rounds the loop is polled (a round polls inside too). Leaves the
 * loop's status SV_UNSOLVED when every round ran, else the status that ended the solve. */
static void prune_phase(mfac_run *r, double *x, int *rc)
{
    const mfac_settings *s = r->s;
    const int d = r->d;
    const long keep_final = mfac_round_keep(d, s->sparsity, s->prune_steps, s->prune_steps);
    mfac_info *info = r->info;
    sv_loop *L = &r->L;
    double gn;
    r->phase = PHASE_PRUNE;
    r->lr = NAN;
    info->obj_dense = full_eval(r, x, &gn);
    info->obj_magnitude = magnitude_baseline(r, x, keep_final);
    long keep = d;
    for (long k = 1; k <= s->prune_steps; k++) {
        const long target = mfac_round_keep(d, s->sparsity, s->prune_steps, k);
        if (target < keep)
            keep = target;
        int stopped = 0;
        if ((*rc = prune_round(r, x, keep, &stopped)) != SV_OK || stopped)
            return;
        info->prune_rounds = k;
        double f = full_eval(r, x, &gn);
        r->gn = gn;
        info->base.obj = f;
        info->grad_norm = info->base.res = gn;
        if (!isfinite(f) || !sv_all_finite(d, x)) {
            L->status = SV_DIVERGED;
            return;
        }
        if (sv_loop_report(L, r->iter, f))
            return;
        if (k < s->prune_steps && sv_loop_poll(L))
            return;
    }
    info->obj_pruned = info->base.obj;
}

/* ================================ solve ================================ */

int mfac_solve(const mfac_problem *p, const mfac_settings *s, const sv_monitor *mon, double *x,
               mfac_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->fit_status = SV_UNSOLVED;
    info->grad_norm = info->obj_initial = NAN;
    info->lr_final = info->obj_dense = info->obj_pruned = info->obj_magnitude = NAN;
    info->saliency = 0.0;

    int rc = check_problem(p, e);
    if (rc != SV_OK)
        return rc;
    const int d = p->glm->A->cols;
    if ((rc = mfac_check_settings(s, d, e)) != SV_OK)
        return rc;
    if (!x)
        return sv_fail(e, "/problem/x0", "starting point missing");
    if (!sv_all_finite(d, x))
        return sv_fail(e, "/problem/x0", "must be finite");

    mfac_run r;
    memset(&r, 0, sizeof r);
    r.glm = p->glm;
    r.s = s;
    r.ctl = s->ctl;
    r.d = d;
    r.rows = p->glm->A->rows;
    r.info = info;
    r.lr = NAN;
    sv_loop_begin(&r.L, &r.ctl, mon, metrics, &r);
    sv_rng_seed(&r.rng, s->seed);
    if ((rc = ws_alloc(&r)) != SV_OK)
        return rc;

    double gn;
    r.f0 = info->obj_initial = full_eval(&r, x, &gn);
    r.gn = gn;
    info->base.obj = r.f0;
    info->grad_norm = info->base.res = gn;

    sv_loop *L = &r.L;
    rc = SV_OK;
    if (s->mode == MFAC_MODE_OPTIMIZE) {
        r.phase = PHASE_FIT;
        if (sgd_phase(&r, x, s->ctl.max_iter, s->lr, &rc))
            L->status = SV_MAX_ITER;
    } else {
        int go = 1;
        if (s->ctl.max_iter > 0) {
            r.phase = PHASE_FIT;
            go = sgd_phase(&r, x, s->ctl.max_iter, s->lr, &rc);
            info->fit_status = go ? SV_MAX_ITER : L->status;
            if (rc == SV_OK && L->status == SV_SOLVED) {
                L->status = SV_UNSOLVED;  /* tol met: the fit is done, pruning follows */
                go = 1;
            }
        }
        if (rc == SV_OK && go)
            prune_phase(&r, x, &rc);
        if (rc == SV_OK && !sv_loop_stopped(L) && s->finetune_iter > 0) {
            r.phase = PHASE_FINETUNE;
            sgd_phase(&r, x, s->finetune_iter, isnan(s->finetune_lr) ? s->lr : s->finetune_lr,
                      &rc);
            /* The pruning target stands; a fine-tune that ran its course or met tol ends it. */
        }
        if (rc == SV_OK && !sv_loop_stopped(L))
            L->status = SV_SOLVED;
        info->sparsity = pruned_fraction(&r, x);
    }
    if (rc != SV_OK) {
        ws_free(&r.w);
        if (rc == SV_ENUMERIC)
            sv_fail(e, "/params/damp", "the M-FAC factorisation failed (non-finite gradients?)");
        return sv_loop_fail(L, &info->base, r.iter, rc);
    }

    /* Final values at the returned x (phases may end between evaluations). */
    double obj = full_eval(&r, x, &gn);
    r.gn = gn;
    info->grad_norm = gn;
    if (L->status != SV_DIVERGED && (!isfinite(obj) || !isfinite(gn)))
        L->status = SV_DIVERGED;
    sv_loop_end(L, &info->base, r.iter, obj, gn);
    ws_free(&r.w);
    return SV_OK;
}
