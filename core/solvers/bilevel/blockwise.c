/* blockwise.c - BSVRB^v1 and BSVRB^v2 on one thread. The I sampled blocks of an iteration are
 * processed one after the other (the paper's parallel speedup is in the estimator variance, not
 * in threads here).
 *
 * One iteration t, for each sampled block i (B training rows xi, B validation rows zeta), with
 * MSVR(e; a_new, a_old) = (1 - alpha) e + (alpha + gamma) a_new - gamma a_old:
 *   s_i   <- MSVR(s_i; grad_y g_i(x_t, y_i^t; xi), grad_y g_i(x_{t-1}, y_i^{t-1}; xi))
 *   v1:  H_i <- Pi[ MSVR(H_i; grad^2 g_i(y_i^t; xi), grad^2 g_i(y_i^{t-1}; xi)) ]  (eigenvalues
 *        floored at h_min),  w_i = (H_i^t)^{-1} grad_y f_i(y_i^t; zeta)
 *   v2:  u_i <- MSVR(u_i; grad^2 g_i(y^t; xi) v_i^t - grad_y f_i(y^t; zeta), same at t-1),
 *        w_i = v_i^t
 *   G_t += grad_x f_i(x_t) - grad^2_xy g_i w_i,  and G'_{t-1} likewise at the previous point
 *        with the same rows;
 * then every block moves: y_j <- y_j - tau s_j (v2 also v_j <- Pi(v_j - tau_v u_j)), the
 * estimator z <- (1 - beta)(z - G'_{t-1}/I) + G_t/I, and x <- x - eta z.
 * Unsampled blocks keep their estimators, so they keep moving along their last direction; this
 * is what the authors' code does (v1 updates every block, v2 applies the missed steps lazily). */
#include "core/solvers/bilevel/blockwise.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"

typedef struct {
    int m, d, I;
    double *xprev, *z, *gnew, *gold, *gx;     /* d each */
    double *a_new, *a_old, *f_new, *f_old;    /* d each: oracle outputs */
    double *w_new, *w_old, *hv;               /* d each */
    double *Y_prev, *S;                       /* m x d */
    double *V, *V_prev, *U;                   /* m x d (v2) */
    double *H, *H_old;                        /* m x d x d (v1) */
    long *last_upd;                           /* m (v1): iteration of H_j's last update */
    double *Hb_new, *Hb_old, *Hs;             /* d x d (v1) */
    double *eig;                              /* d (v1) */
    double *mbwork;                           /* sv_mb_work_size */
    int *blk, *idx_tr, *idx_val;              /* m, B, B */
} bw_ws;

static int check_problem_fits(const blockwise_problem *p, const blockwise_settings *s, int variant,
                              sv_err *e);
static int ws_alloc(bw_ws *w, const blockwise_problem *p, int variant, long B);
static void ws_free(bw_ws *w);
static const int *draw_rows(sv_rng *rng, int n, long B, int *buf, int *k);
static void msvr(int n, double alpha, double gamma, const double *a_new, const double *a_old,
                 double *est);
static int project_floor(int d, double h_min, double *H, double *scratch, double *eig);
static int apply_inverse(int d, const double *H, const double *rhs, double *out, double *scratch);
/* Who may stop the full-data metrics: the solve's loop through sv_loop_poll while it runs;
 * after it has decided how it ends (the result's metrics) only a stop request from outside (the
 * monitor's poll: cancel, the job's time limit), so that a solve ended by its own time_limit_s
 * still returns them. */
typedef struct {
    sv_loop *L;
    int after_loop;
} bw_poll;

static int poll_stop(bw_poll *P);
static int metrics(void *ctx, sv_metric *m, int cap);
static int full_metrics(const blockwise_problem *p, const double *x, const double *Y, bw_ws *w,
                        blockwise_info *info, bw_poll *P);

/* ================================ settings ================================ */

static const char *const variant_choices[] = {"v1", "v2", "auto", NULL};

