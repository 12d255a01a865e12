/* boss.h - BOSS: Bellman-optimal step sizes for Euler sampling of a flow ODE dx/dt = v(x, t) on
 * [0, 1]. Out of a fine grid t_i = i / N a dynamic programme picks K of its steps (K + 1 points,
 * 0 and 1 among them) that minimise the summed one-step Euler error against the fine-grid
 * reference trajectory, averaged over a batch of seeded N(0, I) starts. The fields are linear,
 * v = A(t) x + b (A constant or piecewise linear in t), or the closed-form velocity of the
 * conditional-OT (rectified-flow) path from N(0, I) to a Gaussian mixture. Paper: Bao Nguyen,
 * Binh Nguyen, Viet Anh Nguyen, "Bellman Optimal Step-size Straightening of Flow-Matching
 * Models", ICLR 2024 (arXiv:2312.16414). */
#ifndef SV_BOSS_H
#define SV_BOSS_H

#include <stdint.h>
#include "core/control.h"
#include "core/params.h"

typedef enum { BOSS_FIELD_LINEAR = 0, BOSS_FIELD_MIXTURE = 1 } boss_field_kind;

/* How the reference trajectory between fine-grid points is integrated. */
typedef enum {
    BOSS_REF_RK4 = 0,   /* classical RK4 with `substeps` steps per fine interval */
    BOSS_REF_EULER = 1  /* one Euler step per fine interval: the reference code's choice */
} boss_reference;

#define BOSS_DEFAULT_STEPS 8
#define BOSS_DEFAULT_GRID 100
#define BOSS_DEFAULT_SAMPLES 256
#define BOSS_DEFAULT_SUBSTEPS 4
#define BOSS_DEFAULT_REPORT_EVERY 10L
#define BOSS_MAX_GRID 2000
/* (grid + 1) * samples * dim: the reference states (and as many velocities) kept in memory. */
#define BOSS_MAX_STATE 8000000.0

typedef struct {
    int steps;        /* K: the Euler steps of the schedule, 1 <= K <= grid */
    int grid;         /* N: fine intervals */
    int samples;      /* starts x0 ~ N(0, I) the costs are averaged over */
    uint64_t seed;    /* the starts */
    int reference;    /* boss_reference */
    int substeps;     /* RK4 steps per fine interval */
    sv_control ctl;   /* tol unused (the DP is exact); max_iter bounds the grid points done */
} boss_settings;

extern const sv_param_spec boss_params[];

/* The velocity field. Linear: v = A(t) x + b, A(t) = A_0 when n_knots = 1, else linear between
 * A_k at knots[k] (knots increasing from 0 to 1). Mixture: x_t = (1 - t) x0 + t x1 with
 * x0 ~ N(0, I), x1 ~ sum_c w_c N(mu_c, sigma_c^2 I), and v(x, t) = E[x1 - x0 | x_t = x]. */
typedef struct {
    int kind;               /* boss_field_kind */
    int d;                  /* dimension */
    int n_knots;            /* linear: >= 1 */
    const double *knots;    /* linear, n_knots > 1: the times of the A_k */
    const double *A;        /* linear: n_knots matrices d x d, row-major, one after the other */
    const double *b;        /* linear: d, or NULL (zero) */
    int m;                  /* mixture: components */
    const double *weights;  /* mixture: m, positive (normalised by the solver) */
    const double *means;    /* mixture: m x d row-major */
    const double *sigmas;   /* mixture: m standard deviations > 0 */
} boss_field;

/* Arrays the caller may ask for (each NULL or of the stated length). */
typedef struct {
    int *index;            /* K + 1: the schedule's fine-grid indices, 0 .. N */
    double *times;         /* K + 1: their times i / N */
    int *uniform_index;    /* K + 1: the uniform schedule round(k N / K) */
    double *curve;         /* K: the DP's optimal cost with k = 1 .. K steps */
    double *ref_mean;      /* d: the mean over the samples of the reference endpoint x(1) */
    double *cost;          /* (N + 1)^2: cost[i (N + 1) + j] for i < j, NaN elsewhere */
    double *trajectory;    /* (N + 1) samples d: the reference states, grid point by grid point */
} boss_output;

typedef struct {
    sv_info base;             /* base.obj = dp_cost; base.iter = grid points done */
    double dp_cost;           /* summed one-step costs of the DP schedule */
    double uniform_cost;      /* the same sum for the uniform schedule */
    double dp_endpoint;       /* mean |Euler(schedule)(x0) - x_ref(1)|^2 over the samples */
    double uniform_endpoint;  /* the same for the uniform schedule */
    double ref_spread;        /* mean |x_ref(1) - x0|^2: the scale the errors compare with */
    long velocity_evals;      /* per-sample field evaluations (reference, costs, endpoints) */
} boss_info;

void boss_settings_default(boss_settings *s);
/* The table's checks and steps <= grid; SV_OK or SV_EINVAL with e->field "/params/<name>". */
int boss_check_settings(const boss_settings *s, sv_err *e);
/* The field's checks (errors at /problem/<member>). */
int boss_check_field(const boss_field *f, sv_err *e);

/* Iterations of a full run: N, one a grid point (its reference step, cost column and DP
 * column). */
long boss_iterations(const boss_settings *s);

/* v(x, t) of f at one point x (d); work holds d*d + 5m doubles (m = 0 for a linear field). */
void boss_velocity(const boss_field *f, double t, const double *x, double *v, double *work);

/* Takes the starts x0 (samples x d, row-major) or, when x0 is NULL, draws them from N(0, I)
 * with the seed; integrates the reference, builds the cost matrix and runs the DP; then the
 * Euler samplers of both schedules. Validates everything before allocating. Returns SV_OK
 * (info->base.status says how the run ended: solved when the DP is complete), SV_EINVAL (e
 * names the field) or SV_ENOMEM. Outputs are written only when the run is solved (trajectory
 * and ref_mean once the reference is complete). */
int boss_solve(const boss_field *f, const double *x0, const boss_settings *s,
               const sv_monitor *mon, const boss_output *out, boss_info *info, sv_err *e);

#endif
