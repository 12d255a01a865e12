/* mdp_json.c - the tabular MDP reader of the mdp family's codecs. */
#include "api/mdp_json.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/jsonval.h"
#include "api/params.h"

static const char *const explicit_members[] = {SV_MDP_JSON_EXPLICIT_MEMBERS, NULL};
static const char *const generate_members[] = {SV_MDP_JSON_GENERATE_MEMBERS, NULL};

const sv_problem_form sv_mdp_json_forms[] = {
    {.key = "transitions", .members = explicit_members,
     .summary = "an explicit tabular MDP: transitions, rewards, initial distribution",
     .properties = "{" SV_MDP_JSON_EXPLICIT_PROPERTIES "}"},
    {.key = "generate", .members = generate_members,
     .summary = "a seeded random MDP, gridworld or inventory-control model (core/models/mdp.h)",
     .fields = sv_mdp_gen_params, .fields_size = sizeof(sv_mdp_gen_spec),
     .properties = "{" SV_MDP_JSON_COMMON_PROPERTIES "}"},
    SV_FORMS_END,
};

/* Checks p (an array of S numbers or {next, prob}) is a distribution; adds it into row when
 * given. */
static int read_row(const json_t *v, const char *path, int S, double *row, sv_err *e)
{
    char sub[192];
    double sum = 0, p;
    int rc;
    if (json_is_array(v)) {
        if ((long)json_array_size(v) != S)
            return sv_fail(e, path, "expected %d probabilities (one per state), got %zu", S,
                           json_array_size(v));
        for (int t = 0; t < S; t++) {
            sv_json_path_index(sub, sizeof sub, path, t);
            if ((rc = sv_json_number(json_array_get(v, (size_t)t), sub, &p, e)) != SV_OK)
                return rc;
            if (p < 0)
                return sv_fail(e, sub, "a probability cannot be negative (got %g)", p);
            sum += p;
            if (row)
                row[t] = p;
        }
    } else if (json_is_object(v)) {
        static const char *const members[] = {"next", "prob", NULL};
        json_t *next, *prob;
        if ((rc = sv_json_no_unknown(v, path, members, e)) != SV_OK ||
            (rc = sv_json_require(v, path, "next", &next, e)) != SV_OK ||
            (rc = sv_json_require(v, path, "prob", &prob, e)) != SV_OK)
            return rc;
        sv_json_path_key(sub, sizeof sub, path, "next");
        if (!json_is_array(next) || json_array_size(next) == 0 ||
            (long)json_array_size(next) > S)
            return sv_fail(e, sub, "expected an array of 1 to %d state indices", S);
        size_t k = json_array_size(next);
        char subp[192];
        sv_json_path_key(subp, sizeof subp, path, "prob");
        if (!json_is_array(prob) || json_array_size(prob) != k)
            return sv_fail(e, subp, "expected %zu probabilities, one per entry of next", k);
        for (size_t i = 0; i < k; i++) {
            long t;
            char at[224];
            sv_json_path_index(at, sizeof at, sub, (long)i);
            if ((rc = sv_json_int(json_array_get(next, i), at, 0, S - 1, &t, e)) != SV_OK)
                return rc;
            sv_json_path_index(at, sizeof at, subp, (long)i);
            if ((rc = sv_json_number(json_array_get(prob, i), at, &p, e)) != SV_OK)
                return rc;
            if (p < 0)
                return sv_fail(e, at, "a probability cannot be negative (got %g)", p);
            sum += p;
            if (row)
                row[t] += p;
        }
    } else {
        return sv_fail(e, path, "expected an array of %d probabilities or {next, prob}, got %s",
                       S, sv_json_kind(v));
    }
    if (fabs(sum - 1.0) > 1e-9)
        return sv_fail(e, path, "probabilities must sum to 1 (they sum to %.17g)", sum);
    return SV_OK;
}

