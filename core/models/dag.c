/* dag.c - linear SEMs on DAGs: generator, least-squares score, acyclicity, graph metrics (see
 * dag.h). */
#include "core/models/dag.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/rng.h"

static const char *const graph_choices[] = {"er", "sf", NULL};

const sv_param_spec sv_dag_gen_params[] = {
    SV_P_INT32(sv_dag_gen_spec, d, 1, SV_DAG_MAX_NODES, 10, "nodes (variables)"),
    SV_P_INT32(sv_dag_gen_spec, n, 1, SV_DAG_MAX_SAMPLES, 200, "samples"),
    SV_P_ENUM(sv_dag_gen_spec, graph, graph_choices, SV_DAG_ER,
              "er = Erdos-Renyi (k d edges among the node pairs, random orientation); sf = "
              "scale-free (Barabasi-Albert, k edges per new node)"),
    SV_P_INT32(sv_dag_gen_spec, edges_per_node, 0, SV_DAG_MAX_NODES, 2,
               "k: ER draws k d edges, SF links each new node to k earlier ones"),
    SV_P_SEED(sv_dag_gen_spec, seed, 0, "seed of the graph, the weights and the noise"),
    SV_PARAMS_END,
};

/* ================================ generator ================================ */

int sv_dag_gen_check(const sv_dag_gen_spec *g, long max_entries, const char *path, sv_err *e)
{
    if (max_entries > 0 && (double)g->n * (double)g->d > (double)max_entries)
        return sv_fail(e, path, "n * d = %.0f data entries exceed the limit of %ld",
                       (double)g->n * (double)g->d, max_entries);
    double pairs = 0.5 * (double)g->d * (double)(g->d - 1);
    if (g->graph == SV_DAG_ER && (double)g->edges_per_node * g->d > pairs)
        return sv_fail(e, path, "an Erdos-Renyi graph of %d nodes holds at most %.0f edges; "
                       "edges_per_node %d asks for %.0f", g->d, pairs, g->edges_per_node,
                       (double)g->edges_per_node * g->d);
    return SV_OK;
}

long sv_dag_gen_edges(const sv_dag_gen_spec *g)
{
    if (g->graph == SV_DAG_ER)
        return (long)g->edges_per_node * g->d;
    long m = 0;
    for (int v = 1; v < g->d; v++)
        m += v < g->edges_per_node ? v : g->edges_per_node;
    return m;
}

/* Exactly k d pairs {i < j} by selection sampling (Knuth's Algorithm S), each oriented from the
 * node earlier in a random order to the later one. */
static void draw_er(const sv_dag_gen_spec *g, sv_rng *r, int *pos, double *W)
{
    int d = g->d;
    for (int i = 0; i < d; i++)
        pos[i] = i;
    sv_rng_shuffle(r, pos, d);  /* pos[i]: node i's place in the order */
    long pairs = (long)d * (d - 1) / 2, need = (long)g->edges_per_node * d, seen = 0;
    for (int i = 0; i < d && need > 0; i++) {
        for (int j = i + 1; j < d && need > 0; j++, seen++) {
            if ((long)sv_rng_below(r, (uint64_t)(pairs - seen)) < need) {
                need--;
                if (pos[i] < pos[j])
                    W[(size_t)i * d + j] = 1;
                else
                    W[(size_t)j * d + i] = 1;
            }
        }
    }
}

/* Barabasi-Albert growth: node v links to min(k, v) distinct earlier nodes, drawn one after the
 * other with probability in-degree + 1 among those not yet drawn (the preferential attachment of
 * igraph's Barabasi generator, which the NOTEARS code calls); the in-degrees are updated after
 * the node's edges. Edges point from the new node to the old. The labels are then permuted. */
