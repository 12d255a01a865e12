/* mcts.c - the tsp.mcts codec: cities as coordinates, a generated uniform instance or a TSPLIB
 * text (TYPE TSP, EDGE_WEIGHT_TYPE EUC_2D, NODE_COORD_SECTION), params into mcts_solve, and the
 * tour, its length, the 1-tree bound and the gap back into JSON. Reading the TSPLIB text is
 * decoding (no numerics). The doc page is docs/solvers/tsp/mcts.md. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_util.h"
#include "api/forms.h"
#include "api/jsonval.h"
#include "api/params.h"
#include "core/solvers/tsp/mcts.h"
#include "core/solvers/tsp/mcts_gen.h"

typedef enum { FORM_COORDS, FORM_GENERATE, FORM_TSPLIB } mcts_form;

static const char *const coords_members[] = {"coords", NULL};
static const char *const generate_members[] = {"generate", NULL};
static const char *const tsplib_members[] = {"tsplib", NULL};

static const sv_problem_form mcts_forms[] = {
    {.key = "coords", .members = coords_members,
     .summary = "cities in the plane, [[x, y], ...]; Euclidean distances",
     .properties = "{\"coords\": {\"type\": \"array\", \"minItems\": 3, \"items\": {\"type\":"
                   " \"array\", \"minItems\": 2, \"maxItems\": 2, \"items\": {\"type\":"
                   " \"number\"}}}}"},
    {.key = "generate", .members = generate_members,
     .summary = "n cities uniform in the unit square, seeded (core/solvers/tsp/mcts_gen.h)",
     .fields = mcts_gen_params, .fields_size = sizeof(mcts_gen_spec)},
    {.key = "tsplib", .members = tsplib_members,
     .summary = "a TSPLIB file's text: TYPE TSP, EDGE_WEIGHT_TYPE EUC_2D, NODE_COORD_SECTION; "
                "distances nint(sqrt(.)) as TSPLIB defines them",
     .properties = "{\"tsplib\": {\"type\": \"string\"}}"},
    SV_FORMS_END,
};

/* The largest n the environment allows. */
static long max_cities(const sv_codec_env *env)
{
    long m = MCTS_MAX_N;
    if (env && env->max_dim > 0 && env->max_dim < m)
        m = env->max_dim;
    return m;
}

/* ---- TSPLIB ---- */

static const char *skip_space(const char *c, const char *end)
{
    while (c < end && (*c == ' ' || *c == '\t' || *c == '\r'))
        c++;
    return c;
}

/* key (upper case, trimmed) and value of a "KEY : VALUE" line; 0 when the line has no ':'. */
static int header_line(const char *b, const char *end, char *key, size_t ks, char *val, size_t vs)
{
    const char *colon = memchr(b, ':', (size_t)(end - b));
    const char *kend = colon ? colon : end;
    b = skip_space(b, kend);
    size_t kl = 0;
    while (b < kend && kl + 1 < ks)
        key[kl++] = (char)toupper((unsigned char)*b++);
    while (kl > 0 && isspace((unsigned char)key[kl - 1]))
        kl--;
    key[kl] = 0;
    val[0] = 0;
    if (!colon)
        return 0;
    const char *v = skip_space(colon + 1, end);
    size_t vl = 0;
    while (v < end && vl + 1 < vs)
        val[vl++] = *v++;
    while (vl > 0 && isspace((unsigned char)val[vl - 1]))
        vl--;
    val[vl] = 0;
    return 1;
}

