/* term.h - the terminal side of solvctl: how wide the terminal is (COLUMNS overrides it), a
 * progress line that fits that width, and durations written for people. */
#ifndef SOLVCTL_TERM_H
#define SOLVCTL_TERM_H

#include <stddef.h>
#include <jansson.h>

/* The terminal width: COLUMNS when it is a number from 10 to 1000, else the window size of fd,
 * else 80. */
int sc_term_width(int fd);

/* 0.0123 -> "12ms", 4.5 -> "4.5s", 83 -> "1m23s", 7300 -> "2h01m"; negative/NaN -> "-". */
char *sc_fmt_duration(double s, char *buf, size_t n);

/* Builds the progress line of one `progress` event into buf: at most width-1 characters, so
 * that "\r" + line + clear-to-end-of-line never wraps. Wide terminals get a bar (when max_iter
 * is known), the objective in full and the other metrics; narrow ones shorter labels and
 * fewer digits. Returns the length written. */
size_t sc_progress_line(const json_t *progress, long max_iter, int width, char *buf, size_t n);

#endif