const sv_param_spec blockwise_params[] = {
    SV_P_ENUM(blockwise_settings, variant, variant_choices, BLOCKWISE_DEFAULT_VARIANT,
              "v1: track each block's Hessian (low dimension); v2: track Hessian-inverse-vector "
              "products (high dimension); auto: v1 up to dimension 64"),
    SV_P_INT(blockwise_settings, blocks, 0, INT_MAX, BLOCKWISE_DEFAULT_BLOCKS,
             "I: blocks sampled per iteration, at most the number of blocks; 0: all"),
    SV_P_INT(blockwise_settings, batch, 1, INT_MAX, BLOCKWISE_DEFAULT_BATCH,
             "B: rows sampled per sampled block and level; at least a block's rows: all of them"),
    SV_P_NUMBER_GT(blockwise_settings, eta, 0, INFINITY, NAN,
                   "upper step; null: tau mu_g / (lambda + max_j L(V_j))"),
    SV_P_NUMBER_GT(blockwise_settings, tau, 0, INFINITY, NAN,
                   "lower step; null: 1 / ((1 + msvr_gamma) max_j L(g_j))"),
    SV_P_NUMBER_GT(blockwise_settings, tau_v, 0, INFINITY, NAN,
                   "v2: step of the Hessian-inverse-vector iterates; null: tau"),
    SV_P_NUMBER_GT(blockwise_settings, alpha, 0, 1, BLOCKWISE_DEFAULT_ALPHA,
                   "MSVR averaging weight in (0, 1]"),
    SV_P_NUMBER(blockwise_settings, msvr_gamma, 0, INFINITY, NAN,
                "MSVR correction weight; null: (m - I)/(I (1 - alpha)) + 1 - alpha"),
    SV_P_NUMBER_GT(blockwise_settings, beta, 0, 1, BLOCKWISE_DEFAULT_BETA,
                   "STORM weight in (0, 1] of the hypergradient estimator"),
    SV_P_NUMBER_GT(blockwise_settings, h_min, 0, INFINITY, NAN,
                   "v1: eigenvalue floor of the tracked Hessians; null: the lower levels' strong "
                   "convexity"),
    SV_P_NUMBER(blockwise_settings, v_radius, 0, INFINITY, BLOCKWISE_DEFAULT_V_RADIUS,
                "v2: project each v_j onto the ball of this radius; 0: no projection"),
    SV_CONTROL_PARAMS(blockwise_settings, ctl, BLOCKWISE_DEFAULT_TOL,
                      "stop when the full-data hypergradient and lower residual are both at most "
                      "tol (tested at the report iterations)",
                      BLOCKWISE_DEFAULT_MAX_ITER, BLOCKWISE_DEFAULT_REPORT_EVERY),
    SV_P_SEED(blockwise_settings, seed, BLOCKWISE_DEFAULT_SEED,
              "seed of the block and row sampling"),
    SV_PARAMS_END,
};

void blockwise_settings_default(blockwise_settings *s)
{
    sv_params_defaults(blockwise_params, s);
}

int blockwise_check_settings(const blockwise_settings *s, int n_blocks, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    int rc = sv_params_validate(blockwise_params, s, "/params", e);
    if (rc != SV_OK)
        return rc;
    if (n_blocks > 0 && s->blocks > n_blocks)
        return sv_fail(e, "/params/blocks", "must be at most the %d blocks, got %ld", n_blocks,
                       s->blocks);
    if (isnan(s->msvr_gamma) && s->alpha == 1 && s->blocks != 0 && s->blocks != n_blocks)
        return sv_fail(e, "/params/alpha", "the automatic msvr_gamma divides by 1 - alpha: with "
                       "alpha = 1 and fewer blocks than m give msvr_gamma");
    return SV_OK;
}

/* The v1 memory bound: two d x d matrices per block. */
static int check_problem_fits(const blockwise_problem *p, const blockwise_settings *s, int variant,
                              sv_err *e)
{
    (void)s;
    if (variant == BLOCKWISE_V1 &&
        2.0 * p->n_blocks * (double)p->dim * p->dim > BLOCKWISE_V1_MAX_DOUBLES)
        return sv_fail(e, "/params/variant", "v1 would track %d Hessians of %d x %d (more than "
                       "%.0f doubles): use \"v2\"", p->n_blocks, p->dim, p->dim,
                       BLOCKWISE_V1_MAX_DOUBLES / 2);
    return SV_OK;
}

/* ================================ workspace ================================ */

