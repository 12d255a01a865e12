/* expm.c - scaling and squaring with Pade approximants (Higham 2005), see expm.h. The constants
 * are the coefficients b_j of the [m/m] Pade approximant of exp, p_m(x) = sum_j b_j x^j, scaled
 * so that b_m = 1, and Higham's bounds theta_m on |A| below which the degree-m approximant has a
 * backward error under the unit roundoff (his Table 2.3). */
#include "core/kernels/expm.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double theta[5] = {1.495585217958292e-2, 2.539398330063230e-1,
                                9.504178996162932e-1, 2.097847961257068e0,
                                5.371920351148152e0};
static const int degrees[5] = {3, 5, 7, 9, 13};

static const double b3[] = {120, 60, 12, 1};
static const double b5[] = {30240, 15120, 3360, 420, 30, 1};
static const double b7[] = {17297280, 8648640, 1995840, 277200, 25200, 1512, 56, 1};
static const double b9[] = {17643225600., 8821612800., 2075673600., 302702400., 30270240.,
                            2162160., 110880., 3960., 90., 1.};
static const double b13[] = {64764752532480000., 32382376266240000., 7771770303897600.,
                             1187353796428800., 129060195264000., 10559470521600.,
                             670442572800., 33522128640., 1323241920., 40840800., 960960.,
                             16380., 182., 1.};

int sv_expm_ws_alloc(sv_expm_ws *ws, int n_max)
{
    memset(ws, 0, sizeof *ws);
    if (n_max < 1)
        return SV_EINVAL;
    size_t nn = (size_t)n_max * (size_t)n_max;
    ws->buf = malloc(8 * nn * sizeof *ws->buf);
    ws->ipiv = malloc((size_t)n_max * sizeof *ws->ipiv);
    if (!ws->buf || !ws->ipiv) {
        sv_expm_ws_free(ws);
        return SV_ENOMEM;
    }
    ws->n_max = n_max;
    return SV_OK;
}

void sv_expm_ws_free(sv_expm_ws *ws)
{
    if (!ws)
        return;
    free(ws->buf);
    free(ws->ipiv);
    memset(ws, 0, sizeof *ws);
}

/* C = A B, n x n column-major. */
static void mm(int n, const double *A, const double *B, double *C)
{
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, A, n, B, n, 0.0, C, n);
}

/* Y = sum_i c[i] P[i] over the k matrices P (P[0] = NULL stands for I). */
static void combine(int n, int k, const double *const *P, const double *c, double *Y)
{
    size_t nn = (size_t)n * (size_t)n;
    memset(Y, 0, nn * sizeof *Y);
    for (int i = 0; i < k; i++) {
        if (c[i] == 0)
            continue;
        if (!P[i]) {
            for (int j = 0; j < n; j++)
                Y[(size_t)j * n + j] += c[i];
        } else {
            cblas_daxpy((int)nn, c[i], P[i], 1, Y, 1);
        }
    }
}

/* The 1-norm (largest column sum) of column-major A; NaN when an entry is not finite. */
static double norm1(int n, const double *A)
{
    double best = 0;
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < n; i++)
            s += fabs(A[(size_t)j * n + i]);
        if (!isfinite(s))
            return NAN;
        if (s > best)
            best = s;
    }
    return best;
}

int sv_expm(sv_expm_ws *ws, int n, const double *A, double *E, int *degree, int *squarings)
{
    if (!ws || !ws->buf || n < 1 || n > ws->n_max)
        return SV_EINVAL;
    size_t nn = (size_t)n * (size_t)n;
    double *As = ws->buf, *A2 = As + nn, *A4 = A2 + nn, *A6 = A4 + nn, *A8 = A6 + nn;
    double *U = A8 + nn, *V = U + nn, *T = V + nn;
    double nrm = norm1(n, A);
    if (isnan(nrm))
        return SV_ENUMERIC;
    int m = 13, s = 0, which = 4;
    for (int i = 0; i < 4; i++) {
        if (nrm <= theta[i]) {
            m = degrees[i];
            which = i;
            break;
        }
    }
    double scale = 1.0;
    if (which == 4 && nrm > theta[4]) {
        s = (int)ceil(log2(nrm / theta[4]));
        if (s < 0)
            s = 0;
        scale = ldexp(1.0, -s);
    }
    memcpy(As, A, nn * sizeof *As);
    if (scale != 1.0)
        cblas_dscal((int)nn, scale, As, 1);
    mm(n, As, As, A2);
    if (m >= 5)
        mm(n, A2, A2, A4);
    if (m >= 7)
        mm(n, A4, A2, A6);
    if (m == 9)
        mm(n, A6, A2, A8);
    if (m <= 9) {
        /* U = A sum_i b_{2i+1} A^{2i}, V = sum_i b_{2i} A^{2i}. */
        const double *b = m == 3 ? b3 : m == 5 ? b5 : m == 7 ? b7 : b9;
        const double *P[5] = {NULL, A2, A4, A6, A8};
        double codd[5], ceven[5];
        int k = (m + 1) / 2;
        for (int i = 0; i < k; i++) {
            codd[i] = b[2 * i + 1];
            ceven[i] = b[2 * i];
        }
        combine(n, k, P, codd, T);
        mm(n, As, T, U);
        combine(n, k, P, ceven, V);
    } else {
        /* U = A [A6 (b13 A6 + b11 A4 + b9 A2) + b7 A6 + b5 A4 + b3 A2 + b1 I],
         * V = A6 (b12 A6 + b10 A4 + b8 A2) + b6 A6 + b4 A4 + b2 A2 + b0 I. */
        const double *P[4] = {NULL, A2, A4, A6};
        double c1[4] = {0, b13[9], b13[11], b13[13]};
        combine(n, 4, P, c1, T);
        mm(n, A6, T, U);  /* U as scratch: A6 (...) */
        double c2[4] = {b13[1], b13[3], b13[5], b13[7]};
        const double *Q[5] = {NULL, A2, A4, A6, U};
        double c2u[5] = {c2[0], c2[1], c2[2], c2[3], 1.0};
        combine(n, 5, Q, c2u, T);
        mm(n, As, T, U);
        double c3[4] = {0, b13[8], b13[10], b13[12]};
        combine(n, 4, P, c3, T);
        mm(n, A6, T, V);
        double c4[4] = {b13[0], b13[2], b13[4], b13[6]};
        combine(n, 4, P, c4, T);
        cblas_daxpy((int)nn, 1.0, T, 1, V, 1);
    }
    /* r = (V - U)^-1 (V + U): V - U into T, V + U into E. */
    for (size_t i = 0; i < nn; i++) {
        T[i] = V[i] - U[i];
        E[i] = V[i] + U[i];
    }
    lapack_int info = LAPACKE_dgesv_work(LAPACK_COL_MAJOR, n, n, T, n, ws->ipiv, E, n);
    if (info != 0)
        return SV_ENUMERIC;
    for (int i = 0; i < s; i++) {
        mm(n, E, E, T);
        memcpy(E, T, nn * sizeof *E);
    }
    if (degree)
        *degree = m;
    if (squarings)
        *squarings = s;
    for (size_t i = 0; i < nn; i++)
        if (!isfinite(E[i]))
            return SV_ENUMERIC;
    return SV_OK;
}
