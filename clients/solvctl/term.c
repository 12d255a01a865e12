/* term.c - terminal width, the progress line and durations for solvctl (see term.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "output.h"
#include "term.h"

int sc_term_width(int fd)
{
    const char *cols = getenv("COLUMNS");
    if (cols && *cols) {
        char *end;
        long w = strtol(cols, &end, 10);
        if (!*end && w >= 10 && w <= 1000)
            return (int)w;
    }
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 10)
        return ws.ws_col;
    return 80;
}

char *sc_fmt_duration(double s, char *buf, size_t n)
{
    if (!(s >= 0))
        snprintf(buf, n, "-");
    else if (s < 1)
        snprintf(buf, n, "%.0fms", s * 1000);
    else if (s < 60)
        snprintf(buf, n, "%.*fs", s < 10 ? 2 : 1, s);
    else if (s < 3600)
        snprintf(buf, n, "%ldm%02lds", (long)s / 60, (long)s % 60);
    else
        snprintf(buf, n, "%ldh%02ldm", (long)s / 3600, (long)s / 60 % 60);
    return buf;
}

/* Appends piece to line (separated by two spaces) when it still fits in avail characters. */
static int append(char *line, size_t *len, size_t avail, const char *piece)
{
    size_t add = strlen(piece) + (*len ? 2 : 0);
    if (*len + add > avail)
        return 0;
    if (*len) {
        line[(*len)++] = ' ';
        line[(*len)++] = ' ';
    }
    memcpy(line + *len, piece, strlen(piece) + 1);
    *len += strlen(piece);
    return 1;
}

size_t sc_progress_line(const json_t *p, long max_iter, int width, char *buf, size_t n)
{
    char line[1024] = "", piece[160], num[40], dur[32];
    size_t len = 0;
    size_t avail = width > 1 ? (size_t)width - 1 : 1;
    if (avail > sizeof line - 1)
        avail = sizeof line - 1;
    int narrow = width < 60;
    long it = (long)json_integer_value(json_object_get(p, "iteration"));
    json_t *el = json_object_get(p, "elapsed_s");
    json_t *obj = json_object_get(p, "objective");

    /* What every width shows: the iteration (of max_iter), then time and objective. */
    if (max_iter > 0)
        snprintf(piece, sizeof piece, narrow ? "%ld/%ld" : "iter %ld/%ld", it, max_iter);
    else
        snprintf(piece, sizeof piece, narrow ? "it %ld" : "iter %ld", it);
    if (!append(line, &len, avail, piece)) {
        snprintf(line, sizeof line, "%.*s", (int)avail, piece);
        len = strlen(line);
    }
    if (json_is_number(el))
        append(line, &len, avail, sc_fmt_duration(json_number_value(el), dur, sizeof dur));
    if (json_is_number(obj)) {
        snprintf(piece, sizeof piece, "objective %s",
                 sc_fmt_double(json_number_value(obj), 0, num, sizeof num));
        if (narrow || !append(line, &len, avail, piece)) {
            snprintf(piece, sizeof piece, "obj %s",
                     sc_fmt_short(json_number_value(obj), 6, num, sizeof num));
            append(line, &len, avail, piece);
        }
    }
    /* A bar in front when there is room for a useful one (at least 10 cells). */
    if (max_iter > 0 && !narrow && avail >= len + 14) {
        int cells = (int)(avail - len - 4);
        if (cells > 30)
            cells = 30;
        double frac = (double)it / (double)max_iter;
        frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
        int filled = (int)(frac * cells + 0.5);
        char bar[40];
        bar[0] = '[';
        for (int i = 0; i < cells; i++)
            bar[1 + i] = i < filled ? '#' : '.';
        bar[1 + cells] = ']';
        bar[2 + cells] = 0;
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", line);
        len = (size_t)snprintf(line, sizeof line, "%s  %s", bar, rest);
    }
    /* Then the solver's other metrics, as many as fit. */
    if (!narrow) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)p, k, v) {
            if (!json_is_number(v) || strcmp(k, "iteration") == 0 ||
                strcmp(k, "elapsed_s") == 0 || strcmp(k, "objective") == 0)
                continue;
            snprintf(piece, sizeof piece, "%s %s", k,
                     sc_fmt_short(json_number_value(v), 4, num, sizeof num));
            if (!append(line, &len, avail, piece))
                break;
        }
    }
    snprintf(buf, n, "%s", line);
    return strlen(buf);
}