int sv_mdp_json_transitions(const json_t *v, const char *path, int S, int A, double *P,
                            sv_err *e)
{
    char ps[160], pa[176];
    if (!json_is_array(v) || (long)json_array_size(v) != S)
        return sv_fail(e, path, "expected an array of %d states, each an array of %d actions", S,
                       A);
    for (int s = 0; s < S; s++) {
        const json_t *row = json_array_get(v, (size_t)s);
        sv_json_path_index(ps, sizeof ps, path, s);
        if (!json_is_array(row) || (long)json_array_size(row) != A)
            return sv_fail(e, ps, "expected an array of %d actions, got %s", A,
                           json_is_array(row) ? "an array of another length" : sv_json_kind(row));
        for (int a = 0; a < A; a++) {
            sv_json_path_index(pa, sizeof pa, ps, a);
            int rc = read_row(json_array_get(row, (size_t)a), pa, S,
                              P ? P + ((long)s * A + a) * S : NULL, e);
            if (rc != SV_OK)
                return rc;
        }
    }
    return SV_OK;
}

/* rewards: S arrays of A finite numbers, into R when given. */
static int read_rewards(const json_t *problem, int S, int A, double *R, sv_err *e)
{
    json_t *v;
    int rc = sv_json_require(problem, "/problem", "rewards", &v, e);
    if (rc != SV_OK)
        return rc;
    if (!json_is_array(v) || (long)json_array_size(v) != S)
        return sv_fail(e, "/problem/rewards", "expected an array of %d states, each an array of "
                       "%d rewards", S, A);
    char ps[64], pa[80];
    for (int s = 0; s < S; s++) {
        const json_t *row = json_array_get(v, (size_t)s);
        sv_json_path_index(ps, sizeof ps, "/problem/rewards", s);
        if (!json_is_array(row) || (long)json_array_size(row) != A)
            return sv_fail(e, ps, "expected an array of %d rewards (one per action)", A);
        for (int a = 0; a < A; a++) {
            double r;
            sv_json_path_index(pa, sizeof pa, ps, a);
            if ((rc = sv_json_number(json_array_get(row, (size_t)a), pa, &r, e)) != SV_OK)
                return rc;
            if (R)
                R[s * A + a] = r;
        }
    }
    return SV_OK;
}

/* initial: S probabilities summing to 1, into mu when given; absent: state 0. */
static int read_initial(const json_t *problem, int S, double *mu, sv_err *e)
{
    json_t *v;
    sv_json_optional(problem, "/problem", "initial", &v, e);
    if (!v) {
        if (mu)
            mu[0] = 1.0;
        return SV_OK;
    }
    return read_row(v, "/problem/initial", S, mu, e);
}

static int read_horizon(const json_t *problem, sv_mdp_json_need need, sv_mdp_desc *d, sv_err *e)
{
    json_t *h, *g;
    int rc;
    sv_json_optional(problem, "/problem", "horizon", &h, e);
    sv_json_optional(problem, "/problem", "gamma", &g, e);
    d->H = 0;
    d->gamma = 0.95;
    if (h) {
        long v;
        if ((rc = sv_json_int(h, "/problem/horizon", 0, 100000, &v, e)) != SV_OK)
            return rc;
        d->H = (int)v;
    }
    if (g) {
        if ((rc = sv_json_number(g, "/problem/gamma", &d->gamma, e)) != SV_OK)
            return rc;
        if (!(d->gamma >= 0 && d->gamma < 1))
            return sv_fail(e, "/problem/gamma", "must be in [0, 1) (got %g)", d->gamma);
        if (d->H > 0)
            return sv_fail(e, "/problem/gamma", "an episodic problem (horizon %d) is not "
                           "discounted: give horizon or gamma, not both", d->H);
    }
    if (need == SV_MDP_EPISODIC && d->H == 0)
        return sv_fail(e, "/problem/horizon", "this solver needs an episodic MDP: give a horizon "
                       ">= 1");
    if (need == SV_MDP_DISCOUNTED && d->H > 0)
        return sv_fail(e, "/problem/horizon", "this solver needs a discounted MDP: leave horizon "
                       "out (or 0) and give gamma");
    return SV_OK;
}

