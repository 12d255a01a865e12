/* expr_parse.c - lexer and recursive-descent parser of the expression language; emits the tape in
 * post-order (children before parents), checks sizes as it goes and folds constant subtrees.
 * Grammar (docs/expr.md):
 *   top     = sum [ ("=" | "<=" | ">=") sum ]        relations only in constraints
 *   sum     = product { ("+" | "-") product }
 *   product = unary { ("*" | "/") unary }
 *   unary   = ("-" | "+") unary | power
 *   power   = postfix [ "^" unary ]                  right-associative, above unary minus
 *   postfix = primary { "[" integer "]" }
 *   primary = number | name | name "(" [ sum { "," sum } ] ")" | "(" sum ")"
 */
#include "core/expr/expr_internal.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---- */
typedef struct {
    const char *name;
    int arity;
    int op;
} fn_def;

static const fn_def FUNCS[] = {
    {"exp", 1, SV__OP_EXP},   {"log", 1, SV__OP_LOG}, {"sqrt", 1, SV__OP_SQRT},
    {"sin", 1, SV__OP_SIN},   {"cos", 1, SV__OP_COS}, {"tanh", 1, SV__OP_TANH},
    {"abs", 1, SV__OP_ABS},   {"sum", 1, SV__OP_SUM}, {"dot", 2, SV__OP_DOT},
};
#define N_FUNCS ((int)(sizeof FUNCS / sizeof FUNCS[0]))

/* Written out rather than M_PI / M_E, which C11 does not define. */
static const struct {
    const char *name;
    double value;
} CONSTS[] = {
    {"pi", 3.14159265358979323846264338327950288},
    {"e", 2.71828182845904523536028747135266250},
};
#define N_CONSTS ((int)(sizeof CONSTS / sizeof CONSTS[0]))

int sv__expr_reserved(const char *name)
{
    for (int i = 0; i < N_FUNCS; i++)
        if (strcmp(name, FUNCS[i].name) == 0)
            return 1;
    for (int i = 0; i < N_CONSTS; i++)
        if (strcmp(name, CONSTS[i].name) == 0)
            return 1;
    return 0;
}

/* ---- lexer ---- */
typedef enum { T_END, T_NUM, T_NAME, T_PUNCT } tok_kind;

/* Punctuation is its character, except the two-character relations. */
enum { P_LE = 'L', P_GE = 'G' };

typedef struct {
    tok_kind kind;
    size_t pos, len;
    int ch;        /* T_PUNCT */
    double num;    /* T_NUM */
    int is_int;    /* T_NUM written with digits only */
} token;

typedef struct {
    const char *s;
    size_t len;
    size_t cur;          /* where the next token starts being looked for */
    token tok, prev;
    const sv_expr_var *vars;
    int n_vars;
    sv_expr_mode mode;
    sv__expr_node *nodes;
    int n_nodes, cap;
    int depth;
    int failed;
    sv_expr_error *err;
} parser;

static int parse_sum(parser *p);
static int parse_unary(parser *p);