/* Reads the text; xy (2n, malloc'd) only when xy is not NULL. */
static int read_tsplib(const json_t *v, const sv_codec_env *env, double **xy, int *n_out,
                       sv_err *e)
{
    static const char P[] = "/problem/tsplib";
    if (!json_is_string(v))
        return sv_fail(e, P, "expected a string (the file's text), got %s", sv_json_kind(v));
    const char *t = json_string_value(v), *end = t + json_string_length(v);
    long n = -1, line = 0;
    int type_seen = 0, ewt_seen = 0, coords = 0, count = 0, rc = SV_OK;
    unsigned char *seen = NULL;
    double *out = NULL;
    char key[64], val[64];
    while (t < end && rc == SV_OK) {
        const char *nl = memchr(t, '\n', (size_t)(end - t)), *le = nl ? nl : end;
        line++;
        const char *b = skip_space(t, le);
        t = nl ? nl + 1 : end;
        if (b == le)
            continue;
        if (!coords) {
            int has = header_line(b, le, key, sizeof key, val, sizeof val);
            if (!strcmp(key, "EOF"))
                break;
            if (!strcmp(key, "NODE_COORD_SECTION")) {
                if (!type_seen || !ewt_seen || n < 0) {
                    rc = sv_fail(e, P, "line %ld: NODE_COORD_SECTION before TYPE, DIMENSION "
                                 "and EDGE_WEIGHT_TYPE", line);
                    break;
                }
                if (!(seen = calloc((size_t)n, 1)) ||
                    (xy && !(out = malloc(2 * (size_t)n * sizeof *out)))) {
                    rc = SV_ENOMEM;
                    break;
                }
                coords = 1;
                continue;
            }
            if (!has) {
                rc = sv_fail(e, P, "line %ld: section %s is not supported (only "
                             "NODE_COORD_SECTION)", line, key);
            } else if (!strcmp(key, "TYPE")) {
                type_seen = 1;
                if (strcmp(val, "TSP"))
                    rc = sv_fail(e, P, "line %ld: TYPE %s is not supported (only TSP)", line,
                                 val);
            } else if (!strcmp(key, "EDGE_WEIGHT_TYPE")) {
                ewt_seen = 1;
                if (strcmp(val, "EUC_2D"))
                    rc = sv_fail(e, P, "line %ld: EDGE_WEIGHT_TYPE %s is not supported (only "
                                 "EUC_2D)", line, val);
            } else if (!strcmp(key, "DIMENSION")) {
                char *ep;
                errno = 0;
                long d = strtol(val, &ep, 10);
                if (errno || ep == val || *ep || d < MCTS_MIN_N || d > max_cities(env))
                    rc = sv_fail(e, P, "line %ld: DIMENSION must be an integer in [%d, %ld], "
                                 "got '%s'", line, MCTS_MIN_N, max_cities(env), val);
                n = d;
            }
            /* NAME, COMMENT, DISPLAY_DATA_TYPE, ...: informative */
            continue;
        }
        /* a coordinate line: id x y */
        char buf[256];
        size_t l = (size_t)(le - b) < sizeof buf - 1 ? (size_t)(le - b) : sizeof buf - 1;
        memcpy(buf, b, l);
        buf[l] = 0;
        if (!strncmp(buf, "EOF", 3))
            break;
        char *p = buf, *q;
        long id = strtol(p, &q, 10);
        double x = q != p ? strtod(q, &p) : 0, y = 0;
        int ok = q != buf && p != q;
        if (ok) {
            char *r;
            y = strtod(p, &r);
            ok = r != p && *skip_space(r, r + strlen(r)) == 0;
        }
        if (!ok || !isfinite(x) || !isfinite(y)) {
            rc = sv_fail(e, P, "line %ld: expected 'id x y' with finite x, y", line);
        } else if (id < 1 || id > n || seen[id - 1]) {
            rc = sv_fail(e, P, "line %ld: node id %ld out of 1..%ld or repeated", line, id, n);
        } else {
            seen[id - 1] = 1;
            count++;
            if (out) {
                out[2 * (id - 1)] = x;
                out[2 * (id - 1) + 1] = y;
            }
        }
    }
    if (rc == SV_OK && !coords)
        rc = sv_fail(e, P, "no NODE_COORD_SECTION");
    if (rc == SV_OK && count != n)
        rc = sv_fail(e, P, "NODE_COORD_SECTION holds %d nodes, DIMENSION says %ld", count, n);
    free(seen);
    if (rc != SV_OK) {
        free(out);
        return rc;
    }
    *n_out = (int)n;
    if (xy)
        *xy = out;
    return SV_OK;
}

/* ---- the problem ---- */

/* The problem into p (xy malloc'd when build; free p->xy). */
static int read_problem(const json_t *problem, const sv_codec_env *env, int build,
                        mcts_problem *p, sv_err *e)
{
    memset(p, 0, sizeof *p);
    int form, rc;
    if ((rc = sv_forms_pick(mcts_forms, problem, &form, e)) != SV_OK)
        return rc;
    double *xy = NULL;
    if (form == FORM_COORDS) {
        const json_t *c = json_object_get(problem, "coords");
        if (json_is_array(c) && (long)json_array_size(c) > max_cities(env))
            return sv_fail(e, "/problem/coords", "%zu cities exceed the limit of %ld",
                           json_array_size(c), max_cities(env));
        sv_mat m;
        memset(&m, 0, sizeof m);
        if ((rc = sv_json_matrix(c, "/problem/coords", -1, 2, env, &m, e)) != SV_OK)
            return rc;
        if (m.rows < MCTS_MIN_N) {
            sv_mat_free(&m);
            return sv_fail(e, "/problem/coords", "%d cities: at least %d are needed", m.rows,
                           MCTS_MIN_N);
        }
        p->n = m.rows;
        if (build && !(xy = malloc(2 * (size_t)m.rows * sizeof *xy))) {
            sv_mat_free(&m);
            return SV_ENOMEM;
        }
        for (int i = 0; xy && i < m.rows; i++) {
            xy[2 * i] = sv_mat_get(&m, i, 0);
            xy[2 * i + 1] = sv_mat_get(&m, i, 1);
        }
        sv_mat_free(&m);
    } else if (form == FORM_GENERATE) {
        mcts_gen_spec g;
        sv_params_defaults(mcts_gen_params, &g);
        if ((rc = sv_forms_decode_key(&mcts_forms[FORM_GENERATE], problem, &g, e)) != SV_OK ||
            (rc = mcts_gen_check(&g, e)) != SV_OK)
            return rc;
        if (g.n > max_cities(env))
            return sv_fail(e, "/problem/generate/n", "%d exceeds the limit of %ld", g.n,
                           max_cities(env));
        p->n = g.n;
        if (build && !(xy = malloc(2 * (size_t)g.n * sizeof *xy)))
            return SV_ENOMEM;
        if (build && (rc = mcts_generate(&g, xy, e)) != SV_OK) {
            free(xy);
            return rc;
        }
    } else {
        if ((rc = read_tsplib(json_object_get(problem, "tsplib"), env, build ? &xy : NULL,
                              &p->n, e)) != SV_OK)
            return rc;
        p->round = 1;
    }
    p->xy = xy;
    if (build && (rc = mcts_check_problem(p, e)) != SV_OK) {
        free(xy);
        p->xy = NULL;
    }
    return rc;
}

