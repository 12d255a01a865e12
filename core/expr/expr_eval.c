/* expr_eval.c - runs a compiled tape: values by a forward loop, gradients by one reverse sweep,
 * Hessian-vector products by forward-over-reverse (a tangent forward sweep along v, then a
 * reverse sweep that carries each adjoint together with its directional derivative).
 *
 * Broadcasting: a scalar operand of an elementwise operation is read with stride 0, and in the
 * reverse sweep its adjoint accumulates over every element it was broadcast to. */
#include "core/expr/expr_internal.h"

#include <math.h>
#include <string.h>

/* ---- scalar kernels ---- */
/* pow() returns 1 for pow(NaN, 0) and pow(1, NaN); a NaN operand must stay visible instead. */
static double spow(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return pow(a, b);
}

static double sgn(double u)
{
    if (u > 0)
        return 1.0;
    if (u < 0)
        return -1.0;
    return u == 0 ? 0.0 : NAN;
}

/* d/du u^c and d2/du2 u^c for a constant c; the small exponents are exact and avoid 0 * inf at
 * u = 0 (c = 0 or 1 would otherwise multiply by pow(0, -1)). */
static double dpowc(double u, double c)
{
    if (c == 0)
        return isnan(u) ? NAN : 0.0;
    if (c == 1)
        return isnan(u) ? NAN : 1.0;
    if (c == 2)
        return 2 * u;
    return c * spow(u, c - 1);
}

static double d2powc(double u, double c)
{
    if (c == 0 || c == 1)
        return isnan(u) ? NAN : 0.0;
    if (c == 2)
        return isnan(u) ? NAN : 2.0;
    return c * (c - 1) * spow(u, c - 2);
}

/* d/db a^b = a^b log a, defined for a > 0; at a = 0 with b > 0 the function is 0 on a
 * neighbourhood in b, so the derivative is 0. */
static double dpow_db(double a, double b, double y)
{
    if (a > 0)
        return y * log(a);
    return (a == 0 && b > 0) ? 0.0 : NAN;
}

/* d/du log u: undefined (NaN) where log is, so a NaN value never comes with a finite slope. */
static double dlog(double u) { return u > 0 ? 1 / u : NAN; }

double sv__expr_apply1(int op, double u, double c)
{
    switch (op) {
    case SV__OP_NEG: return -u;
    case SV__OP_EXP: return exp(u);
    case SV__OP_LOG: return u > 0 ? log(u) : NAN;   /* log 0 is NaN too, not -inf */
    case SV__OP_SQRT: return u >= 0 ? sqrt(u) : NAN;
    case SV__OP_SIN: return sin(u);
    case SV__OP_COS: return cos(u);
    case SV__OP_TANH: return tanh(u);
    case SV__OP_ABS: return fabs(u);
    case SV__OP_POWC: return spow(u, c);
    default: return NAN;
    }
}

double sv__expr_apply2(int op, double a, double b)
{
    switch (op) {
    case SV__OP_ADD: return a + b;
    case SV__OP_SUB: return a - b;
    case SV__OP_MUL: return a * b;
    case SV__OP_DIV: return a / b;
    case SV__OP_POW: return spow(a, b);
    default: return NAN;
    }
}

/* ---- sweeps ---- */
#define ROOT(e) ((e)->nodes[(e)->n_nodes - 1])

