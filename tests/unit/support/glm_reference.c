/* glm_reference.c - see glm_reference.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "core/linalg.h"
#include "glm_reference.h"

void sv_test_clients_normal_equations(const sv_glm_clients *c, double lambda, double *xstar)
{
    int n = c->n_clients, d = c->dim;
    double *H = calloc((size_t)d * d, sizeof *H);
    assert_non_null(H);
    sv_zero(d, xstar);
    for (int i = 0; i < n; i++) {
        const sv_dense *A = &c->A[i].dense;
        double wgt = 1.0 / ((double)n * A->rows);
        for (int r = 0; r < A->rows; r++) {
            const double *a = A->data + (size_t)r * d;
            for (int j = 0; j < d; j++) {
                xstar[j] += wgt * a[j] * c->b[i][r];
                for (int k = 0; k < d; k++)
                    H[j * d + k] += wgt * a[j] * a[k];
            }
        }
    }
    for (int j = 0; j < d; j++)
        H[j * d + j] += lambda;
    assert_int_equal(sv_solve_spd(d, H, xstar, 1), SV_OK);
    free(H);
}
