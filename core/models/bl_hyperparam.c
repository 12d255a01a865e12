/* bl_hyperparam.c - ridge hyperparameter learning (bilevel.h): the ridge weights exp(x_t(j)) of a
 * least-squares, logistic or multinomial model, one per feature or one global, learnt against
 * the validation loss.
 *
 *   g(x, y) = (1/n) sum_i l_i(y) + 1/2 sum_j e^{x_t(j)} |y_j|^2       (y_j: feature j's weights)
 *   grad_y g = data gradient + e^{x_t(j)} y_j
 *   grad_x g:  per feature 1/2 e^{x_j} |y_j|^2;  global 1/2 e^{x_0} |y|^2
 *   grad^2_xy g v:  per feature e^{x_j} y_j . v_j;  global e^{x_0} y . v
 *   f(x, y) = (1/n_val) sum_j l_j(y)
 * The regulariser is exact in every oracle; a batch only subsamples the data terms. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/models/bl_internal.h"

static int score_len(const sv_bl_hyperparam *h)
{
    return h->loss == SV_BL_LOSS_MULTINOMIAL ? h->K : 1;
}

static sv__bl_lin lin_of(const sv_bl_hyperparam *h, const sv_bl_set *S)
{
    sv__bl_lin m = {h->loss, h->d, score_len(h), S};
    return m;
}

/* The ridge weight of feature j. */
static double ridge(const sv_bl_hyperparam *h, const double *x, int j)
{
    return exp(h->per_feature ? x[j] : x[0]);
}

static double hp_upper(const sv_bl_problem *p, const double *x, const double *y,
                       const sv_bl_batch *b, double *gx, double *gy, double *work)
{
    (void)x;
    const sv_bl_hyperparam *h = p->data;
    sv__bl_lin m = lin_of(h, &h->val);
    sv__bl_wt none = {NULL, 0};
    if (gy)
        sv_zero(p->dy, gy);
    if (gx)
        sv_zero(p->dx, gx);
    return sv__bl_lin_value(&m, b ? b->idx : NULL, b ? b->k : 0, none, y, gy, NULL, work);
}

static double hp_lower(const sv_bl_problem *p, const double *x, const double *y,
                       const sv_bl_batch *b, double *gx, double *gy, double *work)
{
    const sv_bl_hyperparam *h = p->data;
    const int K = score_len(h);
    sv__bl_lin m = lin_of(h, &h->train);
    sv__bl_wt none = {NULL, 0};
    if (gy)
        sv_zero(p->dy, gy);
    if (gx)
        sv_zero(p->dx, gx);
    double g = sv__bl_lin_value(&m, b ? b->idx : NULL, b ? b->k : 0, none, y, gy, NULL, work);
    for (int j = 0; j < h->d; j++) {
        const double *yj = y + (size_t)j * K;
        double r = ridge(h, x, j), sq = sv_dot(K, yj, yj);
        g += 0.5 * r * sq;
        if (gy)
            sv_axpy(K, r, yj, gy + (size_t)j * K);
        if (gx)
            gx[h->per_feature ? j : 0] += 0.5 * r * sq;
    }
    return g;
}

static void hp_hvp_yy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                      const sv_bl_batch *b, double *out, double *work)
{
    const sv_bl_hyperparam *h = p->data;
    const int K = score_len(h);
    sv__bl_lin m = lin_of(h, &h->train);
    sv__bl_wt none = {NULL, 0};
    for (int j = 0; j < h->d; j++) {
        double r = ridge(h, x, j);
        for (int c = 0; c < K; c++)
            out[(size_t)j * K + c] = r * v[(size_t)j * K + c];
    }
    sv__bl_lin_hvp(&m, b ? b->idx : NULL, b ? b->k : 0, none, y, v, out, work);
}

static void hp_hvp_xy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                      const sv_bl_batch *b, double *out, double *work)
{
    (void)b;
    (void)work;
    const sv_bl_hyperparam *h = p->data;
    const int K = score_len(h);
    sv_zero(p->dx, out);
    for (int j = 0; j < h->d; j++)
        out[h->per_feature ? j : 0] +=
            ridge(h, x, j) * sv_dot(K, y + (size_t)j * K, v + (size_t)j * K);
}

static double hp_mu(const sv_bl_problem *p, const double *x)
{
    double m = x[0];
    for (int j = 1; j < p->dx; j++)
        m = fmin(m, x[j]);
    return exp(m);
}

