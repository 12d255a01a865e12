/* cbo.c - consensus-based optimization (Riedl, Klock, Geldhauser, Fornasier 2023), one thread.
 *
 * State: N particles X (N x d, row-major), their values F, the consensus point v and the best
 * particle ever seen. An iteration evaluates nothing but the N moved particles and f(v):
 *   1. v = sum_i w_i X^i / sum_i w_i with w_i = exp(-alpha (F_i - min_j F_j)): the shift by the
 *      least value (log-sum-exp, the paper's Laplace principle) leaves v unchanged and keeps the
 *      largest weight at 1, so no alpha overflows or underflows the sum. A particle whose value
 *      is not finite gets weight 0.
 *   2. X^i <- X^i - lambda dt (X^i - v) + sigma sqrt(dt) D(X^i - v) xi^i, xi^i ~ N(0, I_d), with
 *      D(y) = |y|_2 I or diag(y), for every i against the same v (the Euler-Maruyama step).
 * The Gaussians come from the job's seeded xoshiro stream through a ziggurat (normal() below), so
 * a seed fixes the run. No BLAS: plain loops keep every
 * run bitwise the same on every CPU, and the cost is the N evaluations of f anyway. */
#include "core/solvers/global/cbo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>

#include "core/rng.h"

static const char *const noise_choices[] = {"anisotropic", "isotropic", NULL};
static const char *const init_choices[] = {"box", "gaussian", NULL};
static const char *const stop_choices[] = {"consensus", "spread", NULL};

const sv_param_spec cbo_params[] = {
    SV_P_INT(cbo_settings, particles, 2, 1e7, CBO_DEFAULT_PARTICLES, "number of particles N"),
    SV_P_NUMBER(cbo_settings, alpha, 0, 1e300, CBO_DEFAULT_ALPHA,
                "weight parameter of w = exp(-alpha f); large alpha puts the consensus on the "
                "best particle"),
    SV_P_NUMBER_GT(cbo_settings, lambda, 0, 1e6, CBO_DEFAULT_LAMBDA,
                   "drift rate towards the consensus point"),
    SV_P_NUMBER(cbo_settings, sigma, 0, 1e6, CBO_DEFAULT_SIGMA, "noise (exploration) strength"),
    SV_P_NUMBER_GT(cbo_settings, dt, 0, 1e3, CBO_DEFAULT_DT, "Euler-Maruyama time step"),
    SV_P_ENUM(cbo_settings, noise, noise_choices, CBO_DEFAULT_NOISE,
              "anisotropic: D = diag(X - v); isotropic: D = |X - v| I"),
    SV_P_ENUM(cbo_settings, init, init_choices, CBO_DEFAULT_INIT,
              "initial particles: uniform in the box centre +- init_radius, or Gaussian around "
              "the centre with standard deviation init_radius"),
    SV_P_NUMBER_GT(cbo_settings, init_radius, 0, 1e300, NAN,
                   "half-width (box) or standard deviation (gaussian) of the initial particles; "
                   "null: the problem's (a benchmark's box, 1 for an expr problem)"),
    SV_P_ENUM(cbo_settings, stop, stop_choices, CBO_DEFAULT_STOP,
              "what tol bounds: consensus = the movement of v over window iterations; spread = "
              "the root-mean-square distance of the particles to v"),
    SV_P_INT(cbo_settings, window, 1, 1e6, CBO_DEFAULT_WINDOW,
             "iterations over which the consensus movement is measured (stop = consensus)"),
    SV_P_SEED(cbo_settings, seed, 0, "seed of the initial particles and the noise"),
    SV_CONTROL_PARAMS(cbo_settings, ctl, CBO_DEFAULT_TOL,
                      "stop when the measure named by stop is <= tol",
                      CBO_DEFAULT_MAX_ITER, CBO_DEFAULT_REPORT_EVERY),
    SV_PARAMS_END,
};

void cbo_settings_default(cbo_settings *s)
{
    sv_params_defaults(cbo_params, s);
}

int cbo_check_settings(const cbo_settings *s, sv_err *e)
{
    if (!s)
        return sv_fail(e, "/params", "settings missing");
    return sv_params_validate(cbo_params, s, "/params", e);
}

/* ================================ problems ================================ */

