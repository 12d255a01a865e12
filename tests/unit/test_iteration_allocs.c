/* test_iteration_allocs.c - no solver allocates inside its iteration loop: every registered
 * solver's catalog example runs with malloc, calloc and realloc counted (this executable's own
 * definitions, which every library of the process then calls), and the count may not change
 * between the second progress report and the last report sent from inside the loop. Workspaces
 * are allocated once per solve; what a report or an iteration needs must come from them.
 *
 * Reports are the only points the test can observe, so "inside the loop" means between two
 * reports; the final report (sent by sv_loop_end after the loop) is excluded. Two documented
 * exceptions (below): a pruning round of secondorder.mfac, and solvers whose iterations are GLPK
 * MILPs. Under ASan, whose
 * allocator cannot be replaced this way, the test only says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <execinfo.h>
#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/codec.h"
#include "support/codec.h"

#if defined(__SANITIZE_ADDRESS__)
#define SV_COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SV_COUNT_ALLOCS 0
#endif
#endif
#ifndef SV_COUNT_ALLOCS
#define SV_COUNT_ALLOCS 1
#endif

static atomic_long n_allocs;
/* glibc's own entry points: the definitions below interpose on every caller in the process. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

#if SV_COUNT_ALLOCS
/* SV_ALLOC_TRACE=1: the call stacks of counted allocations between reports go to stderr (for
 * finding them; the test's verdict is the same). */
static int tracing, in_trace;

static void trace_alloc(void)
{
    if (!tracing || in_trace)
        return;
    in_trace = 1;
    void *frames[12];
    int n = backtrace(frames, 12);
    backtrace_symbols_fd(frames, n, 2);
    write(2, "--\n", 3);
    in_trace = 0;
}

void *malloc(size_t n)
{
    atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
    trace_alloc();
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
    trace_alloc();
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
    trace_alloc();
    return __libc_realloc(p, n);
}
#endif

#define MAX_REPORTS 100000

typedef struct {
    long n;                     /* reports seen */
    long *count;                /* allocations counted at each report */
    double *phase;              /* the report's "phase" metric, NaN when it has none */
} trace;

/* The one documented exception. An OBS pruning round of secondorder.mfac is a phase of its own,
 * not an iteration: it builds the static M-FAC inverse of that round's active weights and, with
 * obs_update "group", the ndrop x ndrop system of the removed set. Both are sized by the round
 * (the group system can reach d^2 doubles), so they are allocated per round instead of being
 * held for the whole solve. The test skips the intervals that end in a pruning report (phase 1)
 * or cross a phase change; every fitting and fine-tuning interval must still allocate nothing. */
static const struct {
    const char *solver;
    double phase;
} round_phases[] = {{"secondorder.mfac", 1}};

/* The second exception: solvers whose iterations are MILPs solved by GLPK. glp_intopt allocates
 * its search tree, its working copy of the problem and its cut pools on every call, and GLPK has
 * no allocator hook to serve them from a workspace; robust.ccg's master also grows by one
 * scenario block (columns and rows, stored by GLPK) an iteration, as column-and-constraint
 * generation does by definition. The solver's own arrays are still allocated once per solve. */
static const char *const glpk_milp_solvers[] = {"robust.ccg"};

static int exempt(const char *solver, const trace *t, long k)
{
    for (size_t i = 0; i < sizeof glpk_milp_solvers / sizeof *glpk_milp_solvers; i++)
        if (strcmp(solver, glpk_milp_solvers[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof round_phases / sizeof *round_phases; i++)
        if (strcmp(solver, round_phases[i].solver) == 0)
            return t->phase[k] == round_phases[i].phase || t->phase[k] != t->phase[k - 1];
    return 0;
}

static int on_report(const sv_progress *p, void *data)
{
    trace *t = data;
    if (t->n < MAX_REPORTS) {
        t->count[t->n] = atomic_load(&n_allocs);
        t->phase[t->n] = NAN;
        for (int i = 0; i < p->n_metrics; i++)
            if (strcmp(p->metrics[i].name, "phase") == 0)
                t->phase[t->n] = p->metrics[i].value;
    }
    t->n++;
#if SV_COUNT_ALLOCS
    tracing = t->n >= 2 && getenv("SV_ALLOC_TRACE") != NULL;
#endif
    return 0;
}

static void test_no_allocation_between_reports(void **state)
{
    (void)state;
    if (!SV_COUNT_ALLOCS) {
        print_message("allocation counting is off under ASan\n");
        return;
    }
    long *count = __libc_malloc(MAX_REPORTS * sizeof *count);
    double *phase = __libc_malloc(MAX_REPORTS * sizeof *phase);
    assert_non_null(count);
    assert_non_null(phase);
    int failures = 0;
    for (const sv_codec *const *c = sv_codecs(); *c; c++) {
        json_t *ex = (*c)->example();
        trace t = {0, count, phase};
        sv_monitor mon = {on_report, &t, NULL};
        json_t *res = sv_test_codec_run_json(*c, json_object_get(ex, "problem"),
                                             json_object_get(ex, "params"), &mon);
#if SV_COUNT_ALLOCS
        tracing = 0;
#endif
        long inside = t.n < MAX_REPORTS ? t.n - 1 : MAX_REPORTS;  /* the last one is the final */
        long grew = 0;
        for (long k = 2; k < inside; k++)  /* the intervals from report 2 to report inside */
            if (!exempt((*c)->name, &t, k))
                grew += count[k] - count[k - 1];
        print_message("%-24s %5ld reports, %ld allocations between report 2 and %ld\n",
                      (*c)->name, t.n, grew, inside);
        if (inside < 3) {
            print_message("  %s: too few reports to tell\n", (*c)->name);
            failures++;
        } else if (grew != 0) {
            failures++;
        }
        json_decref(res);
        json_decref(ex);
    }
    free(count);
    free(phase);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_allocation_between_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
