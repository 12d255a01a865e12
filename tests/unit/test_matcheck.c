/* test_matcheck.c - the storage check of a core matrix (core/matcheck.c) and its use by the
 * solvers that validate linear-model data (ef21, lion, bip): each broken storage is reported at
 * the solver's own path with the text the solvers gave before they shared the check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/matcheck.h"
#include "core/solvers/bilevel/bip.h"
#include "core/solvers/distributed/ef21.h"
#include "core/solvers/constrained/lion.h"

/* 2 x 2 matrices, good and broken in each way the check knows. */
static double dense_ok[4] = {1, 2, 3, 4};
static double dense_nan[4] = {1, 2, NAN, 4};
static int rowptr[3] = {0, 1, 2}, colind[2] = {0, 1};
static double val_ok[2] = {1, 2}, val_inf[2] = {1, INFINITY};

static sv_mat dense(double *data, int drows)
{
    sv_mat m;
    memset(&m, 0, sizeof m);
    m.kind = SV_MAT_DENSE;
    m.rows = m.cols = 2;
    m.dense = (sv_dense){drows, 2, data};
    return m;
}

static sv_mat csr(double *val, int crows)
{
    sv_mat m;
    memset(&m, 0, sizeof m);
    m.kind = SV_MAT_CSR;
    m.rows = m.cols = 2;
    m.csr = (sv_csr){crows, 2, 2, rowptr, colind, val};
    return m;
}

typedef struct {
    sv_mat m;
    const char *msg;   /* NULL: accepted */
} mcase;

static mcase cases[7];

static void make_cases(void)
{
    cases[0] = (mcase){dense(dense_ok, 2), NULL};
    cases[1] = (mcase){dense(dense_nan, 2), "row 1 holds a non-finite entry"};
    cases[2] = (mcase){dense(dense_ok, 3), "dense storage does not match the shape"};
    cases[3] = (mcase){csr(val_ok, 2), NULL};
    cases[4] = (mcase){csr(val_inf, 2), "holds a non-finite entry"};
    cases[5] = (mcase){csr(val_ok, 1), "sparse storage does not match the shape"};
    cases[6] = (mcase){dense(dense_ok, 2), "unknown matrix kind"};
    cases[6].m.kind = (sv_mat_kind)7;
}

static void check(int rc, const sv_err *e, const char *field, const char *msg, const char *who)
{
    if (!msg) {
        if (rc == SV_EINVAL && strcmp(e->field, field) == 0)
            fail_msg("%s: good matrix rejected: %s", who, e->msg);
        return;
    }
    if (rc != SV_EINVAL || strcmp(e->field, field) != 0 || strcmp(e->msg, msg) != 0)
        fail_msg("%s: expected %s: %s; got rc %d at %s: %s", who, field, msg, rc, e->field,
                 e->msg);
}

static void test_module(void **state)
{
    (void)state;
    make_cases();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sv_err e;
        memset(&e, 0, sizeof e);
        int rc = sv_mat_check_storage(&cases[i].m, "/x/A", &e);
        if (!cases[i].msg)
            assert_int_equal(rc, SV_OK);
        else
            check(rc, &e, "/x/A", cases[i].msg, "sv_mat_check_storage");
    }
}

static double b2[2] = {1, -1};

static void test_ef21(void **state)
{
    (void)state;
    make_cases();
    ef21_settings s;
    ef21_settings_default(&s);
    s.k = 1;
    s.ctl.max_iter = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sv_glm g = {SV_LOSS_SQUARED, &cases[i].m, b2, NULL, 0.0, NULL};
        ef21_problem p = {1, &g};
        double x[2] = {0, 0};
        ef21_info info;
        sv_err e;
        memset(&e, 0, sizeof e);
        int rc = ef21_solve(&p, &s, NULL, x, &info, &e);
        check(rc, &e, "/problem/clients/0/A", cases[i].msg, "ef21");
    }
}

static void test_lion(void **state)
{
    (void)state;
    make_cases();
    lion_settings s;
    lion_settings_default(&s);
    s.ctl.max_iter = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sv_glm g = {SV_LOSS_SQUARED, &cases[i].m, b2, NULL, 0.0, NULL};
        lion_problem p;
        memset(&p, 0, sizeof p);
        p.dim = 2;
        p.glm = &g;
        double x[2] = {0, 0};
        lion_info info;
        sv_err e;
        memset(&e, 0, sizeof e);
        int rc = lion_solve(&p, &s, NULL, x, &info, &e);
        check(rc, &e, "/problem/A", cases[i].msg, "lion");
    }
}

static void test_bip(void **state)
{
    (void)state;
    make_cases();
    sv_mat good = dense(dense_ok, 2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sv_err e;
        memset(&e, 0, sizeof e);
        bip_problem p = {SV_LOSS_SQUARED, &cases[i].m, b2, &good, b2, 1};
        check(bip_check_problem(&p, &e), &e, "/problem/A", cases[i].msg, "bip A");
        memset(&e, 0, sizeof e);
        bip_problem q = {SV_LOSS_SQUARED, &good, b2, &cases[i].m, b2, 1};
        check(bip_check_problem(&q, &e), &e, "/problem/A_val", cases[i].msg, "bip A_val");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_module),
        cmocka_unit_test(test_ef21),
        cmocka_unit_test(test_lion),
        cmocka_unit_test(test_bip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