void cbo_problem_benchmark(cbo_problem *p, const cbo_benchmark *b, double *center)
{
    double c, h;
    cbo_benchmark_box(b, &c, &h);
    for (int j = 0; j < b->dim; j++)
        center[j] = c;
    p->dim = b->dim;
    p->f = cbo_benchmark_value;
    p->ctx = (void *)b;
    p->center = center;
    p->radius = h;
}

static double expr_value(void *ctx, const double *x)
{
    return sv_expr_problem_f(ctx, x);
}

void cbo_problem_expr(cbo_problem *p, sv_expr_problem *ep)
{
    p->dim = sv_expr_problem_dim(ep);
    p->f = expr_value;
    p->ctx = ep;
    p->center = sv_expr_problem_start(ep);
    p->radius = 1.0;
}

static int check_problem(const cbo_problem *p, const cbo_settings *s, sv_err *e)
{
    if (!p || !p->f || p->dim < 1)
        return sv_fail(e, "/problem", "an objective of dimension >= 1 is required");
    if (p->center)
        for (int j = 0; j < p->dim; j++)
            if (!isfinite(p->center[j]))
                return sv_fail(e, "/problem/x0", "the centre of the initial particles is not "
                               "finite at %d", j);
    if (isnan(s->init_radius) && !(isfinite(p->radius) && p->radius > 0))
        return sv_fail(e, "/params/init_radius", "the problem names no initial radius: give one");
    double entries = (double)s->particles * (double)p->dim;
    if (entries > CBO_MAX_ENTRIES)
        return sv_fail(e, "/params/particles", "particles * dim = %.0f exceeds the limit of %.0f",
                       entries, CBO_MAX_ENTRIES);
    return SV_OK;
}

/* ================================ workspace ================================ */

typedef struct {
    const cbo_problem *p;
    const cbo_settings *s;
    sv_loop *L;
    long n;
    int d;
    double *X;       /* n x d */
    double *F;       /* n */
    double *w;       /* n: the weights */
    double *v;       /* d: consensus point */
    double *vmark;   /* d: v at the last movement measurement */
    double *best;    /* d: best particle ever evaluated */
    double best_f;
    double fv;       /* f(v) */
    double spread;
    double move;     /* the last measured consensus movement; NaN before one */
    long evals;
    sv_rng rng;
    uint32_t kn[128];  /* the ziggurat's tables (zig_tables) */
    double wn[128], fn[128];
} cbo_ws;

static void ws_free(cbo_ws *w)
{
    free(w->X);
    free(w->F);
    free(w->w);
    free(w->v);
    free(w->vmark);
    free(w->best);
}

static int ws_alloc(cbo_ws *w)
{
    size_t n = (size_t)w->n, d = (size_t)w->d;
    w->X = malloc(n * d * sizeof *w->X);
    w->F = malloc(n * sizeof *w->F);
    w->w = malloc(n * sizeof *w->w);
    w->v = malloc(d * sizeof *w->v);
    w->vmark = malloc(d * sizeof *w->vmark);
    w->best = malloc(d * sizeof *w->best);
    if (!w->X || !w->F || !w->w || !w->v || !w->vmark || !w->best) {
        ws_free(w);
        return SV_ENOMEM;
    }
    return SV_OK;
}

/* Standard normals by the ziggurat method of Marsaglia and Tsang (J. Stat. Softw. 5(8), 2000),
 * 128 layers. The N d Gaussians of an iteration cost as much as the objective itself with the
 * polar or Box-Muller method (a log each); the ziggurat takes one 64-bit draw and a multiply for
 * 98.8% of them. Each draw gives the layer from its low 7 bits and the value from its high 32,
 * so the two are independent (the original's shared bits are its known flaw, Doornik 2005).
 * The tables are built in the workspace once per solve. */
#define ZIG_R 3.442619855899
#define ZIG_V 9.91256303526217e-3
#define ZIG_M 2147483648.0

static void zig_tables(cbo_ws *w)
{
    double dn = ZIG_R, tn = dn, q = ZIG_V / exp(-0.5 * dn * dn);
    w->kn[0] = (uint32_t)((dn / q) * ZIG_M);
    w->kn[1] = 0;
    w->wn[0] = q / ZIG_M;
    w->wn[127] = dn / ZIG_M;
    w->fn[0] = 1.0;
    w->fn[127] = exp(-0.5 * dn * dn);
    for (int i = 126; i >= 1; i--) {
        dn = sqrt(-2.0 * log(ZIG_V / dn + exp(-0.5 * dn * dn)));
        w->kn[i + 1] = (uint32_t)((dn / tn) * ZIG_M);
        tn = dn;
        w->fn[i] = exp(-0.5 * dn * dn);
        w->wn[i] = dn / ZIG_M;
    }
}

