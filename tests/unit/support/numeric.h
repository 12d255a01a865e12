/* numeric.h - the distances unit tests compare vectors with, and the lookup of a named metric in
 * a solver's progress report (core/solver.h). */
#ifndef SOLVD_TEST_SUPPORT_NUMERIC_H
#define SOLVD_TEST_SUPPORT_NUMERIC_H

#include "core/solver.h"

/* max_i |x_i - y_i| (0 for n = 0). */
double sv_test_max_abs_diff(int n, const double *x, const double *y);

/* The Euclidean distance |x - y|_2. */
double sv_test_dist(int n, const double *x, const double *y);

/* The value of the metric called name in p; a report without it fails the test. */
double sv_test_metric(const sv_progress *p, const char *name);

#endif
