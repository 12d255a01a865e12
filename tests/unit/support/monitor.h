/* monitor.h - a monitor's poll for the cancellation tests of the solvers: it asks to stop at its
 * 101st call, so a test sees that a solver polls (inside its inner loops, between reports) and
 * stops when asked. data is an int counter the test sets to 0 and may read afterwards. */
#ifndef SOLVD_TEST_SUPPORT_MONITOR_H
#define SOLVD_TEST_SUPPORT_MONITOR_H

int sv_test_stop_after_100_polls(void *data);

#endif
