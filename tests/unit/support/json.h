/* json.h - JSON in unit tests: literals in the test become jansson values, and an object's
 * member names become one string a test can compare in order. */
#ifndef SOLVD_TEST_SUPPORT_JSON_H
#define SOLVD_TEST_SUPPORT_JSON_H

#include <stddef.h>
#include <jansson.h>

/* Parses text (any JSON value; duplicate members refused) and returns a new reference; NULL
 * text gives NULL (an absent params object). Bad JSON is a defect of the test: it fails the
 * running cmocka test with the parser's message. */
json_t *sv_test_json(const char *text);

/* Writes the member names of o in their order, each followed by a comma ("a,b,c,"), into buf
 * (n bytes, always terminated, cut when full). */
void sv_test_keys(const json_t *o, char *buf, size_t n);

#endif
