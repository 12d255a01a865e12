/* json.c - see json.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "json.h"

json_t *sv_test_json(const char *text)
{
    if (!text)
        return NULL;
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!v)
        fail_msg("bad JSON in the test (%s): %s", je.text, text);
    return v;
}

void sv_test_keys(const json_t *o, char *buf, size_t n)
{
    const char *k;
    json_t *v;
    buf[0] = '\0';
    json_object_foreach((json_t *)o, k, v)
    {
        (void)v;
        strncat(buf, k, n - strlen(buf) - 1);
        strncat(buf, ",", n - strlen(buf) - 1);
    }
}
