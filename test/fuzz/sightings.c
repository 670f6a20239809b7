/* sightings.c - fuzz target: bs's cache of sightings (src/sightings.c)
 * under a sequence of operations decoded from the input, with the
 * table's invariants checked after each.
 *
 * Input: 4 bytes of parameters (max 1..16 entries so eviction happens,
 * forget_ms, rssi_min, report_every_ms), then operations, one byte each
 * plus their arguments:
 *   0 update: addr, flags (heard, name, type, iBeacon, raw address),
 *             rssi, [name: length + bytes], [23 bytes of iBeacon data],
 *             then a time step
 *   1 remove  2 expire  3 take a report  4 list (since)  5 time step
 *   6 find    7 next expiry
 * An address is one of 16 (a byte picks it, in upper or lower case) or,
 * with the raw flag, up to 17 bytes of the input.  Time only moves
 * forward, as the monotonic clock bs gives the cache does.
 */
#include "check.h"
#include "sightings.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

struct in {
  const uint8_t *d;
  size_t n, i;
};

static unsigned byte(struct in *in)
{
  return in->i < in->n ? in->d[in->i++] : 0;
}

static void addr_of(struct in *in, int raw, char out[18])
{
  unsigned b = byte(in);

  if (raw) {
    size_t len = b % 18;
    for (size_t k = 0; k < len; k++)
      out[k] = (char)byte(in);
    out[len] = '\0';
    return;
  }
  snprintf(out, 18, (b & 16) ? "aa:bb:cc:dd:ee:%02x" : "AA:BB:CC:DD:EE:%02X", b % 16);
}

static void check_table(const struct sightings *c, uint64_t now)
{
  size_t live = 0;

  CHECK(c->n <= c->max);
  for (size_t i = 0; i < c->n; i++) {
    const struct sighting *s = &c->v[i];
    char text[18];

    for (size_t j = i + 1; j < c->n; j++)
      CHECK(memcmp(s->addr, c->v[j].addr, 6));
    wire_ble_format(s->addr, text);
    CHECK(!strcmp(text, s->text));
    CHECK(s->rssi >= SIGHT_RSSI_MIN_VALUE && s->rssi <= SIGHT_RSSI_MAX_VALUE);
    CHECK(s->rssi_avg >= SIGHT_RSSI_MIN_VALUE - 0.5 && s->rssi_avg <= SIGHT_RSSI_MAX_VALUE + 0.5);
    CHECK(strlen(s->name) <= WIRE_DEVICE_NAME_MAX);
    CHECK(s->type == SIGHT_PUBLIC || s->type == SIGHT_RANDOM);
    CHECK(s->first_seen <= s->last_seen && s->last_seen <= now);
    if (s->gone) {
      CHECK(!s->in_range && !s->reported);
      /* kept only while its last report still limits the next one */
      CHECK(s->ever_reported);
    } else {
      live++;
      CHECK(s->in_range == (s->rssi >= c->rssi_min));
    }
    if (s->reported)
      CHECK(s->ever_reported && s->in_range);
  }
  CHECK(sightings_count(c) == live);
  CHECK((sightings_next_expiry(c) == 0) == (c->n == 0));
}

static void check_list(const struct sightings *c, uint64_t now, uint64_t since)
{
  cJSON *arr = sightings_json(c, now, since), *d;
  size_t want = 0, got = 0;
  int last = SIGHT_RSSI_MAX_VALUE + 1;

  CHECK(arr);
  for (size_t i = 0; i < c->n; i++)
    want += !c->v[i].gone && c->v[i].in_range && c->v[i].last_seen >= since;
  cJSON_ArrayForEach(d, arr) {
    const cJSON *rssi = cJSON_GetObjectItemCaseSensitive(d, "rssi");
    const cJSON *addr = cJSON_GetObjectItemCaseSensitive(d, "addr");
    uint8_t a[6];
    CHECK(cJSON_IsNumber(rssi) && rssi->valueint <= last);
    last = rssi->valueint;
    CHECK(cJSON_IsString(addr) && wire_ble_parse(addr->valuestring, a) == 0);
    got++;
  }
  CHECK(got == want);
  cJSON_Delete(arr);
}