static int ws_alloc(bw_ws *w, const blockwise_problem *p, int variant, long B)
{
    const size_t m = (size_t)p->n_blocks, d = (size_t)p->dim;
    memset(w, 0, sizeof *w);
    size_t nvec = 12 * d + 2 * m * d;
    if (variant == BLOCKWISE_V2)
        nvec += 3 * m * d;
    else
        nvec += 2 * m * d * d + 3 * d * d + d;
    nvec += sv_mb_work_size(p);
    double *head = calloc(nvec, sizeof *head);
    w->blk = malloc(m * sizeof *w->blk);
    w->idx_tr = malloc((size_t)B * sizeof *w->idx_tr);
    w->idx_val = malloc((size_t)B * sizeof *w->idx_val);
    if (variant == BLOCKWISE_V1)
        w->last_upd = malloc(m * sizeof *w->last_upd);
    if (!head || !w->blk || !w->idx_tr || !w->idx_val ||
        (variant == BLOCKWISE_V1 && !w->last_upd)) {
        free(head);
        ws_free(w);
        return SV_ENOMEM;
    }
    double *q = head;
    w->xprev = q, q += d;
    w->z = q, q += d;
    w->gnew = q, q += d;
    w->gold = q, q += d;
    w->gx = q, q += d;
    w->a_new = q, q += d;
    w->a_old = q, q += d;
    w->f_new = q, q += d;
    w->f_old = q, q += d;
    w->w_new = q, q += d;
    w->w_old = q, q += d;
    w->hv = q, q += d;
    w->Y_prev = q, q += m * d;
    w->S = q, q += m * d;
    if (variant == BLOCKWISE_V2) {
        w->V = q, q += m * d;
        w->V_prev = q, q += m * d;
        w->U = q, q += m * d;
    } else {
        w->H = q, q += m * d * d;
        w->H_old = q, q += m * d * d;
        w->Hb_new = q, q += d * d;
        w->Hb_old = q, q += d * d;
        w->Hs = q, q += d * d;
        w->eig = q, q += d;
    }
    w->mbwork = q;
    w->m = (int)m;
    w->d = (int)d;
    return SV_OK;
}

static void ws_free(bw_ws *w)
{
    free(w->xprev);  /* the head of the one double block */
    free(w->blk);
    free(w->idx_tr);
    free(w->idx_val);
    free(w->last_upd);
    memset(w, 0, sizeof *w);
}

/* ================================ numerics ================================ */

/* B distinct rows of n into buf, or NULL (all rows, *k = n) when B >= n. */
static const int *draw_rows(sv_rng *rng, int n, long B, int *buf, int *k)
{
    if (B >= n) {
        *k = n;
        return NULL;
    }
    sv_rng_sample(rng, n, (int)B, buf);
    *k = (int)B;
    return buf;
}

/* est <- (1 - alpha) est + (alpha + gamma) a_new - gamma a_old: the MSVR estimator. With
 * gamma = 1 - alpha it is STORM; the (m - I)/(I (1 - alpha)) part makes up for the iterations
 * in which the block was not sampled. */
static void msvr(int n, double alpha, double gamma, const double *a_new, const double *a_old,
                 double *est)
{
    for (int i = 0; i < n; i++)
        est[i] = (1.0 - alpha) * est[i] + (alpha + gamma) * a_new[i] - gamma * a_old[i];
}

/* H <- the nearest (Frobenius) symmetric matrix with eigenvalues >= h_min. A Cholesky test of
 * H - h_min I skips the eigendecomposition when H is already inside. scratch: d x d, eig: d. */
static int project_floor(int d, double h_min, double *H, double *scratch, double *eig)
{
    for (int a = 0; a < d; a++)
        for (int b = 0; b < a; b++) {
            double s = 0.5 * (H[(size_t)a * d + b] + H[(size_t)b * d + a]);
            H[(size_t)a * d + b] = H[(size_t)b * d + a] = s;
        }
    sv_copy(d * d, H, scratch);
    for (int a = 0; a < d; a++)
        scratch[(size_t)a * d + a] -= h_min;
    sv_zero(d, eig);
    int rc = sv_solve_spd(d, scratch, eig, 1);
    if (rc == SV_OK)
        return SV_OK;
    if (rc != SV_ENUMERIC)
        return rc;
    sv_copy(d * d, H, scratch);
    if ((rc = sv_sym_eig(d, scratch, eig, 1)) != SV_OK)
        return rc;
    sv_zero(d * d, H);
    for (int k = 0; k < d; k++) {
        double lam = eig[k] > h_min ? eig[k] : h_min;
        for (int a = 0; a < d; a++) {
            double qa = lam * scratch[(size_t)a * d + k];  /* column k is eigenvector k */
            for (int b = 0; b < d; b++)
                H[(size_t)a * d + b] += qa * scratch[(size_t)b * d + k];
        }
    }
    return SV_OK;
}

