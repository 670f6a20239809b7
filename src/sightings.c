/* sightings.c - the Bluetooth scanner's cache of recently heard devices
 * (see sightings.h).
 *
 * A flat array searched linearly: a scanner hears tens of devices, a
 * busy hall a few hundred, and the cache is bounded (max); a lookup is
 * a compare of 6 bytes per entry.  Entries that were forgotten but were
 * reported recently stay as hidden "gone" entries until their report
 * window has passed, so a device that leaves and returns quickly is
 * still reported at most once per report_every_ms.
 */
#include "sightings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names, iBeacon ------------------------------------- */

int ibeacon_parse(uint16_t company, const uint8_t *data, size_t len, struct ibeacon *out)
{
  /* 0x02 0x15, then 16 bytes UUID, major and minor big-endian, tx power */
  if (company != 0x004C || !data || len < 23 || data[0] != 0x02 || data[1] != 0x15)
    return -1;
  memcpy(out->uuid, data + 2, 16);
  out->major = (uint16_t)(data[18] << 8 | data[19]);
  out->minor = (uint16_t)(data[20] << 8 | data[21]);
  out->tx_power = (int8_t)data[22];
  return 0;
}

void ibeacon_uuid_format(const uint8_t uuid[16], char out[37])
{
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[n++] = '-';
    out[n++] = hex[uuid[i] >> 4];
    out[n++] = hex[uuid[i] & 15];
  }
  out[n] = '\0';
}

int ibeacon_uuid_parse(const char *s, uint8_t out[16])
{
  int n = 0;
  if (!s || strlen(s) != 36)
    return -1;
  for (int i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i++] != '-')
        return -1;
      continue;
    }
    int hi = wire_hexval((unsigned char)s[i]), lo = wire_hexval((unsigned char)s[i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    out[n++] = (uint8_t)(hi << 4 | lo);
    i += 2;
  }
  return 0;
}

void ibeacon_key(const struct ibeacon *b, char out[IBEACON_KEY_MAX])
{
  char uuid[37];
  ibeacon_uuid_format(b->uuid, uuid);
  snprintf(out, IBEACON_KEY_MAX, "%s/%u/%u", uuid, (unsigned)b->major, (unsigned)b->minor);
}

/* A decimal 0..65535 without sign, spaces or leading zeros; -1 if not. */
static long beacon_number(const cJSON *v)
{
  if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 65535 ||
      v->valuedouble != (double)(long)v->valuedouble)
    return -1;
  return (long)v->valuedouble;
}

static long beacon_number_text(const char *s, const char **end)
{
  long n = 0;
  const char *p = s;
  while (*p >= '0' && *p <= '9' && p - s < 5)
    n = n * 10 + (*p++ - '0');
  *end = p;
  if (p == s || (p - s > 1 && *s == '0') || n > 65535)
    return -1;
  return n;
}

int ibeacon_key_parse(const cJSON *v, char out[IBEACON_KEY_MAX], char *err, size_t errsize)
{
  struct ibeacon b = { 0 };
  long major = -1, minor = -1;
  const char *uuid = NULL, *why = NULL, *end;
  char text[37];

  if (cJSON_IsObject(v)) {
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(v, "uuid");
    uuid = cJSON_IsString(u) ? u->valuestring : NULL;
    major = beacon_number(cJSON_GetObjectItemCaseSensitive(v, "major"));
    minor = beacon_number(cJSON_GetObjectItemCaseSensitive(v, "minor"));
  } else if (cJSON_IsString(v) && strlen(v->valuestring) > 37 &&
             v->valuestring[36] == '/') {
    memcpy(text, v->valuestring, 36);
    text[36] = '\0';
    uuid = text;
    major = beacon_number_text(v->valuestring + 37, &end);
    if (major >= 0 && *end == '/')
      minor = beacon_number_text(end + 1, &end);
    if (minor >= 0 && *end)
      minor = -1;
  } else {
    why = "an iBeacon is {\"uuid\",\"major\",\"minor\"} or \"UUID/MAJOR/MINOR\"";
  }
  if (!why && (!uuid || ibeacon_uuid_parse(uuid, b.uuid) < 0))
    why = "an iBeacon's uuid looks like E2C56DB5-DFFB-48D2-B060-D0F5A71096E0";
  if (!why && (major < 0 || minor < 0))
    why = "an iBeacon's major and minor are whole numbers 0-65535";
  if (why) {
    if (err)
      snprintf(err, errsize, "%s", why);
    return -1;
  }
  b.major = (uint16_t)major;
  b.minor = (uint16_t)minor;
  ibeacon_key(&b, out);
  return 0;
}

