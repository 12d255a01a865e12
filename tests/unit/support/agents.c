/* agents.c - instance and graph fixtures of the agents-on-a-graph solvers' tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/agents.h"

void sv_test_agents(sv_glm_clients *c, sv_loss loss, int n, int m, int d, double h,
                    double lambda, uint64_t seed)
{
    sv_gen_glm_spec spec = {n, m, d, loss, h, lambda, seed};
    sv_err e;
    assert_int_equal(sv_gen_glm_clients(&spec, c, &e), SV_OK);
}

void sv_test_topology(sv_graph *g, int topology, int n)
{
    sv_graph_spec s = {topology, 0.3, 0};
    sv_err e;
    assert_int_equal(sv_graph_generate(&s, n, g, &e), SV_OK);
}