static int read_settings(const json_t *params, mcts_settings *s, sv_err *e)
{
    mcts_settings_default(s);
    int rc = sv_params_decode(mcts_params, params, s, e);
    return rc != SV_OK ? rc : mcts_check_settings(s, e);
}

/* ---- the codec ---- */

static void mcts_defaults(void *s)
{
    mcts_settings_default(s);
}

static json_t *mcts_problem_schema(void)
{
    json_t *schema = sv_forms_schema(mcts_forms);
    if (schema)
        json_object_set_new(schema, "description",
                            json_string("a symmetric Euclidean TSP: the shortest closed tour "
                                        "through every city; exactly one of coords, generate, "
                                        "tsplib"));
    return schema;
}

static json_t *mcts_example(void)
{
    return json_pack("{s:{s:{s:i, s:i}}, s:{s:s, s:i, s:i, s:i}}", "problem", "generate", "n",
                     400, "seed", 1, "params", "method", "mcts", "restarts", 3, "seed", 1,
                     "report_every", 2000);
}

static int mcts_validate(const json_t *problem, const json_t *params, const sv_codec_env *env,
                         sv_err *e)
{
    mcts_problem p;
    mcts_settings s;
    int rc = read_problem(problem, env, 0, &p, e);
    return rc != SV_OK ? rc : read_settings(params, &s, e);
}

static int mcts_run(const json_t *problem, const json_t *params, const sv_codec_env *env,
                    const sv_monitor *mon, json_t **result, sv_err *e)
{
    mcts_problem p;
    mcts_settings s;
    *result = NULL;
    int rc = read_problem(problem, env, 1, &p, e);
    if (rc != SV_OK)
        return rc;
    int *tour = NULL;
    if ((rc = read_settings(params, &s, e)) == SV_OK &&
        !(tour = malloc((size_t)p.n * sizeof *tour)))
        rc = SV_ENOMEM;
    mcts_info info;
    if (rc == SV_OK)
        rc = mcts_solve(&p, &s, mon, tour, &info, e);
    if (rc == SV_OK) {
        json_t *r = sv_codec_result_new(&info.base, info.length);
        json_t *t = isfinite(info.length) ? sv_json_from_int_vector(tour, p.n) : json_null();
        if (!r || !t) {
            json_decref(r);
            json_decref(t);
            rc = SV_ENOMEM;
        } else {
            json_object_set_new(r, "tour", t);
            json_object_set_new(r, "length", sv_codec_real(info.length));
            json_object_set_new(r, "bound", sv_codec_real(info.bound));
            json_object_set_new(r, "gap", sv_codec_real(info.gap));
            json_object_set_new(r, "method",
                                json_string(s.method == MCTS_METHOD_2OPT ? "2opt" : "mcts"));
            json_object_set_new(r, "tau", sv_codec_real(info.tau));
            json_object_set_new(r, "cities", json_integer(p.n));
            json_object_set_new(r, "simulations", json_integer(info.simulations));
            json_object_set_new(r, "improvements", json_integer(info.improvements));
            json_object_set_new(r, "searches", json_integer(info.searches));
            json_object_set_new(r, "solve_time_s", json_real(info.base.solve_time_s));
            *result = r;
        }
    }
    free(tour);
    free((double *)p.xy);
    return rc;
}

const sv_codec sv_codec_mcts = {
    .name = "tsp.mcts",
    .family = "tsp",
    .summary = "Euclidean TSP by the parameter-free SoftDist heatmap and Fu et al.'s Monte Carlo "
               "tree search of k-opt moves (or plain 2-opt + Or-opt), with a Held-Karp 1-tree "
               "bound and the gap to it",
    .paper = "Xia, Yang, Liu, Liu, Song, Bian: Rethinking the \"Heatmap + Monte Carlo Tree "
             "Search\" Paradigm for Solving Large Scale TSP, ICML 2024",
    .doc = "docs/solvers/tsp/mcts.md",
    .params = mcts_params,
    .settings_size = sizeof(mcts_settings),
    .settings_default = mcts_defaults,
    .problem_schema = mcts_problem_schema,
    .example = mcts_example,
    .validate = mcts_validate,
    .run = mcts_run,
};
