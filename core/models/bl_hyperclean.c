/* bl_hyperclean.c - data hyper-cleaning (bilevel.h): per-sample weights sigmoid(x_i) on a
 * ridge-regularised binary or multinomial logistic training loss, validation loss above.
 *
 *   g(x, y) = (1/n) sum_i s(x_i) l_i(y) + mu/2 |y|^2,   s = sigmoid, s' = s (1 - s)
 *   grad_x g = (1/n) s'(x_i) l_i(y)                     (entry i)
 *   grad^2_xy g v = (1/n) s'(x_i) grad l_i(y) . v       (entry i)
 *   f(x, y) = (1/n_val) sum_j l_j(y) + upper_reg/2 |x|^2
 * Over a batch of training rows, 1/n becomes 1/k and only the batch's entries are non-zero. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/models/bl_internal.h"

static sv__bl_lin lin_of(const sv_bl_hyperclean *h, const sv_bl_set *S)
{
    sv__bl_lin m = {h->loss, h->d, h->loss == SV_BL_LOSS_MULTINOMIAL ? h->K : 1, S};
    return m;
}

static const int *batch_idx(const sv_bl_batch *b)
{
    return b ? b->idx : NULL;
}

static int batch_k(const sv_bl_batch *b)
{
    return b ? b->k : 0;
}

static double hc_upper(const sv_bl_problem *p, const double *x, const double *y,
                       const sv_bl_batch *b, double *gx, double *gy, double *work)
{
    const sv_bl_hyperclean *h = p->data;
    sv__bl_lin m = lin_of(h, &h->val);
    sv__bl_wt none = {NULL, 0};
    if (gy)
        sv_zero(p->dy, gy);
    double f = sv__bl_lin_value(&m, batch_idx(b), batch_k(b), none, y, gy, NULL, work);
    if (h->upper_reg > 0)
        f += 0.5 * h->upper_reg * sv_dot(p->dx, x, x);
    if (gx) {
        sv_copy(p->dx, x, gx);
        sv_scal(p->dx, h->upper_reg, gx);
    }
    return f;
}

static double hc_lower(const sv_bl_problem *p, const double *x, const double *y,
                       const sv_bl_batch *b, double *gx, double *gy, double *work)
{
    const sv_bl_hyperclean *h = p->data;
    sv__bl_lin m = lin_of(h, &h->train);
    sv__bl_wt wt = {x, 1};
    const int *idx = batch_idx(b);
    const int k = batch_k(b), count = SV__BL_ROWS(idx, k, &h->train);
    double *lrow = gx ? work + SV__BL_LIN_WORK(m.K) : NULL;
    if (gy)
        sv_zero(p->dy, gy);
    double g = sv__bl_lin_value(&m, idx, k, wt, y, gy, lrow, work);
    g += 0.5 * h->mu * sv_dot(p->dy, y, y);
    if (gy)
        sv_axpy(p->dy, h->mu, y, gy);
    if (gx) {
        sv_zero(p->dx, gx);
        for (int r = 0; r < count; r++) {
            int i = SV__BL_ROW(idx, r);
            double s = sv__bl_sigmoid(x[i]);
            gx[i] += s * (1.0 - s) * lrow[r] / count;
        }
    }
    return g;
}

static void hc_hvp_yy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                      const sv_bl_batch *b, double *out, double *work)
{
    const sv_bl_hyperclean *h = p->data;
    sv__bl_lin m = lin_of(h, &h->train);
    sv__bl_wt wt = {x, 1};
    sv_copy(p->dy, v, out);
    sv_scal(p->dy, h->mu, out);
    sv__bl_lin_hvp(&m, batch_idx(b), batch_k(b), wt, y, v, out, work);
}

static void hc_hvp_xy(const sv_bl_problem *p, const double *x, const double *y, const double *v,
                      const sv_bl_batch *b, double *out, double *work)
{
    const sv_bl_hyperclean *h = p->data;
    sv__bl_lin m = lin_of(h, &h->train);
    const int *idx = batch_idx(b);
    const int k = batch_k(b), count = SV__BL_ROWS(idx, k, &h->train);
    double *dots = work + SV__BL_LIN_WORK(m.K);
    sv__bl_lin_graddot(&m, idx, k, y, v, dots, work);
    sv_zero(p->dx, out);
    for (int r = 0; r < count; r++) {
        int i = SV__BL_ROW(idx, r);
        double s = sv__bl_sigmoid(x[i]);
        out[i] += s * (1.0 - s) * dots[r] / count;
    }
}

static double hc_mu(const sv_bl_problem *p, const double *x)
{
    (void)x;
    const sv_bl_hyperclean *h = p->data;
    return h->mu;
}

static double hc_L(const sv_bl_problem *p, const double *x)
{
    (void)x;
    const sv_bl_hyperclean *h = p->data;
    /* sigmoid weights are below 1, so the unweighted Gram matrix bounds the data term */
    return sv__bl_loss_curv(h->loss) * p->gram_eig + h->mu;
}