static int check_limits(const sv_mdp_desc *d, const sv_codec_env *env, const char *path,
                        sv_err *e)
{
    int rc = sv_mdp_check_size(d->S, d->A, path, e);
    if (rc != SV_OK)
        return rc;
    long max_dim = env && env->max_dim > 0 ? env->max_dim : INT_MAX;
    long max_entries = env && env->max_entries > 0 ? env->max_entries : INT_MAX;
    if (d->S > max_dim)
        return sv_fail(e, path, "%d states exceed the limit of %ld", d->S, max_dim);
    double entries = (double)d->S * d->A * d->S;
    if (entries > (double)max_entries)
        return sv_fail(e, path, "%d states x %d actions make %.0f transition entries, more than "
                       "the limit of %ld", d->S, d->A, entries, max_entries);
    return SV_OK;
}

int sv_mdp_json_read(const json_t *problem, sv_mdp_json_form form, sv_mdp_json_need need,
                     const sv_codec_env *env, sv_mdp_desc *d, sv_err *e)
{
    memset(d, 0, sizeof *d);
    d->form = form;
    d->problem = problem;
    int rc = read_horizon(problem, need, d, e);
    if (rc != SV_OK)
        return rc;
    if (form == SV_MDP_JSON_GENERATE) {
        sv_params_defaults(sv_mdp_gen_params, &d->gen);
        if ((rc = sv_forms_decode_key(&sv_mdp_json_forms[SV_MDP_JSON_GENERATE], problem, &d->gen,
                                      e)) != SV_OK ||
            (rc = sv_mdp_gen_size(&d->gen, "/problem/generate", &d->S, &d->A, e)) != SV_OK)
            return rc;
        return check_limits(d, env, "/problem/generate", e);
    }
    json_t *tr;
    if ((rc = sv_json_require(problem, "/problem", "transitions", &tr, e)) != SV_OK)
        return rc;
    if (!json_is_array(tr) || json_array_size(tr) == 0)
        return sv_fail(e, "/problem/transitions", "expected a non-empty array: transitions[s][a] "
                       "is P(. | s, a)");
    const json_t *first = json_array_get(tr, 0);
    if (!json_is_array(first) || json_array_size(first) == 0)
        return sv_fail(e, "/problem/transitions/0", "expected a non-empty array of actions");
    if (json_array_size(tr) > INT_MAX || json_array_size(first) > INT_MAX)
        return sv_fail(e, "/problem/transitions", "too many states or actions");
    d->S = (int)json_array_size(tr);
    d->A = (int)json_array_size(first);
    if ((rc = check_limits(d, env, "/problem/transitions", e)) != SV_OK ||
        (rc = sv_mdp_json_transitions(tr, "/problem/transitions", d->S, d->A, NULL, e)) !=
            SV_OK ||
        (rc = read_rewards(problem, d->S, d->A, NULL, e)) != SV_OK)
        return rc;
    return read_initial(problem, d->S, NULL, e);
}

int sv_mdp_json_build(const sv_mdp_desc *d, sv_mdp *m, sv_err *e)
{
    if (d->form == SV_MDP_JSON_GENERATE)
        return sv_mdp_generate(&d->gen, d->H, d->gamma, m, "/problem/generate", e);
    int rc = sv_mdp_alloc(m, d->S, d->A, d->H, d->gamma);
    if (rc != SV_OK)
        return rc;
    if ((rc = sv_mdp_json_transitions(json_object_get(d->problem, "transitions"),
                                      "/problem/transitions", d->S, d->A, m->P, e)) != SV_OK ||
        (rc = read_rewards(d->problem, d->S, d->A, m->R, e)) != SV_OK ||
        (rc = read_initial(d->problem, d->S, m->mu, e)) != SV_OK ||
        (rc = sv_mdp_check(m, "/problem", e)) != SV_OK) {
        sv_mdp_free(m);
        return rc;
    }
    return SV_OK;
}

json_t *sv_mdp_json_summary(const sv_mdp *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "states", json_integer(m->S));
    json_object_set_new(o, "actions", json_integer(m->A));
    json_object_set_new(o, "horizon", json_integer(m->H));
    if (m->H == 0)
        json_object_set_new(o, "gamma", json_real(m->gamma));
    return o;
}
