/* sightings.c - unit tests of the Bluetooth scanner's sighting cache
 * (src/sightings.c) with injected time: RSSI smoothing, range,
 * forgetting, reports at most once per window, eviction, iBeacon. */
#include "sightings.h"
#include "tap.h"

#include <stdlib.h>

static struct sighting *hear(struct sightings *c, const char *addr, int rssi,
                             uint64_t now, int *ev)
{
  struct sight_obs o = { .addr = addr, .type = SIGHT_TYPE_KEEP, .heard = 1, .rssi = rssi };
  return sightings_update(c, &o, now, ev);
}

static const cJSON *item(const cJSON *arr, int i, const char *key)
{
  return cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, i), key);
}

static void test_names(void)
{
  char buf[6];
  utf8_copy(buf, sizeof buf, "abc\xc3\xa9\xc3\xa9");   /* abcéé: é is 2 bytes */
  is_str(buf, "abc\xc3\xa9", "a name is cut on a character boundary");
  utf8_copy(buf, sizeof buf, "abcd\xc3\xa9");
  is_str(buf, "abcd", "a character that does not fit is dropped whole");
  utf8_copy(buf, sizeof buf, "ab");
  is_str(buf, "ab", "a short name is copied");
}

static void test_ibeacon(void)
{
  uint8_t d[23] = { 0x02, 0x15,
                    0xE2, 0xC5, 0x6D, 0xB5, 0xDF, 0xFB, 0x48, 0xD2,
                    0xB0, 0x60, 0xD0, 0xF5, 0xA7, 0x10, 0x96, 0xE0,
                    0x01, 0x02, 0xAB, 0xCD, 0xC5 };
  struct ibeacon b;
  char uuid[37];
  uint8_t back[16];

  ok(ibeacon_parse(0x004C, d, sizeof d, &b) == 0, "an iBeacon frame parses");
  ibeacon_uuid_format(b.uuid, uuid);
  is_str(uuid, "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0", "its UUID");
  is_int(b.major, 0x0102, "major is big-endian");
  is_int(b.minor, 0xABCD, "minor is big-endian");
  is_int(b.tx_power, -59, "tx power is signed");
  ok(ibeacon_parse(0x0059, d, sizeof d, &b) < 0, "another company is not an iBeacon");
  ok(ibeacon_parse(0x004C, d, 22, &b) < 0, "a short frame is refused");
  d[1] = 0x10;
  ok(ibeacon_parse(0x004C, d, sizeof d, &b) < 0, "another Apple type is refused");
  ok(ibeacon_uuid_parse("e2c56db5-dffb-48d2-b060-d0f5a71096e0", back) == 0 &&
     !memcmp(back, b.uuid, 16), "a UUID parses back, any case");
  ok(ibeacon_uuid_parse("e2c56db5dffb48d2b060d0f5a71096e0", back) < 0,
     "a UUID without dashes is refused");
  ok(ibeacon_uuid_parse("e2c56db5-dffb-48d2-b060-d0f5a71096eZ", back) < 0,
     "a UUID with a non-hex digit is refused");
}

