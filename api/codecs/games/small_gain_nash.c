/* small_gain_nash.c - the games.small_gain_nash codec: explicit players (their A_ii, B_ij, b_i
 * and boxes) or a generated chain game, params into small_gain_nash_solve, and the certificate
 * and the iteration's outcome back into JSON. The doc page is docs/solvers/games/
 * small_gain_nash.md. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/linalg.h"
#include "core/solvers/games/small_gain_nash.h"
#include "core/solvers/games/small_gain_nash_gen.h"

typedef enum { FORM_PLAYERS, FORM_GENERATE } sgn_form;

#define MAX_PLAYERS SMALL_GAIN_NASH_MAX_PLAYERS

typedef struct {
    sgn_form form;
    int N, n;
    int *dims;                 /* N, owned (FORM_PLAYERS) */
    const json_t *players;     /* FORM_PLAYERS: the array */
    small_gain_nash_gen_spec gen;
    const json_t *x0;          /* NULL: zeros */
} sgn_desc;

#define X0_PROPERTY                                                                            \
    "\"x0\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}, \"description\":"        \
    " \"joint starting point, the blocks stacked in player order (default zeros); projected"   \
    " onto the box\"}"

static const char *const players_members[] = {"players", "x0", NULL};
static const char *const generate_members[] = {"generate", "x0", NULL};
static const sv_problem_form sgn_forms[] = {
    {.key = "players", .members = players_members,
     .summary = "explicit players: player i's cost 0.5 x_i'A x_i + sum_j x_i'B[j] x_j + b'x_i "
                "over an optional box",
     .properties =
         "{\"players\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"object\","
         " \"required\": [\"A\"], \"additionalProperties\": false, \"properties\": {\"A\":"
         " {\"description\": \"d_i x d_i symmetric matrix (nested arrays, {rows,cols,data}, CSR"
         " or COO): the player's own Hessian\"}, \"B\": {\"type\": \"object\", \"description\":"
         " \"couplings: member \\\"j\\\" (another player's index) is the d_i x d_j matrix B_ij;"
         " missing pairs are zero\"}, \"b\": {\"type\": \"array\", \"items\": {\"type\":"
         " \"number\"}, \"description\": \"linear term (default zeros)\"}, \"lo\": {\"type\":"
         " \"array\", \"items\": {\"type\": [\"number\", \"null\"]}, \"description\": \"lower"
         " bounds of the block (null: unbounded)\"}, \"hi\": {\"type\": \"array\", \"items\":"
         " {\"type\": [\"number\", \"null\"]}, \"description\": \"upper bounds of the block"
         " (null: unbounded)\"}}}}, " X0_PROPERTY "}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded chain game with strong forward and weak backward coupling "
                "(core/solvers/games/small_gain_nash_gen.h)",
     .fields = small_gain_nash_gen_params, .fields_size = sizeof(small_gain_nash_gen_spec),
     .properties = "{" X0_PROPERTY "}"},
    SV_FORMS_END,
};

/* ---- reading (validates; allocates no problem data) ---- */

static long env_max_entries(const sv_codec_env *env)
{
    return env && env->max_entries > 0 ? env->max_entries : INT_MAX;
}

static long env_max_dim(const sv_codec_env *env)
{
    return env && env->max_dim > 0 && env->max_dim < INT_MAX ? env->max_dim : INT_MAX;
}

static int check_size(long n, const sv_codec_env *env, const char *path, sv_err *e)
{
    if (n > env_max_dim(env))
        return sv_fail(e, path, "the joint strategy has %ld coordinates, the limit is %ld", n,
                       env_max_dim(env));
    if ((double)n * (double)n > (double)env_max_entries(env))
        return sv_fail(e, path, "n^2 = %.0f exceeds the limit of %ld matrix entries",
                       (double)n * (double)n, env_max_entries(env));
    return SV_OK;
}