static double hc_accuracy(const sv_bl_problem *p, const double *y, sv_bl_set_id set)
{
    const sv_bl_hyperclean *h = p->data;
    const sv_bl_set *S = set == SV_BL_SET_TRAIN ? &h->train : set == SV_BL_SET_VAL ? &h->val
                                                                                  : &h->test;
    sv__bl_lin m = lin_of(h, S);
    double work[SV__BL_LIN_WORK(64)];
    if (m.K > 64) {
        double *w = malloc(SV__BL_LIN_WORK(m.K) * sizeof *w);
        if (!w)
            return NAN;
        double a = sv__bl_lin_accuracy(&m, y, w);
        free(w);
        return a;
    }
    return sv__bl_lin_accuracy(&m, y, work);
}

static const sv_bl_ops hyperclean_ops = {
    .name = "hyperclean",
    .upper = hc_upper,
    .lower = hc_lower,
    .hvp_yy = hc_hvp_yy,
    .hvp_xy = hc_hvp_xy,
    .constraints = NULL,
    .lower_mu = hc_mu,
    .lower_L = hc_L,
    .accuracy = hc_accuracy,
    .solve_lower = NULL,
    .hypergrad = NULL,
};

int sv_bl_hyperclean_check(const sv_bl_hyperclean *h, sv_err *e)
{
    if (!h)
        return sv_fail(e, "/problem", "problem missing");
    if (h->loss != SV_BL_LOSS_LOGISTIC && h->loss != SV_BL_LOSS_MULTINOMIAL)
        return sv_fail(e, "/problem/loss", "hyperclean needs \"logistic\" or \"multinomial\"");
    if (h->d < 1)
        return sv_fail(e, "/problem/train/A", "needs at least one feature");
    if (h->K < 2 || (h->loss == SV_BL_LOSS_LOGISTIC && h->K != 2))
        return sv_fail(e, "/problem/classes", "needs at least 2 classes (exactly 2 for logistic), "
                       "got %d", h->K);
    int rc;
    if ((rc = sv__bl_set_check(&h->train, h->loss, h->d, h->K, 0, "/problem/train", e)) != SV_OK ||
        (rc = sv__bl_set_check(&h->val, h->loss, h->d, h->K, 0, "/problem/val", e)) != SV_OK ||
        (rc = sv__bl_set_check(&h->test, h->loss, h->d, h->K, 1, "/problem/test", e)) != SV_OK)
        return rc;
    if (!(isfinite(h->mu) && h->mu > 0))
        return sv_fail(e, "/problem/mu", "must be a finite number > 0 (the lower level's strong "
                       "convexity)");
    if (!(isfinite(h->upper_reg) && h->upper_reg >= 0))
        return sv_fail(e, "/problem/upper_reg", "must be a finite number >= 0");
    if (h->flipped)
        for (int i = 0; i < h->train.rows; i++)
            if (h->flipped[i] != 0 && h->flipped[i] != 1) {
                char f[64];
                snprintf(f, sizeof f, "/problem/flipped/%d", i);
                return sv_fail(e, f, "must be 0 or 1");
            }
    return sv__bl_box_check(h->train.rows, h->x_lo, h->x_hi, "/problem/x_box", e);
}

void sv_bl_hyperclean_bind(const sv_bl_hyperclean *h, sv_bl_problem *p)
{
    memset(p, 0, sizeof *p);
    p->ops = &hyperclean_ops;
    p->data = h;
    p->cls = SV_BL_HYPERCLEAN;
    p->gram_eig = sv__bl_lin_gram_eig(&h->train);
    p->dx = h->train.rows;
    p->dy = h->d * (h->loss == SV_BL_LOSS_MULTINOMIAL ? h->K : 1);
    p->n_upper = h->val.rows;
    p->n_lower = h->train.rows;
    p->x_lo = h->x_lo;
    p->x_hi = h->x_hi;
    int K = h->loss == SV_BL_LOSS_MULTINOMIAL ? h->K : 1;
    p->work = SV__BL_LIN_WORK(K) + (size_t)h->train.rows + 8;
}