static double normal(cbo_ws *w)
{
    for (;;) {
        uint64_t u = sv_rng_next(&w->rng);
        int iz = (int)(u & 127u);
        int32_t hz = (int32_t)(uint32_t)(u >> 32);
        uint32_t ahz = hz < 0 ? (uint32_t)(-(int64_t)hz) : (uint32_t)hz;
        double x = hz * w->wn[iz];
        if (ahz < w->kn[iz])
            return x;  /* inside the layer's rectangle */
        if (iz == 0) {  /* the tail beyond R (Marsaglia's exponential rejection) */
            double xt, yt;
            do {
                xt = -log(1.0 - sv_rng_uniform(&w->rng)) / ZIG_R;
                yt = -log(1.0 - sv_rng_uniform(&w->rng));
            } while (yt + yt < xt * xt);
            return hz > 0 ? ZIG_R + xt : -ZIG_R - xt;
        }
        /* the wedge between the rectangle and the density */
        if (w->fn[iz] + sv_rng_uniform(&w->rng) * (w->fn[iz - 1] - w->fn[iz]) < exp(-0.5 * x * x))
            return x;
    }
}

/* ================================ one iteration ================================ */

/* f at every particle, the best kept; polls every 1024 evaluations and returns 1 when the loop
 * must stop (F is then partly stale, which the caller does not use). */
static int evaluate(cbo_ws *w)
{
    const cbo_problem *p = w->p;
    for (long i = 0; i < w->n; i++) {
        const double *xi = w->X + (size_t)i * (size_t)w->d;
        double f = p->f(p->ctx, xi);
        w->F[i] = f;
        w->evals++;
        if (f < w->best_f) {
            w->best_f = f;
            memcpy(w->best, xi, (size_t)w->d * sizeof *xi);
        }
        if ((i & 1023) == 1023 && sv_loop_poll(w->L))
            return 1;
    }
    return 0;
}

/* The consensus point from F (log-sum-exp shifted weights), f(v) and the spread. */
static void consensus(cbo_ws *w)
{
    const long n = w->n;
    const int d = w->d;
    const double alpha = w->s->alpha;
    double m = INFINITY;
    for (long i = 0; i < n; i++)
        if (isfinite(w->F[i]) && w->F[i] < m)
            m = w->F[i];
    memset(w->v, 0, (size_t)d * sizeof *w->v);
    double total = 0;
    for (long i = 0; i < n; i++) {
        /* exp(-a) is 0 in double for a > 745.14; skipping the call there keeps the bits and
         * spares libm's underflow path (errno), which most particles take at large alpha */
        double a = alpha * (w->F[i] - m);
        double wi = isfinite(w->F[i]) && a < 746.0 ? exp(-a) : 0.0;
        w->w[i] = wi;
        total += wi;
        if (wi == 0.0)
            continue;
        const double *xi = w->X + (size_t)i * (size_t)d;
        for (int j = 0; j < d; j++)
            w->v[j] += wi * xi[j];
    }
    /* total >= 1 when some value is finite (the least one weighs 1); else v is NaN: diverged */
    double inv = total > 0 ? 1.0 / total : NAN;
    for (int j = 0; j < d; j++)
        w->v[j] *= inv;
    double ss = 0;
    for (long i = 0; i < n; i++) {
        const double *xi = w->X + (size_t)i * (size_t)d;
        for (int j = 0; j < d; j++) {
            double y = xi[j] - w->v[j];
            ss += y * y;
        }
    }
    w->spread = sqrt(ss / (double)n);
    w->fv = w->p->f(w->p->ctx, w->v);
    w->evals++;
    if (w->fv < w->best_f) {
        w->best_f = w->fv;
        memcpy(w->best, w->v, (size_t)d * sizeof *w->v);
    }
}