static double hp_L(const sv_bl_problem *p, const double *x)
{
    const sv_bl_hyperparam *h = p->data;
    double m = x[0];
    for (int j = 1; j < p->dx; j++)
        m = fmax(m, x[j]);
    return sv__bl_loss_curv(h->loss) * p->gram_eig + exp(m);
}

static double hp_accuracy(const sv_bl_problem *p, const double *y, sv_bl_set_id set)
{
    const sv_bl_hyperparam *h = p->data;
    const sv_bl_set *S = set == SV_BL_SET_TRAIN ? &h->train : set == SV_BL_SET_VAL ? &h->val
                                                                                  : &h->test;
    sv__bl_lin m = lin_of(h, S);
    double *w = malloc(SV__BL_LIN_WORK(m.K) * sizeof *w);
    if (!w)
        return NAN;
    double a = sv__bl_lin_accuracy(&m, y, w);
    free(w);
    return a;
}

static const sv_bl_ops hyperparam_ops = {
    .name = "hyperparam",
    .upper = hp_upper,
    .lower = hp_lower,
    .hvp_yy = hp_hvp_yy,
    .hvp_xy = hp_hvp_xy,
    .constraints = NULL,
    .lower_mu = hp_mu,
    .lower_L = hp_L,
    .accuracy = hp_accuracy,
    .solve_lower = NULL,
    .hypergrad = NULL,
};

int sv_bl_hyperparam_check(const sv_bl_hyperparam *h, sv_err *e)
{
    if (!h)
        return sv_fail(e, "/problem", "problem missing");
    if (h->loss != SV_BL_LOSS_SQUARED && h->loss != SV_BL_LOSS_LOGISTIC &&
        h->loss != SV_BL_LOSS_MULTINOMIAL)
        return sv_fail(e, "/problem/loss", "must be \"squared\", \"logistic\" or \"multinomial\"");
    if (h->d < 1)
        return sv_fail(e, "/problem/train/A", "needs at least one feature");
    if (h->loss == SV_BL_LOSS_MULTINOMIAL && h->K < 2)
        return sv_fail(e, "/problem/classes", "the multinomial loss needs at least 2 classes");
    int rc;
    if ((rc = sv__bl_set_check(&h->train, h->loss, h->d, h->K, 0, "/problem/train", e)) != SV_OK ||
        (rc = sv__bl_set_check(&h->val, h->loss, h->d, h->K, 0, "/problem/val", e)) != SV_OK ||
        (rc = sv__bl_set_check(&h->test, h->loss, h->d, h->K, 1, "/problem/test", e)) != SV_OK)
        return rc;
    return sv__bl_box_check(h->per_feature ? h->d : 1, h->x_lo, h->x_hi, "/problem/x_box", e);
}

void sv_bl_hyperparam_bind(const sv_bl_hyperparam *h, sv_bl_problem *p)
{
    memset(p, 0, sizeof *p);
    p->ops = &hyperparam_ops;
    p->data = h;
    p->cls = SV_BL_HYPERPARAM;
    p->gram_eig = sv__bl_lin_gram_eig(&h->train);
    p->dx = h->per_feature ? h->d : 1;
    p->dy = h->d * score_len(h);
    p->n_upper = h->val.rows;
    p->n_lower = h->train.rows;
    p->x_lo = h->x_lo;
    p->x_hi = h->x_hi;
    p->work = SV__BL_LIN_WORK(score_len(h)) + 8;
}

void sv_bl_hyperparam_free(sv_bl_hyperparam *h)
{
    if (!h)
        return;
    sv_bl_set_free(&h->train);
    sv_bl_set_free(&h->val);
    sv_bl_set_free(&h->test);
    free(h->x_lo);
    free(h->x_hi);
    memset(h, 0, sizeof *h);
}