/* A player index as an object key: a decimal in [0, N). */
static int key_index(const char *key, int N, long *out)
{
    if (!*key)
        return 0;
    for (const char *c = key; *c; c++)
        if (*c < '0' || *c > '9')
            return 0;
    char *end;
    errno = 0;
    long v = strtol(key, &end, 10);
    if (*end || errno || v < 0 || v >= N || (key[0] == '0' && key[1]))
        return 0;
    *out = v;
    return 1;
}

static int read_bound(const json_t *pl, const char *path, const char *key, int d, sv_err *e)
{
    json_t *v;
    char sub[80], at[96];
    int rc = sv_json_optional(pl, path, key, &v, e);
    if (rc != SV_OK || !v)
        return rc;
    sv_json_path_key(sub, sizeof sub, path, key);
    if (!json_is_array(v) || (int)json_array_size(v) != d)
        return sv_fail(e, sub, "expected an array of %d numbers or nulls, got %s", d,
                       sv_json_kind(v));
    for (int j = 0; j < d; j++) {
        const json_t *x = json_array_get(v, (size_t)j);
        double t;
        sv_json_path_index(at, sizeof at, sub, j);
        if (!json_is_null(x) && (rc = sv_json_number(x, at, &t, e)) != SV_OK)
            return rc;
    }
    return SV_OK;
}

static double bound_at(const json_t *pl, const char *key, int j, double none)
{
    const json_t *v = json_object_get(pl, key);
    const json_t *x = v ? json_array_get(v, (size_t)j) : NULL;
    return !x || json_is_null(x) ? none : json_number_value(x);
}

