/* ef21.h - EF21 error feedback with TopK compression, and its weighted variant EF21-W, for
 * distributed smooth minimisation of f(x) = (1/n) sum_i f_i(x) over n simulated clients, each
 * owning a linear-model objective f_i (core/models/glm.h). The solver counts what the clients
 * would send to the server. Paper: Richtarik, Gasanov, Burlachenko, "Error Feedback Reloaded:
 * From Quadratic to Arithmetic Mean of Smoothness Constants", ICLR 2024. */
#ifndef SV_EF21_H
#define SV_EF21_H

#include <stdint.h>
#include "core/control.h"
#include "core/models/glm.h"
#include "core/params.h"
#include "core/schedule.h"

typedef enum {
    EF21_VARIANT_EF21 = 0,  /* plain EF21: server g = (1/n) sum_i g_i */
    EF21_VARIANT_EF21W = 1  /* EF21-W: weights w_i = L_i / sum_j L_j, server g = sum_i w_i g_i */
} ef21_variant;

typedef enum {
    /* The paper's step: gamma = 1 / (L + L_AM sqrt(beta/theta)). Theorem 2 proves it for EF21-W
     * and Theorem 3 (the improved analysis) for the original EF21. */
    EF21_STEP_THEORY = 0,
    /* The original EF21 step (Richtarik, Sokolov, Fatkhullin 2021) with the quadratic mean:
     * gamma = 1 / (L + L_QM sqrt(beta/theta)); never larger than EF21_STEP_THEORY. */
    EF21_STEP_THEORY_QM = 1
} ef21_stepsize;

typedef enum {
    EF21_INIT_FULL = 0,       /* g_i^0 = grad f_i(x^0) (scaled for EF21-W): one dense upload */
    EF21_INIT_COMPRESSED = 1  /* g_i^0 = TopK(grad f_i(x^0)) */
} ef21_init;

/* Defaults (ef21_settings_default). */
#define EF21_DEFAULT_VARIANT EF21_VARIANT_EF21
#define EF21_DEFAULT_K 1L                /* Top1, as in the paper's experiments */
#define EF21_DEFAULT_STEPSIZE EF21_STEP_THEORY
#define EF21_DEFAULT_GAMMA_FACTOR 1.0
#define EF21_DEFAULT_INIT EF21_INIT_FULL
#define EF21_DEFAULT_TOL 1e-6
#define EF21_DEFAULT_MAX_ITER 10000L
#define EF21_DEFAULT_REPORT_EVERY 100L
/* The run counts as diverged once |grad f| exceeds this multiple of its initial value. */
#define EF21_DIVERGENCE_FACTOR 1e20
/* Power iteration for L, the smoothness constant of f. */
#define EF21_POWER_TOL 1e-10
#define EF21_POWER_MAX_ITER 500

typedef struct {
    int variant;          /* ef21_variant */
    long k;               /* TopK: coordinates each client sends per round, 1 <= k <= dim */
    int stepsize;         /* ef21_stepsize: the rule used when gamma is NaN */
    double gamma;         /* fixed step size > 0; NaN: from the stepsize rule */
    double gamma_factor;  /* > 0, multiplies the rule's step (not a fixed gamma) */
    int init;             /* ef21_init */
    sv_schedule schedule; /* round t steps with gamma * factor(t, max_iter) (core/schedule.h) */
    sv_control ctl;       /* tol: stop when |grad f(x)| <= tol; max_iter: communication rounds */
} ef21_settings;

/* The parameter table of ef21_settings: names, ranges, defaults, help (core/params.h). */
extern const sv_param_spec ef21_params[];

typedef struct {
    int n_clients;
    const sv_glm *clients;  /* n_clients objectives, all with the same number of columns d */
} ef21_problem;

typedef struct {
    sv_info base;          /* base.obj = f(x), base.res = |grad f(x)|, base.iter = rounds */
    uint64_t bits_sent;    /* client-to-server bits, all clients, initialisation included */
    uint64_t floats_sent;  /* client-to-server float values, likewise */
    double grad_norm;      /* |grad f(x)| at the returned x */
    double gamma;          /* step size used */
    double L;              /* smoothness constant of f */
    double L_am, L_qm;     /* arithmetic and quadratic means of the clients' L_i */
} ef21_info;

/* Fills s with the defaults of ef21_params. */
void ef21_settings_default(ef21_settings *s);

/* Checks the settings against ef21_params; dim > 0 also checks k <= dim. Returns SV_OK or
 * SV_EINVAL with e->field "/params/<name>". Allocates nothing. */
int ef21_check_settings(const ef21_settings *s, int dim, sv_err *e);

/* sqrt(beta/theta) for TopK with k of d coordinates: alpha = k/d, theta = 1 - sqrt(1 - alpha),
 * beta = (1 - alpha) / (1 - sqrt(1 - alpha)); 0 when k >= d. */
double ef21_topk_xi(long k, int d);

/* Bits one client sends for one TopK message: k * (64 + ceil(log2 d)) (value and index). */
uint64_t ef21_topk_bits(long k, int d);

/* Runs EF21 / EF21-W from x (in: x^0, out: the last iterate; length d) until |grad f(x)| <= tol,
 * max_iter rounds, the time limit, a stop request from mon (SV_CANCELLED) or divergence. Every
 * input is validated before anything is allocated. Returns SV_OK (info->base.status says how the
 * solve ended), SV_EINVAL (e names the field; info left UNSOLVED) or SV_ENOMEM. mon may be NULL;
 * e may be NULL. */
int ef21_solve(const ef21_problem *p, const ef21_settings *s, const sv_monitor *mon, double *x,
               ef21_info *info, sv_err *e);

#endif