static int check_spec(const sv_bl_hyperparam_spec *s, const char *base, int from_data, sv_err *e)
{
    char f[96];
    snprintf(f, sizeof f, "%s/n_train", base);
    if (s->n_train < 1)
        return sv_fail(e, f, "must be at least 1");
    snprintf(f, sizeof f, "%s/n_val", base);
    if (s->n_val < 1)
        return sv_fail(e, f, "must be at least 1");
    snprintf(f, sizeof f, "%s/n_test", base);
    if (s->n_test < 0)
        return sv_fail(e, f, "must be >= 0");
    snprintf(f, sizeof f, "%s/loss", base);
    if (s->loss != SV_BL_LOSS_SQUARED && s->loss != SV_BL_LOSS_LOGISTIC &&
        s->loss != SV_BL_LOSS_MULTINOMIAL)
        return sv_fail(e, f, "must be \"squared\", \"logistic\" or \"multinomial\"");
    if (!from_data) {
        snprintf(f, sizeof f, "%s/d", base);
        if (s->d < 1)
            return sv_fail(e, f, "must be at least 1");
        snprintf(f, sizeof f, "%s/classes", base);
        if (s->loss == SV_BL_LOSS_MULTINOMIAL && s->classes < 2)
            return sv_fail(e, f, "must be at least 2");
        snprintf(f, sizeof f, "%s/noise", base);
        if (!(isfinite(s->noise) && s->noise >= 0))
            return sv_fail(e, f, "must be a finite number >= 0");
    }
    snprintf(f, sizeof f, "%s/box", base);
    if (!(isfinite(s->box) && s->box >= 0))
        return sv_fail(e, f, "must be a finite number >= 0 (0: no box)");
    return SV_OK;
}

static int add_box(sv_bl_hyperparam *h, double box)
{
    if (!(box > 0))
        return SV_OK;
    int dx = h->per_feature ? h->d : 1;
    h->x_lo = malloc((size_t)dx * sizeof *h->x_lo);
    h->x_hi = malloc((size_t)dx * sizeof *h->x_hi);
    if (!h->x_lo || !h->x_hi)
        return SV_ENOMEM;
    sv_fill(dx, -box, h->x_lo);
    sv_fill(dx, box, h->x_hi);
    return SV_OK;
}

static const char *const hyperparam_class[] = {"hyperparam", NULL};
/* In the order of sv_bl_loss. */
static const char *const hyperparam_losses[] = {"squared", "logistic", "multinomial", NULL};

const sv_param_spec sv_bl_hyperparam_gen_params[] = {
    {.name = "class", .type = SV_PARAM_ENUM, .offset = offsetof(sv_bl_hyperparam_gen, cls),
     .choices = hyperparam_class, .flags = SV_PARAM_REQUIRED, .help = "the problem class"},
    SV_PN_INT32_REQ(sv_bl_hyperparam_gen, spec.n_train, "n_train", 1, INT_MAX,
                    "training rows (the lower level)"),
    SV_PN_INT32_REQ(sv_bl_hyperparam_gen, spec.n_val, "n_val", 1, INT_MAX,
                    "validation rows (the upper level)"),
    SV_PN_INT32(sv_bl_hyperparam_gen, spec.n_test, "n_test", 0, INT_MAX, 0,
                "test rows (0: no test set)"),
    SV_PN_INT32_REQ(sv_bl_hyperparam_gen, spec.d, "d", 1, INT_MAX - 1,
                    "features (a constant one is added with intercept)"),
    SV_PN_ENUM(sv_bl_hyperparam_gen, spec.loss, "loss", hyperparam_losses, SV_BL_LOSS_SQUARED,
               "the model's loss"),
    SV_PN_INT32(sv_bl_hyperparam_gen, spec.classes, "classes", 2, 1000, 3,
                "classes of the multinomial loss"),
    SV_PN_BOOL(sv_bl_hyperparam_gen, spec.per_feature, "per_feature", 0,
               "one ridge weight per feature (dx = d), else one global weight (dx = 1)"),
    SV_PN_NUMBER(sv_bl_hyperparam_gen, spec.noise, "noise", 0, 1e12, 0.5,
                 "label noise (squared: target std; classification: the scores' temperature)"),
    SV_PN_NUMBER(sv_bl_hyperparam_gen, spec.box, "box", 0, 700, 0,
                 "> 0: x in [-box, box]; 0: no box"),
    SV_PN_BOOL(sv_bl_hyperparam_gen, spec.intercept, "intercept", 0,
               "append a constant-1 feature"),
    SV_PN_SEED(sv_bl_hyperparam_gen, spec.seed, "seed", 0, "seed of the generator"),
    SV_PARAMS_END,
};