static int read_players(const json_t *problem, const sv_codec_env *env, sgn_desc *d, sv_err *e)
{
    const json_t *ps = json_object_get(problem, "players");
    if (!json_is_array(ps) || json_array_size(ps) < 1)
        return sv_fail(e, "/problem/players", "expected a non-empty array of players, got %s",
                       sv_json_kind(ps));
    if (json_array_size(ps) > MAX_PLAYERS)
        return sv_fail(e, "/problem/players", "%zu players exceed the limit of %d",
                       json_array_size(ps), MAX_PLAYERS);
    static const char *const allowed[] = {"A", "B", "b", "lo", "hi", NULL};
    char path[64], sub[96], at[128];
    int rc, N = (int)json_array_size(ps);
    d->N = N;
    if (!(d->dims = calloc((size_t)N, sizeof *d->dims)))
        return SV_ENOMEM;
    long n = 0;
    /* first pass: each player's own block fixes d_i */
    for (int i = 0; i < N; i++) {
        const json_t *pl = json_array_get(ps, (size_t)i);
        sv_json_path_index(path, sizeof path, "/problem/players", i);
        json_t *A;
        if ((rc = sv_json_object(pl, path, e)) != SV_OK ||
            (rc = sv_json_no_unknown(pl, path, allowed, e)) != SV_OK ||
            (rc = sv_json_require(pl, path, "A", &A, e)) != SV_OK)
            return rc;
        sv_json_path_key(sub, sizeof sub, path, "A");
        sv_mat m;
        if ((rc = sv_json_matrix(A, sub, -1, -1, env, &m, e)) != SV_OK)
            return rc;
        int rows = m.rows, cols = m.cols;
        if (rows != cols || rows < 1) {
            sv_mat_free(&m);
            return sv_fail(e, sub, "A must be square, got %d x %d", rows, cols);
        }
        /* the same test as the solver's: A is player i's Hessian, so symmetric */
        double scale = 0;
        for (int a = 0; a < rows; a++)
            for (int b = 0; b < rows; b++)
                scale = fmax(scale, fabs(sv_mat_get(&m, a, b)));
        for (int a = 0; a < rows; a++)
            for (int b = a + 1; b < rows; b++)
                if (fabs(sv_mat_get(&m, a, b) - sv_mat_get(&m, b, a)) >
                    1e-10 * fmax(scale, 1e-300)) {
                    double x = sv_mat_get(&m, a, b), y = sv_mat_get(&m, b, a);
                    sv_mat_free(&m);
                    return sv_fail(e, sub, "A must be symmetric (the Hessian of player %d's "
                                   "cost): entry (%d, %d) = %g but (%d, %d) = %g", i, a, b, x,
                                   b, a, y);
                }
        sv_mat_free(&m);
        d->dims[i] = rows;
        n += rows;
        if ((rc = check_size(n, env, "/problem/players", e)) != SV_OK)
            return rc;
    }
    d->n = (int)n;
    /* second pass: couplings, linear terms and boxes against the sizes */
    for (int i = 0; i < N; i++) {
        const json_t *pl = json_array_get(ps, (size_t)i);
        sv_json_path_index(path, sizeof path, "/problem/players", i);
        json_t *B, *b;
        if ((rc = sv_json_optional(pl, path, "B", &B, e)) != SV_OK ||
            (rc = sv_json_optional(pl, path, "b", &b, e)) != SV_OK)
            return rc;
        sv_json_path_key(sub, sizeof sub, path, "b");
        if (b && (rc = sv_json_vector(b, sub, d->dims[i], env, NULL, NULL, e)) != SV_OK)
            return rc;
        if (B) {
            sv_json_path_key(sub, sizeof sub, path, "B");
            if (!json_is_object(B))
                return sv_fail(e, sub, "expected an object {\"j\": matrix} of couplings, got %s",
                               sv_json_kind(B));
            const char *key;
            json_t *Bij;
            json_object_foreach((json_t *)B, key, Bij) {
                long j;
                snprintf(at, sizeof at, "%s/%s", sub, key);
                if (!key_index(key, N, &j))
                    return sv_fail(e, at, "a coupling is keyed by another player's index, 0 to "
                                   "%d", N - 1);
                if (j == i)
                    return sv_fail(e, at, "player %d's own block is A, not a coupling", i);
                if ((rc = sv_json_matrix(Bij, at, d->dims[i], d->dims[j], env, NULL, e)) !=
                    SV_OK)
                    return rc;
            }
        }
        if ((rc = read_bound(pl, path, "lo", d->dims[i], e)) != SV_OK ||
            (rc = read_bound(pl, path, "hi", d->dims[i], e)) != SV_OK)
            return rc;
        for (int j = 0; j < d->dims[i]; j++)
            if (bound_at(pl, "lo", j, -INFINITY) > bound_at(pl, "hi", j, INFINITY)) {
                sv_json_path_key(sub, sizeof sub, path, "lo");
                return sv_fail(e, sub, "lo[%d] > hi[%d]: the box is empty", j, j);
            }
    }
    d->players = ps;
    return SV_OK;
}

static int read_generate(const json_t *problem, const sv_codec_env *env, sgn_desc *d, sv_err *e)
{
    small_gain_nash_gen_spec *g = &d->gen;
    sv_params_defaults(small_gain_nash_gen_params, g);
    int rc = sv_forms_decode_key(&sgn_forms[FORM_GENERATE], problem, g, e);
    if (rc != SV_OK)
        return rc;
    d->N = g->players;
    double n = (double)g->players * (double)g->dim;
    if (n > (double)env_max_dim(env))
        return sv_fail(e, "/problem/generate", "players * dim = %.0f coordinates exceed the "
                       "limit of %ld", n, env_max_dim(env));
    d->n = (int)n;
    return check_size(d->n, env, "/problem/generate", e);
}

static void desc_free(sgn_desc *d)
{
    free(d->dims);
    d->dims = NULL;
}

static int read_problem(const json_t *problem, const sv_codec_env *env, sgn_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    int form, rc;
    if ((rc = sv_forms_pick(sgn_forms, problem, &form, e)) != SV_OK)
        return rc;
    d->form = (sgn_form)form;
    rc = d->form == FORM_PLAYERS ? read_players(problem, env, d, e)
                                 : read_generate(problem, env, d, e);
    if (rc != SV_OK)
        return rc;
    json_t *x0;
    if ((rc = sv_json_optional(problem, "/problem", "x0", &x0, e)) != SV_OK)
        return rc;
    if (x0 && (rc = sv_json_vector(x0, "/problem/x0", d->n, env, NULL, NULL, e)) != SV_OK)
        return rc;
    d->x0 = x0;
    return SV_OK;
}

