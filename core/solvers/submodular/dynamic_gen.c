/* dynamic_gen.c - seeded coverage and facility instances and update streams (dynamic_gen.h). */
#include "core/solvers/submodular/dynamic_gen.h"

#include <math.h>
#include <stddef.h>

#include "core/rng.h"

static const char *const function_choices[] = {"coverage", "facility", NULL};

const sv_param_spec dynamic_stream_params[] = {
    SV_P_INT(dynamic_stream_spec, updates, 1, 1e8, 200, "stream length"),
    SV_P_NUMBER(dynamic_stream_spec, delete_prob, 0, 1, 0.3,
                "probability that an update deletes a uniformly chosen alive element (else it "
                "inserts a uniformly chosen dead one)"),
    SV_P_SEED(dynamic_stream_spec, seed, 0, "seed of the stream"),
    SV_PARAMS_END,
};

const sv_param_spec dynamic_gen_params[] = {
    SV_P_ENUM(dynamic_gen_spec, function, function_choices, SV_SUBMOD_COVERAGE,
              "coverage: random sets over a universe; facility: exemplar clustering of random "
              "points with a Gaussian similarity"),
    SV_P_INT32(dynamic_gen_spec, n, 1, 10000000, 200, "ground set elements"),
    SV_P_INT32(dynamic_gen_spec, universe, 1, 10000000, 500, "coverage: universe items"),
    SV_P_INT32(dynamic_gen_spec, set_size, 1, 10000000, 10,
               "coverage: distinct items per set (<= universe)"),
    SV_P_INT32(dynamic_gen_spec, dim, 1, 1000, 2, "facility: dimension of the points"),
    SV_P_NUMBER_GT(dynamic_gen_spec, bandwidth, 0, INFINITY, 0.1,
                   "facility: kernel width h of s(i, j) = exp(-|x_i - x_j|^2 / (2 h^2))"),
    SV_P_INT32(dynamic_gen_spec, k, 1, 10000000, 10, "cardinality constraint"),
    SV_P_INT(dynamic_gen_spec, updates, 1, 1e8, 1000, "stream length"),
    SV_P_NUMBER(dynamic_gen_spec, delete_prob, 0, 1, 0.3,
                "probability that an update deletes a uniformly chosen alive element"),
    SV_P_SEED(dynamic_gen_spec, seed, 0, "seed of the instance and the stream"),
    SV_PARAMS_END,
};

int dynamic_gen_universe(const dynamic_gen_spec *g)
{
    return g->function == SV_SUBMOD_COVERAGE ? g->universe : g->n;
}

long dynamic_gen_entries(const dynamic_gen_spec *g)
{
    return g->function == SV_SUBMOD_COVERAGE ? (long)g->n * g->set_size : (long)g->n * g->n;
}

static void sort_ints(int *a, int n)
{
    for (int i = 1; i < n; i++) {
        int x = a[i], j = i - 1;
        for (; j >= 0 && a[j] > x; j--)
            a[j + 1] = a[j];
        a[j + 1] = x;
    }
}

void dynamic_gen_fill(const dynamic_gen_spec *g, sv_submod_fn *f, int *ptr, int *items,
                      double *sim)
{
    sv_rng r;
    sv_rng_seed(&r, g->seed);
    f->kind = g->function;
    f->n = g->n;
    f->universe = dynamic_gen_universe(g);
    f->weights = NULL;
    f->ptr = NULL;
    f->items = NULL;
    f->sim = NULL;
    if (g->function == SV_SUBMOD_COVERAGE) {
        ptr[0] = 0;
        for (int s = 0; s < g->n; s++) {
            sv_rng_sample(&r, g->universe, g->set_size, items + ptr[s]);
            sort_ints(items + ptr[s], g->set_size);
            ptr[s + 1] = ptr[s] + g->set_size;
        }
        f->ptr = ptr;
        f->items = items;
        return;
    }
    /* The points are not stored: point j's coordinates are replayed from a copy of the
     * generator taken where point i ended (the stream draws point after point), so that only
     * the similarity matrix is allocated. */
    int n = g->n, d = g->dim;
    double h2 = 2.0 * g->bandwidth * g->bandwidth;
    sv_rng ri, rj;
    for (int i = 0; i < n; i++)
        sim[(size_t)i * n + i] = 1.0;
    sv_rng_seed(&ri, g->seed);
    for (int i = 0; i < n; i++) {
        double xi[1000];
        for (int t = 0; t < d; t++)
            xi[t] = sv_rng_uniform(&ri);
        rj = ri;  /* points i+1.. follow in the same stream */
        for (int j = i + 1; j < n; j++) {
            double d2 = 0;
            for (int t = 0; t < d; t++) {
                double diff = xi[t] - sv_rng_uniform(&rj);
                d2 += diff * diff;
            }
            double v = exp(-d2 / h2);
            sim[(size_t)i * n + j] = v;
            sim[(size_t)j * n + i] = v;
        }
    }
    f->sim = sim;
}

void dynamic_gen_stream(int n, const dynamic_stream_spec *s, dynamic_update *out, int *scratch)
{
    /* list[0..na) alive, list[na..n) dead; pos[e] = e's place in list */
    int *list = scratch, *pos = scratch + n, na = 0;
    for (int e = 0; e < n; e++) {
        list[e] = e;
        pos[e] = e;
    }
    sv_rng r;
    sv_rng_seed(&r, s->seed);
    for (long t = 0; t < s->updates; t++) {
        int del = na == n || (na > 0 && sv_rng_uniform(&r) < s->delete_prob);
        int slot = del ? (int)sv_rng_below(&r, (uint64_t)na)
                       : na + (int)sv_rng_below(&r, (uint64_t)(n - na));
        int e = list[slot];
        int other = del ? na - 1 : na;  /* swap e to the boundary, then move the boundary */
        int f = list[other];
        list[other] = e;
        pos[e] = other;
        list[slot] = f;
        pos[f] = slot;
        na += del ? -1 : 1;
        out[t].op = del ? DYNAMIC_DELETE : DYNAMIC_INSERT;
        out[t].element = e;
    }
}
