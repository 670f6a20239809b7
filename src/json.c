/* json.c - cJSON helpers that validate types and sizes (see json.h). */
#include "json.h"
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jerr_set(struct jerr *err, const char *fmt, ...)
{
  va_list ap;
  if (!err)
    return;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
}

/* What cJSON would pass on silently: a body that is not UTF-8 (RFC 8259
 * requires it; cJSON copies any bytes), a NUL byte, and a string (value
 * or key) holding the escape \u0000, which cJSON decodes into a C string
 * that just ends there ("ev\u0000il" would be "ev").  The scan follows
 * the string tokens and their backslash escapes, so "\\u0000" (an
 * escaped backslash, then the text u0000) is fine.  NULL if fine. */
static const char *text_check(const uint8_t *p, size_t len)
{
  int in_string = 0;

  if (!wire_utf8_ok((const char *)p, len))
    return "payload is not valid UTF-8";
  for (size_t i = 0; i < len; i++) {
    if (!p[i])
      return "payload holds a NUL byte";
    if (!in_string) {
      in_string = p[i] == '"';
    } else if (p[i] == '"') {
      in_string = 0;
    } else if (p[i] == '\\' && i + 1 < len) {
      i++;                      /* the escaped character, never a delimiter */
      if (p[i] == 'u' && len - i > 4 && !memcmp(p + i + 1, "0000", 4))
        return "a string holds \\u0000 (NUL)";
    }
  }
  return NULL;
}

cJSON *json_parse_object(const uint8_t *data, size_t len, size_t max,
                         struct jerr *err)
{
  const char *why;
  cJSON *root;

  if (!data || !len) {
    jerr_set(err, "empty payload, expected a JSON object");
    return NULL;
  }
  if (len > max) {
    jerr_set(err, "payload of %zu bytes exceeds the limit of %zu", len, max);
    return NULL;
  }
  if ((why = text_check(data, len))) {
    jerr_set(err, "%s", why);
    return NULL;
  }
  /* cJSON_ParseWithLength never reads past len, so the payload need not
   * be NUL-terminated. */
  const char *end = NULL;
  root = cJSON_ParseWithLengthOpts((const char *)data, len, &end, 0);
  if (!root) {
    jerr_set(err, "malformed JSON");
    return NULL;
  }
  while (end && (size_t)(end - (const char *)data) < len &&
         (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
    end++;
  if (end && (size_t)(end - (const char *)data) < len) {
    cJSON_Delete(root);
    jerr_set(err, "trailing data after the JSON value");
    return NULL;
  }
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    jerr_set(err, "expected a JSON object");
    return NULL;
  }
  return root;
}

static const cJSON *field(const cJSON *obj, const char *key, int required,
                          struct jerr *err, int *missing)
{
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  *missing = !it || cJSON_IsNull(it);
  if (*missing && required)
    jerr_set(err, "missing field '%s'", key);
  return it;
}

int json_get_string(const cJSON *obj, const char *key, int required,
                    size_t maxlen, const char **out, struct jerr *err)
{
  int missing;
  const cJSON *it = field(obj, key, required, err, &missing);

  if (missing)
    return required ? -1 : 0;
  if (!cJSON_IsString(it) || !it->valuestring) {
    jerr_set(err, "field '%s' must be a string", key);
    return -1;
  }
  if (strlen(it->valuestring) > maxlen) {
    jerr_set(err, "field '%s' is longer than %zu bytes", key, maxlen);
    return -1;
  }
  *out = it->valuestring;
  return 0;
}

int json_get_int(const cJSON *obj, const char *key, int required,
                 long long min, long long max, long long *out, struct jerr *err)
{
  int missing;
  const cJSON *it = field(obj, key, required, err, &missing);
  double v;

  if (missing)
    return required ? -1 : 0;
  if (!cJSON_IsNumber(it)) {
    jerr_set(err, "field '%s' must be a number", key);
    return -1;
  }
  v = it->valuedouble;
  /* The range first: casting a double outside long long's range (1e300,
   * 2^63, NaN) to long long is undefined behaviour. */
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0) ||
      v < (double)min || v > (double)max || v != (double)(long long)v) {
    jerr_set(err, "field '%s' must be an integer in [%lld, %lld]", key, min, max);
    return -1;
  }
  *out = (long long)v;
  return 0;
}

int json_get_bool(const cJSON *obj, const char *key, int required, int *out,
                  struct jerr *err)
{
  int missing;
  const cJSON *it = field(obj, key, required, err, &missing);

  if (missing)
    return required ? -1 : 0;
  if (!cJSON_IsBool(it)) {
    jerr_set(err, "field '%s' must be true or false", key);
    return -1;
  }
  *out = cJSON_IsTrue(it);
  return 0;
}

int json_get_string_array(const cJSON *obj, const char *key, int required,
                          size_t maxitems, size_t maxlen, const cJSON **out,
                          struct jerr *err)
{
  int missing;
  const cJSON *it = field(obj, key, required, err, &missing), *el;
  size_t n = 0;

  if (missing)
    return required ? -1 : 0;
  if (!cJSON_IsArray(it)) {
    jerr_set(err, "field '%s' must be an array of strings", key);
    return -1;
  }
  cJSON_ArrayForEach(el, it) {
    if (++n > maxitems) {
      jerr_set(err, "field '%s' has more than %zu items", key, maxitems);
      return -1;
    }
    if (!cJSON_IsString(el) || !el->valuestring) {
      jerr_set(err, "field '%s' must be an array of strings", key);
      return -1;
    }
    if (strlen(el->valuestring) > maxlen) {
      jerr_set(err, "an item of '%s' is longer than %zu bytes", key, maxlen);
      return -1;
    }
  }
  *out = it;
  return 0;
}

char *json_print(const cJSON *item)
{
  return cJSON_PrintUnformatted(item);
}

char *json_error_body(const char *msg)
{
  cJSON *o = cJSON_CreateObject();
  char *s = NULL;
  if (o && cJSON_AddStringToObject(o, "error", msg))
    s = json_print(o);
  cJSON_Delete(o);
  return s;
}