static int read_settings(const json_t *params, small_gain_nash_settings *s, sv_err *e)
{
    small_gain_nash_settings_default(s);
    int rc = sv_params_decode(small_gain_nash_params, params, s, e);
    return rc != SV_OK ? rc : small_gain_nash_check_settings(s, e);
}

/* ---- building ---- */

typedef struct {
    int *dims;
    double *M, *q, *lo, *hi, *x;
} sgn_data;

static void data_free(sgn_data *x)
{
    free(x->dims);
    free(x->M);
    free(x->q);
    free(x->lo);
    free(x->hi);
    free(x->x);
}

static int copy_block(const json_t *v, const char *path, int rows, int cols,
                      const sv_codec_env *env, double *dst, int ld, sv_err *e)
{
    sv_mat m;
    int rc = sv_json_matrix(v, path, rows, cols, env, &m, e);
    if (rc != SV_OK)
        return rc;
    for (int a = 0; a < rows; a++)
        for (int b = 0; b < cols; b++)
            dst[(size_t)a * ld + b] = sv_mat_get(&m, a, b);
    sv_mat_free(&m);
    return SV_OK;
}

static int build(const sgn_desc *d, const sv_codec_env *env, sgn_data *x, sv_err *e)
{
    int N = d->N, n = d->n, rc = SV_OK;
    memset(x, 0, sizeof *x);
    x->dims = malloc((size_t)N * sizeof *x->dims);
    x->M = calloc((size_t)n * n, sizeof *x->M);
    x->q = calloc((size_t)n, sizeof *x->q);
    x->lo = malloc((size_t)n * sizeof *x->lo);
    x->hi = malloc((size_t)n * sizeof *x->hi);
    x->x = calloc((size_t)n, sizeof *x->x);
    if (!x->dims || !x->M || !x->q || !x->lo || !x->hi || !x->x)
        return SV_ENOMEM;
    for (int j = 0; j < n; j++) {
        x->lo[j] = -INFINITY;
        x->hi[j] = INFINITY;
    }
    if (d->form == FORM_GENERATE) {
        for (int i = 0; i < N; i++)
            x->dims[i] = d->gen.dim;
        rc = small_gain_nash_generate(&d->gen, x->M, x->q, NULL, x->lo, x->hi, e);
    } else {
        memcpy(x->dims, d->dims, (size_t)N * sizeof *x->dims);
        int *off = malloc((size_t)(N + 1) * sizeof *off);
        if (!off)
            return SV_ENOMEM;
        off[0] = 0;
        for (int i = 0; i < N; i++)
            off[i + 1] = off[i] + d->dims[i];
        char path[64], sub[96], at[128];
        for (int i = 0; i < N && rc == SV_OK; i++) {
            const json_t *pl = json_array_get(d->players, (size_t)i);
            int di = d->dims[i];
            sv_json_path_index(path, sizeof path, "/problem/players", i);
            sv_json_path_key(sub, sizeof sub, path, "A");
            rc = copy_block(json_object_get(pl, "A"), sub, di, di, env,
                            x->M + (size_t)off[i] * n + off[i], n, e);
            const json_t *B = json_object_get(pl, "B");
            const char *key;
            json_t *Bij;
            sv_json_path_key(sub, sizeof sub, path, "B");
            if (B)
                json_object_foreach((json_t *)B, key, Bij) {
                    long j = strtol(key, NULL, 10);
                    snprintf(at, sizeof at, "%s/%s", sub, key);
                    if (rc == SV_OK)
                        rc = copy_block(Bij, at, di, d->dims[j], env,
                                        x->M + (size_t)off[i] * n + off[j], n, e);
                }
            const json_t *b = json_object_get(pl, "b");
            for (int t = 0; b && t < di; t++)
                x->q[off[i] + t] = json_number_value(json_array_get(b, (size_t)t));
            for (int t = 0; t < di; t++) {
                x->lo[off[i] + t] = bound_at(pl, "lo", t, -INFINITY);
                x->hi[off[i] + t] = bound_at(pl, "hi", t, INFINITY);
            }
        }
        free(off);
    }
    for (int j = 0; d->x0 && j < n; j++)
        x->x[j] = json_number_value(json_array_get(d->x0, (size_t)j));
    return rc;
}