void utf8_copy(char *dst, size_t size, const char *src)
{
  size_t n = strlen(src);
  if (!size)
    return;
  if (n >= size) {
    n = size - 1;
    /* back off continuation bytes (10xxxxxx) to the start of the cut
     * character, and drop that character too */
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
      n--;
  }
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* ---- the cache --------------------------------------------------------- */

int sightings_init(struct sightings *c, size_t max, uint64_t forget_ms, int rssi_min,
                   uint64_t report_every_ms)
{
  memset(c, 0, sizeof *c);
  c->v = calloc(max ? max : 1, sizeof *c->v);
  if (!c->v)
    return -1;
  c->max = max ? max : 1;
  c->forget_ms = forget_ms;
  c->rssi_min = rssi_min;
  c->report_every_ms = report_every_ms;
  return 0;
}

void sightings_free(struct sightings *c)
{
  free(c->v);
  memset(c, 0, sizeof *c);
}

static struct sighting *lookup(struct sightings *c, const uint8_t a[6])
{
  for (size_t i = 0; i < c->n; i++)
    if (!memcmp(c->v[i].addr, a, 6))
      return &c->v[i];
  return NULL;
}

struct sighting *sightings_find(struct sightings *c, const char *addr)
{
  uint8_t a[6];
  struct sighting *s;
  if (wire_ble_parse(addr, a) < 0)
    return NULL;
  s = lookup(c, a);
  return s && !s->gone ? s : NULL;
}

static void drop(struct sightings *c, struct sighting *s)
{
  *s = c->v[--c->n];
}

static int report_window_open(const struct sightings *c, const struct sighting *s,
                              uint64_t now)
{
  return !s->ever_reported || now - s->last_report >= c->report_every_ms;
}

int sightings_remove(struct sightings *c, const char *addr, uint64_t now)
{
  struct sighting *s = sightings_find(c, addr);
  if (!s)
    return 0;
  s->gone = 1;
  s->in_range = 0;
  s->reported = 0;
  /* a recent report still limits the next one, as after forgetting */
  if (report_window_open(c, s, now))
    drop(c, s);
  return 1;
}

/* Make room for one more entry: a gone entry if there is one, else the
 * one silent longest (most likely out of range by now). */
static void evict_one(struct sightings *c)
{
  struct sighting *victim = NULL;
  for (size_t i = 0; i < c->n; i++) {
    struct sighting *s = &c->v[i];
    if (s->gone) {
      victim = s;
      break;
    }
    if (!victim || s->last_seen < victim->last_seen)
      victim = s;
  }
  if (victim) {
    c->evicted++;
    drop(c, victim);
  }
}

static int round_rssi(double v)
{
  return v >= 0 ? (int)(v + 0.5) : -(int)(-v + 0.5);
}

static int clamp_rssi(int v)
{
  return v < SIGHT_RSSI_MIN_VALUE ? SIGHT_RSSI_MIN_VALUE :
         v > SIGHT_RSSI_MAX_VALUE ? SIGHT_RSSI_MAX_VALUE : v;
}

/* A fresh (or returning) device: everything but its report history. */
static void start_entry(struct sighting *s, const uint8_t a[6], int rssi, uint64_t now)
{
  uint64_t last_report = s->last_report;
  int ever = s->ever_reported;

  memset(s, 0, sizeof *s);
  memcpy(s->addr, a, 6);
  wire_ble_format(a, s->text);
  s->type = SIGHT_PUBLIC;
  s->rssi_avg = rssi;
  s->rssi = rssi;
  s->first_seen = s->last_seen = now;
  s->last_report = last_report;
  s->ever_reported = ever;
}

static void smooth(struct sighting *s, int rssi, uint64_t now)
{
  double dt = (double)(now - s->last_seen);
  double alpha = dt / (dt + SIGHT_RSSI_TAU_MS);
  if (alpha < 0.25)
    alpha = 0.25;
  s->rssi_avg += alpha * (rssi - s->rssi_avg);
  s->rssi = round_rssi(s->rssi_avg);
}

static int apply_properties(struct sighting *s, const struct sight_obs *o)
{
  int changed = 0;
  if ((o->type == SIGHT_PUBLIC || o->type == SIGHT_RANDOM) && o->type != s->type) {
    s->type = o->type;
    changed = 1;
  }
  if (o->name) {
    char name[WIRE_DEVICE_NAME_MAX + 1];
    utf8_copy(name, sizeof name, o->name);
    if (strcmp(name, s->name)) {
      strcpy(s->name, name);
      changed = 1;
    }
  }
  if (o->ibeacon && (!s->has_ibeacon || memcmp(o->ibeacon, &s->ibeacon, sizeof s->ibeacon))) {
    s->ibeacon = *o->ibeacon;
    s->has_ibeacon = 1;
    changed = 1;
  }
  return changed;
}

struct sighting *sightings_update(struct sightings *c, const struct sight_obs *o,
                                  uint64_t now, int *events)
{
  uint8_t a[6];
  struct sighting *s;
  int ev = 0, fresh = 0, was_in_range, rssi = clamp_rssi(o->rssi);

  if (events)
    *events = 0;
  if (!o->addr || wire_ble_parse(o->addr, a) < 0)
    return NULL;
  s = lookup(c, a);
  if (!o->heard && (!s || s->gone))
    return NULL;              /* news of a device not in range: nothing to keep */
  if (!s) {
    if (c->n == c->max)
      evict_one(c);
    s = &c->v[c->n++];
    memset(s, 0, sizeof *s);
    fresh = 1;
  }
  if (o->heard)
    c->heard++;
  if (o->heard && (fresh || s->gone)) {
    start_entry(s, a, rssi, now);
    c->added++;
    ev |= SIGHT_ADDED;
    was_in_range = 0;
  } else {
    was_in_range = s->in_range;
    if (o->heard) {
      int before = s->rssi;
      smooth(s, rssi, now);
      s->last_seen = now;
      if (s->rssi != before)
        ev |= SIGHT_CHANGED;
    }
  }
  if (apply_properties(s, o))
    ev |= SIGHT_CHANGED;
  s->in_range = s->rssi >= c->rssi_min;
  if (s->in_range && !was_in_range) {
    ev |= SIGHT_ENTERED;
  } else if (!s->in_range && was_in_range) {
    ev |= SIGHT_LEFT;
    s->reported = 0;          /* coming back into range is news again */
  }
  if (events)
    *events = ev;
  return s;
}

int sightings_take_report(struct sightings *c, struct sighting *s, uint64_t now)
{
  if (!s || s->gone || !s->in_range || s->reported || !report_window_open(c, s, now))
    return 0;
  s->reported = 1;
  s->ever_reported = 1;
  s->last_report = now;
  return 1;
}

size_t sightings_expire(struct sightings *c, uint64_t now)
{
  size_t forgotten = 0;
  for (size_t i = 0; i < c->n;) {
    struct sighting *s = &c->v[i];
    if (!s->gone && now - s->last_seen >= c->forget_ms) {
      s->gone = 1;
      s->in_range = 0;
      s->reported = 0;
      c->forgotten++;
      forgotten++;
    }
    /* keep a gone entry only while it still limits a report */
    if (s->gone && report_window_open(c, s, now)) {
      drop(c, s);
      continue;               /* the last entry moved into slot i */
    }
    i++;
  }
  return forgotten;
}

uint64_t sightings_next_expiry(const struct sightings *c)
{
  uint64_t next = 0;
  for (size_t i = 0; i < c->n; i++) {
    const struct sighting *s = &c->v[i];
    uint64_t due = s->gone ? s->last_report + c->report_every_ms
                           : s->last_seen + c->forget_ms;
    if (!next || due < next)
      next = due;
  }
  return next;
}

size_t sightings_count(const struct sightings *c)
{
  size_t n = 0;
  for (size_t i = 0; i < c->n; i++)
    n += !c->v[i].gone;
  return n;
}

/* ---- JSON -------------------------------------------------------------- */

cJSON *sighting_json(const struct sighting *s, uint64_t now)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "addr", s->text);
  cJSON_AddStringToObject(o, "type", s->type == SIGHT_RANDOM ? "random" : "public");
  cJSON_AddNumberToObject(o, "rssi", s->rssi);
  cJSON_AddStringToObject(o, "name", s->name);
  cJSON_AddNumberToObject(o, "last_seen_ms", (double)(now >= s->last_seen ? now - s->last_seen : 0));
  if (s->has_ibeacon) {
    char uuid[37];
    cJSON *b = cJSON_AddObjectToObject(o, "ibeacon");
    ibeacon_uuid_format(s->ibeacon.uuid, uuid);
    if (b) {
      cJSON_AddStringToObject(b, "uuid", uuid);
      cJSON_AddNumberToObject(b, "major", s->ibeacon.major);
      cJSON_AddNumberToObject(b, "minor", s->ibeacon.minor);
      cJSON_AddNumberToObject(b, "tx_power", s->ibeacon.tx_power);
    }
  }
  /* cJSON's adders fail only when out of memory: then the object is
   * incomplete, and an incomplete device must not be shown */
  if (cJSON_GetArraySize(o) < 5 + s->has_ibeacon) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static int closest_first(const void *pa, const void *pb)
{
  const struct sighting *a = *(const struct sighting *const *)pa;
  const struct sighting *b = *(const struct sighting *const *)pb;
  if (a->rssi != b->rssi)
    return b->rssi - a->rssi;
  return memcmp(a->addr, b->addr, 6);
}

cJSON *sightings_json(const struct sightings *c, uint64_t now, uint64_t since)
{
  const struct sighting **list = c->n ? malloc(c->n * sizeof *list) : NULL;
  cJSON *arr = cJSON_CreateArray();
  size_t n = 0;

  if (!arr || (c->n && !list)) {
    free(list);
    cJSON_Delete(arr);
    return NULL;
  }
  for (size_t i = 0; i < c->n; i++) {
    const struct sighting *s = &c->v[i];
    if (!s->gone && s->in_range && s->last_seen >= since)
      list[n++] = s;
  }
  if (n)
    qsort(list, n, sizeof *list, closest_first);
  for (size_t i = 0; i < n; i++) {
    cJSON *d = sighting_json(list[i], now);
    if (!d || !cJSON_AddItemToArray(arr, d)) {
      cJSON_Delete(d);
      cJSON_Delete(arr);
      arr = NULL;
      break;
    }
  }
  free(list);
  return arr;
}
