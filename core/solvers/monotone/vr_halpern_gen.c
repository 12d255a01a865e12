/* vr_halpern_gen.c - the generator of vr_halpern_gen.h. */
#include "core/solvers/monotone/vr_halpern_gen.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

static const char *const kind_choices[] = {"monotone", "cocoercive", "bilinear", NULL};

const sv_param_spec vr_halpern_gen_params[] = {
    SV_P_ENUM(vr_halpern_gen_spec, kind, kind_choices, VR_HALPERN_GEN_MONOTONE,
              "monotone (PSD + skew components), cocoercive (symmetric PSD components) or "
              "bilinear (the game x'Ay, z* = 0)"),
    SV_PN_INT32_REQ(vr_halpern_gen_spec, n, "components", 1, INT_MAX, "number of components"),
    SV_P_INT32_REQ(vr_halpern_gen_spec, dim, 1, INT_MAX, "dimension d of z (even for bilinear)"),
    SV_P_NUMBER(vr_halpern_gen_spec, skew, 0, 1, 0.5, "monotone kind: weight of the skew part"),
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

int vr_halpern_generate(const vr_halpern_gen_spec *g, double *M, double *q, double *zstar,
                        sv_err *e)
{
    int rc = sv_params_validate(vr_halpern_gen_params, g, "/problem/generate", e);
    if (rc != SV_OK)
        return rc;
    if (g->kind == VR_HALPERN_GEN_BILINEAR && g->dim % 2 != 0)
        return sv_fail(e, "/problem/generate/dim", "a bilinear game needs an even dim (x and y "
                       "of dim/2 each), got %d", g->dim);
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