/* ---- the codec ---- */

static void sgn_defaults(void *s)
{
    small_gain_nash_settings_default(s);
}

static json_t *sgn_problem_schema(void)
{
    json_t *schema = sv_forms_schema(sgn_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("the Nash equilibrium of a quadratic game: player i "
                                        "minimises 0.5 x_i'A_ii x_i + sum_{j != i} x_i'B_ij x_j "
                                        "+ b_i'x_i over its box; exactly one of players, "
                                        "generate"));
    return schema;
}

static json_t *sgn_example(void)
{
    return json_pack("{s:{s:{s:i, s:i, s:f, s:f, s:i}}, s:{s:s, s:f, s:i}}", "problem",
                     "generate", "players", 2, "dim", 16, "a", 10.0, "b", 0.05, "seed", 1,
                     "params", "method", "euler", "tol", 1e-8, "report_every", 20);
}

static int sgn_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                        sv_err *e)
{
    sgn_desc d;
    small_gain_nash_settings s;
    int rc = read_problem(problem, env, &d, e);
    if (rc == SV_OK)
        rc = read_settings(params, &s, e);
    desc_free(&d);
    return rc;
}

static json_t *json_pair_or_null(double a, double b)
{
    if (!isfinite(a) || !isfinite(b))
        return json_null();
    return json_pack("[f, f]", a, b);
}

static json_t *encode_cert(const small_gain_nash_cert *c, int N)
{
    json_t *r = json_object();
    json_t *L = sv_json_from_dense(c->L, N, N);
    json_t *w = sv_json_from_vector(c->w, N), *mu = sv_json_from_vector(c->mu, N);
    json_t *eu = json_object(), *rk = json_object();
    if (!r || !L || !w || !mu || !eu || !rk) {
        json_decref(r), json_decref(L), json_decref(w), json_decref(mu), json_decref(eu);
        json_decref(rk);
        return NULL;
    }
    json_object_set_new(r, "certified", json_boolean(c->certified));
    json_object_set_new(r, "margin", sv_codec_real(c->margin));
    json_object_set_new(r, "margin_unweighted", sv_codec_real(c->margin_unit));
    json_object_set_new(r, "small_gain_radius", sv_codec_real(c->small_gain_radius));
    json_object_set_new(r, "euclidean_margin", sv_codec_real(c->euclidean_margin));
    json_object_set_new(r, "weighted_margin", sv_codec_real(c->weighted_margin));
    json_object_set_new(r, "lipschitz", sv_codec_real(c->lipschitz));
    json_object_set_new(r, "flow_rate", sv_codec_real(c->certified ? c->margin : NAN));
    json_object_set_new(r, "weights", w);
    json_object_set_new(r, "curvature", mu);
    json_object_set_new(r, "coupling", L);
    json_object_set_new(eu, "step_max", sv_codec_real(c->euler_step_max));
    json_object_set_new(eu, "step", sv_codec_real(c->euler_step));
    json_object_set_new(eu, "rate", sv_codec_real(c->euler_rate));
    json_object_set_new(rk, "step_max", sv_codec_real(c->rk4_step_max));
    json_object_set_new(rk, "step", sv_codec_real(c->rk4_step));
    json_object_set_new(rk, "rate", sv_codec_real(c->rk4_rate));
    json_object_set_new(r, "euler", eu);
    json_object_set_new(r, "rk4", rk);
    json_object_set_new(r, "band", json_pair_or_null(c->band_lo, c->band_hi));
    return r;
}

