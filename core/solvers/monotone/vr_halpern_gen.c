/* vr_halpern_gen.c - the generator of vr_halpern_gen.h. */
#include "core/solvers/monotone/vr_halpern_gen.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

static const char *const kind_choices[] = {"monotone", "cocoercive", "bilinear",
                                           "merely_monotone", NULL};

const sv_param_spec vr_halpern_gen_params[] = {
    SV_P_ENUM(vr_halpern_gen_spec, kind, kind_choices, VR_HALPERN_GEN_MONOTONE,
              "monotone (PSD + skew components), cocoercive (symmetric PSD components), "
              "bilinear (the game x'Ay, z* = 0) or merely_monotone (a singular mean operator "
              "with a rank-deficient symmetric part and a spread spectrum, components around "
              "it not monotone themselves)"),
    SV_PN_INT32_REQ(vr_halpern_gen_spec, n, "components", 1, INT_MAX, "number of components"),
    SV_P_INT32_REQ(vr_halpern_gen_spec, dim, 1, INT_MAX, "dimension d of z (even for bilinear)"),
    SV_P_NUMBER(vr_halpern_gen_spec, skew, 0, 1, 0.5,
                "monotone and merely_monotone kinds: weight of the skew part"),
    SV_P_NUMBER(vr_halpern_gen_spec, heterogeneity, 0, 100, 0.5,
                "spread of the components around their mean"),
    SV_P_SEED(vr_halpern_gen_spec, seed, 0, "seed of the generator (xoshiro256**)"),
    SV_PARAMS_END,
};

static void normals(sv_rng *r, size_t m, double scale, double *x)
{
    for (size_t t = 0; t < m; t++)
        x[t] = scale * sv_rng_normal(r);
}

/* The merely_monotone kind (vr_halpern_gen.h). V: an orthonormal basis (rows, modified
 * Gram-Schmidt on Gaussian rows); in it the mean is block diagonal, pair j = (2j, 2j+1) carrying
 * s_j [[1 - skew, skew], [-skew, 0]] for the first ceil(a/2) of the a = k - 1 active pairs and
 * the pure rotation s_j [[0, 1], [-1, 0]] for the others, s_j = 10^(-3 j / (a - 1)) (k =
 * floor(d/2)), and zero on the last pair (and on the odd coordinate): M = V' B V. Its symmetric
 * part V' diag((1 - skew) s_j on 2j, j < ceil(a/2)) V is PSD of rank ceil(a/2); M has a null space
 * of dimension d - 2(k - 1) >= 2, so the solutions of F(z) = 0 are z* + null(M), z* in the range
 * (the minimum-norm solution). Components: M_i = M + h (E_i - mean E) / sqrt(d), E_i Gaussian,
 * so the mean is M to rounding and a single M_i need not be monotone. */
static int gen_merely(const vr_halpern_gen_spec *g, sv_rng *r, double *M, double *q,
                      double *zstar)
{
    int n = g->n, d = g->dim, k = d / 2, act = k - 1;
    size_t dd = (size_t)d * d;
    double h = g->heterogeneity;
    double *V = malloc(dd * sizeof *V), *Mm = calloc(dd, sizeof *Mm),
           *Em = calloc(dd, sizeof *Em), *zs = calloc((size_t)d, sizeof *zs),
           *emean = calloc((size_t)d, sizeof *emean);
    if (!V || !Mm || !Em || !zs || !emean) {
        free(V), free(Mm), free(Em), free(zs), free(emean);
        return SV_ENOMEM;
    }
    normals(r, dd, 1.0, V);
    for (int a = 0; a < d; a++) {
        double *va = V + (size_t)a * d;
        for (int pass = 0; pass < 2; pass++)  /* twice: orthogonal to rounding */
            for (int b = 0; b < a; b++) {
                const double *vb = V + (size_t)b * d;
                double c = 0;
                for (int t = 0; t < d; t++)
                    c += va[t] * vb[t];
                for (int t = 0; t < d; t++)
                    va[t] -= c * vb[t];
            }
        double nrm = 0;
        for (int t = 0; t < d; t++)
            nrm += va[t] * va[t];
        nrm = sqrt(nrm);
        for (int t = 0; t < d; t++)
            va[t] /= nrm;
    }
    for (int j = 0; j < act; j++) {
        double sj = act > 1 ? pow(10.0, -3.0 * j / (act - 1)) : 1.0;
        const double *x = V + (size_t)(2 * j) * d, *y = V + (size_t)(2 * j + 1) * d;
        /* the larger half of the pairs carry the symmetric part; the rest are pure rotations,
         * the directions where the unanchored extragradient is slowest (|1 - g i s + (g i s)^2|
         * = 1 - g^2 s^2 / 2 + ..., against 1 - g Re(lambda) where there is a symmetric part) */
        int sympair = j < (act + 1) / 2;
        double sym = sympair ? (1.0 - g->skew) * sj : 0.0, sk = sympair ? g->skew * sj : sj;
        /* M += sym x x' + sk (x y' - y x') */
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                Mm[(size_t)a * d + b] += sym * x[a] * x[b] + sk * (x[a] * y[b] - y[a] * x[b]);
    }
    /* z* in the range: a Gaussian combination of the active basis vectors */
    for (int a = 0; a < 2 * act; a++) {
        double c = sv_rng_normal(r) / sqrt((double)d);
        for (int t = 0; t < d; t++)
            zs[t] += c * V[(size_t)a * d + t];
    }
    double es = h / sqrt((double)d);
    for (int i = 0; i < n; i++) {
        double *Mi = M + (size_t)i * dd;
        for (size_t t = 0; t < dd; t++) {
            Mi[t] = es * sv_rng_normal(r);
            Em[t] += Mi[t] / n;
        }
    }
    for (int i = 0; i < n; i++) {
        double *Mi = M + (size_t)i * dd, *qi = q + (size_t)i * d;
        for (size_t t = 0; t < dd; t++)
            Mi[t] = Mm[t] + (Mi[t] - Em[t]);
        for (int a = 0; a < d; a++) {
            double sacc = 0;
            for (int b = 0; b < d; b++)
                sacc += Mi[(size_t)a * d + b] * zs[b];
            double noise = 0.25 * h * sv_rng_normal(r);
            qi[a] = -sacc + noise;
            emean[a] += noise / n;
        }
    }
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++)
            q[(size_t)i * d + a] -= emean[a];
    if (zstar)
        memcpy(zstar, zs, (size_t)d * sizeof *zs);
    free(V), free(Mm), free(Em), free(zs), free(emean);
    return SV_OK;
}