static void draw_sf(const sv_dag_gen_spec *g, sv_rng *r, int *perm, int *indeg, char *taken,
                    double *W)
{
    int d = g->d, k = g->edges_per_node;
    for (int i = 0; i < d; i++) {
        perm[i] = i;
        indeg[i] = 0;
    }
    sv_rng_shuffle(r, perm, d);
    for (int v = 1; v < d; v++) {
        int want = v < k ? v : k;
        memset(taken, 0, (size_t)v);
        for (int c = 0; c < want; c++) {
            double total = 0;
            for (int u = 0; u < v; u++)
                if (!taken[u])
                    total += indeg[u] + 1.0;
            double x = sv_rng_uniform(r) * total;
            int pick = -1;
            for (int u = 0; u < v; u++) {
                if (taken[u])
                    continue;
                pick = u;
                x -= indeg[u] + 1.0;
                if (x < 0)
                    break;
            }
            taken[pick] = 1;
            W[(size_t)perm[v] * d + perm[pick]] = 1;
        }
        for (int u = 0; u < v; u++)
            indeg[u] += taken[u];
    }
}

int sv_dag_generate(const sv_dag_gen_spec *g, double *W, double *X, sv_err *e)
{
    int rc = sv_params_validate(sv_dag_gen_params, g, "/problem/generate", e);
    if (rc != SV_OK || (rc = sv_dag_gen_check(g, 0, "/problem/generate", e)) != SV_OK)
        return rc;
    int d = g->d;
    size_t dd = (size_t)d * d;
    int *a = malloc(2 * (size_t)d * sizeof *a), *ptr = malloc(((size_t)d + 1) * sizeof *ptr);
    char *taken = malloc((size_t)d);
    long m = sv_dag_gen_edges(g);
    int *par = malloc((size_t)(m > 0 ? m : 1) * sizeof *par);
    if (!a || !ptr || !taken || !par) {
        free(a), free(ptr), free(taken), free(par);
        return SV_ENOMEM;
    }
    sv_rng r;
    sv_rng_seed(&r, g->seed);
    memset(W, 0, dd * sizeof *W);
    if (g->graph == SV_DAG_ER)
        draw_er(g, &r, a, W);
    else
        draw_sf(g, &r, a, a + d, taken, W);
    /* Weights, edge by edge in row-major order: a sign, then |w| uniform in [0.5, 2]. */
    for (size_t t = 0; t < dd; t++) {
        if (W[t] == 0)
            continue;
        double sign = sv_rng_uniform(&r) < 0.5 ? -1.0 : 1.0;
        W[t] = sign * (SV_DAG_W_LOW + (SV_DAG_W_HIGH - SV_DAG_W_LOW) * sv_rng_uniform(&r));
    }
    if (X) {
        /* The parents of each node (CSC of W), then X = Z, rows filled in topological order:
         * x_rj = z_rj + sum_{i in pa(j)} x_ri W_ij. */
        int c = 0;
        for (int j = 0; j < d; j++) {
            ptr[j] = c;
            for (int i = 0; i < d; i++)
                if (W[(size_t)i * d + j] != 0)
                    par[c++] = i;
        }
        ptr[d] = c;
        int sorted = sv_dag_topo_sort(d, W, a, a + d);
        (void)sorted;  /* d by construction */
        for (long q = 0; q < (long)g->n * d; q++)
            X[q] = sv_rng_normal(&r);
        for (int rr = 0; rr < g->n; rr++) {
            double *x = X + (size_t)rr * d;
            for (int t = 0; t < d; t++) {
                int j = a[t];
                for (int q = ptr[j]; q < ptr[j + 1]; q++)
                    x[j] += x[par[q]] * W[(size_t)par[q] * d + j];
            }
        }
    }
    free(a), free(ptr), free(taken), free(par);
    return SV_OK;
}

/* ================================ least squares ================================ */

