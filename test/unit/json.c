/* json.c - unit tests of the JSON validation helpers (src/json.c). */
#include "json.h"
#include "tap.h"

#include <stdlib.h>

static cJSON *parse(const char *s, size_t max, struct jerr *err)
{
  return json_parse_object((const uint8_t *)s, strlen(s), max, err);
}

int main(void)
{
  struct jerr err;
  const char *str = NULL;
  const cJSON *arr = NULL;
  long long n = 0;
  int b = -1;
  cJSON *o;

  plan(43);

  o = parse("{\"id\":\"alice\",\"n\":42,\"on\":true,\"ble\":[\"a\",\"b\"]}", 1024, &err);
  ok(o != NULL, "a valid object parses");
  ok(json_get_string(o, "id", JSON_REQUIRED, 64, &str, &err) == 0, "string field");
  is_str(str, "alice", "string value");
  ok(json_get_int(o, "n", JSON_REQUIRED, 0, 100, &n, &err) == 0 && n == 42, "int field");
  ok(json_get_bool(o, "on", JSON_REQUIRED, &b, &err) == 0 && b == 1, "bool field");
  ok(json_get_string_array(o, "ble", JSON_REQUIRED, 2, 8, &arr, &err) == 0 &&
     cJSON_GetArraySize(arr) == 2, "string array field");

  ok(json_get_string(o, "n", JSON_REQUIRED, 64, &str, &err) < 0, "number is not a string");
  is_str(err.msg, "field 'n' must be a string", "type error names the field");
  ok(json_get_string(o, "id", JSON_REQUIRED, 3, &str, &err) < 0, "too long string refused");
  ok(json_get_int(o, "n", JSON_REQUIRED, 0, 10, &n, &err) < 0, "int out of range refused");
  ok(json_get_int(o, "id", JSON_REQUIRED, 0, 10, &n, &err) < 0, "string is not an int");
  ok(json_get_bool(o, "n", JSON_REQUIRED, &b, &err) < 0, "number is not a bool");
  ok(json_get_string_array(o, "ble", JSON_REQUIRED, 1, 8, &arr, &err) < 0,
     "too many array items refused");
  ok(json_get_string_array(o, "id", JSON_REQUIRED, 4, 8, &arr, &err) < 0,
     "string is not an array");
  ok(json_get_string(o, "missing", JSON_REQUIRED, 8, &str, &err) < 0, "required field missing");
  is_str(err.msg, "missing field 'missing'", "missing field named");
  str = "unchanged";
  ok(json_get_string(o, "missing", JSON_OPTIONAL, 8, &str, &err) == 0 &&
     !strcmp(str, "unchanged"), "optional field missing leaves the default");
  cJSON_Delete(o);

  o = parse("{\"x\":1.5,\"a\":[1]}", 1024, &err);
  ok(json_get_int(o, "x", JSON_REQUIRED, 0, 10, &n, &err) < 0, "1.5 is not an integer");
  ok(json_get_string_array(o, "a", JSON_REQUIRED, 4, 8, &arr, &err) < 0,
     "array of numbers is not an array of strings");
  cJSON_Delete(o);

  ok(parse("{\"a\":", 1024, &err) == NULL, "truncated JSON refused");
  is_str(err.msg, "malformed JSON", "malformed reason");
  ok(parse("[1,2]", 1024, &err) == NULL, "array is not an object");
  ok(parse("{} {}", 1024, &err) == NULL, "trailing data refused");
  ok((o = parse("{}  \n", 1024, &err)) != NULL, "trailing whitespace is fine");
  cJSON_Delete(o);
  ok(parse("{\"a\":\"0123456789\"}", 10, &err) == NULL, "payload over the limit refused");
  ok(json_parse_object(NULL, 0, 10, &err) == NULL, "empty payload refused");
  ok(json_parse_object((const uint8_t *)"{}\0{}", 5, 10, &err) == NULL,
     "embedded NUL refused");
  ok(parse("{\"a\":'x'}", 1024, &err) == NULL, "single quotes refused");

  char *e = json_error_body("bad \"thing\"");
  is_str(e, "{\"error\":\"bad \\\"thing\\\"\"}", "error body escapes quotes");
  free(e);

  /* A deep nesting must fail cleanly, not overflow the stack. */
  char *deep = malloc(200001);
  memset(deep, '[', 100000);
  memset(deep + 100000, ']', 100000);
  deep[200000] = '\0';
  ok(parse(deep, 300000, &err) == NULL, "100000 nested arrays refused without a crash");
  free(deep);
  o = parse("{\"a\":\"\\u00e9\\ud83d\\ude00\"}", 1024, &err);
  ok(o && json_get_string(o, "a", JSON_REQUIRED, 16, &str, &err) == 0 &&
     !strcmp(str, "\xc3\xa9\xf0\x9f\x98\x80"), "unicode escapes decode to UTF-8");
  cJSON_Delete(o);

  /* NUL and invalid UTF-8: cJSON would hand "ev\u0000il" on as "ev". */
  ok(parse("{\"id\":\"ev\\u0000il\"}", 1024, &err) == NULL, "\\u0000 in a value refused");
  is_str(err.msg, "a string holds \\u0000 (NUL)", "the reason says \\u0000");
  ok(parse("{\"ev\\u0000il\":1}", 1024, &err) == NULL, "\\u0000 in a key refused");
  ok(parse("{\"a\":[\"x\",\"\\u0000\"]}", 1024, &err) == NULL, "\\u0000 in an array refused");
  o = parse("{\"a\":\"x\\\\u0000y\",\"b\":\"\\\\\"}", 1024, &err);
  ok(o && json_get_string(o, "a", JSON_REQUIRED, 16, &str, &err) == 0 &&
     !strcmp(str, "x\\u0000y"), "an escaped backslash before u0000 is text, not a NUL");
  ok(o && json_get_string(o, "b", JSON_REQUIRED, 16, &str, &err) == 0 && !strcmp(str, "\\"),
     "a string ending in an escaped backslash");
  cJSON_Delete(o);
  o = parse("{\"a\":\"\\\"\\u0001\\u00e9\"}", 1024, &err);
  ok(o && json_get_string(o, "a", JSON_REQUIRED, 16, &str, &err) == 0 &&
     !strcmp(str, "\"\x01\xc3\xa9"), "\\u0001 passes here (the field validators refuse it)");
  cJSON_Delete(o);
  ok(parse("{\"a\":\"\\\\\",\"b\":\"\\u0000\"}", 1024, &err) == NULL,
     "a \\u0000 after a string that ends in an escaped backslash is found");
  ok(parse("{\"id\":\"ev\xffil\"}", 1024, &err) == NULL, "an 0xFF byte refused");
  is_str(err.msg, "payload is not valid UTF-8", "the reason says UTF-8");
  ok(parse("{\"id\":\"\xc0\xaf\"}", 1024, &err) == NULL, "an overlong '/' refused");
  ok(json_parse_object((const uint8_t *)"{\"a\":\"x\0y\"}", 11, 64, &err) == NULL &&
     !strcmp(err.msg, "payload holds a NUL byte"), "a raw NUL byte inside a string refused");
  return done_testing();
}