/* The Euler-Maruyama step of every particle against the current v. */
static void move_particles(cbo_ws *w)
{
    const long n = w->n;
    const int d = w->d;
    const double drift = w->s->lambda * w->s->dt, diff = w->s->sigma * sqrt(w->s->dt);
    const int iso = w->s->noise == CBO_NOISE_ISOTROPIC;
    for (long i = 0; i < n; i++) {
        double *xi = w->X + (size_t)i * (size_t)d;
        double scale = 0;
        if (iso) {
            for (int j = 0; j < d; j++) {
                double y = xi[j] - w->v[j];
                scale += y * y;
            }
            scale = diff * sqrt(scale);
        }
        for (int j = 0; j < d; j++) {
            double y = xi[j] - w->v[j];
            double noise = (iso ? scale : diff * y) * normal(w);
            xi[j] -= drift * y - noise;
        }
    }
}

static int metrics(void *ctx, sv_metric *m, int cap)
{
    cbo_ws *w = ctx;
    if (cap < 4)
        return 0;
    m[0] = (sv_metric){"spread", w->spread};
    m[1] = (sv_metric){"consensus_move", w->move};
    m[2] = (sv_metric){"best_objective", w->best_f};
    m[3] = (sv_metric){"evaluations", (double)w->evals};
    return 4;
}

/* ================================ the solver ================================ */

int cbo_solve(const cbo_problem *p, const cbo_settings *s, const sv_monitor *mon, double *x,
              double *best_x, cbo_info *info, sv_err *e)
{
    cbo_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    sv_info_init(&info->base);
    int rc;
    if ((rc = cbo_check_settings(s, e)) != SV_OK || (rc = check_problem(p, s, e)) != SV_OK)
        return rc;
    if (!x)
        return sv_fail(e, "/problem", "no output vector for the consensus point");

    cbo_ws w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.s = s;
    w.n = s->particles;
    w.d = p->dim;
    if ((rc = ws_alloc(&w)) != SV_OK)
        return rc;
    const int d = w.d;
    const double radius = isnan(s->init_radius) ? p->radius : s->init_radius;
    sv_rng_seed(&w.rng, s->seed);
    zig_tables(&w);
    for (long i = 0; i < w.n; i++)
        for (int j = 0; j < d; j++) {
            double c = p->center ? p->center[j] : 0.0;
            double u = s->init == CBO_INIT_GAUSSIAN ? normal(&w)
                                                    : 2.0 * sv_rng_uniform(&w.rng) - 1.0;
            w.X[(size_t)i * (size_t)d + (size_t)j] = c + radius * u;
        }
    w.best_f = INFINITY;
    w.move = NAN;
    for (int j = 0; j < d; j++)
        w.best[j] = NAN;

    sv_loop L;
    sv_loop_begin(&L, &s->ctl, mon, metrics, &w);
    /* The first pass is not cut short (w.L is still NULL), so that v is always defined. */
    evaluate(&w);
    consensus(&w);
    w.L = &L;
    memcpy(w.vmark, w.v, (size_t)d * sizeof *w.v);
    const long window = s->window;
    long k;
    for (k = 0;; k++) {
        int measured = 0;
        if (k > 0 && k % window == 0) {
            double mv = 0;
            for (int j = 0; j < d; j++) {
                double y = w.v[j] - w.vmark[j];
                mv += y * y;
            }
            w.move = sqrt(mv);
            memcpy(w.vmark, w.v, (size_t)d * sizeof *w.v);
            measured = 1;
        }
        int diverged = !isfinite(w.fv) || !(w.spread <= CBO_DIVERGENCE_SPREAD);
        int solved = s->stop == CBO_STOP_SPREAD ? w.spread <= s->ctl.tol
                                                : measured && w.move <= s->ctl.tol;
        if (sv_loop_check(&L, k, w.fv, diverged, solved))
            break;
        move_particles(&w);
        if (evaluate(&w))
            break;  /* a poll said stop: v and f(v) stay those of iteration k */
        consensus(&w);
    }
    memcpy(x, w.v, (size_t)d * sizeof *x);
    if (best_x)
        memcpy(best_x, w.best, (size_t)d * sizeof *best_x);
    info->spread = w.spread;
    info->consensus_move = w.move;
    info->best_obj = w.best_f;
    info->evaluations = w.evals;
    info->init_radius = radius;
    double res = s->stop == CBO_STOP_SPREAD ? w.spread : w.move;
    sv_loop_end(&L, &info->base, k, w.fv, res);
    ws_free(&w);
    return SV_OK;
}