int sv_bl_hyperparam_generate(const sv_bl_hyperparam_spec *s, sv_bl_hyperparam *h, sv_err *e)
{
    memset(h, 0, sizeof *h);
    int rc = check_spec(s, "/problem/generate", 0, e);
    if (rc != SV_OK)
        return rc;
    const int d0 = s->d, d = d0 + (s->intercept ? 1 : 0);
    const sv_bl_loss loss = s->loss;
    const int K = loss == SV_BL_LOSS_MULTINOMIAL ? s->classes : (loss == SV_BL_LOSS_LOGISTIC ? 2 : 1);
    const int nw = loss == SV_BL_LOSS_MULTINOMIAL ? K : 1;
    h->loss = loss;
    h->d = d;
    h->K = K;
    h->per_feature = s->per_feature;
    double *Wst = malloc((size_t)d0 * nw * sizeof *Wst);
    double *score = malloc((size_t)(nw + 1) * sizeof *score);
    if (!Wst || !score) {
        rc = SV_ENOMEM;
        goto fail;
    }
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);
    /* sizes decay by half every quarter of the features; every fourth feature is irrelevant */
    const double q = d0 >= 4 ? d0 / 4.0 : 1.0;
    for (int j = 0; j < d0; j++)
        for (int c = 0; c < nw; c++)
            Wst[j * nw + c] = (j % 4 == 3) ? 0.0 : sv_rng_normal(&rng) * pow(2.0, -j / q);
    sv_bl_set *sets[3] = {&h->train, &h->val, &h->test};
    int counts[3] = {s->n_train, s->n_val, s->n_test};
    for (int t = 0; t < 3; t++) {
        if ((rc = sv__bl_set_alloc(sets[t], counts[t], d, loss)) != SV_OK)
            goto fail;
        for (int r = 0; r < counts[t]; r++) {
            double *row = sets[t]->A.dense.data + (size_t)r * d;
            sv__bl_draw_row(&rng, d0, s->intercept, Wst, nw, row, score);
            if (loss == SV_BL_LOSS_SQUARED) {
                sets[t]->b[r] = score[0] + s->noise * sv_rng_normal(&rng);
            } else if (loss == SV_BL_LOSS_LOGISTIC) {
                double u = sv_rng_uniform(&rng);
                double pr = s->noise > 0 ? sv__bl_sigmoid(score[0] / s->noise)
                                         : (score[0] >= 0 ? 1.0 : 0.0);
                sets[t]->b[r] = u < pr ? 1.0 : -1.0;
            } else {
                int cls = 0;
                if (s->noise > 0) {
                    /* sample from softmax(score / noise) by inversion */
                    double mx = score[0];
                    for (int c = 1; c < K; c++)
                        mx = fmax(mx, score[c]);
                    double tot = 0.0;
                    for (int c = 0; c < K; c++)
                        tot += exp((score[c] - mx) / s->noise);
                    double u = sv_rng_uniform(&rng) * tot, acc = 0.0;
                    cls = K - 1;
                    for (int c = 0; c < K; c++) {
                        acc += exp((score[c] - mx) / s->noise);
                        if (u < acc) {
                            cls = c;
                            break;
                        }
                    }
                } else {
                    for (int c = 1; c < K; c++)
                        if (score[c] > score[cls])
                            cls = c;
                }
                sets[t]->cls[r] = cls;
            }
        }
    }
    if ((rc = add_box(h, s->box)) != SV_OK)
        goto fail;
    free(Wst);
    free(score);
    return SV_OK;
fail:
    free(Wst);
    free(score);
    sv_bl_hyperparam_free(h);
    return rc;
}

int sv_bl_hyperparam_from_dataset(const sv_dataset *ds, const sv_bl_hyperparam_spec *s,
                                  sv_bl_hyperparam *h, sv_err *e)
{
    memset(h, 0, sizeof *h);
    int rc = check_spec(s, "/problem/dataset", 1, e);
    if (rc != SV_OK)
        return rc;
    h->loss = s->loss;
    h->K = s->loss == SV_BL_LOSS_SQUARED ? 1 : ds->n_classes;
    if (h->loss == SV_BL_LOSS_MULTINOMIAL && h->K < 2)
        return sv_fail(e, "/problem/dataset/name", "the data set has fewer than 2 classes");
    h->per_feature = s->per_feature;
    rc = sv__bl_split_dataset(ds, s->n_train, s->n_val, s->n_test, s->seed, s->intercept, h->loss,
                              &h->train, &h->val, &h->test, &h->d, e);
    if (rc != SV_OK) {
        memset(h, 0, sizeof *h);
        return rc;
    }
    if ((rc = add_box(h, s->box)) != SV_OK) {
        sv_bl_hyperparam_free(h);
        return rc;
    }
    return SV_OK;
}
