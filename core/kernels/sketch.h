/* sketch.h - randomized iterative sketching (sketch-and-project) for a consistent dense linear
 * system A z = rhs: at each step a random sketch S picks a few equations (or random
 * combinations of them) and z moves to the nearest point that satisfies them,
 *
 *     z <- z - A'S (S'A A'S)^+ S'(A z - rhs),
 *
 * with three kinds of S: randomized Kaczmarz (one row drawn by its squared norm, Strohmer and
 * Vershynin), block Kaczmarz (s distinct rows drawn uniformly) and Gaussian sketches (s i.i.d.
 * N(0, 1) columns), after Gower and Richtarik, "Randomized iterative methods for linear
 * systems", SIAM J. Matrix Anal. Appl. 2015. In expectation a step contracts the error by the
 * mean sketched projection, E[z+] - z* = (I - E[Z])(z - z*): Kaczmarz E[Z] = A'A / |A|_F^2, and
 * for an orthogonal A the Gaussian and the block sketch of s rows E[Z] = (s/n) I
 * (tests/unit/test_sketch.c checks these). The engine of constrained.eal_sketch's inexact Newton
 * steps; nothing in it is specific to that solver. No allocation after sv_sketch_ws_new. */
#ifndef SV_SKETCH_H
#define SV_SKETCH_H

#include "core/rng.h"
#include "core/solver.h"

typedef enum {
    /* S = e_i, row i drawn with probability |a_i|^2 / |A|_F^2: randomized Kaczmarz
     * (Strohmer-Vershynin). */
    SV_SKETCH_KACZMARZ = 0,
    /* S = [e_i1 .. e_is], s distinct rows drawn uniformly: block Kaczmarz. */
    SV_SKETCH_BLOCK = 1,
    /* S with s i.i.d. N(0, 1) columns: Gaussian sketch-and-project. */
    SV_SKETCH_GAUSSIAN = 2
} sv_sketch_kind;

/* Kaczmarz and block steps between two calls of opts->stop (a Gaussian step calls it after
 * every step: one costs as much as a residual). */
#define SV_SKETCH_POLL_EVERY 256

typedef struct {
    int kind;           /* sv_sketch_kind */
    int size;           /* s, columns of S for BLOCK and GAUSSIAN (capped at the rows); KACZMARZ: 1 */
    double tol;         /* stop when |A z - rhs| <= tol (absolute, Euclidean) */
    long max_iter;      /* sketch-and-project steps at most */
    /* Asked every SV_SKETCH_POLL_EVERY steps (GAUSSIAN: every step); non-zero ends the solve
     * early (stats.stopped). May be NULL: never. */
    int (*stop)(void *data);
    void *stop_data;
} sv_sketch_opts;

typedef struct {
    long iters;         /* steps taken */
    double res;         /* |A z - rhs| at the returned z */
    int converged;      /* res <= tol */
    int stopped;        /* opts->stop asked to end the solve */
} sv_sketch_stats;

typedef struct sv_sketch_ws sv_sketch_ws;

/* Workspace for rows x cols systems with this kind and size. SV_OK, SV_ENOMEM, or SV_EINVAL
 * when rows or cols < 1. */
int sv_sketch_ws_new(int rows, int cols, int kind, int size, sv_sketch_ws **out);
void sv_sketch_ws_free(sv_sketch_ws *w);  /* accepts NULL */

/* Sketch-and-project on the consistent system A z = rhs (A dense rows x cols, row-major), from z
 * (in: the start; out: the last iterate): one random S per step, drawn from rng, until
 * |A z - rhs| <= opts->tol, max_iter steps or opts->stop. The residual is checked at the start
 * and then every step (GAUSSIAN) or every ceil(rows / s) steps (KACZMARZ, BLOCK: their steps
 * cost O(s cols), a check O(rows cols)), and at the end. Rows of A that are zero are never drawn
 * by KACZMARZ; a block of dependent rows is projected on row by row; a degenerate Gaussian draw
 * is skipped. Nothing is allocated. */
void sv_sketch_solve(int rows, int cols, const double *A, const double *rhs,
                     const sv_sketch_opts *opts, sv_rng *rng, sv_sketch_ws *ws, double *z,
                     sv_sketch_stats *st);

/* |A z - rhs|, using the workspace's scratch (the same computation the solve checks with). */
double sv_sketch_residual(int rows, int cols, const double *A, const double *rhs, const double *z,
                          sv_sketch_ws *ws);

#endif