int sv_dag_ls_init(sv_dag_ls *ls, int n, int d, const double *X, int center, int gram)
{
    memset(ls, 0, sizeof *ls);
    if (n < 1 || d < 1 || !X)
        return SV_EINVAL;
    size_t nd = (size_t)n * d, dd = (size_t)d * d;
    ls->n = n;
    ls->d = d;
    ls->gram = gram < 0 ? 2L * n >= d : gram != 0;
    ls->X = malloc(nd * sizeof *ls->X);
    ls->R = malloc((ls->gram ? dd : nd) * sizeof *ls->R);
    if (ls->gram)
        ls->G = malloc(dd * sizeof *ls->G);
    if (!ls->X || !ls->R || (ls->gram && !ls->G)) {
        sv_dag_ls_free(ls);
        return SV_ENOMEM;
    }
    memcpy(ls->X, X, nd * sizeof *ls->X);
    if (center) {
        for (int j = 0; j < d; j++) {
            double mean = 0;
            for (int r = 0; r < n; r++)
                mean += ls->X[(size_t)r * d + j];
            mean /= n;
            for (int r = 0; r < n; r++)
                ls->X[(size_t)r * d + j] -= mean;
        }
    }
    if (ls->gram) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, n, 1.0 / n, ls->X, d, ls->X,
                    d, 0.0, ls->G, d);
        free(ls->X);
        ls->X = NULL;
    }
    return SV_OK;
}

void sv_dag_ls_free(sv_dag_ls *ls)
{
    if (!ls)
        return;
    free(ls->X);
    free(ls->G);
    free(ls->R);
    memset(ls, 0, sizeof *ls);
}

double sv_dag_ls_value(sv_dag_ls *ls, const double *W, double *grad)
{
    int n = ls->n, d = ls->d;
    size_t dd = (size_t)d * d;
    if (ls->gram) {
        /* R = G (I - W) = G - G W; L = 0.5 <I - W, R>; grad = -R. */
        memcpy(ls->R, ls->G, dd * sizeof *ls->R);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, -1.0, ls->G, d, W, d,
                    1.0, ls->R, d);
        double L = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                L += ((i == j) - W[(size_t)i * d + j]) * ls->R[(size_t)i * d + j];
        if (grad)
            for (size_t t = 0; t < dd; t++)
                grad[t] = -ls->R[t];
        return 0.5 * L;
    }
    /* R = X - X W; L = 0.5/n |R|^2; grad = -1/n X'R. */
    size_t nd = (size_t)n * d;
    memcpy(ls->R, ls->X, nd * sizeof *ls->R);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, d, -1.0, ls->X, d, W, d, 1.0,
                ls->R, d);
    double L = 0;
    for (size_t t = 0; t < nd; t++)
        L += ls->R[t] * ls->R[t];
    if (grad)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, n, -1.0 / n, ls->X, d, ls->R,
                    d, 0.0, grad, d);
    return 0.5 * L / n;
}

/* ================================ acyclicity ================================ */

int sv_dag_h_ws_alloc(sv_dag_h_ws *w, int d)
{
    memset(w, 0, sizeof *w);
    if (d < 1)
        return SV_EINVAL;
    size_t dd = (size_t)d * d;
    int rc = sv_expm_ws_alloc(&w->ex, d);
    w->A = malloc(dd * sizeof *w->A);
    w->E = malloc(dd * sizeof *w->E);
    if (rc != SV_OK || !w->A || !w->E) {
        sv_dag_h_ws_free(w);
        return SV_ENOMEM;
    }
    w->d = d;
    return SV_OK;
}

void sv_dag_h_ws_free(sv_dag_h_ws *w)
{
    if (!w)
        return;
    sv_expm_ws_free(&w->ex);
    free(w->A);
    free(w->E);
    memset(w, 0, sizeof *w);
}

