/* libFuzzer target: the request line's parts a client controls before any body is read:
 * "METHOD\nPATH\nLAST-EVENT-ID" (missing parts empty) through the route table (api/router.c)
 * and the resume id of event streams (api/sse.c). It must never crash or read out of bounds;
 * a match is 200, 404 or 405, a 405 lists the allowed methods, and a path argument is a
 * terminated string of the table's size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "api/router.h"
#include "api/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *method = buf, *path = "", *last = "";
    char *nl = strchr(method, '\n');
    if (nl) {
        *nl = 0;
        path = nl + 1;
        if ((nl = strchr(path, '\n'))) {
            *nl = 0;
            last = nl + 1;
        }
    }
    sv_route r;
    memset(&r, 0x5a, sizeof r);
    int st = sv_route_match(method, path, &r);
    if (st != 200 && st != 404 && st != 405)
        abort();
    if (st == 405 && !r.allow[0])
        abort();
    if (st == 200 && strnlen(r.arg, sizeof r.arg) == sizeof r.arg)
        abort();
    long id;
    if (sv_sse_parse_last_id(last, &id) == 0 && id < 0)
        abort();
    free(buf);
    return 0;
}