/* out = H^{-1} rhs by Cholesky (H symmetric positive definite after project_floor). */
static int apply_inverse(int d, const double *H, const double *rhs, double *out, double *scratch)
{
    sv_copy(d * d, H, scratch);
    sv_copy(d, rhs, out);
    return sv_solve_spd(d, scratch, out, 1);
}

static int poll_stop(bw_poll *P)
{
    sv_loop *L = P->L;
    if (!P->after_loop)
        return sv_loop_poll(L);
    if (L->status == SV_CANCELLED)
        return 1;
    if (sv_monitor_poll(L->mon)) {
        L->status = SV_CANCELLED;
        return 1;
    }
    return 0;
}

/* The metrics of a report (core/control.h): those full_metrics left in the info struct. */
static int metrics(void *ctx, sv_metric *m, int cap)
{
    const blockwise_info *info = ctx;
    if (cap < 5)
        return 0;
    m[0] = (sv_metric){"hypergrad_norm", info->hypergrad_norm};
    m[1] = (sv_metric){"lower_residual", info->lower_residual};
    m[2] = (sv_metric){"estimator_norm", info->estimator_norm};
    m[3] = (sv_metric){"block_visits", (double)info->block_visits};
    m[4] = (sv_metric){"sample_evals", (double)info->sample_evals};
    return 5;
}

/* Full-data objective, hypergradient formula and lower residual at (x, Y): the sums of
 * sv_mb_objective, sv_mb_hypergrad and sv_mb_lower_residual taken block by block (the same
 * operations in the same order) with a poll before each block, as each term is a pass over the
 * block's rows and the hypergradient's a conjugate-gradient solve. Returns 0, or 1 when a poll
 * said stop (the three metrics are then NaN). */
static int full_metrics(const blockwise_problem *p, const double *x, const double *Y, bw_ws *w,
                        blockwise_info *info, bw_poll *P)
{
    const int m = p->n_blocks, d = p->dim;
    double f = 0.0, r2 = 0.0;
    info->base.obj = info->hypergrad_norm = info->lower_residual = info->base.res = NAN;
    for (int j = 0; j < m; j++) {
        if (poll_stop(P))
            return 1;
        f += sv_mb_upper_value(p, j, Y + (size_t)j * d, w->mbwork);
    }
    const double obj = f / m + 0.5 * p->lambda * sv_dot(d, x, x);
    sv_mb_upper_grad_x(p, x, w->hv);
    for (int j = 0; j < m; j++) {
        if (poll_stop(P))
            return 1;
        sv_mb_hypergrad_add(p, j, Y + (size_t)j * d, w->hv, w->mbwork);
    }
    const double hg = sv_nrm2(d, w->hv);
    for (int j = 0; j < m; j++) {
        if (poll_stop(P))
            return 1;
        sv_mb_lower_grad(p, j, NULL, 0, x, Y + (size_t)j * d, w->a_new, w->mbwork);
        r2 += sv_dot(d, w->a_new, w->a_new);
    }
    info->base.obj = obj;
    info->hypergrad_norm = hg;
    info->lower_residual = sqrt(r2 / m);
    info->estimator_norm = sv_nrm2(d, w->z);
    info->base.res = info->hypergrad_norm;
    return 0;
}

/* ================================ solve ================================ */

