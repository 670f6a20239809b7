/* sightings.h - the Bluetooth scanner's cache of recently heard devices.
 *
 * Pure data, no I/O: every call takes the time ("now", monotonic ms) as an
 * argument, so the unit tests drive it with injected time.
 *
 *   struct sightings c;
 *   sightings_init(&c, 512, 30000, -90, 10000);
 *   struct sight_obs o = { .addr = "aa:bb:cc:dd:ee:01", .type = SIGHT_RANDOM,
 *                          .heard = 1, .rssi = -60, .name = "phone" };
 *   int ev;
 *   struct sighting *s = sightings_update(&c, &o, now, &ev);
 *   if (s && sightings_take_report(&c, s, now)) ... report s to MCS ...
 *   sightings_expire(&c, now);            (forget the silent ones)
 *
 * RSSI is smoothed with an exponentially weighted moving average whose
 * weight depends on the time since the previous sample: alpha =
 * max(1/4, dt / (dt + 2 s)).  Advertisements close together move the
 * average by a quarter of the difference each; after a silence the new
 * sample counts for (almost) everything, so a device that comes back is
 * not judged by where it was long ago.  A device is "in range" while its
 * smoothed RSSI is at least rssi_min; only devices in range are listed.
 */
#ifndef NANO_SIGHTINGS_H
#define NANO_SIGHTINGS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define SIGHT_RSSI_TAU_MS 2000
#define SIGHT_RSSI_MIN_VALUE (-127) /* the range of an RSSI in dBm */
#define SIGHT_RSSI_MAX_VALUE 20

enum { SIGHT_TYPE_KEEP = -1, SIGHT_PUBLIC = 0, SIGHT_RANDOM = 1 };

/* What sightings_update() saw happen, as bits. */
enum {
  SIGHT_ADDED = 1,        /* a device not in the cache (or forgotten) was heard */
  SIGHT_ENTERED = 2,      /* it is in range now and was not before */
  SIGHT_LEFT = 4,         /* its smoothed RSSI fell below rssi_min */
  SIGHT_CHANGED = 8,      /* name, type, RSSI or beacon data changed */
};

/* Apple iBeacon: manufacturer data of company 0x004C, type 0x02, length 0x15. */
struct ibeacon {
  uint8_t uuid[16];
  uint16_t major, minor;
  int8_t tx_power;        /* calibrated RSSI at 1 m */
};

/* One observation of a device, from BlueZ or from the sim backend. */
struct sight_obs {
  const char *addr;       /* "AA:BB:CC:DD:EE:FF", any case */
  int type;               /* SIGHT_PUBLIC, SIGHT_RANDOM or SIGHT_TYPE_KEEP */
  int heard;              /* 1: an advertisement arrived now, rssi is valid;
                             0: only properties changed (name, type) */
  int rssi;               /* dBm, when heard */
  const char *name;       /* NULL: unchanged */
  const struct ibeacon *ibeacon;    /* NULL: unchanged */
};

struct sighting {
  uint8_t addr[6];
  char text[18];          /* the address in upper case */
  int type;               /* SIGHT_PUBLIC or SIGHT_RANDOM */
  double rssi_avg;        /* smoothed */
  int rssi;               /* rssi_avg rounded, what is shown */
  char name[WIRE_DEVICE_NAME_MAX + 1];
  int has_ibeacon;
  struct ibeacon ibeacon;
  uint64_t first_seen, last_seen;
  uint64_t last_report;   /* when it was last handed out for a report */
  int ever_reported;
  int in_range;
  int reported;           /* handed out for a report since it came into range */
  int gone;               /* forgotten, kept only to rate-limit its reports */
};

struct sightings {
  struct sighting *v;
  size_t n, max;
  uint64_t forget_ms;     /* silence after which a device is forgotten */
  int rssi_min;
  uint64_t report_every_ms;
  /* counters for /stats */
  uint64_t heard, added, forgotten, evicted;
};

int sightings_init(struct sightings *c, size_t max, uint64_t forget_ms, int rssi_min,
                   uint64_t report_every_ms);
void sightings_free(struct sightings *c);

/* Record an observation at time now.  Returns the device's entry (valid
 * until the next call that adds or removes entries), or NULL when the
 * address is malformed, or the observation heard nothing of a device the
 * cache does not know.  *events (may be NULL) gets SIGHT_* bits. */
struct sighting *sightings_update(struct sightings *c, const struct sight_obs *o,
                                  uint64_t now, int *events);
/* The live (not forgotten) entry for addr, or NULL. */
struct sighting *sightings_find(struct sightings *c, const char *addr);
/* Forget addr now (a simulated device whose time ran out); 1 if it was
 * there.  Like forgetting, a recent report is remembered for its window. */
int sightings_remove(struct sightings *c, const char *addr, uint64_t now);
/* Forget devices silent for forget_ms; returns how many were forgotten. */
size_t sightings_expire(struct sightings *c, uint64_t now);
/* When the next device will be forgotten if it stays silent; 0 if none. */
uint64_t sightings_next_expiry(const struct sightings *c);
/* Live entries (whether in range or not). */
size_t sightings_count(const struct sightings *c);

/* 1 if s should be reported to MCS now: it is in range, was not handed
 * out since it came into range, and its previous report is at least
 * report_every_ms old (also across being forgotten).  Marks it reported. */
int sightings_take_report(struct sightings *c, struct sighting *s, uint64_t now);

/* {"addr","type","rssi","name","last_seen_ms"} (+ "ibeacon" when one was
 * parsed); last_seen_ms is the age in ms, so no clocks need to agree. */
cJSON *sighting_json(const struct sighting *s, uint64_t now);
/* The devices in range heard at or after since (0: all), closest
 * (strongest smoothed RSSI) first, as a JSON array; NULL if out of memory. */
cJSON *sightings_json(const struct sightings *c, uint64_t now, uint64_t since);

/* Manufacturer data as BlueZ gives it (company id apart, the rest as
 * bytes) -> iBeacon; -1 if it is not one. */
int ibeacon_parse(uint16_t company, const uint8_t *data, size_t len, struct ibeacon *out);
/* 8-4-4-4-12 upper-case hex (37 bytes with the NUL), and back (-1 if malformed). */
void ibeacon_uuid_format(const uint8_t uuid[16], char out[37]);
int ibeacon_uuid_parse(const char *s, uint8_t out[16]);
/* A badge's identity as ae stores it and mcs asks about it:
 * "UUID/MAJOR/MINOR", the UUID as above, major and minor in decimal
 * ("E2C56DB5-DFFB-48D2-B060-D0F5A71096E0/1/7").  The tx power is not part
 * of it: it is calibration, not identity. */
#define IBEACON_KEY_MAX 50
void ibeacon_key(const struct ibeacon *b, char out[IBEACON_KEY_MAX]);
/* {"uuid","major","minor"} (as bs shows a beacon, uuid in any case) or
 * the key's own text -> the key; -1 with why in err (may be NULL). */
int ibeacon_key_parse(const cJSON *v, char out[IBEACON_KEY_MAX], char *err, size_t errsize);
/* Copy src into dst (size bytes) without cutting a UTF-8 sequence. */
void utf8_copy(char *dst, size_t size, const char *src);

#endif