int sv_dag_h(sv_dag_h_ws *w, const double *W, double *h, double *grad)
{
    int d = w->d;
    size_t dd = (size_t)d * d;
    for (size_t t = 0; t < dd; t++)
        w->A[t] = W[t] * W[t];
    /* Row-major in, row-major out (expm.h: exp(A')' = exp(A)). */
    int rc = sv_expm(&w->ex, d, w->A, w->E, NULL, NULL);
    if (rc != SV_OK) {
        *h = NAN;
        return SV_ENUMERIC;
    }
    double tr = 0;
    for (int i = 0; i < d; i++)
        tr += w->E[(size_t)i * d + i];
    *h = tr - d;
    if (grad)
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                grad[(size_t)i * d + j] = w->E[(size_t)j * d + i] * 2.0 * W[(size_t)i * d + j];
    return SV_OK;
}

/* ================================ graphs ================================ */

int sv_dag_threshold(int d, double *W, double threshold)
{
    int edges = 0;
    for (int i = 0; i < d; i++) {
        for (int j = 0; j < d; j++) {
            double *w = &W[(size_t)i * d + j];
            if (i == j || fabs(*w) < threshold)
                *w = 0;
            else if (*w != 0)
                edges++;
        }
    }
    return edges;
}

int sv_dag_topo_sort(int d, const double *W, int *order, int *indeg)
{
    for (int j = 0; j < d; j++) {
        indeg[j] = 0;
        for (int i = 0; i < d; i++)
            indeg[j] += W[(size_t)i * d + j] != 0;
    }
    int tail = 0;
    for (int j = 0; j < d; j++)
        if (indeg[j] == 0)
            order[tail++] = j;
    for (int head = 0; head < tail; head++) {
        int i = order[head];
        for (int j = 0; j < d; j++)
            if (W[(size_t)i * d + j] != 0 && --indeg[j] == 0)
                order[tail++] = j;
    }
    return tail;
}

int sv_dag_is_acyclic(int d, const double *W)
{
    int *buf = malloc(2 * (size_t)(d > 0 ? d : 1) * sizeof *buf);
    if (!buf)
        return 0;
    int ok = sv_dag_topo_sort(d, W, buf, buf + d) == d;
    free(buf);
    return ok;
}

void sv_dag_accuracy_of(int d, const double *T, const double *W, sv_dag_accuracy *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < d; i++) {
        for (int j = 0; j < d; j++) {
            if (i == j)
                continue;
            int t = T[(size_t)i * d + j] != 0, tr = T[(size_t)j * d + i] != 0;
            int p = W[(size_t)i * d + j] != 0;
            a->true_edges += t;
            if (p) {
                a->predicted++;
                if (t)
                    a->true_pos++;
                else if (tr)
                    a->reversed++;
                else
                    a->false_pos++;
            }
            if (j < i) {
                int ps = p || W[(size_t)j * d + i] != 0, ts = t || tr;
                a->extra += ps && !ts;
                a->missing += ts && !ps;
            }
        }
    }
    a->shd = a->extra + a->missing + a->reversed;
    double neg = 0.5 * d * (d - 1) - a->true_edges;
    a->tpr = (double)a->true_pos / (a->true_edges > 1 ? a->true_edges : 1);
    a->fdr = (double)(a->reversed + a->false_pos) / (a->predicted > 1 ? a->predicted : 1);
    a->fpr = (double)(a->reversed + a->false_pos) / (neg > 1 ? neg : 1);
}

int sv_dag_check_data(int n, int d, const double *X, const double *W_true, sv_err *e)
{
    if (!X || n < 1 || d < 1)
        return sv_fail(e, "/problem/data", "a data matrix of at least one sample and one "
                       "variable is required");
    if (d > SV_DAG_MAX_NODES)
        return sv_fail(e, "/problem/data", "%d variables exceed the limit of %d", d,
                       SV_DAG_MAX_NODES);
    if ((double)n * d > INT_MAX)
        return sv_fail(e, "/problem/data", "%d x %d entries exceed the limit of %d", n, d,
                       INT_MAX);
    if (!sv_all_finite(n * d, X))
        return sv_fail(e, "/problem/data", "holds a non-finite entry");
    if (W_true && !sv_all_finite(d * d, W_true))
        return sv_fail(e, "/problem/true_graph", "holds a non-finite entry");
    return SV_OK;
}
