/* Unit tests of server/config.c: defaults, file, environment and flags, in that precedence, and
 * the rejection of bad values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "server/config.h"

static int load(sv_config *c, int argc, char **argv)
{
    sv_config_defaults(c);
    return sv_config_load(c, argc, argv);
}

static void test_defaults(void **state)
{
    (void)state;
    sv_config c;
    char *argv[] = {"solvd", NULL};
    assert_int_equal(load(&c, 1, argv), 0);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_string_equal(c.db, "solvd.db");
    assert_int_equal(c.max_attempts, 3);
    assert_true(c.max_job_seconds == 3600);
}

static void test_precedence(void **state)
{
    (void)state;
    char path[] = "/tmp/solvd-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# comment\nworkers = 3\nmax-job-seconds = 12.5  # trailing\n"
               "db = \"/tmp/from-file.db\"\nlisten = 127.0.0.1:1\n");
    fclose(f);
    setenv("SOLVD_WORKERS", "5", 1);
    setenv("SOLVD_LISTEN", "127.0.0.1:2", 1);
    sv_config c;
    char *argv[] = {"solvd", "--config", path, "--listen", "127.0.0.1:3", "--max-attempts=7",
                    NULL};
    assert_int_equal(load(&c, 6, argv), 0);
    assert_int_equal(c.workers, 5);                 /* env over file */
    assert_true(c.max_job_seconds == 12.5);         /* file over default */
    assert_string_equal(c.db, "/tmp/from-file.db");
    assert_string_equal(c.listen, "127.0.0.1:3");   /* flag over env over file */
    assert_int_equal(c.max_attempts, 7);
    unsetenv("SOLVD_WORKERS");
    unsetenv("SOLVD_LISTEN");
    unlink(path);
}

static void test_rejects(void **state)
{
    (void)state;
    sv_config c;
    char *a1[] = {"solvd", "--workers", "abc", NULL};
    assert_int_equal(load(&c, 3, a1), -1);
    char *a2[] = {"solvd", "--max-job-seconds", "-1", NULL};
    assert_int_equal(load(&c, 3, a2), -1);
    char *a3[] = {"solvd", "--no-such-option", "1", NULL};
    assert_int_equal(load(&c, 3, a3), -1);
    char *a4[] = {"solvd", "--db", NULL};
    assert_int_equal(load(&c, 2, a4), -1);
    char *a5[] = {"solvd", "positional", NULL};
    assert_int_equal(load(&c, 2, a5), -1);
    char *a6[] = {"solvd", "--config", "/nonexistent/solvd.conf", NULL};
    assert_int_equal(load(&c, 3, a6), -1);
    setenv("SOLVD_MAX_ATTEMPTS", "0", 1);
    char *a7[] = {"solvd", NULL};
    assert_int_equal(load(&c, 1, a7), -1);
    unsetenv("SOLVD_MAX_ATTEMPTS");
}

static char *slurp(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", SOLVD_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

/* Every option (but --config, which names the file) has its row in docs/configuration.md and
 * its line in deploy/solvd.conf.sample: an option added without them fails here. */
static void test_every_option_documented(void **state)
{
    (void)state;
    char *doc = slurp("docs/configuration.md"), *sample = slurp("deploy/solvd.conf.sample");
    const char *name;
    for (size_t i = 0; (name = sv_config_option_name(i)); i++) {
        if (strcmp(name, "config") == 0)
            continue;
        char row[96], line[96];
        snprintf(row, sizeof row, "| `%s` |", name);
        snprintf(line, sizeof line, "\n#%s =", name);
        if (!strstr(doc, row))
            fail_msg("docs/configuration.md has no row for %s", name);
        const char *at = strstr(sample, line);
        char next = at ? at[strlen(line)] : 0;
        if (next != ' ' && next != '\n')
            fail_msg("deploy/solvd.conf.sample has no line for %s", name);
    }
    free(doc);
    free(sample);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_every_option_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
