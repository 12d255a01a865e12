/* vr_halpern.c - variance-reduced Halpern iteration (Cai, Alacaoglu, Diakonikolas, ICLR 2024).
 *
 * Every variant is the Halpern (anchored) iteration
 *     u_{k+1} = lambda_k u_0 + (1 - lambda_k) T(u_k),   lambda_k = 1/(k+2),
 * for a nonexpansive T whose fixed points solve 0 in F(z) + N_C(z), and they differ in T and in
 * how T(u_k) is approximated from component evaluations F_i:
 *
 * cocoercive (the paper's first method): T(u) = P_C(u - eta F(u)), eta = 1/L, with F(u_k)
 *   replaced by a recursive (PAGE/loopless-SARAH-type) estimate
 *       F~_{k+1} = F(u_{k+1})                                               with probability p,
 *       F~_{k+1} = F~_k + (1/b) sum_{i in S_k} (F_i(u_{k+1}) - F_i(u_k))     otherwise,
 *   |S_k| = b; p = 1/sqrt(n), b = ceil(sqrt(n)), so a step costs 3 sqrt(n) evaluations in
 *   expectation, and the estimator's error shrinks with the Halpern steps |u_{k+1} - u_k| =
 *   O(1/k), which is what keeps the last-iterate O(1/k) residual.
 * monotone (the paper's second method): T = J_{eta(F + N_C)}, the resolvent, approximated by an
 *   inner loop on the 1-strongly monotone, (1 + eta L)-Lipschitz operator G(z) = z - u_k +
 *   eta F(z): the loopless-SVRG extragradient (Alacaoglu and Malitsky), warm-started from the
 *   previous resolvent and carrying its snapshot (w, F(w)) across outer steps, so that no outer
 *   step needs a full pass of its own:
 *       zbar = (1 - p) z + p w
 *       z_h = P_C(zbar - tau G(w)),   G(w) = w - u_k + eta F(w)
 *       z   = P_C(zbar - tau (G(w) + G_i(z_h) - G_i(w))),   i uniform
 *       (w, F(w)) <- (z, F(z)) with probability p,
 *   tau = 0.99 sqrt(p) / (1 + eta L), m_k = ceil(inner_scale (1 + eta L) / sqrt(p) ln(k+2))
 *   inner steps (the log factor makes the resolvent errors summable against lambda_k).
 * plain: the same T with full passes (cocoercive: one F per step; monotone: a deterministic
 *   extragradient inner loop, tau = 1 / (2 (1 + eta L_F))).
 *
 * F_i(z) = M_i z + q_i. A full pass evaluates all n components in one product with the stacked
 * (n d) x d matrix and counts n evaluations: the oracle model of the paper, not a shortcut
 * through the averaged matrix. The stopping residual r(u) = |u - P_C(u - eta F(u))| / eta
 * (|F(u)| without a box) is exact; it is computed every check_every outer steps (free when the
 * estimator was just refreshed) and its evaluations are counted apart from the method's. */
#include "core/solvers/monotone/vr_halpern.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/rng.h"

static const char *const setting_choices[] = {"monotone", "cocoercive", NULL};
static const char *const variant_choices[] = {"vr", "plain", "extragradient", NULL};