/* A badge's key, as ae stores it and mcs asks about it. */
static void test_ibeacon_key(void)
{
  static const char *const bad[] = {
    "\"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0/1/65536\"",
    "\"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0/01/2\"",
    "\"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0/1/2/3\"",
    "\"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0/1/\"",
    "\"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0/-1/2\"",
    "\"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0/1/2 \"",
    "\"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\"",
    "{\"uuid\":\"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\",\"major\":1.5,\"minor\":2}",
    "{\"uuid\":\"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\",\"major\":1}",
    "{\"uuid\":\"nope\",\"major\":1,\"minor\":2}",
    "7", "null",
  };
  struct ibeacon b = { { 0xE2, 0xC5, 0x6D, 0xB5, 0xDF, 0xFB, 0x48, 0xD2, 0xB0, 0x60, 0xD0, 0xF5,
                         0xA7, 0x10, 0x96, 0xE0 }, 65535, 0, -59 };
  char key[IBEACON_KEY_MAX], err[128];
  cJSON *v;

  ibeacon_key(&b, key);
  is_str(key, "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0/65535/0", "the key of a heard beacon");
  v = cJSON_Parse("{\"uuid\":\"e2c56db5-dffb-48d2-b060-d0f5a71096e0\",\"major\":65535,"
                  "\"minor\":0,\"tx_power\":-59}");
  ok(ibeacon_key_parse(v, key, err, sizeof err) == 0 &&
     !strcmp(key, "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0/65535/0"),
     "bs's object, lower-case UUID, gives the same key");
  cJSON_Delete(v);
  v = cJSON_CreateString("e2c56db5-dffb-48d2-b060-d0f5a71096e0/65535/0");
  ok(ibeacon_key_parse(v, key, err, sizeof err) == 0 &&
     !strcmp(key, "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0/65535/0"), "and so does the key's text");
  cJSON_Delete(v);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    v = cJSON_Parse(bad[i]);
    ok(ibeacon_key_parse(v, key, err, sizeof err) < 0 && *err, "refused: %s", bad[i]);
    cJSON_Delete(v);
  }
}

static void test_smoothing_and_range(void)
{
  struct sightings c;
  struct sighting *s;
  int ev;

  sightings_init(&c, 8, 30000, -80, 10000);
  s = hear(&c, "aa:bb:cc:dd:ee:01", -60, 1000, &ev);
  ok(s && (ev & SIGHT_ADDED) && (ev & SIGHT_ENTERED), "first sighting adds, in range");
  is_str(s->text, "AA:BB:CC:DD:EE:01", "stored in upper case");
  is_int(s->rssi, -60, "first sample is the average");
  s = hear(&c, "AA:BB:CC:DD:EE:01", -80, 1100, &ev);
  /* dt 100 ms: alpha = max(1/4, 100/2100) = 1/4 -> -60 + (-20)/4 = -65 */
  is_int(s->rssi, -65, "close samples move the average by a quarter");
  ok(!(ev & SIGHT_ADDED) && (ev & SIGHT_CHANGED), "an update, not an addition");
  s = hear(&c, "AA:BB:CC:DD:EE:01", -95, 1100 + 18000, &ev);
  /* dt 18 s: alpha = 18000/20000 = 0.9 -> -65 + 0.9 * -30 = -92 */
  is_int(s->rssi, -92, "after a silence the new sample dominates");
  ok(ev & SIGHT_LEFT, "falling below rssi-min leaves range");
  ok(!s->in_range, "not in range");
  {
    cJSON *arr = sightings_json(&c, 20000, 0);
    is_int(cJSON_GetArraySize(arr), 0, "a device out of range is not listed");
    cJSON_Delete(arr);
  }
  s = hear(&c, "AA:BB:CC:DD:EE:01", -40, 19100 + 10000, &ev);
  ok(ev & SIGHT_ENTERED, "coming closer enters range again");
  sightings_free(&c);

  sightings_init(&c, 8, 30000, -90, 10000);
  s = hear(&c, "AA:BB:CC:DD:EE:02", 60, 0, &ev);
  is_int(s->rssi, 20, "an impossible RSSI is clamped");
  s = hear(&c, "AA:BB:CC:DD:EE:03", -128, 0, &ev);
  is_int(s->rssi, -127, "and so is one below -127");
  ok(!s->in_range, "which is out of range");
  s = hear(&c, "AA:BB:CC:DD:EE:02", -50, 0, &ev);
  ok(s && !(ev & SIGHT_ADDED), "time zero is a valid time (no re-add)");
  sightings_free(&c);
}