/* Records the first error only: later ones are consequences. Returns -1 for `return fail(...)`. */
static int fail(parser *p, sv_expr_errcode code, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(parser *p, sv_expr_errcode code, size_t pos, const char *fmt, ...)
{
    if (!p->failed) {
        va_list ap;
        p->failed = 1;
        p->err->code = code;
        p->err->pos = pos > (size_t)INT_MAX ? INT_MAX : (int)pos;
        va_start(ap, fmt);
        vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Describes a token for messages: "'*'", "name 'foo'", "number '12'", "the end". */
static void describe(const parser *p, const token *t, char *buf, size_t n)
{
    int len = t->len > 40 ? 40 : (int)t->len;
    const char *dots = t->len > 40 ? "..." : "";
    switch (t->kind) {
    case T_END: snprintf(buf, n, "the end of the expression"); break;
    case T_NUM: snprintf(buf, n, "number '%.*s%s'", len, p->s + t->pos, dots); break;
    case T_NAME: snprintf(buf, n, "name '%.*s%s'", len, p->s + t->pos, dots); break;
    case T_PUNCT: snprintf(buf, n, "'%.*s'", len, p->s + t->pos); break;
    }
}

static int lex_number(parser *p, size_t i, token *t)
{
    const char *s = p->s;
    size_t j = i;
    char small[64], *buf = small;
    t->kind = T_NUM;
    t->is_int = 1;
    while (is_digit(s[j]))
        j++;
    if (s[j] == '.') {
        t->is_int = 0;
        j++;
        while (is_digit(s[j]))
            j++;
    }
    if (s[j] == 'e' || s[j] == 'E') {
        size_t k = j + 1;
        if (s[k] == '+' || s[k] == '-')
            k++;
        if (!is_digit(s[k]))
            return fail(p, SV_EXPR_ENUMBER, i, "malformed number '%.*s': the exponent has no digits",
                        (int)(k - i > 40 ? 40 : k - i), s + i);
        while (is_digit(s[k]))
            k++;
        t->is_int = 0;
        j = k;
    }
    t->pos = i;
    t->len = j - i;
    /* strtod on a bounded copy: on the original it would also read "0x1p3", "inf" and "nan". */
    if (t->len >= sizeof small) {
        buf = malloc(t->len + 1);
        if (!buf)
            return fail(p, SV_EXPR_ENOMEM, i, "out of memory");
    }
    memcpy(buf, s + i, t->len);
    buf[t->len] = '\0';
    t->num = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    if (isinf(t->num))
        return fail(p, SV_EXPR_ENUMBER, i, "number '%.*s%s' is too large for a double",
                    (int)(t->len > 40 ? 40 : t->len), s + i, t->len > 40 ? "..." : "");
    p->cur = j;
    return 0;
}

/* Moves to the next token; returns -1 (error set) on a character no token starts with. */
static int advance(parser *p)
{
    const char *s = p->s;
    size_t i = p->cur;
    token *t = &p->tok;
    p->prev = p->tok;
    while (i < p->len && is_space((unsigned char)s[i]))
        i++;
    memset(t, 0, sizeof *t);
    t->pos = i;
    if (i >= p->len) {
        t->kind = T_END;
        p->cur = i;
        return 0;
    }
    int c = (unsigned char)s[i];
    if (is_digit(c) || (c == '.' && is_digit((unsigned char)s[i + 1])))
        return lex_number(p, i, t);
    if (is_alpha(c)) {
        size_t j = i;
        while (is_alpha((unsigned char)s[j]) || is_digit((unsigned char)s[j]))
            j++;
        t->kind = T_NAME;
        t->len = j - i;
        p->cur = j;
        return 0;
    }
    t->kind = T_PUNCT;
    t->len = 1;
    switch (c) {
    case '+': case '-': case '*': case '/': case '^':
    case '(': case ')': case '[': case ']': case ',':
        t->ch = c;
        break;
    case '=':
        t->ch = '=';
        if (s[i + 1] == '=')
            t->len = 2;   /* "==" reads as "=" */
        break;
    case '<':
    case '>':
        if (s[i + 1] != '=')
            return fail(p, SV_EXPR_ECHAR, i,
                        "unexpected character '%c': strict inequalities are not supported, "
                        "use '%c='", c, c);
        t->ch = c == '<' ? P_LE : P_GE;
        t->len = 2;
        break;
    default:
        if (c >= 0x20 && c < 0x7f)
            return fail(p, SV_EXPR_ECHAR, i, "unexpected character '%c'", c);
        if (c >= 0x80)
            return fail(p, SV_EXPR_ECHAR, i,
                        "unexpected non-ASCII character (byte 0x%02X); names and operators are "
                        "ASCII", c);
        return fail(p, SV_EXPR_ECHAR, i, "unexpected control character (byte 0x%02X)", c);
    }
    p->cur = i + t->len;
    return 0;
}

static int is_punct(const parser *p, int ch)
{
    return p->tok.kind == T_PUNCT && p->tok.ch == ch;
}

static int name_eq(const parser *p, const token *t, const char *name)
{
    return strlen(name) == t->len && memcmp(p->s + t->pos, name, t->len) == 0;
}

/* ---- emission ---- */
static int push(parser *p, int op, int a, int b, int size, size_t xoff, double c)
{
    if (p->n_nodes == p->cap) {
        int cap = p->cap ? p->cap * 2 : 32;
        sv__expr_node *nodes;
        if (p->cap > INT_MAX / 4)
            return fail(p, SV_EXPR_ELIMIT, p->tok.pos, "expression too long");
        nodes = realloc(p->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return fail(p, SV_EXPR_ENOMEM, p->tok.pos, "out of memory");
        p->nodes = nodes;
        p->cap = cap;
    }
    sv__expr_node *nd = &p->nodes[p->n_nodes];
    nd->op = op;
    nd->a = a;
    nd->b = b;
    nd->size = size;
    nd->off = 0;
    nd->xoff = xoff;
    nd->c = c;
    return p->n_nodes++;
}

static int is_const(const parser *p, int i) { return p->nodes[i].op == SV__OP_CONST; }

/* A constant subtree is always folded into one node, and it is the newest node when its parent is
 * emitted, so folding only ever replaces the tail of the tape. */
static int emit_unary(parser *p, int op, int a, double c)
{
    if (is_const(p, a)) {
        p->nodes[a].c = sv__expr_apply1(op, p->nodes[a].c, c);
        return a;
    }
    return push(p, op, a, -1, p->nodes[a].size, 0, c);
}

static int emit_binary(parser *p, int op, int a, int b, size_t pos)
{
    int sa = p->nodes[a].size, sb = p->nodes[b].size;
    if (sa != sb && sa != 1 && sb != 1) {
        static const char sym[] = {[SV__OP_ADD] = '+', [SV__OP_SUB] = '-', [SV__OP_MUL] = '*',
                                   [SV__OP_DIV] = '/', [SV__OP_POW] = '^'};
        return fail(p, SV_EXPR_ESIZE, pos,
                    "size mismatch: '%c' between a vector of size %d and one of size %d", sym[op],
                    sa, sb);
    }
    if (is_const(p, a) && is_const(p, b)) {
        double v = sv__expr_apply2(op, p->nodes[a].c, p->nodes[b].c);
        p->n_nodes -= 2;   /* a and b are the two newest nodes, in either order */
        return push(p, SV__OP_CONST, -1, -1, 1, 0, v);
    }
    if (op == SV__OP_POW && is_const(p, b)) {
        double c = p->nodes[b].c;
        p->n_nodes--;      /* b is the newest node */
        return push(p, SV__OP_POWC, a, -1, sa, 0, c);
    }
    return push(p, op, a, b, sa > sb ? sa : sb, 0, 0.0);
}

/* ---- grammar ---- */
static int expect_operand_error(parser *p)
{
    char d[80];
    if (p->tok.kind == T_END)
        return fail(p, SV_EXPR_ESYNTAX, p->tok.pos,
                    "expected a number, a name or '(' but reached the end of the expression");
    describe(p, &p->tok, d, sizeof d);
    if (is_punct(p, '*') && p->prev.kind == T_PUNCT && p->prev.ch == '*' &&
        p->prev.pos + 1 == p->tok.pos)
        return fail(p, SV_EXPR_ESYNTAX, p->tok.pos,
                    "expected a number, a name or '(' but found '*' (powers are written x^2, "
                    "not x**2)");
    return fail(p, SV_EXPR_ESYNTAX, p->tok.pos, "expected a number, a name or '(' but found %s", d);
}

static const fn_def *find_func(const parser *p, const token *t)
{
    for (int i = 0; i < N_FUNCS; i++)
        if (name_eq(p, t, FUNCS[i].name))
            return &FUNCS[i];
    return NULL;
}

/* Index of the declared variable named by t, or -1; *xoff receives its offset in x. */
static int find_var(const parser *p, const token *t, size_t *xoff)
{
    size_t off = 0;
    for (int i = 0; i < p->n_vars; i++) {
        if (name_eq(p, t, p->vars[i].name)) {
            *xoff = off;
            return i;
        }
        off += (size_t)p->vars[i].size;
    }
    return -1;
}

static int find_const(const parser *p, const token *t)
{
    for (int i = 0; i < N_CONSTS; i++)
        if (name_eq(p, t, CONSTS[i].name))
            return i;
    return -1;
}

static int parse_call(parser *p, token name)
{
    const fn_def *fn = find_func(p, &name);
    int nl = name.len > 40 ? 40 : (int)name.len;
    const char *ns = p->s + name.pos;
    size_t xoff;
    int args[2] = {-1, -1}, nargs = 0;
    size_t open = p->tok.pos;
    if (!fn) {
        if (find_var(p, &name, &xoff) >= 0)
            return fail(p, SV_EXPR_EFUNC, name.pos, "'%.*s' is a variable, not a function", nl, ns);
        if (find_const(p, &name) >= 0)
            return fail(p, SV_EXPR_EFUNC, name.pos, "'%.*s' is a constant, not a function", nl, ns);
        return fail(p, SV_EXPR_EFUNC, name.pos,
                    "unknown function '%.*s' (known: exp, log, sqrt, sin, cos, tanh, abs, sum, "
                    "dot)", nl, ns);
    }
    if (advance(p) < 0)
        return -1;
    if (!is_punct(p, ')')) {
        for (;;) {
            int a = parse_sum(p);
            if (a < 0)
                return -1;
            if (nargs < 2)
                args[nargs] = a;
            nargs++;
            if (is_punct(p, ',')) {
                if (advance(p) < 0)
                    return -1;
                continue;
            }
            if (is_punct(p, ')'))
                break;
            if (p->tok.kind == T_END)
                return fail(p, SV_EXPR_EPAREN, open,
                            "unbalanced parenthesis: the '(' of %s( is never closed", fn->name);
            char d[80];
            describe(p, &p->tok, d, sizeof d);
            return fail(p, SV_EXPR_ESYNTAX, p->tok.pos,
                        "expected ',' or ')' in the arguments of %s() but found %s", fn->name, d);
        }
    }
    if (nargs != fn->arity)
        return fail(p, SV_EXPR_EARITY, name.pos, "wrong arity: %s() takes %d argument%s, got %d",
                    fn->name, fn->arity, fn->arity == 1 ? "" : "s", nargs);
    if (advance(p) < 0)   /* past ')' */
        return -1;
    switch (fn->op) {
    case SV__OP_SUM:
        /* The sum of a scalar is the scalar itself: no node. */
        if (p->nodes[args[0]].size == 1)
            return args[0];
        return push(p, SV__OP_SUM, args[0], -1, 1, 0, 0.0);
    case SV__OP_DOT: {
        int sa = p->nodes[args[0]].size, sb = p->nodes[args[1]].size;
        if (sa != sb)
            return fail(p, SV_EXPR_ESIZE, name.pos,
                        "size mismatch: dot() needs two vectors of the same size, got %d and %d",
                        sa, sb);
        if (sa == 1)
            return emit_binary(p, SV__OP_MUL, args[0], args[1], name.pos);
        return push(p, SV__OP_DOT, args[0], args[1], 1, 0, 0.0);
    }
    default:
        return emit_unary(p, fn->op, args[0], 0.0);
    }
}

static int parse_primary(parser *p)
{
    token t = p->tok;
    char d[80];
    if (t.kind == T_NUM) {
        if (advance(p) < 0)
            return -1;
        return push(p, SV__OP_CONST, -1, -1, 1, 0, t.num);
    }
    if (t.kind == T_NAME) {
        size_t xoff = 0;
        int v, k;
        int nl = t.len > 40 ? 40 : (int)t.len;
        if (advance(p) < 0)
            return -1;
        if (is_punct(p, '('))
            return parse_call(p, t);
        /* Variables shadow constants: the caller chose the name (problems reject such names). */
        v = find_var(p, &t, &xoff);
        if (v >= 0)
            return push(p, SV__OP_VAR, -1, -1, p->vars[v].size, xoff, 0.0);
        k = find_const(p, &t);
        if (k >= 0)
            return push(p, SV__OP_CONST, -1, -1, 1, 0, CONSTS[k].value);
        if (find_func(p, &t))
            return fail(p, SV_EXPR_ESYNTAX, t.pos,
                        "function '%.*s' needs its argument in parentheses: %.*s(...)", nl,
                        p->s + t.pos, nl, p->s + t.pos);
        return fail(p, SV_EXPR_ENAME, t.pos, "unknown name '%.*s%s'", nl, p->s + t.pos,
                    t.len > 40 ? "..." : "");
    }
    if (is_punct(p, '(')) {
        int n;
        if (advance(p) < 0)
            return -1;
        n = parse_sum(p);
        if (n < 0)
            return -1;
        if (is_punct(p, ')')) {
            if (advance(p) < 0)
                return -1;
            return n;
        }
        if (p->tok.kind == T_END)
            return fail(p, SV_EXPR_EPAREN, t.pos, "unbalanced parenthesis: this '(' is never closed");
        describe(p, &p->tok, d, sizeof d);
        return fail(p, SV_EXPR_ESYNTAX, p->tok.pos, "expected an operator or ')' but found %s", d);
    }
    return expect_operand_error(p);
}

static int parse_postfix(parser *p)
{
    int n = parse_primary(p);
    while (n >= 0 && is_punct(p, '[')) {
        size_t open = p->tok.pos;
        token it;
        if (advance(p) < 0)
            return -1;
        it = p->tok;
        if (it.kind == T_END)
            return fail(p, SV_EXPR_EPAREN, open, "unbalanced bracket: this '[' is never closed");
        if (it.kind != T_NUM || !it.is_int)
            return fail(p, SV_EXPR_EINDEX, it.pos,
                        "an index must be a non-negative integer literal, as in v[0]");
        if (advance(p) < 0)
            return -1;
        if (!is_punct(p, ']')) {
            char d[80];
            if (p->tok.kind == T_END)
                return fail(p, SV_EXPR_EPAREN, open, "unbalanced bracket: this '[' is never closed");
            describe(p, &p->tok, d, sizeof d);
            return fail(p, SV_EXPR_ESYNTAX, p->tok.pos, "expected ']' but found %s", d);
        }
        int size = p->nodes[n].size;
        if (!(it.num < (double)size)) {
            int dl = it.len > 20 ? 20 : (int)it.len;
            return fail(p, SV_EXPR_EINDEX, it.pos,
                        "index %.*s is out of range for size %d (indices start at 0, so the last "
                        "is %d)", dl, p->s + it.pos, size, size - 1);
        }
        if (advance(p) < 0)   /* past ']' */
            return -1;
        if (size > 1)
            n = push(p, SV__OP_INDEX, n, -1, 1, (size_t)it.num, 0.0);
        /* else: a scalar indexed by 0 is itself */
    }
    return n;
}

static int parse_power(parser *p)
{
    int base = parse_postfix(p);
    if (base < 0)
        return -1;
    if (is_punct(p, '^')) {
        size_t pos = p->tok.pos;
        int ex;
        if (advance(p) < 0)
            return -1;
        /* unary, not postfix: 2^-x is 2^(-x), and 2^3^2 is 2^(3^2) */
        ex = parse_unary(p);
        if (ex < 0)
            return -1;
        return emit_binary(p, SV__OP_POW, base, ex, pos);
    }
    return base;
}

static int parse_unary(parser *p)
{
    int n;
    if (++p->depth > SV_EXPR_MAX_DEPTH)
        return fail(p, SV_EXPR_ELIMIT, p->tok.pos, "expression nested deeper than %d levels",
                    SV_EXPR_MAX_DEPTH);
    if (is_punct(p, '-') || is_punct(p, '+')) {
        int neg = p->tok.ch == '-';
        if (advance(p) < 0)
            return -1;
        n = parse_unary(p);
        if (n >= 0 && neg)
            n = emit_unary(p, SV__OP_NEG, n, 0.0);
    } else {
        n = parse_power(p);
    }
    p->depth--;
    return n;
}

static int parse_product(parser *p)
{
    int n = parse_unary(p);
    while (n >= 0 && (is_punct(p, '*') || is_punct(p, '/'))) {
        int op = p->tok.ch == '*' ? SV__OP_MUL : SV__OP_DIV;
        size_t pos = p->tok.pos;
        int m;
        if (advance(p) < 0)
            return -1;
        m = parse_unary(p);
        if (m < 0)
            return -1;
        n = emit_binary(p, op, n, m, pos);
    }
    return n;
}

static int parse_sum(parser *p)
{
    int n = parse_product(p);
    while (n >= 0 && (is_punct(p, '+') || is_punct(p, '-'))) {
        int op = p->tok.ch == '+' ? SV__OP_ADD : SV__OP_SUB;
        size_t pos = p->tok.pos;
        int m;
        if (advance(p) < 0)
            return -1;
        m = parse_product(p);
        if (m < 0)
            return -1;
        n = emit_binary(p, op, n, m, pos);
    }
    return n;
}

static int parse_top(parser *p)
{
    int n = parse_sum(p);
    char d[80];
    if (n < 0)
        return -1;
    if (is_punct(p, '=') || is_punct(p, P_LE) || is_punct(p, P_GE)) {
        int rel = p->tok.ch;
        size_t pos = p->tok.pos;
        const char *rs = rel == '=' ? "=" : rel == P_LE ? "<=" : ">=";
        int m;
        if (p->mode == SV_EXPR_PLAIN)
            return fail(p, SV_EXPR_ESYNTAX, pos,
                        "'%s' is only allowed in a constraint, not in an objective", rs);
        if (p->mode == SV_EXPR_EQUALITY && rel != '=')
            return fail(p, SV_EXPR_ESYNTAX, pos,
                        "'%s' in an equality constraint: write 'a = b' or an expression that "
                        "must equal 0", rs);
        if (p->mode == SV_EXPR_INEQUALITY && rel == '=')
            return fail(p, SV_EXPR_ESYNTAX, pos,
                        "'=' in an inequality constraint: write 'a <= b', 'a >= b' or an "
                        "expression that must be <= 0");
        if (advance(p) < 0)
            return -1;
        m = parse_sum(p);
        if (m < 0)
            return -1;
        n = rel == P_GE ? emit_binary(p, SV__OP_SUB, m, n, pos) : emit_binary(p, SV__OP_SUB, n, m, pos);
        if (n < 0)
            return -1;
    }
    if (p->tok.kind != T_END) {
        if (is_punct(p, ')'))
            return fail(p, SV_EXPR_EPAREN, p->tok.pos, "unbalanced parenthesis: ')' without a matching '('");
        if (is_punct(p, ']'))
            return fail(p, SV_EXPR_EPAREN, p->tok.pos, "unbalanced bracket: ']' without a matching '['");
        describe(p, &p->tok, d, sizeof d);
        return fail(p, SV_EXPR_ETRAILING, p->tok.pos,
                    "trailing input: unexpected %s after a complete expression (missing an "
                    "operator?)", d);
    }
    if (p->nodes[n].size != 1)
        return fail(p, SV_EXPR_ESIZE, 0,
                    "size mismatch: the expression is a vector of size %d but must be a scalar; "
                    "reduce it with sum(), dot() or an index v[i]", p->nodes[n].size);
    return n;
}

/* ---- public ---- */
const char *sv_expr_reason(sv_expr_errcode code)
{
    switch (code) {
    case SV_EXPR_OK: return "ok";
    case SV_EXPR_ECHAR: return "unexpected character";
    case SV_EXPR_EPAREN: return "unbalanced parenthesis";
    case SV_EXPR_ENAME: return "unknown name";
    case SV_EXPR_EFUNC: return "unknown function";
    case SV_EXPR_EARITY: return "wrong arity";
    case SV_EXPR_ESIZE: return "size mismatch";
    case SV_EXPR_EINDEX: return "index out of range";
    case SV_EXPR_ETRAILING: return "trailing input";
    case SV_EXPR_EEMPTY: return "empty expression";
    case SV_EXPR_ESYNTAX: return "syntax error";
    case SV_EXPR_ENUMBER: return "malformed number";
    case SV_EXPR_ELIMIT: return "expression too large";
    case SV_EXPR_EDECL: return "bad variable declaration";
    case SV_EXPR_ENOMEM: return "out of memory";
    }
    return "unknown error";
}

static int decl_error(sv_expr_error *err, const char *msg, int i)
{
    err->code = SV_EXPR_EDECL;
    err->pos = -1;
    snprintf(err->msg, sizeof err->msg, msg, i);
    return SV_EINVAL;
}

int sv_expr_compile(const char *src, const sv_expr_var *vars, int n_vars, sv_expr_mode mode,
                    sv_expr **out, sv_expr_error *err)
{
    sv_expr_error local;
    parser p;
    sv_expr *e = NULL;
    size_t len = 0, total = 0;
    int root;

    if (!err)
        err = &local;
    err->code = SV_EXPR_OK;
    err->pos = -1;
    err->msg[0] = '\0';
    if (out)
        *out = NULL;
    /* the caller's declarations first: they are not the user's fault */
    if (!out)
        return decl_error(err, "no output pointer (argument %d)", 5);
    if (n_vars < 0 || (n_vars > 0 && !vars))
        return decl_error(err, "bad variable list (count %d)", n_vars);
    if (mode != SV_EXPR_PLAIN && mode != SV_EXPR_EQUALITY && mode != SV_EXPR_INEQUALITY)
        return decl_error(err, "bad mode %d", (int)mode);
    for (int i = 0; i < n_vars; i++) {
        if (!vars[i].name)
            return decl_error(err, "variable %d has no name", i);
        if (vars[i].size < 1 || vars[i].size > SV_EXPR_MAX_DIM)
            return decl_error(err, "variable %d has a size outside 1..2^26", i);
        total += (size_t)vars[i].size;
        if (total > SV_EXPR_MAX_DIM)
            return decl_error(err, "total dimension exceeds 2^26 at variable %d", i);
    }
    if (!src) {
        err->code = SV_EXPR_EEMPTY;
        err->pos = 0;
        snprintf(err->msg, sizeof err->msg, "the expression is missing");
        return SV_EINVAL;
    }
    while (len <= SV_EXPR_MAX_LEN && src[len])
        len++;
    if (len > SV_EXPR_MAX_LEN) {
        err->code = SV_EXPR_ELIMIT;
        err->pos = SV_EXPR_MAX_LEN;
        snprintf(err->msg, sizeof err->msg, "expression longer than %d characters",
                 SV_EXPR_MAX_LEN);
        return SV_EINVAL;
    }

    memset(&p, 0, sizeof p);
    p.s = src;
    p.len = len;
    p.vars = vars;
    p.n_vars = n_vars;
    p.mode = mode;
    p.err = err;
    if (advance(&p) < 0)
        goto fail;
    if (p.tok.kind == T_END) {
        fail(&p, SV_EXPR_EEMPTY, 0, "empty expression: there is nothing but white space");
        goto fail;
    }
    root = parse_top(&p);
    if (root < 0)
        goto fail;
    /* the root is the newest node; nothing dangles after it */
    if (root != p.n_nodes - 1) {
        fail(&p, SV_EXPR_ENOMEM, 0, "internal error: tape root misplaced");
        goto fail;
    }

    e = calloc(1, sizeof *e);
    if (!e) {
        fail(&p, SV_EXPR_ENOMEM, 0, "out of memory");
        goto fail;
    }
    e->nodes = p.nodes;
    e->n_nodes = p.n_nodes;
    p.nodes = NULL;
    e->dim = (int)total;
    for (int i = 0; i < e->n_nodes; i++) {
        e->nodes[i].off = e->n_vals;
        e->n_vals += (size_t)e->nodes[i].size;
    }
    if (e->n_vals > SIZE_MAX / (4 * sizeof(double)) ||
        !(e->val = calloc(4 * e->n_vals, sizeof(double)))) {
        fail(&p, SV_EXPR_ENOMEM, 0, "out of memory for the evaluation buffers");
        goto fail;
    }
    e->adj = e->val + e->n_vals;
    e->tval = e->adj + e->n_vals;
    e->tadj = e->tval + e->n_vals;
    *out = e;
    return SV_OK;

fail:
    free(p.nodes);
    sv_expr_free(e);
    return err->code == SV_EXPR_ENOMEM ? SV_ENOMEM : SV_EINVAL;
}

void sv_expr_free(sv_expr *e)
{
    if (!e)
        return;
    free(e->nodes);
    free(e->val);
    free(e);
}

int sv_expr_dim(const sv_expr *e) { return e ? e->dim : 0; }

int sv_expr_tape_len(const sv_expr *e) { return e ? e->n_nodes : 0; }
