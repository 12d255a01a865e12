/* monitor.c - the stop-after-polls monitor of the solver tests. */
#include "support/monitor.h"

int sv_test_stop_after_100_polls(void *data)
{
    int *polls = data;
    return ++*polls > 100;
}