static void test_properties(void)
{
  struct sightings c;
  struct sighting *s;
  struct sight_obs o = { .addr = "AA:BB:CC:DD:EE:01", .type = SIGHT_RANDOM, .heard = 0,
                         .name = "late" };
  int ev;
  char long_name[100];

  sightings_init(&c, 8, 30000, -90, 10000);
  ok(sightings_update(&c, &o, 0, &ev) == NULL, "a name for an unknown device is not kept");
  ok(sightings_update(&c, &(struct sight_obs){ .addr = "nope", .heard = 1, .rssi = -50 },
                      0, &ev) == NULL, "a malformed address is refused");
  hear(&c, "AA:BB:CC:DD:EE:01", -50, 0, &ev);
  s = sightings_update(&c, &o, 5, &ev);
  ok(s && (ev & SIGHT_CHANGED), "name and type change the entry");
  is_str(s->name, "late", "name kept");
  is_int(s->type, SIGHT_RANDOM, "type kept");
  is_int((long long)s->last_seen, 0, "a property change is not a sighting");
  o.type = SIGHT_TYPE_KEEP;
  o.name = NULL;
  s = sightings_update(&c, &o, 6, &ev);
  ok(s && !(ev & SIGHT_CHANGED), "nothing new, no change");
  is_int(s->type, SIGHT_RANDOM, "SIGHT_TYPE_KEEP keeps the type");
  memset(long_name, 'x', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  o.name = long_name;
  s = sightings_update(&c, &o, 7, &ev);
  is_int((long long)strlen(s->name), WIRE_DEVICE_NAME_MAX, "a long name is cut");
  sightings_free(&c);
}

static void test_forget_and_reports(void)
{
  struct sightings c;
  struct sighting *s;
  int ev;

  sightings_init(&c, 8, 3000, -90, 10000);
  s = hear(&c, "AA:BB:CC:DD:EE:01", -50, 1000, &ev);
  ok(sightings_take_report(&c, s, 1000), "a new device in range is reported");
  ok(!sightings_take_report(&c, s, 1500), "but only once while it stays");
  is_int((long long)sightings_next_expiry(&c), 4000, "forgotten 3 s after last heard");
  hear(&c, "AA:BB:CC:DD:EE:01", -50, 2000, &ev);
  is_int((long long)sightings_expire(&c, 4999), 0, "heard at 2 s: still there at 4.999 s");
  is_int((long long)sightings_expire(&c, 5000), 1, "forgotten after 3 s of silence");
  ok(sightings_find(&c, "AA:BB:CC:DD:EE:01") == NULL, "no longer found");
  is_int((long long)sightings_count(&c), 0, "no live entries");
  {
    cJSON *arr = sightings_json(&c, 5000, 0);
    is_int(cJSON_GetArraySize(arr), 0, "nor listed");
    cJSON_Delete(arr);
  }
  s = hear(&c, "aa:bb:cc:dd:ee:01", -50, 6000, &ev);
  ok(ev & SIGHT_ADDED, "back after being forgotten: added again");
  is_int((long long)s->first_seen, 6000, "with a new first sighting");
  ok(!sightings_take_report(&c, s, 6000), "not reported again within --report-every");
  s = hear(&c, "aa:bb:cc:dd:ee:01", -50, 11000, &ev);
  ok(sightings_take_report(&c, s, 11000), "reported once the window has passed");

  /* in range -> out of range -> in range again */
  s = hear(&c, "AA:BB:CC:DD:EE:02", -50, 20000, &ev);
  ok(sightings_take_report(&c, s, 20000), "second device reported");
  s = hear(&c, "AA:BB:CC:DD:EE:02", -127, 40000, &ev);
  ok((ev & SIGHT_LEFT) && !sightings_take_report(&c, s, 40000), "out of range: no report");
  s = hear(&c, "AA:BB:CC:DD:EE:02", -40, 60000, &ev);
  ok((ev & SIGHT_ENTERED) && sightings_take_report(&c, s, 60000),
     "back in range after the window: reported again");

  /* a gone entry stays hidden until its report window is over */
  sightings_free(&c);
  sightings_init(&c, 8, 1000, -90, 10000);
  s = hear(&c, "AA:BB:CC:DD:EE:03", -50, 0, &ev);
  sightings_take_report(&c, s, 0);
  sightings_expire(&c, 1000);
  is_int((long long)c.n, 1, "a recently reported device is remembered after forgetting");
  is_int((long long)sightings_count(&c), 0, "but not live");
  sightings_expire(&c, 10000);
  is_int((long long)c.n, 0, "and dropped when its report window is over");
  sightings_free(&c);
}

static void test_listing(void)
{
  struct sightings c;
  struct sighting *s;
  struct ibeacon b = { .major = 7, .minor = 9, .tx_power = -59 };
  int ev;
  cJSON *arr;

  sightings_init(&c, 3, 30000, -90, 10000);
  hear(&c, "AA:BB:CC:DD:EE:01", -70, 1000, &ev);
  hear(&c, "AA:BB:CC:DD:EE:02", -40, 2000, &ev);
  s = sightings_update(&c, &(struct sight_obs){ .addr = "AA:BB:CC:DD:EE:03",
                         .type = SIGHT_RANDOM, .heard = 1, .rssi = -55,
                         .name = "beacon", .ibeacon = &b }, 3000, &ev);
  ok(s && s->has_ibeacon, "beacon data kept");
  arr = sightings_json(&c, 3500, 0);
  is_int(cJSON_GetArraySize(arr), 3, "three devices listed");
  is_str(cJSON_GetStringValue(item(arr, 0, "addr")), "AA:BB:CC:DD:EE:02", "closest first");
  is_str(cJSON_GetStringValue(item(arr, 1, "addr")), "AA:BB:CC:DD:EE:03", "then the next");
  is_str(cJSON_GetStringValue(item(arr, 1, "type")), "random", "type random");
  is_str(cJSON_GetStringValue(item(arr, 0, "type")), "public", "type public");
  is_int((long long)cJSON_GetNumberValue(item(arr, 1, "last_seen_ms")), 500,
         "last_seen_ms is the age");
  is_str(cJSON_GetStringValue(item(arr, 2, "name")), "", "an unknown name is empty");
  ok(cJSON_GetObjectItemCaseSensitive(item(arr, 1, "ibeacon"), "uuid") != NULL,
     "the beacon's UUID is shown");
  is_int((long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
           item(arr, 1, "ibeacon"), "major")), 7, "and its major");
  ok(item(arr, 0, "ibeacon") == NULL, "no beacon object for a plain device");
  cJSON_Delete(arr);
  arr = sightings_json(&c, 3500, 2000);
  is_int(cJSON_GetArraySize(arr), 2, "since filters by last heard");
  cJSON_Delete(arr);

  hear(&c, "AA:BB:CC:DD:EE:04", -60, 4000, &ev);
  ok(sightings_find(&c, "AA:BB:CC:DD:EE:01") == NULL, "full: the longest silent is evicted");
  is_int((long long)c.evicted, 1, "and counted");
  is_int((long long)sightings_count(&c), 3, "the cache stays bounded");
  ok(sightings_remove(&c, "aa:bb:cc:dd:ee:04", 4000) == 1, "remove forgets at once");
  ok(sightings_remove(&c, "aa:bb:cc:dd:ee:04", 4000) == 0, "and only once");
  s = hear(&c, "AA:BB:CC:DD:EE:02", -40, 4000, &ev);
  ok(sightings_take_report(&c, s, 4000), "a reported device ...");
  sightings_remove(&c, "AA:BB:CC:DD:EE:02", 4100);
  s = hear(&c, "AA:BB:CC:DD:EE:02", -40, 4200, &ev);
  ok((ev & SIGHT_ADDED) && !sightings_take_report(&c, s, 4200),
     "... removed and back is not reported again within the window");
  sightings_free(&c);
}

int main(void)
{
  plan(89);
  test_names();
  test_ibeacon();
  test_ibeacon_key();
  test_smoothing_and_range();
  test_properties();
  test_forget_and_reports();
  test_listing();
  return done_testing();
}
