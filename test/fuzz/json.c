/* json.c - fuzz target: json_parse_object and the typed getters of
 * src/json.c, the way every handler reads a body (req_json, then
 * json_get_* on its keys).  The roles' own body parsers are static in
 * applets/ROLE.c; they are fuzzed through the role targets (roles.c).
 *
 * Invariants: a parsed body is an object whose printed form parses again
 * to the same print; a getter that succeeds respects its bounds; a
 * failure always says why; {"error": why} is valid JSON that says it.
 */
#include "check.h"
#include "json.h"

#include <string.h>

/* The keys nano's roles read from bodies and answers. */
static const char *const keys[] = {
  "id", "name", "ble", "irk", "participants", "title", "room", "building",
  "organizer", "start", "end", "content", "location", "uuid", "major",
  "minor", "tx_power", "addr", "rssi", "ttl_ms", "type", "ibeacon",
  "duration_ms", "participant", "meeting", "node", "ts_ms", "devices",
  "motion", "uptime_ms", "last_seen_ms", "granted", "denied", "error", "",
};

static void check_error_body(const char *msg)
{
  struct jerr err = { "" };
  char *body = json_error_body(msg);
  cJSON *o;
  const char *back = NULL;

  CHECK(body);
  o = json_parse_object((const uint8_t *)body, strlen(body), 1 << 20, &err);
  CHECK(o);
  CHECK(json_get_string(o, "error", JSON_REQUIRED, 1 << 20, &back, &err) == 0);
  CHECK(!strcmp(back, msg));
  cJSON_Delete(o);
  free(body);
}

static void getters(const cJSON *o)
{
  for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
    const char *key = keys[k], *s;
    const cJSON *arr, *el;
    long long n;
    int b;
    struct jerr err = { "" };

    for (int req = 0; req < 2; req++) {
      s = NULL;
      err.msg[0] = '\0';
      if (json_get_string(o, key, req, 17, &s, &err) == 0) {
        CHECK(!s || strlen(s) <= 17);
        CHECK(s || !req);
      } else {
        CHECK(err.msg[0]);
        check_error_body(err.msg);
      }
      err.msg[0] = '\0';
      n = 12345;
      if (json_get_int(o, key, req, -127, 1LL << 50, &n, &err) == 0)
        CHECK(n == 12345 || (n >= -127 && n <= 1LL << 50));
      else
        CHECK(err.msg[0]);
      err.msg[0] = '\0';
      if (json_get_bool(o, key, req, &b, &err) < 0)
        CHECK(err.msg[0]);
      err.msg[0] = '\0';
      arr = NULL;
      if (json_get_string_array(o, key, req, 4, 17, &arr, &err) == 0) {
        size_t count = 0;
        cJSON_ArrayForEach(el, arr) {
          CHECK(cJSON_IsString(el) && strlen(el->valuestring) <= 17);
          count++;
        }
        CHECK(count <= 4);
      } else {
        CHECK(err.msg[0]);
      }
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct jerr err = { "" };
  cJSON *o = json_parse_object(data, size, 64 * 1024, &err), *again;
  char *p1, *p2;

  if (!o) {
    CHECK(err.msg[0]);
    return 0;
  }
  CHECK(cJSON_IsObject(o));
  getters(o);
  p1 = json_print(o);
  CHECK(p1);
  again = json_parse_object((const uint8_t *)p1, strlen(p1), 1 << 20, &err);
  CHECK(again);
  p2 = json_print(again);
  CHECK(p2 && !strcmp(p1, p2));
  free(p1);
  free(p2);
  cJSON_Delete(again);
  cJSON_Delete(o);
  return 0;
}
