/* inertia.c - the inertia of a symmetric matrix from dsytrf's D (see inertia.h). */
#include "core/kernels/inertia.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/solver.h"

_Static_assert(sizeof(lapack_int) == sizeof(int), "sv_inertia_ws.ipiv holds lapack_int");

int sv_inertia_ws_alloc(sv_inertia_ws *ws, int n_max)
{
    memset(ws, 0, sizeof *ws);
    if (n_max < 0)
        return SV_EINVAL;
    ws->n_max = n_max;
    /* dsytrf's optimal block size is found by a workspace query on a dummy call; a blocked
     * factorization needs n * nb doubles, the unblocked one 1 */
    int lwork = 1;
    if (n_max > 0) {
        double q = 0.0, a = 0.0;
        lapack_int ip = 0;
        if (LAPACKE_dsytrf_work(LAPACK_COL_MAJOR, 'L', n_max, &a, n_max, &ip, &q, -1) == 0 &&
            q >= 1.0 && q < 1e12)
            lwork = (int)q;
    }
    ws->ipiv = malloc(((size_t)n_max + 1) * sizeof *ws->ipiv);
    ws->work = malloc((size_t)lwork * sizeof *ws->work);
    ws->lwork = lwork;
    if (!ws->ipiv || !ws->work) {
        sv_inertia_ws_free(ws);
        return SV_ENOMEM;
    }
    return SV_OK;
}

void sv_inertia_ws_free(sv_inertia_ws *ws)
{
    free(ws->ipiv);
    free(ws->work);
    memset(ws, 0, sizeof *ws);
}

static void count(double d, double tol, sv_inertia *out)
{
    if (fabs(d) <= tol)
        out->zero++;
    else if (d > 0)
        out->pos++;
    else
        out->neg++;
}

int sv_sym_inertia(sv_inertia_ws *ws, int n, double *A, double tol, sv_inertia *out)
{
    memset(out, 0, sizeof *out);
    if (n < 0 || n > ws->n_max || !(tol >= 0))
        return SV_EINVAL;
    if (n == 0)
        return SV_OK;
    for (size_t i = 0; i < (size_t)n * n; i++)
        if (!isfinite(A[i]))
            return SV_ENUMERIC;
    /* The column-major lower triangle is the row-major upper one; for a symmetric matrix in
     * full storage either is the matrix, and the column-major call makes no transposed copy. */
    lapack_int info = LAPACKE_dsytrf_work(LAPACK_COL_MAJOR, 'L', n, A, n, ws->ipiv, ws->work,
                                          ws->lwork);
    /* info > 0: D(info, info) is exactly zero, which is an answer here, not a failure */
    if (info < 0)
        return SV_ENUMERIC;
    for (int k = 0; k < n;) {
        const double a = A[(size_t)k * n + k];
        if (ws->ipiv[k] > 0 || k + 1 == n) {
            count(a, tol, out);
            k++;
            continue;
        }
        /* a 2x2 block [a b; b c] in rows and columns k, k + 1 (column-major lower: b is
         * A(k + 1, k), at k * n + k + 1) */
        const double b = A[(size_t)k * n + k + 1], c = A[(size_t)(k + 1) * n + k + 1];
        /* its eigenvalues (a + c)/2 -+ sqrt(((a - c)/2)^2 + b^2), the smaller one in the form
         * that does not cancel: det / larger */
        const double mid = 0.5 * (a + c), rad = hypot(0.5 * (a - c), b);
        const double big = mid >= 0 ? mid + rad : mid - rad;
        const double small = big != 0 ? (a * c - b * b) / big : 0.0;
        count(big, tol, out);
        count(small, tol, out);
        k += 2;
    }
    return SV_OK;
}