static void update(struct sightings *c, struct in *in, uint64_t *now)
{
  char addr[18], name[80];
  unsigned flags = byte(in);
  struct ibeacon beacon;
  uint8_t raw[6], mfg[23];
  int ev, was_live, valid;
  struct sighting *s, *before;
  struct sight_obs o = { .addr = addr };

  addr_of(in, flags & 32, addr);
  o.heard = flags & 1;
  o.type = (flags >> 2 & 3) == 1 ? SIGHT_PUBLIC : (flags >> 2 & 3) == 2 ? SIGHT_RANDOM
                                                                          : SIGHT_TYPE_KEEP;
  o.rssi = (int8_t)byte(in);
  if (flags & 2) {
    size_t len = byte(in) % sizeof name;
    for (size_t k = 0; k < len; k++)
      name[k] = (char)byte(in);
    name[len] = '\0';
    o.name = name;
  }
  if (flags & 16) {
    for (size_t k = 0; k < sizeof mfg; k++)
      mfg[k] = (uint8_t)byte(in);
    if (ibeacon_parse(0x004C, mfg, sizeof mfg, &beacon) == 0)
      o.ibeacon = &beacon;
  }
  *now += byte(in) * 37;

  valid = wire_ble_parse(addr, raw) == 0;
  before = valid ? sightings_find(c, addr) : NULL;
  was_live = before != NULL;
  s = sightings_update(c, &o, *now, &ev);
  if (!valid || (!o.heard && !was_live)) {
    CHECK(!s && ev == 0);
    return;
  }
  CHECK(s && !s->gone && !memcmp(s->addr, raw, 6));
  CHECK(sightings_find(c, addr) == s);
  if (o.heard)
    CHECK(s->last_seen == *now);
  if (ev & SIGHT_ADDED)
    CHECK(!was_live && o.heard);
  if (ev & SIGHT_ENTERED)
    CHECK(s->in_range);
  if (ev & SIGHT_LEFT)
    CHECK(!s->in_range);
  if (o.type != SIGHT_TYPE_KEEP)
    CHECK(s->type == o.type);
  if (o.ibeacon)
    CHECK(s->has_ibeacon && !memcmp(&s->ibeacon, o.ibeacon, sizeof beacon));
  if (o.name)
    CHECK(!strncmp(s->name, o.name, strlen(s->name)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct in in = { data, size, 0 };
  struct sightings c;
  uint64_t now = 1000;
  size_t max = 1 + byte(&in) % 16;
  uint64_t forget = (byte(&in) + 1) * 100;
  int rssi_min = -128 + (int)(byte(&in) % 150);
  uint64_t every = byte(&in) * 50;
  char addr[18];

  if (sightings_init(&c, max, forget, rssi_min, every) < 0)
    return 0;
  for (int ops = 0; in.i < in.n && ops < 4096; ops++) {
    unsigned op = byte(&in) % 8;
    struct sighting *s;

    switch (op) {
    case 0:
      update(&c, &in, &now);
      break;
    case 1: {
      int had;
      addr_of(&in, 0, addr);
      had = sightings_find(&c, addr) != NULL;
      CHECK(sightings_remove(&c, addr, now) == had);
      CHECK(!sightings_find(&c, addr));
      break;
    }
    case 2:
      sightings_expire(&c, now);
      for (size_t i = 0; i < c.n; i++) {
        const struct sighting *e = &c.v[i];
        CHECK(e->gone || now - e->last_seen < forget);
        CHECK(!e->gone || (e->ever_reported && now - e->last_report < every));
      }
      break;
    case 3:
      addr_of(&in, 0, addr);
      s = sightings_find(&c, addr);
      if (sightings_take_report(&c, s, now)) {
        CHECK(s && s->in_range && s->reported);
        CHECK(!sightings_take_report(&c, s, now));
      }
      break;
    case 4: {
      uint64_t back = byte(&in) * 100u;
      check_list(&c, now, now > back ? now - back : 0);
      break;
    }
    case 5: {
      unsigned hi = byte(&in), lo = byte(&in);
      now += (uint64_t)(hi << 8 | lo) * 10;
      break;
    }
    case 6:
      addr_of(&in, 0, addr);
      s = sightings_find(&c, addr);
      CHECK(!s || (!s->gone && !strcasecmp(s->text, addr)));
      break;
    case 7: {
      uint64_t next = sightings_next_expiry(&c);
      CHECK(!c.n || next);
      break;
    }
    }
    check_table(&c, now);
  }
  sightings_free(&c);
  return 0;
}
