/* submod.c - coverage and facility-location oracles (see submod.h). */
#include "core/models/submod.h"

#include <math.h>
#include <string.h>

int sv_submod_check(const sv_submod_fn *f, const char *path, sv_err *e)
{
    if (!f || f->n < 1 || f->universe < 1)
        return sv_fail(e, path, "a ground set of at least one element over a universe of at "
                       "least one item is required");
    if (f->kind == SV_SUBMOD_COVERAGE) {
        if (!f->ptr || !f->items || f->ptr[0] != 0)
            return sv_fail(e, path, "coverage sets missing");
        for (int s = 0; s < f->n; s++) {
            if (f->ptr[s + 1] < f->ptr[s])
                return sv_fail(e, path, "set %d: offsets decrease", s);
            for (int t = f->ptr[s]; t < f->ptr[s + 1]; t++) {
                int u = f->items[t];
                if (u < 0 || u >= f->universe)
                    return sv_fail(e, path, "set %d: item %d outside [0, %d)", s, u,
                                   f->universe);
                if (t > f->ptr[s] && u <= f->items[t - 1])
                    return sv_fail(e, path, "set %d: items must be strictly increasing", s);
            }
        }
        if (f->weights)
            for (int u = 0; u < f->universe; u++)
                if (!(f->weights[u] >= 0) || !isfinite(f->weights[u]))
                    return sv_fail(e, path, "weight %d must be finite and >= 0", u);
        return SV_OK;
    }
    if (f->kind != SV_SUBMOD_FACILITY || !f->sim)
        return sv_fail(e, path, "unknown function");
    long total = (long)f->n * f->universe;
    for (long i = 0; i < total; i++)
        if (!(f->sim[i] >= 0) || !isfinite(f->sim[i]))
            return sv_fail(e, path, "similarity (%ld, %ld) must be finite and >= 0",
                           i / f->universe, i % f->universe);
    return SV_OK;
}

void sv_submod_clear(const sv_submod_fn *f, double *st)
{
    memset(st, 0, sizeof(double) * (size_t)f->universe);
}

double sv_submod_gain(const sv_submod_fn *f, const double *st, int e)
{
    double g = 0;
    if (f->kind == SV_SUBMOD_COVERAGE) {
        for (int t = f->ptr[e]; t < f->ptr[e + 1]; t++) {
            int u = f->items[t];
            if (st[u] == 0)
                g += f->weights ? f->weights[u] : 1.0;
        }
        return g;
    }
    const double *row = f->sim + (size_t)e * (size_t)f->universe;
    for (int c = 0; c < f->universe; c++)
        if (row[c] > st[c])
            g += row[c] - st[c];
    return g;
}

void sv_submod_add(const sv_submod_fn *f, double *st, int e)
{
    if (f->kind == SV_SUBMOD_COVERAGE) {
        for (int t = f->ptr[e]; t < f->ptr[e + 1]; t++)
            st[f->items[t]] += 1;
        return;
    }
    const double *row = f->sim + (size_t)e * (size_t)f->universe;
    for (int c = 0; c < f->universe; c++)
        if (row[c] > st[c])
            st[c] = row[c];
}

int sv_submod_removable(const sv_submod_fn *f)
{
    return f->kind == SV_SUBMOD_COVERAGE;
}

double sv_submod_remove(const sv_submod_fn *f, double *st, int e)
{
    double loss = 0;
    for (int t = f->ptr[e]; t < f->ptr[e + 1]; t++) {
        int u = f->items[t];
        if (--st[u] == 0)
            loss += f->weights ? f->weights[u] : 1.0;
    }
    return loss;
}
