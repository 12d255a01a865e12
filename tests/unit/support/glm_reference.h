/* glm_reference.h - independent reference optima for the generated GLM instances
 * (core/models/gen_glm.h), computed entry by entry here rather than by the code under test.
 * Shared by the distributed solver tests and the schedule tests that run EF21. */
#ifndef SOLVD_TEST_SUPPORT_GLM_REFERENCE_H
#define SOLVD_TEST_SUPPORT_GLM_REFERENCE_H

#include "core/models/gen_glm.h"

/* The minimiser of f = (1/n) sum_i [ |A_i x - b_i|^2 / (2 m_i) + lambda |x|^2 / 2 ] over the n
 * clients of c (dense A_i with m_i rows), from its normal equations assembled entry by entry and
 * solved by Cholesky; xstar has c->dim entries. */
void sv_test_clients_normal_equations(const sv_glm_clients *c, double lambda, double *xstar);

#endif