static void forward(sv_expr *e, const double *x)
{
    double *val = e->val;
    for (int i = 0; i < e->n_nodes; i++) {
        const sv__expr_node *nd = &e->nodes[i];
        double *y = val + nd->off;
        int n = nd->size;
        switch (nd->op) {
        case SV__OP_CONST:
            y[0] = nd->c;
            break;
        case SV__OP_VAR:
            memcpy(y, x + nd->xoff, (size_t)n * sizeof *y);
            break;
        case SV__OP_NEG: case SV__OP_EXP: case SV__OP_LOG: case SV__OP_SQRT: case SV__OP_SIN:
        case SV__OP_COS: case SV__OP_TANH: case SV__OP_ABS: case SV__OP_POWC: {
            const double *u = val + e->nodes[nd->a].off;
            for (int k = 0; k < n; k++)
                y[k] = sv__expr_apply1(nd->op, u[k], nd->c);
            break;
        }
        case SV__OP_ADD: case SV__OP_SUB: case SV__OP_MUL: case SV__OP_DIV: case SV__OP_POW: {
            const sv__expr_node *na = &e->nodes[nd->a], *nb = &e->nodes[nd->b];
            const double *a = val + na->off, *b = val + nb->off;
            int sa = na->size > 1, sb = nb->size > 1;
            for (int k = 0; k < n; k++)
                y[k] = sv__expr_apply2(nd->op, a[k * sa], b[k * sb]);
            break;
        }
        case SV__OP_SUM: {
            const sv__expr_node *na = &e->nodes[nd->a];
            const double *u = val + na->off;
            double s = 0;
            for (int k = 0; k < na->size; k++)
                s += u[k];
            y[0] = s;
            break;
        }
        case SV__OP_DOT: {
            const sv__expr_node *na = &e->nodes[nd->a];
            const double *a = val + na->off, *b = val + e->nodes[nd->b].off;
            double s = 0;
            for (int k = 0; k < na->size; k++)
                s += a[k] * b[k];
            y[0] = s;
            break;
        }
        case SV__OP_INDEX:
            y[0] = val[e->nodes[nd->a].off + nd->xoff];
            break;
        }
    }
}

/* Directional derivative of every node along v; needs forward() first. */
static void forward_tangent(sv_expr *e, const double *v)
{
    const double *val = e->val;
    double *tv = e->tval;
    for (int i = 0; i < e->n_nodes; i++) {
        const sv__expr_node *nd = &e->nodes[i];
        const double *y = val + nd->off;
        double *ty = tv + nd->off;
        int n = nd->size;
        if (nd->op == SV__OP_CONST) {
            ty[0] = 0;
            continue;
        }
        if (nd->op == SV__OP_VAR) {
            memcpy(ty, v + nd->xoff, (size_t)n * sizeof *ty);
            continue;
        }
        const sv__expr_node *na = &e->nodes[nd->a];
        const double *a = val + na->off, *ta = tv + na->off;
        switch (nd->op) {
        case SV__OP_NEG: for (int k = 0; k < n; k++) ty[k] = -ta[k]; break;
        case SV__OP_EXP: for (int k = 0; k < n; k++) ty[k] = y[k] * ta[k]; break;
        case SV__OP_LOG: for (int k = 0; k < n; k++) ty[k] = dlog(a[k]) * ta[k]; break;
        case SV__OP_SQRT: for (int k = 0; k < n; k++) ty[k] = 0.5 * ta[k] / y[k]; break;
        case SV__OP_SIN: for (int k = 0; k < n; k++) ty[k] = cos(a[k]) * ta[k]; break;
        case SV__OP_COS: for (int k = 0; k < n; k++) ty[k] = -sin(a[k]) * ta[k]; break;
        case SV__OP_TANH: for (int k = 0; k < n; k++) ty[k] = (1 - y[k] * y[k]) * ta[k]; break;
        case SV__OP_ABS: for (int k = 0; k < n; k++) ty[k] = sgn(a[k]) * ta[k]; break;
        case SV__OP_POWC:
            for (int k = 0; k < n; k++)
                ty[k] = dpowc(a[k], nd->c) * ta[k];
            break;
        case SV__OP_ADD: case SV__OP_SUB: case SV__OP_MUL: case SV__OP_DIV: case SV__OP_POW: {
            const sv__expr_node *nb = &e->nodes[nd->b];
            const double *b = val + nb->off, *tb = tv + nb->off;
            int sa = na->size > 1, sb = nb->size > 1;
            for (int k = 0; k < n; k++) {
                double av = a[k * sa], bv = b[k * sb], tav = ta[k * sa], tbv = tb[k * sb];
                switch (nd->op) {
                case SV__OP_ADD: ty[k] = tav + tbv; break;
                case SV__OP_SUB: ty[k] = tav - tbv; break;
                case SV__OP_MUL: ty[k] = tav * bv + av * tbv; break;
                case SV__OP_DIV: ty[k] = (tav - y[k] * tbv) / bv; break;
                default:
                    ty[k] = bv * spow(av, bv - 1) * tav + dpow_db(av, bv, y[k]) * tbv;
                    break;
                }
            }
            break;
        }
        case SV__OP_SUM: {
            double s = 0;
            for (int k = 0; k < na->size; k++)
                s += ta[k];
            ty[0] = s;
            break;
        }
        case SV__OP_DOT: {
            const sv__expr_node *nb = &e->nodes[nd->b];
            const double *b = val + nb->off, *tb = tv + nb->off;
            double s = 0;
            for (int k = 0; k < na->size; k++)
                s += ta[k] * b[k] + a[k] * tb[k];
            ty[0] = s;
            break;
        }
        case SV__OP_INDEX:
            ty[0] = ta[nd->xoff];
            break;
        }
    }
}