int vr_halpern_generate(const vr_halpern_gen_spec *g, double *M, double *q, double *zstar,
                        sv_err *e)
{
    int rc = sv_params_validate(vr_halpern_gen_params, g, "/problem/generate", e);
    if (rc != SV_OK)
        return rc;
    if (g->kind == VR_HALPERN_GEN_BILINEAR && g->dim % 2 != 0)
        return sv_fail(e, "/problem/generate/dim", "a bilinear game needs an even dim (x and y "
                       "of dim/2 each), got %d", g->dim);
    if (g->kind == VR_HALPERN_GEN_MERELY && g->dim < 4)
        return sv_fail(e, "/problem/generate/dim", "a merely_monotone instance needs dim >= 4 "
                       "(an active pair and a null pair), got %d", g->dim);
    if (g->kind == VR_HALPERN_GEN_MERELY) {
        sv_rng rm;
        sv_rng_seed(&rm, g->seed);
        return gen_merely(g, &rm, M, q, zstar);
    }
    int n = g->n, d = g->dim, h2 = d / 2 > 0 ? d / 2 : 1;
    size_t dd = (size_t)d * d;
    double h = g->heterogeneity;
    double *zs = malloc((size_t)d * sizeof *zs), *G = malloc(dd * sizeof *G),
           *H = malloc(dd * sizeof *H), *Gi = malloc(dd * sizeof *Gi),
           *Hi = malloc(dd * sizeof *Hi), *emean = calloc((size_t)d, sizeof *emean);
    if (!zs || !G || !H || !Gi || !Hi || !emean) {
        free(zs), free(G), free(H), free(Gi), free(Hi), free(emean);
        return SV_ENOMEM;
    }
    sv_rng r;
    sv_rng_seed(&r, g->seed);
    normals(&r, (size_t)d, g->kind == VR_HALPERN_GEN_BILINEAR ? 0.0 : 1.0 / sqrt((double)d), zs);
    normals(&r, dd, 1.0, G);
    normals(&r, dd, 1.0, H);
    for (int i = 0; i < n; i++) {
        double *Mi = M + (size_t)i * dd, *qi = q + (size_t)i * d;
        for (size_t t = 0; t < dd; t++) {
            Gi[t] = G[t] + h * sv_rng_normal(&r);
            Hi[t] = H[t] + h * sv_rng_normal(&r);
        }
        memset(Mi, 0, dd * sizeof *Mi);
        if (g->kind == VR_HALPERN_GEN_BILINEAR) {
            double s = 1.0 / sqrt((double)h2);
            for (int a = 0; a < h2; a++)
                for (int b = 0; b < h2; b++) {
                    double v = s * Gi[(size_t)a * d + b];
                    Mi[(size_t)a * d + h2 + b] = v;           /* x-rows: A_i y */
                    Mi[(size_t)(h2 + b) * d + a] = -v;        /* y-rows: -A_i' x */
                }
        } else {
            int cols = g->kind == VR_HALPERN_GEN_MONOTONE ? h2 : d;
            double ws = g->kind == VR_HALPERN_GEN_MONOTONE ? 1.0 - g->skew : 1.0;
            double wk = g->kind == VR_HALPERN_GEN_MONOTONE ? g->skew / sqrt(2.0 * d) : 0.0;
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++) {
                    double s = 0;
                    for (int c = 0; c < cols; c++)
                        s += Gi[(size_t)a * d + c] * Gi[(size_t)b * d + c];
                    Mi[(size_t)a * d + b] = ws * s / d + wk * (Hi[(size_t)a * d + b] -
                                                               Hi[(size_t)b * d + a]);
                }
        }
        for (int a = 0; a < d; a++) {
            double s = 0;
            for (int b = 0; b < d; b++)
                s += Mi[(size_t)a * d + b] * zs[b];
            double noise = 0.25 * h * sv_rng_normal(&r);
            qi[a] = -s + noise;
            emean[a] += noise / n;
        }
    }
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++)
            q[(size_t)i * d + a] -= emean[a];
    if (zstar)
        memcpy(zstar, zs, (size_t)d * sizeof *zs);
    free(zs), free(G), free(H), free(Gi), free(Hi), free(emean);
    return SV_OK;
}
