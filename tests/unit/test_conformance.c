/* test_conformance.c - every registered solver against the platform's contract: the one list
 * (api/solvers.def) sorted and unique, each codec named and documented where the list says, the
 * README's family table equal to the catalog's families, the parameter table's defaults equal to
 * the solver's settings_default and to the schema's defaults, the defaults valid, unknown members
 * refused at every level (params, params.schedule, problem, problem.generate), and the catalog
 * example valid and solved, reporting progress often enough to draw a curve. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/codec.h"
#include "api/params.h"

static const sv_codec_env env = {100000, 10000000, SOLVD_REPO_DATA};

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- the list ---- */

static void test_list_sorted_unique_documented(void **state)
{
    (void)state;
    const sv_solver_entry *en = sv_solver_entries();
    const sv_codec *const *codecs = sv_codecs();
    int n = 0;
    for (; en[n].name; n++) {
        const sv_codec *c = codecs[n];
        assert_non_null(c);
        if (n > 0 && strcmp(en[n - 1].name, en[n].name) >= 0)
            fail_msg("api/solvers.def: %s comes after %s (sorted, unique)", en[n].name,
                     en[n - 1].name);
        for (int j = 0; j < n; j++)
            if (strcmp(en[j].stem, en[n].stem) == 0)
                fail_msg("stem %s used twice (C prefixes must be unique)", en[n].stem);
        assert_string_equal(c->name, en[n].name);
        assert_string_equal(c->family, en[n].family);
        char doc[256], path[1024];
        snprintf(doc, sizeof doc, "docs/solvers/%s/%s.md", en[n].family, en[n].stem);
        assert_string_equal(c->doc, doc);
        snprintf(path, sizeof path, "%s/%s", SOLVD_SOURCE_DIR, doc);
        struct stat st;
        if (stat(path, &st) != 0)
            fail_msg("%s: no doc page %s", c->name, doc);
        assert_true(c->summary && *c->summary);
        assert_true(c->paper && *c->paper);
    }
    assert_null(codecs[n]);
    assert_true(n >= 1);
}

/* The README's table of families (between its markers) names exactly the catalog's families,
 * each linking its folder of pages. */
static void test_readme_families(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/README.md", SOLVD_SOURCE_DIR);
    char *readme = read_file(path);
    assert_non_null(readme);
    const char *begin = strstr(readme, "<!-- BEGIN families -->");
    const char *end = strstr(readme, "<!-- END families -->");
    if (!begin || !end || end < begin)
        fail_msg("README.md has no <!-- BEGIN families --> ... <!-- END families --> table");
    size_t len = (size_t)(end - begin);
    char *table = malloc(len + 1);
    memcpy(table, begin, len);
    table[len] = '\0';
    const sv_solver_entry *en = sv_solver_entries();
    int families = 0;
    for (int i = 0; en[i].name; i++) {
        if (i > 0 && strcmp(en[i - 1].family, en[i].family) == 0)
            continue;
        families++;
        char row[160];
        snprintf(row, sizeof row, "| `%s` |", en[i].family);
        if (!strstr(table, row))
            fail_msg("README family table lacks a row %s", row);
        snprintf(row, sizeof row, "(docs/solvers/%s/)", en[i].family);
        if (!strstr(table, row))
            fail_msg("README family table does not link %s", row);
    }
    /* No row for a family the catalog does not have: count the rows. */
    int rows = 0;
    for (const char *p = table; (p = strstr(p, "\n| `")); p++)
        rows++;
    assert_int_equal(rows, families);
    free(table);
    free(readme);
}

/* ---- parameters ---- */