/* One reverse sweep: g += w * gradient. Needs forward() first. */
static void reverse(sv_expr *e, double w, double *g)
{
    const double *val = e->val;
    double *adj = e->adj;
    memset(adj, 0, e->n_vals * sizeof *adj);
    adj[ROOT(e).off] = 1.0;
    for (int i = e->n_nodes - 1; i >= 0; i--) {
        const sv__expr_node *nd = &e->nodes[i];
        const double *y = val + nd->off, *ya = adj + nd->off;
        int n = nd->size;
        if (nd->op == SV__OP_CONST)
            continue;
        if (nd->op == SV__OP_VAR) {
            for (int k = 0; k < n; k++)
                g[nd->xoff + k] += w * ya[k];
            continue;
        }
        const sv__expr_node *na = &e->nodes[nd->a];
        const double *a = val + na->off;
        double *aa = adj + na->off;
        switch (nd->op) {
        case SV__OP_NEG: for (int k = 0; k < n; k++) aa[k] -= ya[k]; break;
        case SV__OP_EXP: for (int k = 0; k < n; k++) aa[k] += ya[k] * y[k]; break;
        case SV__OP_LOG: for (int k = 0; k < n; k++) aa[k] += ya[k] * dlog(a[k]); break;
        case SV__OP_SQRT: for (int k = 0; k < n; k++) aa[k] += 0.5 * ya[k] / y[k]; break;
        case SV__OP_SIN: for (int k = 0; k < n; k++) aa[k] += ya[k] * cos(a[k]); break;
        case SV__OP_COS: for (int k = 0; k < n; k++) aa[k] -= ya[k] * sin(a[k]); break;
        case SV__OP_TANH: for (int k = 0; k < n; k++) aa[k] += ya[k] * (1 - y[k] * y[k]); break;
        case SV__OP_ABS: for (int k = 0; k < n; k++) aa[k] += ya[k] * sgn(a[k]); break;
        case SV__OP_POWC:
            for (int k = 0; k < n; k++)
                aa[k] += ya[k] * dpowc(a[k], nd->c);
            break;
        case SV__OP_ADD: case SV__OP_SUB: case SV__OP_MUL: case SV__OP_DIV: case SV__OP_POW: {
            const sv__expr_node *nb = &e->nodes[nd->b];
            const double *b = val + nb->off;
            double *ba = adj + nb->off;
            int sa = na->size > 1, sb = nb->size > 1;
            for (int k = 0; k < n; k++) {
                double av = a[k * sa], bv = b[k * sb], d = ya[k];
                switch (nd->op) {
                case SV__OP_ADD: aa[k * sa] += d; ba[k * sb] += d; break;
                case SV__OP_SUB: aa[k * sa] += d; ba[k * sb] -= d; break;
                case SV__OP_MUL: aa[k * sa] += d * bv; ba[k * sb] += d * av; break;
                case SV__OP_DIV: aa[k * sa] += d / bv; ba[k * sb] -= d * y[k] / bv; break;
                default:
                    aa[k * sa] += d * bv * spow(av, bv - 1);
                    ba[k * sb] += d * dpow_db(av, bv, y[k]);
                    break;
                }
            }
            break;
        }
        case SV__OP_SUM:
            for (int k = 0; k < na->size; k++)
                aa[k] += ya[0];
            break;
        case SV__OP_DOT: {
            const double *b = val + e->nodes[nd->b].off;
            double *ba = adj + e->nodes[nd->b].off;
            for (int k = 0; k < na->size; k++) {
                aa[k] += ya[0] * b[k];
                ba[k] += ya[0] * a[k];
            }
            break;
        }
        case SV__OP_INDEX:
            aa[nd->xoff] += ya[0];
            break;
        }
    }
}