void sv_bl_hyperclean_detection(const sv_bl_hyperclean *h, const double *x, double threshold,
                                double *precision, double *recall)
{
    long flagged = 0, hit = 0, flipped = 0;
    if (h->flipped) {
        for (int i = 0; i < h->train.rows; i++) {
            int f = sv__bl_sigmoid(x[i]) < threshold;
            flagged += f;
            flipped += h->flipped[i];
            hit += f && h->flipped[i];
        }
    }
    if (precision)
        *precision = h->flipped && flagged > 0 ? (double)hit / flagged : NAN;
    if (recall)
        *recall = h->flipped && flipped > 0 ? (double)hit / flipped : NAN;
}

void sv_bl_hyperclean_free(sv_bl_hyperclean *h)
{
    if (!h)
        return;
    sv_bl_set_free(&h->train);
    sv_bl_set_free(&h->val);
    sv_bl_set_free(&h->test);
    free(h->flipped);
    free(h->x_lo);
    free(h->x_hi);
    memset(h, 0, sizeof *h);
}

/* Corrupts exactly round(flip * n) training labels, chosen uniformly, and marks them. */
static int flip_labels(sv_bl_hyperclean *h, double flip, sv_rng *rng)
{
    const int n = h->train.rows;
    int nf = (int)lround(flip * n);
    h->flipped = calloc((size_t)n, sizeof *h->flipped);
    int *pick = malloc((size_t)(nf > 0 ? nf : 1) * sizeof *pick);
    if (!h->flipped || !pick) {
        free(pick);
        return SV_ENOMEM;
    }
    sv_rng_sample(rng, n, nf, pick);
    for (int a = 0; a < nf; a++) {
        int i = pick[a];
        h->flipped[i] = 1;
        if (h->loss == SV_BL_LOSS_LOGISTIC)
            h->train.b[i] = -h->train.b[i];
        else
            h->train.cls[i] = (h->train.cls[i] + 1 + (int)sv_rng_below(rng, (uint64_t)(h->K - 1))) %
                              h->K;
    }
    free(pick);
    return SV_OK;
}

static int check_spec(const sv_bl_hyperclean_spec *s, const char *base, int from_data,
                      sv_err *e)
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
    if (!from_data) {
        snprintf(f, sizeof f, "%s/d", base);
        if (s->d < 1)
            return sv_fail(e, f, "must be at least 1");
        snprintf(f, sizeof f, "%s/classes", base);
        if (s->classes < 2)
            return sv_fail(e, f, "must be at least 2");
    }
    snprintf(f, sizeof f, "%s/flip", base);
    if (!(s->flip >= 0 && s->flip < 1))
        return sv_fail(e, f, "must be in [0, 1)");
    snprintf(f, sizeof f, "%s/mu", base);
    if (!(isfinite(s->mu) && s->mu > 0))
        return sv_fail(e, f, "must be a finite number > 0");
    snprintf(f, sizeof f, "%s/upper_reg", base);
    if (!(isfinite(s->upper_reg) && s->upper_reg >= 0))
        return sv_fail(e, f, "must be a finite number >= 0");
    return SV_OK;
}

static const char *const hyperclean_class[] = {"hyperclean", NULL};

/* flip < 1: the largest double below 1 is the table's inclusive bound. */
const sv_param_spec sv_bl_hyperclean_gen_params[] = {
    {.name = "class", .type = SV_PARAM_ENUM, .offset = offsetof(sv_bl_hyperclean_gen, cls),
     .choices = hyperclean_class, .flags = SV_PARAM_REQUIRED, .help = "the problem class"},
    SV_PN_INT32_REQ(sv_bl_hyperclean_gen, spec.n_train, "n_train", 1, INT_MAX,
                    "training rows (the lower level; dx = n_train)"),
    SV_PN_INT32_REQ(sv_bl_hyperclean_gen, spec.n_val, "n_val", 1, INT_MAX,
                    "validation rows (the upper level)"),
    SV_PN_INT32(sv_bl_hyperclean_gen, spec.n_test, "n_test", 0, INT_MAX, 0,
                "test rows (0: no test set)"),
    SV_PN_INT32_REQ(sv_bl_hyperclean_gen, spec.d, "d", 1, INT_MAX - 1,
                    "features (a constant one is added with intercept)"),
    SV_PN_INT32(sv_bl_hyperclean_gen, spec.classes, "classes", 2, 1000, 2,
                "2: logistic; more: multinomial"),
    SV_PN_NUMBER(sv_bl_hyperclean_gen, spec.flip, "flip", 0, 1.0 - 0x1p-53, 0.3,
                 "fraction of training labels corrupted, in [0, 1)"),
    SV_PN_NUMBER_GT(sv_bl_hyperclean_gen, spec.mu, "mu", 0, 1e12, 1e-2,
                    "lower-level ridge weight (strong convexity)"),
    SV_PN_NUMBER(sv_bl_hyperclean_gen, spec.upper_reg, "upper_reg", 0, 1e12, 0,
                 "upper-level ridge weight on x"),
    SV_PN_BOOL(sv_bl_hyperclean_gen, spec.intercept, "intercept", 1,
               "append a constant-1 feature"),
    SV_PN_SEED(sv_bl_hyperclean_gen, spec.seed, "seed", 0, "seed of the generator"),
    SV_PARAMS_END,
};

