/* decode.c - how fast a large job body is decoded: jansson's json_loadb (the parser the
 * submission path used) against api/json_parse.c's sv_json_parse (the one it uses now), and
 * sv_submit_parse (parse + the solver's validation: everything the intake does before storing).
 *
 * Usage: decode FILE [reps]   Output: one markdown table row per stage: best and median seconds
 * of reps runs, MB/s from the best. Timing only; nothing is asserted. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/codec.h"
#include "api/json_parse.h"
#include "api/submit.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: decode FILE [reps]\n");
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (reps < 1 || reps > 100)
        reps = 5;
    FILE *f = fopen(argv[1], "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        perror(argv[1]);
        return 1;
    }
    long n = ftell(f);
    rewind(f);
    char *body = malloc((size_t)n + 1);
    if (!body || fread(body, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "decode: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    body[n] = '\0';
    sv_codec_env env = {100000, 100000000, NULL};
    double t[3][100];
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        json_error_t je;
        json_t *a = json_loadb(body, (size_t)n, JSON_REJECT_DUPLICATES, &je);
        double t1 = now_s();
        sv_json_perr pe;
        json_t *b = sv_json_parse(body, (size_t)n, &pe);
        double t2 = now_s();
        if (!a || !b || !json_equal(a, b)) {
            fprintf(stderr, "decode: the parsers disagree (%s / %s)\n", a ? "" : je.text,
                    b ? "" : pe.text);
            return 1;
        }
        json_decref(a);
        json_decref(b);
        sv_submit s;
        const char *code;
        sv_err e;
        double t3 = now_s();
        int st = sv_submit_parse(body, (size_t)n, &env, 1e9, &s, &code, &e);
        double t4 = now_s();
        if (st != 0) {
            fprintf(stderr, "decode: the body is refused: %d %s %s\n", st, e.field, e.msg);
            return 1;
        }
        sv_submit_clear(&s);
        t[0][r] = t1 - t0;
        t[1][r] = t2 - t1;
        t[2][r] = t4 - t3;
    }
    static const char *const names[] = {"json_loadb (jansson)", "sv_json_parse",
                                        "sv_submit_parse (parse + validation)"};
    for (int k = 0; k < 3; k++) {
        qsort(t[k], (size_t)reps, sizeof(double), cmp);
        printf("| %s | %.2f | %.4f | %.4f | %.0f |\n", names[k], (double)n / 1e6, t[k][0],
               t[k][reps / 2], (double)n / 1e6 / t[k][0]);
    }
    free(body);
    return 0;
}