/* a and b hold the same JSON value, numbers compared as doubles. */
static int same_json(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

static void test_params_defaults_agree(void **state)
{
    (void)state;
    for (const sv_codec *const *cp = sv_codecs(); *cp; cp++) {
        const sv_codec *c = *cp;
        if (!c->params || !c->settings_default || c->settings_size == 0)
            fail_msg("%s: no parameter table / settings_default in its codec", c->name);
        char *a = calloc(1, c->settings_size), *b = calloc(1, c->settings_size);
        c->settings_default(a);
        memcpy(b, a, c->settings_size);
        sv_params_defaults(c->params, b);
        sv_err e;
        memset(&e, 0, sizeof e);
        if (sv_params_validate(c->params, a, "/params", &e) != SV_OK)
            fail_msg("%s: defaults fail validation at %s: %s", c->name, e.field, e.msg);
        json_t *ja = sv_params_encode(c->params, a), *jb = sv_params_encode(c->params, b);
        if (!json_equal(ja, jb)) {
            char *ta = json_dumps(ja, JSON_SORT_KEYS), *tb = json_dumps(jb, JSON_SORT_KEYS);
            fail_msg("%s: settings_default %s differs from the table's defaults %s", c->name, ta,
                     tb);
        }
        /* The schema shows the decoder's defaults: decoding {} gives settings_default. */
        json_t *schema = sv_codec_params_schema(c);
        json_t *props = json_object_get(schema, "properties");
        const char *key;
        json_t *v;
        json_object_foreach(props, key, v) {
            json_t *def = json_object_get(v, "default");
            json_t *have = json_object_get(ja, key);
            if (!have)
                fail_msg("%s: schema property %s is not in the table", c->name, key);
            if (def && !same_json(def, have) && !json_is_object(have))
                fail_msg("%s: schema default of %s differs from settings_default", c->name, key);
        }
        assert_int_equal(json_object_size(props), json_object_size(ja));
        json_decref(schema);
        json_decref(ja);
        json_decref(jb);
        free(a);
        free(b);
    }
}

/* ---- unknown members, at every level ---- */

static void expect_refused(const sv_codec *c, const json_t *problem, const json_t *params,
                           const char *path)
{
    sv_err e;
    memset(&e, 0, sizeof e);
    int rc = c->validate(problem, params, &env, &e);
    if (rc != SV_EINVAL || strcmp(e.field, path) != 0)
        fail_msg("%s: an unknown member at %s gave rc %d at '%s': %s", c->name, path, rc,
                 e.field, e.msg);
}

static void test_unknown_members_refused(void **state)
{
    (void)state;
    for (const sv_codec *const *cp = sv_codecs(); *cp; cp++) {
        const sv_codec *c = *cp;
        json_t *ex = c->example();
        json_t *problem = json_object_get(ex, "problem"), *params = json_object_get(ex, "params");
        json_t *p2 = json_deep_copy(params ? params : json_object());
        json_object_set_new(p2, "zz_unknown", json_integer(1));
        expect_refused(c, problem, p2, "/params/zz_unknown");
        json_decref(p2);
        if (sv_params_find(c->params, "schedule")) {
            p2 = json_deep_copy(params ? params : json_object());
            json_object_set_new(p2, "schedule", json_pack("{s:s, s:i}", "kind", "cosine",
                                                          "zz_unknown", 1));
            expect_refused(c, problem, p2, "/params/schedule/zz_unknown");
            json_decref(p2);
        }
        json_t *q = json_deep_copy(problem);
        json_object_set_new(q, "zz_unknown", json_integer(1));
        expect_refused(c, q, params, "/problem/zz_unknown");
        json_decref(q);
        if (json_is_object(json_object_get(problem, "generate"))) {
            q = json_deep_copy(problem);
            json_object_set_new(json_object_get(q, "generate"), "zz_unknown", json_integer(1));
            expect_refused(c, q, params, "/problem/generate/zz_unknown");
            json_decref(q);
        }
        json_decref(ex);
    }
}

/* ---- the example ---- */

typedef struct {
    int reports;
} counter;

static int count_reports(const sv_progress *p, void *data)
{
    (void)p;
    ((counter *)data)->reports++;
    return 0;
}

static void test_examples_validate_and_solve(void **state)
{
    (void)state;
    for (const sv_codec *const *cp = sv_codecs(); *cp; cp++) {
        const sv_codec *c = *cp;
        json_t *ex = c->example();
        assert_true(json_is_object(ex));
        json_t *problem = json_object_get(ex, "problem"), *params = json_object_get(ex, "params");
        sv_err e;
        memset(&e, 0, sizeof e);
        if (c->validate(problem, params, &env, &e) != SV_OK)
            fail_msg("%s: example refused at %s: %s", c->name, e.field, e.msg);
        counter n = {0};
        sv_monitor mon = {count_reports, &n, NULL};
        json_t *result = NULL;
        if (c->run(problem, params, &env, &mon, &result, &e) != SV_OK)
            fail_msg("%s: example failed at %s: %s", c->name, e.field, e.msg);
        const char *status = json_string_value(json_object_get(result, "status"));
        print_message("%-26s %-10s %4d reports\n", c->name, status ? status : "?", n.reports);
        if (!status || strcmp(status, "solved") != 0)
            fail_msg("%s: the example ended %s, not solved", c->name, status ? status : "?");
        if (n.reports < 20)
            fail_msg("%s: the example reported %d times; a curve needs at least 20", c->name,
                     n.reports);
        json_decref(result);
        json_decref(ex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_sorted_unique_documented),
        cmocka_unit_test(test_readme_families),
        cmocka_unit_test(test_params_defaults_agree),
        cmocka_unit_test(test_unknown_members_refused),
        cmocka_unit_test(test_examples_validate_and_solve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