int sv_bl_hyperclean_generate(const sv_bl_hyperclean_spec *s, sv_bl_hyperclean *h, sv_err *e)
{
    memset(h, 0, sizeof *h);
    int rc = check_spec(s, "/problem/generate", 0, e);
    if (rc != SV_OK)
        return rc;
    const int d0 = s->d, d = d0 + (s->intercept ? 1 : 0), K = s->classes;
    const sv_bl_loss loss = K == 2 ? SV_BL_LOSS_LOGISTIC : SV_BL_LOSS_MULTINOMIAL;
    const int nw = loss == SV_BL_LOSS_LOGISTIC ? 1 : K;
    h->loss = loss;
    h->d = d;
    h->K = K;
    h->mu = s->mu;
    h->upper_reg = s->upper_reg;
    double *Wst = malloc((size_t)d0 * nw * sizeof *Wst);
    double *score = malloc((size_t)nw * sizeof *score);
    if (!Wst || !score) {
        rc = SV_ENOMEM;
        goto fail;
    }
    sv_rng rng;
    sv_rng_seed(&rng, s->seed);
    for (int i = 0; i < d0 * nw; i++)
        Wst[i] = sv_rng_normal(&rng);
    sv_bl_set *sets[3] = {&h->train, &h->val, &h->test};
    int counts[3] = {s->n_train, s->n_val, s->n_test};
    for (int t = 0; t < 3; t++) {
        if ((rc = sv__bl_set_alloc(sets[t], counts[t], d, loss)) != SV_OK)
            goto fail;
        for (int r = 0; r < counts[t]; r++) {
            double *row = sets[t]->A.dense.data + (size_t)r * d;
            sv__bl_draw_row(&rng, d0, s->intercept, Wst, nw, row, score);
            if (loss == SV_BL_LOSS_LOGISTIC) {
                sets[t]->b[r] = score[0] >= 0 ? 1.0 : -1.0;
            } else {
                int best = 0;
                for (int c = 1; c < K; c++)
                    if (score[c] > score[best])
                        best = c;
                sets[t]->cls[r] = best;
            }
        }
    }
    if ((rc = flip_labels(h, s->flip, &rng)) != SV_OK)
        goto fail;
    free(Wst);
    free(score);
    return SV_OK;
fail:
    free(Wst);
    free(score);
    sv_bl_hyperclean_free(h);
    return rc;
}

int sv_bl_hyperclean_from_dataset(const sv_dataset *ds, const sv_bl_hyperclean_spec *s,
                                  sv_bl_hyperclean *h, sv_err *e)
{
    memset(h, 0, sizeof *h);
    int rc = check_spec(s, "/problem/dataset", 1, e);
    if (rc != SV_OK)
        return rc;
    if (ds->n_classes < 2)
        return sv_fail(e, "/problem/dataset/name", "the data set has fewer than 2 classes");
    h->K = ds->n_classes;
    h->loss = h->K == 2 ? SV_BL_LOSS_LOGISTIC : SV_BL_LOSS_MULTINOMIAL;
    h->mu = s->mu;
    h->upper_reg = s->upper_reg;
    rc = sv__bl_split_dataset(ds, s->n_train, s->n_val, s->n_test, s->seed, s->intercept, h->loss,
                              &h->train, &h->val, &h->test, &h->d, e);
    if (rc != SV_OK) {
        memset(h, 0, sizeof *h);
        return rc;
    }
    sv_rng rng;
    /* the flips draw from a stream of their own, so that the split does not depend on them */
    sv_rng_seed(&rng, s->seed ^ 0x9e3779b97f4a7c15ULL);
    if ((rc = flip_labels(h, s->flip, &rng)) != SV_OK) {
        sv_bl_hyperclean_free(h);
        return rc;
    }
    return SV_OK;
}