/* The reverse sweep on dual numbers: every adjoint u_bar (in adj) carries its derivative along v
 * (in tadj). For a local partial p of a node with respect to a child,
 *   u_bar  += y_bar * p,     u_bar' += y_bar' * p + y_bar * p',
 * where p' is p differentiated along v through the forward tangents. At a variable, u_bar' is a
 * row of H v. Needs forward() and forward_tangent() first. */
static void reverse_tangent(sv_expr *e, double w, double *hv, double *g)
{
    const double *val = e->val, *tv = e->tval;
    double *adj = e->adj, *tadj = e->tadj;
    memset(adj, 0, e->n_vals * sizeof *adj);
    memset(tadj, 0, e->n_vals * sizeof *tadj);
    adj[ROOT(e).off] = 1.0;
    for (int i = e->n_nodes - 1; i >= 0; i--) {
        const sv__expr_node *nd = &e->nodes[i];
        const double *y = val + nd->off, *ty = tv + nd->off;
        const double *ya = adj + nd->off, *tya = tadj + nd->off;
        int n = nd->size;
        if (nd->op == SV__OP_CONST)
            continue;
        if (nd->op == SV__OP_VAR) {
            for (int k = 0; k < n; k++)
                hv[nd->xoff + k] += w * tya[k];
            if (g)
                for (int k = 0; k < n; k++)
                    g[nd->xoff + k] += w * ya[k];
            continue;
        }
        const sv__expr_node *na = &e->nodes[nd->a];
        const double *a = val + na->off, *ta = tv + na->off;
        double *aa = adj + na->off, *taa = tadj + na->off;
        /* p: the partial, dp: its derivative along v */
#define ACC1(P, DP)                                  \
    do {                                             \
        double p_ = (P), dp_ = (DP);                 \
        aa[k] += ya[k] * p_;                         \
        taa[k] += tya[k] * p_ + ya[k] * dp_;         \
    } while (0)
        switch (nd->op) {
        case SV__OP_NEG:
            for (int k = 0; k < n; k++) {
                aa[k] -= ya[k];
                taa[k] -= tya[k];
            }
            break;
        case SV__OP_EXP: for (int k = 0; k < n; k++) ACC1(y[k], ty[k]); break;
        case SV__OP_LOG:
            for (int k = 0; k < n; k++) {
                double d1 = dlog(a[k]);
                ACC1(d1, -ta[k] * d1 * d1);
            }
            break;
        case SV__OP_SQRT:
            for (int k = 0; k < n; k++) ACC1(0.5 / y[k], -0.5 * ty[k] / (y[k] * y[k]));
            break;
        case SV__OP_SIN: for (int k = 0; k < n; k++) ACC1(cos(a[k]), -sin(a[k]) * ta[k]); break;
        case SV__OP_COS: for (int k = 0; k < n; k++) ACC1(-sin(a[k]), -cos(a[k]) * ta[k]); break;
        case SV__OP_TANH:
            for (int k = 0; k < n; k++) ACC1(1 - y[k] * y[k], -2 * y[k] * ty[k]);
            break;
        case SV__OP_ABS:
            for (int k = 0; k < n; k++) {
                double s = sgn(a[k]);
                aa[k] += ya[k] * s;
                taa[k] += tya[k] * s;
            }
            break;
        case SV__OP_POWC:
            for (int k = 0; k < n; k++)
                ACC1(dpowc(a[k], nd->c), d2powc(a[k], nd->c) * ta[k]);
            break;
#undef ACC1
        case SV__OP_ADD: case SV__OP_SUB: case SV__OP_MUL: case SV__OP_DIV: case SV__OP_POW: {
            const sv__expr_node *nb = &e->nodes[nd->b];
            const double *b = val + nb->off, *tb = tv + nb->off;
            double *ba = adj + nb->off, *tba = tadj + nb->off;
            int sa = na->size > 1, sb = nb->size > 1;
            for (int k = 0; k < n; k++) {
                double av = a[k * sa], bv = b[k * sb], tav = ta[k * sa], tbv = tb[k * sb];
                double d = ya[k], td = tya[k];
                double pa, dpa, pb, dpb;   /* partials wrt a and b, and their derivatives */
                switch (nd->op) {
                case SV__OP_ADD: pa = 1; dpa = 0; pb = 1; dpb = 0; break;
                case SV__OP_SUB: pa = 1; dpa = 0; pb = -1; dpb = 0; break;
                case SV__OP_MUL: pa = bv; dpa = tbv; pb = av; dpb = tav; break;
                case SV__OP_DIV:
                    pa = 1 / bv;
                    dpa = -tbv / (bv * bv);
                    pb = -y[k] / bv;
                    dpb = (-ty[k] + y[k] * tbv / bv) / bv;
                    break;
                default: {
                    /* a^b: pa = b a^(b-1), pb = a^b log a (positive base; see dpow_db) */
                    double am1 = spow(av, bv - 1), la = av > 0 ? log(av) : NAN;
                    pa = bv * am1;
                    dpa = tbv * am1 * (1 + bv * la) + bv * (bv - 1) * spow(av, bv - 2) * tav;
                    pb = dpow_db(av, bv, y[k]);
                    dpb = ty[k] * la + y[k] * tav / av;
                    break;
                }
                }
                aa[k * sa] += d * pa;
                taa[k * sa] += td * pa + d * dpa;
                ba[k * sb] += d * pb;
                tba[k * sb] += td * pb + d * dpb;
            }
            break;
        }
        case SV__OP_SUM:
            for (int k = 0; k < na->size; k++) {
                aa[k] += ya[0];
                taa[k] += tya[0];
            }
            break;
        case SV__OP_DOT: {
            const sv__expr_node *nb = &e->nodes[nd->b];
            const double *b = val + nb->off, *tb = tv + nb->off;
            double *ba = adj + nb->off, *tba = tadj + nb->off;
            for (int k = 0; k < na->size; k++) {
                aa[k] += ya[0] * b[k];
                taa[k] += tya[0] * b[k] + ya[0] * tb[k];
                ba[k] += ya[0] * a[k];
                tba[k] += tya[0] * a[k] + ya[0] * ta[k];
            }
            break;
        }
        case SV__OP_INDEX:
            aa[nd->xoff] += ya[0];
            taa[nd->xoff] += tya[0];
            break;
        }
    }
}

/* ---- public ---- */
double sv_expr_value(sv_expr *e, const double *x)
{
    forward(e, x);
    return e->val[ROOT(e).off];
}

double sv_expr_grad_add(sv_expr *e, const double *x, double w, double *g)
{
    forward(e, x);
    reverse(e, w, g);
    return e->val[ROOT(e).off];
}

double sv_expr_grad(sv_expr *e, const double *x, double *g)
{
    memset(g, 0, (size_t)e->dim * sizeof *g);
    return sv_expr_grad_add(e, x, 1.0, g);
}

double sv_expr_hvp_add(sv_expr *e, const double *x, const double *v, double w, double *hv,
                       double *g)
{
    forward(e, x);
    forward_tangent(e, v);
    reverse_tangent(e, w, hv, g);
    return e->val[ROOT(e).off];
}