int blockwise_solve(const blockwise_problem *p, const blockwise_settings *s, const sv_monitor *mon,
                    double *x, double *Y, blockwise_info *info, sv_err *e)
{
    if (!info)
        return sv_fail(e, "/info", "info struct missing");
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    info->hypergrad_norm = info->lower_residual = NAN;
    info->estimator_norm = NAN;
    info->eta = info->tau = info->tau_v = info->alpha = info->msvr_gamma = info->beta = NAN;
    info->h_min = NAN;

    int rc = sv_mb_check(p, e);
    if (rc != SV_OK)
        return rc;
    const int m = p->n_blocks, d = p->dim;
    if ((rc = blockwise_check_settings(s, m, e)) != SV_OK)
        return rc;
    int variant = s->variant;
    if (variant == BLOCKWISE_AUTO)
        variant = d <= BLOCKWISE_AUTO_V1_MAX_DIM ? BLOCKWISE_V1 : BLOCKWISE_V2;
    if ((rc = check_problem_fits(p, s, variant, e)) != SV_OK)
        return rc;
    if (!x || !sv_all_finite(d, x))
        return sv_fail(e, "/problem/x0", x ? "must be finite" : "starting point missing");
    if (!Y || !sv_all_finite(m * d, Y))
        return sv_fail(e, "/problem/y0", Y ? "must be finite" : "lower starting points missing");

    /* ---- parameters ---- */
    const int I = s->blocks == 0 ? m : (int)s->blocks;
    double Lg = 0.0, mug = INFINITY, Lv = 0.0;
    /* The clock starts here: the constants take three power iterations a block, which for many
     * blocks is long enough to poll between them (a stop there ends the solve at iteration 0
     * with nothing computed). */
    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, info);
    for (int j = 0; j < m; j++) {
        if (sv_loop_poll(&L)) {
            sv_loop_end(&L, &info->base, 0, NAN, NAN);
            return SV_OK;
        }
        Lg = fmax(Lg, sv_mb_lower_smoothness(p, j));
        mug = fmin(mug, sv_mb_lower_strong_convexity(p, j));
        Lv = fmax(Lv, sv_mb_upper_smoothness(p, j));
    }
    info->variant = variant;
    info->blocks = I;
    info->alpha = s->alpha;
    info->beta = s->beta;
    if (!isnan(s->msvr_gamma))
        info->msvr_gamma = s->msvr_gamma;
    else if (I == m)
        info->msvr_gamma = 1.0 - s->alpha;
    else
        info->msvr_gamma = (double)(m - I) / (I * (1.0 - s->alpha)) + 1.0 - s->alpha;
    /* The MSVR correction feeds the step back into the estimator: between two visits of a
     * block it multiplies the estimator by about 1 - alpha - gamma tau L, so tau L < 1/(1 + gamma)
     * keeps that inside (-1, 1). The upper step is then slower than the lower contraction
     * tau mu by the upper curvature bound: the two-timescale order the analysis asks for. */
    info->tau = isnan(s->tau) ? 1.0 / ((1.0 + info->msvr_gamma) * Lg) : s->tau;
    info->tau_v = isnan(s->tau_v) ? info->tau : s->tau_v;
    info->eta = isnan(s->eta) ? info->tau * mug / (p->lambda + Lv) : s->eta;
    info->h_min = isnan(s->h_min) ? mug : s->h_min;
    if (!(isfinite(info->eta) && info->eta > 0))
        return sv_fail(e, "/params/eta", "the validation objectives are flat and lambda is 0: the "
                       "automatic step is undefined; give eta");
    if (!(isfinite(info->tau) && info->tau > 0) || !(isfinite(info->h_min) && info->h_min > 0))
        return sv_fail(e, "/params/tau", "the automatic step came out as %g", info->tau);

    bw_ws w;
    if (ws_alloc(&w, p, variant, s->batch) != SV_OK)
        return SV_ENOMEM;
    bw_poll P = {&L, 0};
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);
    const double alpha = s->alpha, gam = info->msvr_gamma;
    const size_t dd = (size_t)d * d;

    /* ---- initialisation: every block's estimators at their mini-batch values at (x0, Y0);
     * the previous point is the current one ---- */
    sv_copy(d, x, w.xprev);
    sv_copy(m * d, Y, w.Y_prev);
    for (int j = 0; j < m && !sv_loop_poll(&L); j++) {
        const double *y = Y + (size_t)j * d;
        int ktr, kval;
        const int *itr = draw_rows(&rng, p->train[j].A->rows, s->batch, w.idx_tr, &ktr);
        const int *ival = draw_rows(&rng, p->val[j].A->rows, s->batch, w.idx_val, &kval);
        sv_mb_lower_grad(p, j, itr, ktr, x, y, w.S + (size_t)j * d, w.mbwork);
        if (variant == BLOCKWISE_V1) {
            double *Hj = w.H + (size_t)j * dd;
            sv_mb_lower_hessian(p, j, itr, ktr, y, Hj, w.mbwork);
            if ((rc = project_floor(d, info->h_min, Hj, w.Hs, w.eig)) != SV_OK)
                break;
            sv_copy((int)dd, Hj, w.H_old + (size_t)j * dd);
            w.last_upd[j] = -1;
            info->sample_evals += (uint64_t)(2 * ktr);
        } else {
            /* v_j^0 = 0, so u_j^0 = -grad_y f_j. */
            sv_mb_upper_grad_y(p, j, ival, kval, y, w.U + (size_t)j * d, w.mbwork);
            sv_scal(d, -1.0, w.U + (size_t)j * d);
            info->sample_evals += (uint64_t)(ktr + kval);
        }
        info->sample_evals += (uint64_t)ktr;
        info->block_visits++;
    }
    if (rc != SV_OK) {
        ws_free(&w);
        if (rc != SV_ENOMEM) {
            sv_fail(e, "/problem", "a tracked Hessian could not be factorised");
            rc = SV_ENUMERIC;
        }
        return sv_loop_fail(&L, &info->base, 0, rc);
    }
    if (variant == BLOCKWISE_V2)
        sv_copy(m * d, w.V, w.V_prev);

    /* ---- iterations ---- */
    long t = 0, metrics_at = -1;
    for (;;) {
        int diverged = !sv_all_finite(d, x) || !sv_all_finite(d, w.z) ||
                       sv_nrm2(d, x) > BLOCKWISE_DIVERGENCE_NORM;
        int solved = 0;
        /* The tol test needs the full-data metrics: a pass over every row of every block and m
         * conjugate-gradient solves, many times the work of an iteration (I blocks of B rows),
         * so it is made at the report iterations only, where they are computed anyway (as
         * before the platform: the iterates and the iteration that ends solved are the same). */
        if (!diverged && t % s->ctl.report_every == 0 && !sv_loop_stopped(&L) &&
            full_metrics(p, x, Y, &w, info, &P) == 0) {
            metrics_at = t;
            diverged = !isfinite(info->base.obj) || !isfinite(info->hypergrad_norm);
            solved = info->hypergrad_norm <= s->ctl.tol && info->lower_residual <= s->ctl.tol;
        }
        if (sv_loop_check(&L, t, info->base.obj, diverged, solved))
            break;

        /* -- sampled blocks -- */
        sv_rng_sample(&rng, m, I, w.blk);
        sv_zero(d, w.gnew);
        sv_zero(d, w.gold);
        for (int b = 0; b < I && rc == SV_OK; b++) {
            if (b > 0 && sv_loop_poll(&L))
                break;  /* many blocks: the iteration is left unfinished, x and Y unmoved */
            const int j = w.blk[b];
            const double *y = Y + (size_t)j * d, *yp = w.Y_prev + (size_t)j * d;
            double *sj = w.S + (size_t)j * d;
            int ktr, kval;
            const int *itr = draw_rows(&rng, p->train[j].A->rows, s->batch, w.idx_tr, &ktr);
            const int *ival = draw_rows(&rng, p->val[j].A->rows, s->batch, w.idx_val, &kval);

            sv_mb_lower_grad(p, j, itr, ktr, x, y, w.a_new, w.mbwork);
            sv_mb_lower_grad(p, j, itr, ktr, w.xprev, yp, w.a_old, w.mbwork);
            msvr(d, alpha, gam, w.a_new, w.a_old, sj);
            sv_mb_upper_grad_y(p, j, ival, kval, y, w.f_new, w.mbwork);
            sv_mb_upper_grad_y(p, j, ival, kval, yp, w.f_old, w.mbwork);
            info->sample_evals += (uint64_t)(4 * ktr + 2 * kval);

            if (variant == BLOCKWISE_V1) {
                double *Hj = w.H + (size_t)j * dd, *Hoj = w.H_old + (size_t)j * dd;
                /* H_j^{t-1}: the value before the last update if that was at t - 1. */
                const double *Hprev = w.last_upd[j] == t - 1 ? Hoj : Hj;
                if ((rc = apply_inverse(d, Hj, w.f_new, w.w_new, w.Hs)) != SV_OK ||
                    (rc = apply_inverse(d, Hprev, w.f_old, w.w_old, w.Hs)) != SV_OK)
                    break;
                sv_mb_lower_hessian(p, j, itr, ktr, y, w.Hb_new, w.mbwork);
                sv_mb_lower_hessian(p, j, itr, ktr, yp, w.Hb_old, w.mbwork);
                sv_copy((int)dd, Hj, Hoj);
                msvr((int)dd, alpha, gam, w.Hb_new, w.Hb_old, Hj);
                if ((rc = project_floor(d, info->h_min, Hj, w.Hs, w.eig)) != SV_OK)
                    break;
                w.last_upd[j] = t;
            } else {
                const double *vj = w.V + (size_t)j * d, *vpj = w.V_prev + (size_t)j * d;
                /* grad_v of (1/2) v'Hv - v'grad_y f at both points, same rows */
                sv_mb_lower_hvp(p, j, itr, ktr, y, vj, w.a_new, w.mbwork);
                sv_mb_lower_hvp(p, j, itr, ktr, yp, vpj, w.a_old, w.mbwork);
                sv_axpy(d, -1.0, w.f_new, w.a_new);
                sv_axpy(d, -1.0, w.f_old, w.a_old);
                msvr(d, alpha, gam, w.a_new, w.a_old, w.U + (size_t)j * d);
                sv_copy(d, vj, w.w_new);
                sv_copy(d, vpj, w.w_old);
            }
            info->sample_evals += (uint64_t)(2 * ktr);
            /* G += grad_x f_j - grad^2_xy g_j w at both points */
            sv_mb_upper_grad_x(p, x, w.gx);
            sv_axpy(d, 1.0, w.gx, w.gnew);
            sv_mb_cross_apply(p, w.w_new, w.hv);
            sv_axpy(d, -1.0, w.hv, w.gnew);
            sv_mb_upper_grad_x(p, w.xprev, w.gx);
            sv_axpy(d, 1.0, w.gx, w.gold);
            sv_mb_cross_apply(p, w.w_old, w.hv);
            sv_axpy(d, -1.0, w.hv, w.gold);
            info->block_visits++;
        }
        if (rc != SV_OK || sv_loop_stopped(&L))
            break;

        /* -- every block moves along its estimator -- */
        sv_copy(m * d, Y, w.Y_prev);
        sv_axpy(m * d, -info->tau, w.S, Y);
        if (variant == BLOCKWISE_V2) {
            sv_copy(m * d, w.V, w.V_prev);
            sv_axpy(m * d, -info->tau_v, w.U, w.V);
            if (s->v_radius > 0)
                for (int j = 0; j < m; j++) {
                    double *vj = w.V + (size_t)j * d, nv = sv_nrm2(d, vj);
                    if (nv > s->v_radius)
                        sv_scal(d, s->v_radius / nv, vj);
                }
        }

        /* -- hypergradient estimator (STORM) and the upper step; z starts at G_0 -- */
        if (t == 0) {
            sv_copy(d, w.gnew, w.z);
            sv_scal(d, 1.0 / I, w.z);
        } else {
            for (int i = 0; i < d; i++)
                w.z[i] = (1.0 - s->beta) * (w.z[i] - w.gold[i] / I) + w.gnew[i] / I;
        }
        sv_copy(d, x, w.xprev);
        sv_axpy(d, -info->eta, w.z, x);
        t++;
    }

    if (rc != SV_OK) {
        ws_free(&w);
        if (rc != SV_ENOMEM) {
            sv_fail(e, "/problem", "a tracked Hessian could not be factorised");
            rc = SV_ENUMERIC;
        }
        return sv_loop_fail(&L, &info->base, t, rc);
    }
    if (metrics_at != t && L.status != SV_DIVERGED) {
        P.after_loop = 1;
        full_metrics(p, x, Y, &w, info, &P);
    }
    sv_loop_end(&L, &info->base, t, info->base.obj, info->hypergrad_norm);
    ws_free(&w);
    return SV_OK;
}
