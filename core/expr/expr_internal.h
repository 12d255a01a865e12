/* expr_internal.h - the tape shared by the parser (expr_parse.c), which builds it, and the
 * evaluator (expr_eval.c), which runs it. Not part of the public interface. */
#ifndef SV_EXPR_INTERNAL_H
#define SV_EXPR_INTERNAL_H

#include <stddef.h>

#include "core/expr/expr.h"

typedef enum {
    SV__OP_CONST = 0, /* scalar constant c */
    SV__OP_VAR,       /* x[xoff .. xoff + size) */
    /* elementwise unary */
    SV__OP_NEG,
    SV__OP_EXP,
    SV__OP_LOG,
    SV__OP_SQRT,
    SV__OP_SIN,
    SV__OP_COS,
    SV__OP_TANH,
    SV__OP_ABS,
    SV__OP_POWC,      /* a ^ c with a constant exponent c */
    /* elementwise binary, a scalar operand broadcast against a vector */
    SV__OP_ADD,
    SV__OP_SUB,
    SV__OP_MUL,
    SV__OP_DIV,
    SV__OP_POW,       /* a ^ b, b not constant */
    /* reductions */
    SV__OP_SUM,       /* sum of a */
    SV__OP_DOT,       /* sum of a .* b, equal sizes */
    SV__OP_INDEX      /* a[xoff] */
} sv__expr_op;

/* One tape node. Children come before parents, so a forward loop evaluates and a backward loop
 * differentiates; the root is the last node. */
typedef struct {
    int op;
    int a, b;       /* child node indices, -1 when absent */
    int size;       /* number of values, 1 for a scalar */
    size_t off;     /* first value in the node buffers */
    size_t xoff;    /* SV__OP_VAR: offset in x; SV__OP_INDEX: the element */
    double c;       /* SV__OP_CONST: value; SV__OP_POWC: exponent */
} sv__expr_node;

struct sv_expr {
    sv__expr_node *nodes;
    int n_nodes;
    int dim;        /* length of x */
    size_t n_vals;  /* sum of node sizes */
    /* scratch, n_vals each: value, adjoint, forward tangent, tangent of the adjoint */
    double *val, *adj, *tval, *tadj;
};

/* Scalar kernels shared by constant folding and evaluation, so a folded constant is bit-for-bit
 * what the evaluator would have computed. */
double sv__expr_apply1(int op, double u, double c);
double sv__expr_apply2(int op, double a, double b);

/* Non-zero if name is a function or constant of the language (so not usable as a variable). */
int sv__expr_reserved(const char *name);

#endif
