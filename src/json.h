/* json.h - cJSON helpers that validate types and sizes.
 *
 * Every getter either fills *out and returns 0, or writes a short reason
 * ("field 'ble' must be an array of strings") into err and returns -1, so
 * a handler can answer 4.00 {"error": reason} in one line.
 */
#ifndef NANO_JSON_H
#define NANO_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct jerr { char msg[192]; };

enum { JSON_OPTIONAL = 0, JSON_REQUIRED = 1 };

cJSON *json_parse_object(const uint8_t *data, size_t len, size_t max,
                         struct jerr *err);
int json_get_string(const cJSON *obj, const char *key, int required,
                    size_t maxlen, const char **out, struct jerr *err);
int json_get_int(const cJSON *obj, const char *key, int required,
                 long long min, long long max, long long *out, struct jerr *err);
int json_get_bool(const cJSON *obj, const char *key, int required, int *out,
                  struct jerr *err);
/* An array of at most maxitems strings of at most maxlen each. */
int json_get_string_array(const cJSON *obj, const char *key, int required,
                          size_t maxitems, size_t maxlen, const cJSON **out,
                          struct jerr *err);
void jerr_set(struct jerr *err, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
/* cJSON_PrintUnformatted that never returns NULL for a valid tree unless
 * out of memory; the caller frees with free(). */
char *json_print(const cJSON *item);
/* {"error": msg} printed, for error replies. */
char *json_error_body(const char *msg);

#endif
