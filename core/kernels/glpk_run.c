/* glpk_run.c - interruptible GLPK calls (glpk_run.h). */
#include "core/kernels/glpk_run.h"

#include <glpk.h>
#include <setjmp.h>

typedef struct {
    sv_loop *L;
    jmp_buf back;
    int stopping;   /* the stop error was raised: its own message must not raise it again */
} guard;

static int on_output(void *info, const char *text)
{
    guard *g = info;
    (void)text;
    if (!g->stopping && sv_loop_poll(g->L)) {
        g->stopping = 1;
        glp_error("solvd: the solve was asked to stop\n");
    }
    return 1;   /* swallowed: GLPK never writes to the daemon's stdout */
}

static void on_error(void *info)
{
    guard *g = info;
    longjmp(g->back, 1);
}

sv_glpk_outcome sv_glpk_run(sv_loop *L, sv_glpk_fn fn, void *ctx, int *ret)
{
    /* volatile: read after the longjmp. */
    guard g = {.L = L, .stopping = 0};
    volatile guard *vg = &g;
    if (setjmp(g.back)) {
        glp_free_env();
        return vg->stopping ? SV_GLPK_STOPPED : SV_GLPK_FAILED;
    }
    glp_term_hook(on_output, &g);
    glp_error_hook(on_error, &g);
    int r = fn(ctx);
    glp_term_hook(NULL, NULL);
    glp_error_hook(NULL, NULL);
    if (ret)
        *ret = r;
    return SV_GLPK_DONE;
}
