/* libFuzzer target: arbitrary bytes as an expression over a scalar x and a 3-vector v
 * (core/expr_*.c), in each of the three modes. Compiled expressions are evaluated with their
 * gradient and a Hessian-vector product; errors must point inside the string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/expr/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *src = malloc(size + 1);
    if (!src)
        return 0;
    memcpy(src, data, size);
    src[size] = 0;
    static const sv_expr_var vars[] = {{"x", 1}, {"v", 3}};
    for (int mode = SV_EXPR_PLAIN; mode <= SV_EXPR_INEQUALITY; mode++) {
        sv_expr *ex = NULL;
        sv_expr_error err;
        if (sv_expr_compile(src, vars, 2, (sv_expr_mode)mode, &ex, &err) == 0) {
            double x[4] = {0.5, -1.25, 2.0, 3.5}, g[4] = {0}, v[4] = {1, 0, -1, 0.5},
                   hv[4] = {0};
            (void)sv_expr_value(ex, x);
            (void)sv_expr_grad(ex, x, g);
            (void)sv_expr_hvp_add(ex, x, v, 1.0, hv, g);
            sv_expr_free(ex);
        } else if (err.pos > (int)size || err.pos < -1) {
            abort();
        }
    }
    free(src);
    return 0;
}