static int sgn_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                   const sv_monitor *mon, json_t **result, sv_err *e)
{
    sgn_desc d;
    small_gain_nash_settings s;
    sgn_data x;
    double *mu = NULL, *L = NULL, *w = NULL;
    memset(&x, 0, sizeof x);
    *result = NULL;
    int rc = read_problem(problem, env, &d, e);
    if (rc == SV_OK)
        rc = read_settings(params, &s, e);
    if (rc == SV_OK)
        rc = build(&d, env, &x, e);
    int N = d.N, n = d.n;
    if (rc == SV_OK) {
        mu = malloc((size_t)N * sizeof *mu);
        L = malloc((size_t)N * N * sizeof *L);
        w = malloc((size_t)N * sizeof *w);
        if (!mu || !L || !w)
            rc = SV_ENOMEM;
    }
    small_gain_nash_info info;
    memset(&info, 0, sizeof info);
    if (rc == SV_OK) {
        small_gain_nash_problem p = {N, x.dims, n, x.M, x.q, x.lo, x.hi};
        info.cert.mu = mu;
        info.cert.L = L;
        info.cert.w = w;
        rc = small_gain_nash_solve(&p, &s, mon, x.x, &info, e);
    }
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.base.obj);
        json_t *cert = encode_cert(&info.cert, N);
        json_t *xs = sv_json_from_vector(x.x, n);
        if (!r || !cert || !xs) {
            json_decref(r), json_decref(cert), json_decref(xs);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "certified", json_boolean(info.cert.certified));
            if (!info.cert.certified) {
                char msg[256];
                snprintf(msg, sizeof msg, "not certified: the best SGN margin found is %.6g "
                         "(small-gain radius %.6g, certifiable iff < 1)%s", info.cert.margin,
                         info.cert.small_gain_radius,
                         isnan(s.step) ? "; no certified step, so no iteration ran" : "");
                json_object_set_new(r, "message", json_string(msg));
            }
            json_object_set_new(r, "method", json_string(s.method == SMALL_GAIN_NASH_RK4
                                                              ? "rk4" : "euler"));
            json_object_set_new(r, "step", sv_codec_real(info.step));
            json_object_set_new(r, "rate", sv_codec_real(info.rate));
            json_object_set_new(r, "observed_rate", sv_codec_real(info.observed_rate));
            json_object_set_new(r, "observed_rate_max", sv_codec_real(info.observed_rate_max));
            json_object_set_new(r, "residual", sv_codec_real(info.base.res));
            json_object_set_new(r, "gradient_evals", json_integer(info.gradient_evals));
            json_object_set_new(r, "players", json_integer(N));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            json_object_set_new(r, "certificate", cert);
            json_object_set_new(r, "x", xs);
            *result = r;
        }
    }
    free(mu), free(L), free(w);
    data_free(&x);
    desc_free(&d);
    return rc;
}

const sv_codec sv_codec_small_gain_nash = {
    .name = "games.small_gain_nash",
    .family = "games",
    .summary = "Small-Gain Nash: certifies contraction to the Nash equilibrium of a quadratic "
               "game in an optimised block-weighted metric (curvature vs. coupling), then runs "
               "projected Euler or RK4 with the certified step",
    .paper = "Sharma: Small-Gain Nash: Certified Contraction to Nash Equilibria in "
             "Differentiable Games, arXiv:2512.06791, 2025",
    .doc = "docs/solvers/games/small_gain_nash.md",
    .params = small_gain_nash_params,
    .settings_size = sizeof(small_gain_nash_settings),
    .settings_default = sgn_defaults,
    .problem_schema = sgn_problem_schema,
    .example = sgn_example,
    .validate = sgn_validate,
    .run = sgn_run,
};