const sv_param_spec vr_halpern_params[] = {
    SV_PN_ENUM(vr_halpern_settings, setting, "operator", setting_choices, VR_HALPERN_MONOTONE,
               "assumption on the components: monotone = on average Lipschitz and monotone "
               "(Halpern on the resolvent, inner VR extragradient); cocoercive = on average "
               "cocoercive (Halpern on the forward-backward map with a recursive VR estimator)"),
    SV_P_ENUM(vr_halpern_settings, variant, variant_choices, VR_HALPERN_VR,
              "vr = the paper's variance-reduced method; plain = deterministic Halpern (full F "
              "at every evaluation); extragradient = the unanchored baseline z+ = P(z - g "
              "F(P(z - g F z))), g = eta / 2, whatever operator says"),
    SV_P_NUMBER_GT(vr_halpern_settings, eta, 0, INFINITY, NAN,
                   "forward step (cocoercive) or resolvent parameter (monotone); null: 1/L"),
    SV_PN_NUMBER_GT(vr_halpern_settings, L, "lipschitz", 0, INFINITY, NAN,
                   "the components' parameter; null: computed (vr monotone: sqrt of the largest "
                   "eigenvalue of (1/n) sum M_i'M_i; vr cocoercive: max_i |M_i|; plain: |M|)"),
    SV_P_NUMBER_GT(vr_halpern_settings, p, 0, 1, NAN,
                   "snapshot probability; null: 1/sqrt(n) (cocoercive), 1/n (monotone)"),
    SV_P_INT32(vr_halpern_settings, batch, 0, 1e9, 0,
               "cocoercive estimator's batch size; 0: ceil(sqrt(n))"),
    SV_P_NUMBER_GT(vr_halpern_settings, inner_scale, 0, 1e6, 1.0,
                   "monotone: scale of the inner extragradient steps per resolvent"),
    SV_P_INT(vr_halpern_settings, check_every, 0, 1e9, 0,
             "exact residual every this many outer steps; 0: ceil(sqrt(n)) for vr cocoercive, "
             "else 1"),
    SV_P_SEED(vr_halpern_settings, seed, 0, "seed of the sampling"),
    SV_CONTROL_PARAMS(vr_halpern_settings, ctl, VR_HALPERN_DEFAULT_TOL,
                      "stop when the operator residual |z - P_C(z - eta F(z))| / eta (|F(z)| "
                      "without a box) <= tol, checked every check_every outer steps",
                      VR_HALPERN_DEFAULT_MAX_ITER, VR_HALPERN_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void vr_halpern_settings_default(vr_halpern_settings *s)
{
    sv_params_defaults(vr_halpern_params, s);
}

int vr_halpern_check_settings(const vr_halpern_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(vr_halpern_params, s, "/params", e);
}

static int check_problem(const vr_halpern_problem *p, sv_err *e)
{
    if (!p || p->n < 1 || p->d < 1 || !p->M || !p->q)
        return sv_fail(e, "/problem", "at least one component operator of dimension >= 1 is "
                       "required");
    size_t dd = (size_t)p->d * (size_t)p->d * (size_t)p->n;
    for (size_t t = 0; t < dd; t++)
        if (!isfinite(p->M[t]))
            return sv_fail(e, "/problem", "component %zu's matrix has a non-finite entry",
                           t / ((size_t)p->d * (size_t)p->d));
    if (!sv_all_finite(p->n * p->d, p->q))
        return sv_fail(e, "/problem", "an offset q_i has a non-finite entry");
    for (int j = 0; j < p->d; j++) {
        double lo = p->lo ? p->lo[j] : -INFINITY, hi = p->hi ? p->hi[j] : INFINITY;
        if (isnan(lo) || isnan(hi) || lo > hi || lo == INFINITY || hi == -INFINITY)
            return sv_fail(e, p->lo ? "/problem/lo" : "/problem/hi",
                           "bound %d: need lo <= hi with lo < inf and hi > -inf", j);
    }
    return SV_OK;
}

/* ================================ operators ================================ */

static sv_mat view(const double *data, int rows, int cols)
{
    sv_mat m;
    memset(&m, 0, sizeof m);
    m.kind = SV_MAT_DENSE;
    m.rows = m.dense.rows = rows;
    m.cols = m.dense.cols = cols;
    m.dense.data = (double *)data;  /* read only: gemv and the power iteration never write */
    return m;
}

/* out = F(u) = (1/n) sum_i (M_i u + q_i), through one product with the stacked matrix; work
 * has n d doubles. The public residual's way: independent of the solver's mean matrix. */
static void stacked_F(const vr_halpern_problem *p, const double *qbar, const double *u,
                      double *out, double *work)
{
    int n = p->n, d = p->d;
    sv_mat S = view(p->M, n * d, d);
    sv_mat_gemv(0, 1.0, &S, u, 0.0, work);
    sv_copy(d, qbar, out);
    double inv = 1.0 / n;
    for (int i = 0; i < n; i++)
        sv_axpy(d, inv, work + (size_t)i * d, out);
}

/* out = F(u) = Mbar u + qbar with Mbar = (1/n) sum_i M_i, formed once: a full evaluation (a
 * residual check, a snapshot) reads d^2 numbers instead of streaming all n d^2 of the stacked
 * matrix, which at n = 100, d = 200 is 32 MB from memory each time. Counted as n oracle calls
 * all the same: it is the full operator the method's analysis charges n for. */
static void full_F(const vr_halpern_problem *p, const double *Mbar, const double *qbar,
                   const double *u, double *out)
{
    sv_mat M = view(Mbar, p->d, p->d);
    sv_copy(p->d, qbar, out);
    sv_mat_gemv(0, 1.0, &M, u, 1.0, out);
}

/* y += alpha M_i v */
static void comp_apply(const vr_halpern_problem *p, int i, double alpha, const double *v,
                       double *y)
{
    sv_mat Mi = view(p->M + (size_t)i * p->d * p->d, p->d, p->d);
    sv_mat_gemv(0, alpha, &Mi, v, 1.0, y);
}

/* |u - P_C(u - eta Fu)| / eta; t has d doubles. */
static double fb_residual(const vr_halpern_problem *p, double eta, const double *u,
                          const double *Fu, double *t)
{
    int d = p->d;
    for (int j = 0; j < d; j++)
        t[j] = u[j] - eta * Fu[j];
    sv_project_box(d, p->lo, p->hi, t);
    for (int j = 0; j < d; j++)
        t[j] = u[j] - t[j];
    return sv_nrm2(d, t) / eta;
}

static void mean_q(const vr_halpern_problem *p, double *qbar)
{
    sv_zero(p->d, qbar);
    for (int i = 0; i < p->n; i++)
        sv_axpy(p->d, 1.0 / p->n, p->q + (size_t)i * p->d, qbar);
}

double vr_halpern_residual(const vr_halpern_problem *p, double eta, const double *z, double *work)
{
    double *qbar = work + (size_t)p->n * p->d, *Fz = qbar + p->d;
    mean_q(p, qbar);
    stacked_F(p, qbar, z, Fz, work);
    return fb_residual(p, eta, z, Fz, qbar);
}

/* ================================ parameters ================================ */

static double gram_norm(const double *A, int rows, int cols)
{
    sv_mat m = view(A, rows, cols);
    double l = sv_mat_gram_eigmax(&m, NULL, 1e-10, 2000);
    return isnan(l) ? NAN : sqrt(fmax(l, 0.0));
}

/* The automatic L of the chosen method (file header). NaN when scratch cannot be allocated. */
static double auto_L(const vr_halpern_problem *p, const vr_halpern_settings *s, double *Mbar)
{
    int n = p->n, d = p->d;
    size_t dd = (size_t)d * d;
    double L;
    if (s->variant != VR_HALPERN_VR || n == 1) {
        sv_zero((int)dd, Mbar);
        for (int i = 0; i < n; i++)
            sv_axpy((int)dd, 1.0 / n, p->M + i * dd, Mbar);
        L = gram_norm(Mbar, d, d);
    } else if (s->setting == VR_HALPERN_COCOERCIVE) {
        L = 0;
        for (int i = 0; i < n; i++)
            L = fmax(L, gram_norm(p->M + i * dd, d, d));
    } else {
        L = gram_norm(p->M, n * d, d) / sqrt((double)n);
    }
    return L > 0 ? L : (isnan(L) ? NAN : 1.0);  /* F constant: any step is exact */
}

/* ================================ workspace ================================ */

typedef struct {
    const vr_halpern_problem *p;
    double *qbar, *u0, *Ft, *t, *diff, *work, *zin, *w, *Fw, *zbar, *zh, *g, *Mbar;
    double res;
    long calls, check_calls, inner;
} vh_ws;

static void ws_free(vh_ws *w)
{
    free(w->qbar);
    free(w->work);
    free(w->Mbar);
}

static int ws_alloc(vh_ws *w, const vr_halpern_problem *p)
{
    int d = p->d;
    w->qbar = malloc((size_t)12 * d * sizeof *w->qbar);
    w->work = malloc((size_t)p->n * d * sizeof *w->work);
    w->Mbar = malloc((size_t)d * d * sizeof *w->Mbar);
    if (!w->qbar || !w->work || !w->Mbar) {
        ws_free(w);
        return SV_ENOMEM;
    }
    double *b = w->qbar;
    w->u0 = b + d;
    w->Ft = b + 2 * d;
    w->t = b + 3 * d;
    w->diff = b + 4 * d;
    w->zin = b + 5 * d;
    w->w = b + 6 * d;
    w->Fw = b + 7 * d;
    w->zbar = b + 8 * d;
    w->zh = b + 9 * d;
    w->g = b + 10 * d;
    return SV_OK;
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    vh_ws *w = ctx;
    if (cap < 3)
        return 0;
    m[0] = (sv_metric){"residual", w->res};
    m[1] = (sv_metric){"oracle_calls", (double)w->calls};
    m[2] = (sv_metric){"inner_steps", (double)w->inner};
    return 3;
}

/* ================================ inner resolvent loops ================================ */

/* g = G(v) = v - u + eta Fv */
static void G_of(int d, const double *v, const double *u, double eta, const double *Fv, double *g)
{
    for (int j = 0; j < d; j++)
        g[j] = v[j] - u[j] + eta * Fv[j];
}

/* Loopless-SVRG extragradient on G for m steps from w->zin, snapshot (w->w, w->Fw) carried. */
static int inner_vr(vh_ws *w, const double *u, double eta, double tau, double p, long m,
                    sv_rng *r, sv_loop *L)
{
    const vr_halpern_problem *P = w->p;
    int d = P->d;
    for (long t = 0; t < m; t++) {
        if ((t & 255) == 255 && sv_loop_poll(L))
            return 1;
        G_of(d, w->w, u, eta, w->Fw, w->g);
        for (int j = 0; j < d; j++) {
            w->zbar[j] = (1.0 - p) * w->zin[j] + p * w->w[j];
            w->zh[j] = w->zbar[j] - tau * w->g[j];
        }
        sv_project_box(d, P->lo, P->hi, w->zh);
        int i = (int)sv_rng_below(r, (uint64_t)P->n);
        for (int j = 0; j < d; j++)
            w->diff[j] = w->zh[j] - w->w[j];
        /* G_i(z_h) - G_i(w) = diff + eta M_i diff, added to G(w) in g */
        sv_axpy(d, 1.0, w->diff, w->g);
        comp_apply(P, i, eta, w->diff, w->g);
        for (int j = 0; j < d; j++)
            w->zin[j] = w->zbar[j] - tau * w->g[j];
        sv_project_box(d, P->lo, P->hi, w->zin);
        w->calls += 2;
        if (sv_rng_uniform(r) < p) {
            sv_copy(d, w->zin, w->w);
            full_F(P, w->Mbar, w->qbar, w->w, w->Fw);
            w->calls += P->n;
        }
    }
    w->inner += m;
    return 0;
}

/* Deterministic extragradient on G for m steps from w->zin (full passes). */
static int inner_plain(vh_ws *w, const double *u, double eta, double tau, long m, sv_loop *L)
{
    const vr_halpern_problem *P = w->p;
    int d = P->d;
    for (long t = 0; t < m; t++) {
        if ((t & 63) == 63 && sv_loop_poll(L))
            return 1;
        full_F(P, w->Mbar, w->qbar, w->zin, w->Fw);
        G_of(d, w->zin, u, eta, w->Fw, w->g);
        for (int j = 0; j < d; j++)
            w->zh[j] = w->zin[j] - tau * w->g[j];
        sv_project_box(d, P->lo, P->hi, w->zh);
        full_F(P, w->Mbar, w->qbar, w->zh, w->Fw);
        G_of(d, w->zh, u, eta, w->Fw, w->g);
        for (int j = 0; j < d; j++)
            w->zin[j] -= tau * w->g[j];
        sv_project_box(d, P->lo, P->hi, w->zin);
        w->calls += 2L * P->n;
    }
    w->inner += m;
    return 0;
}

/* ================================ the solver ================================ */

int vr_halpern_solve(const vr_halpern_problem *p, const vr_halpern_settings *s,
                     const sv_monitor *mon, double *z, vr_halpern_info *info, sv_err *e)
{
    vr_halpern_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    if ((rc = vr_halpern_check_settings(s, e)) != SV_OK || (rc = check_problem(p, e)) != SV_OK)
        return rc;
    if (!z || !sv_all_finite(p->d, z))
        return sv_fail(e, "/problem/z0", "starting point missing or not finite");
    if (s->batch > p->n)
        return sv_fail(e, "/params/batch", "batch %d exceeds the %d components", s->batch, p->n);

    vh_ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    if ((rc = ws_alloc(&w, p)) != SV_OK)
        return rc;
    int n = p->n, d = p->d;
    const int coco = s->setting == VR_HALPERN_COCOERCIVE, vr = s->variant == VR_HALPERN_VR;
    double L = isnan(s->L) ? auto_L(p, s, w.Mbar) : s->L;
    if (isnan(L)) {
        ws_free(&w);
        return SV_ENOMEM;
    }
    double eta = isnan(s->eta) ? 1.0 / L : s->eta;
    double prob = !vr ? 1.0 : !isnan(s->p) ? s->p : coco ? 1.0 / sqrt((double)n) : 1.0 / n;
    int batch = s->batch > 0 ? s->batch : (int)ceil(sqrt((double)n));
    long every = s->check_every > 0 ? s->check_every : (vr && coco ? (long)batch : 1L);
    double LG = 1.0 + eta * L;
    double tau = vr ? 0.99 * sqrt(prob) / LG : 0.5 / LG;
    double mscale = vr ? s->inner_scale * LG / sqrt(prob) : s->inner_scale * 2.0 * LG;
    info->L = L;
    info->eta = eta;
    info->p = prob;
    info->batch = coco && vr ? batch : 0;

    sv_rng r;
    sv_rng_seed(&r, s->seed);
    mean_q(p, w.qbar);
    {
        size_t dd = (size_t)p->d * p->d;
        sv_zero((int)dd, w.Mbar);
        for (int i = 0; i < p->n; i++)
            sv_axpy((int)dd, 1.0 / p->n, p->M + i * dd, w.Mbar);
    }
    sv_copy(d, z, w.u0);
    /* F(u_0): the estimator's start (cocoercive) or the first snapshot (monotone) */
    full_F(p, w.Mbar, w.qbar, z, w.Ft);
    w.calls = n;
    sv_copy(d, z, w.zin);
    sv_copy(d, z, w.w);
    sv_copy(d, w.Ft, w.Fw);
    int fresh = 1;  /* Ft is the exact F(u_k) */
    w.res = fb_residual(p, eta, z, w.Ft, w.t);
    const double r0 = fmax(w.res, 1e-300);

    sv_loop Lp;
    sv_loop_begin(&Lp, &s->ctl, mon, metrics, &w);
    long k;
    int checked = 1;
    for (k = 0;; k++) {
        checked = fresh || k % every == 0;
        if (checked && !fresh) {
            /* exact check: F(u_k) into diff (the estimator Ft is kept) */
            full_F(p, w.Mbar, w.qbar, z, w.diff);
            w.check_calls += n;
            w.res = fb_residual(p, eta, z, w.diff, w.t);
        } else if (fresh) {
            w.res = fb_residual(p, eta, z, w.Ft, w.t);
        }
        int diverged = checked && !(w.res <= VR_HALPERN_DIVERGENCE_FACTOR * r0);
        if (sv_loop_check(&Lp, k, w.res, diverged, checked && w.res <= s->ctl.tol))
            break;
        double lam = 1.0 / ((double)k + 2.0);
        if (s->variant == VR_HALPERN_EXTRAGRADIENT) {
            /* z_h = P(z - g F z), z+ = P(z - g F z_h), g = eta / 2 (< 1/L for eta = 1/L) */
            double g = 0.5 * eta;
            for (int j = 0; j < d; j++)
                w.zh[j] = z[j] - g * w.Ft[j];
            sv_project_box(d, p->lo, p->hi, w.zh);
            full_F(p, w.Mbar, w.qbar, w.zh, w.Fw);
            for (int j = 0; j < d; j++)
                z[j] -= g * w.Fw[j];
            sv_project_box(d, p->lo, p->hi, z);
            full_F(p, w.Mbar, w.qbar, z, w.Ft);
            w.calls += 2L * n;
            fresh = 1;
        } else if (coco) {
            /* T(u_k) = P_C(u_k - eta F~_k); u_{k+1} = lam u_0 + (1 - lam) T(u_k) */
            for (int j = 0; j < d; j++)
                w.t[j] = z[j] - eta * w.Ft[j];
            sv_project_box(d, p->lo, p->hi, w.t);
            for (int j = 0; j < d; j++) {
                double un = lam * w.u0[j] + (1.0 - lam) * w.t[j];
                w.diff[j] = un - z[j];
                z[j] = un;
            }
            if (!vr || sv_rng_uniform(&r) < prob) {
                full_F(p, w.Mbar, w.qbar, z, w.Ft);
                w.calls += n;
                fresh = 1;
            } else {
                /* F~ += (1/b) sum_{i in S} M_i (u_{k+1} - u_k): F_i(u_{k+1}) - F_i(u_k) */
                for (int b = 0; b < batch; b++)
                    comp_apply(p, (int)sv_rng_below(&r, (uint64_t)n), 1.0 / batch, w.diff, w.Ft);
                w.calls += 2L * batch;
                fresh = 0;
            }
        } else {
            long m = (long)ceil(mscale * log((double)k + 2.0));
            if (m < 1)
                m = 1;
            int stop = vr ? inner_vr(&w, z, eta, tau, prob, m, &r, &Lp)
                          : inner_plain(&w, z, eta, tau, m, &Lp);
            if (stop)
                break;
            for (int j = 0; j < d; j++)
                z[j] = lam * w.u0[j] + (1.0 - lam) * w.zin[j];
            fresh = 0;
        }
    }
    /* the exact residual at the returned z when the last one was an estimate or is stale */
    if (!checked || sv_loop_stopped(&Lp)) {
        full_F(p, w.Mbar, w.qbar, z, w.diff);
        w.check_calls += n;
        w.res = fb_residual(p, eta, z, w.diff, w.t);
    }
    info->residual = w.res;
    info->oracle_calls = w.calls;
    info->check_calls = w.check_calls;
    info->inner_steps = w.inner;
    sv_loop_end(&Lp, &info->base, k, w.res, w.res);
    ws_free(&w);
    return SV_OK;
}
