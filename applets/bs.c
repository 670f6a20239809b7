/* bs.c - Bluetooth Scanner: the BLE devices in range at one location.
 *
 * usage: nano bs [--location NAME] [--adapter hci0|sim] [--scan continuous|on-demand]
 *                [--mcs URI] [--forget DUR] [--report-every DUR] [--rssi-min DBM]
 *                [--listen HOST:PORT] [--log-level LEVEL]
 *
 * Advertisements come from BlueZ over D-Bus (src/bluez.c; --adapter hci0)
 * or from POST /sim/adv (--adapter sim) into a cache of sightings
 * (src/sightings.c): address, type, smoothed RSSI, name, last heard,
 * forgotten after --forget of silence, hidden below --rssi-min.
 *
 *   POST /scan {"duration_ms": N}   -> {"location","devices":[...]}
 *        scanning continuously: the cache at once.  On demand: discovery
 *        runs for N ms (0..30000, default 1000) and the answer, a separate
 *        CoAP response, lists the devices heard in that time; the loop
 *        keeps serving meanwhile.  N = 0 answers from the cache at once.
 *   GET  /devices (observable)      -> the same shape, the whole cache
 *   POST /sim/adv {"addr","rssi","name","ttl_ms"[,"type","ibeacon"]}
 *        (--adapter sim) a simulated device in range for ttl_ms: heard at
 *        once and every second while scanning, gone when ttl_ms is over.
 *   POST /sim/adv {"irk","rotate_ms","rssi","name","ttl_ms"}
 *        a phone: it sends resolvable private addresses made from its IRK
 *        (irk.h), a fresh one every rotate_ms (0: keeps its first); the
 *        answer says the address it sends now.  Posted again (same IRK),
 *        it stays the same phone.
 *
 * A device is {"addr","type","rssi","name","last_seen_ms"} (+ "ibeacon":
 * {"uuid","major","minor","tx_power"} for a beacon), addr in upper case,
 * last_seen_ms the age of the last sighting.  At any location but
 * "entrance", a device that comes into range (new, back after being
 * forgotten, or closer than --rssi-min again) is reported with
 * POST <mcs>/ble {"location","devices":[...]}, at most once per
 * --report-every per device.  Arrivals wait in an outbox (OUTBOX_MAX, the
 * oldest dropped past it) and go REPORT_BATCH at a time in one call
 * (src/call.c, like every call between roles): while MCS is down the
 * call waits and GET <mcs>/health is tried with backoff from 500 ms to
 * 30 s; after a 5.xx the report itself is.  The report is made anew at
 * each attempt, so it says what is true then: devices forgotten since are
 * left out, new arrivals join, last_seen_ms is the age at sending.
 */
#include "bluez.h"
#include "call.h"
#include "irk.h"
#include "role.h"
#include "sightings.h"
#include "uri.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define DEVICES_MAX 100000      /* --max-devices at most */
#define SCAN_MAX_MS 30000
#define SCAN_DEFAULT_MS 1000
#define SCANS_MAX 32              /* on-demand scans waiting at once */
#define SIM_TTL_MAX_MS 3600000
#define SIM_TTL_DEFAULT_MS 60000
#define SIM_RSSI_DEFAULT (-60)
#define SIM_ADV_INTERVAL_MS 1000
#define SIM_ROTATE_MIN_MS 100
#define NOTIFY_MIN_MS 1000        /* observers hear of RSSI changes at most once a second */
#define OUTBOX_MAX 256
#define REPORT_BATCH 32
#define REPORT_TIMEOUT_MS 3000
#define BACKOFF_MIN_MS 500        /* the first retry of a report ... */
#define BACKOFF_MAX_MS 30000      /* ... doubling up to this */

static const char bs_usage[] =
  "usage: nano bs [--location NAME] [--adapter hci0|sim] [--scan continuous|on-demand]\n"
  "               [--mcs URI] [--forget DUR] [--report-every DUR] [--rssi-min DBM]\n"
  "BLE devices in range: POST /scan, GET /devices (observable), POST /sim/adv (sim).";

struct scan {
  uint64_t started;
  struct scan *next;
};

struct sim_dev {
  char addr[18];
  int type, rssi;
  char name[WIRE_DEVICE_NAME_MAX + 1];
  int has_ibeacon;
  struct ibeacon ibeacon;
  uint64_t expires;
  int has_irk;                /* a phone: addr is an RPA made from irk */
  uint8_t irk[16];
  uint64_t rotate_ms, next_rotate;
};

struct bs {
  const char *location;
  int reports;                /* report arrivals to MCS */
  int continuous;
  int sim;
  char ble_uri[600];
  coap_context_t *ctx;
  coap_resource_t *devices_res;
  struct sightings cache;
  struct bluez *bluez;

  struct scan *scans;
  int nscans;
  struct sim_dev *sims;       /* --max-devices of them, with --adapter sim */
  size_t nsims, max_sims;

  struct loop_timer *sim_timer, *expire_timer, *notify_timer, *report_timer;
  uint64_t sim_next_adv;      /* when the simulated devices advertise next */
  uint64_t last_notify;
  int notified;

  char outbox[OUTBOX_MAX][18];
  size_t nout;
  struct peer *mcs;
  struct call *report;        /* the report of the outbox's first devices */
  size_t inflight_n;          /* how many its last attempt sent */

  uint64_t scans_answered, reports_sent, reported_devices, report_failures, report_dropped;
};

/* ---- small helpers ------------------------------------------------------ */

/* A name from the air, fit for one log line. */
static const char *log_safe(const char *s, char *buf, size_t size)
{
  size_t n = 0;
  for (; *s && n + 1 < size; s++)
    buf[n++] = (unsigned char)*s < 0x20 || *s == '"' || *s == '\\' || *s == 0x7f ? '?' : *s;
  buf[n] = '\0';
  return buf;
}

static int scanning(const struct bs *st)
{
  return st->continuous || st->nscans > 0;
}

/* ---- observers ---------------------------------------------------------- */

static void notify_now(struct bs *st)
{
  st->last_notify = now_ms();
  st->notified = 1;
  server_notify(st->devices_res);
}

static void on_notify_timer(void *arg)
{
  struct bs *st = arg;
  st->notify_timer = NULL;
  notify_now(st);
}

/* Leading edge at once, then at most once per NOTIFY_MIN_MS. */
static void devices_changed(struct bs *st)
{
  uint64_t now = now_ms();

  if (st->notify_timer)
    return;
  if (!st->notified || now - st->last_notify >= NOTIFY_MIN_MS)
    notify_now(st);
  else
    st->notify_timer = loop_after(st->last_notify + NOTIFY_MIN_MS - now, on_notify_timer, st);
}

/* ---- forgetting --------------------------------------------------------- */

static void expire_arm(struct bs *st);

static void expire_now(struct bs *st)
{
  size_t n = sightings_expire(&st->cache, now_ms());
  if (n) {
    log_info("forgot=%zu devices=%zu", n, sightings_count(&st->cache));
    devices_changed(st);
  }
}

static void on_expire_timer(void *arg)
{
  struct bs *st = arg;
  st->expire_timer = NULL;
  expire_now(st);
  expire_arm(st);
}

/* Expiry times only move later as devices are heard again, so a timer
 * already set is never late; it re-arms itself for the next one. */
static void expire_arm(struct bs *st)
{
  uint64_t next, now;

  if (st->expire_timer)
    return;                   /* checked first: this runs for every advertisement */
  next = sightings_next_expiry(&st->cache);
  if (!next)
    return;
  now = now_ms();
  st->expire_timer = loop_after(next > now ? next - now : 0, on_expire_timer, st);
}

/* ---- reports to MCS ----------------------------------------------------- */

static void report_start(struct bs *st);

static void on_report_timer(void *arg)
{
  struct bs *st = arg;
  st->report_timer = NULL;
  report_start(st);
}

/* The arrivals of one loop turn go in one report; while a report's call
 * waits (MCS down, a 5.xx), new arrivals join it at its next attempt. */
static void report_soon(struct bs *st)
{
  if (st->report || st->report_timer || !st->nout)
    return;
  st->report_timer = loop_after(0, on_report_timer, st);
}

static void outbox_drop_first(struct bs *st, size_t n)
{
  if (n > st->nout)
    n = st->nout;
  memmove(st->outbox, st->outbox + n, (st->nout - n) * sizeof st->outbox[0]);
  st->nout -= n;
}

static void outbox_add(struct bs *st, const char *addr)
{
  for (size_t i = 0; i < st->nout; i++)
    if (!strcmp(st->outbox[i], addr))
      return;
  if (st->nout == OUTBOX_MAX) {
    /* the oldest arrival is the least useful one; never the ones on the
     * wire (a report that waits is made anew without it) */
    size_t victim = call_in_flight(st->report) ? st->inflight_n : 0;
    if (victim >= st->nout)
      return;
    log_warn("report outbox full, dropping addr=%s", st->outbox[victim]);
    memmove(st->outbox + victim, st->outbox + victim + 1,
            (st->nout - victim - 1) * sizeof st->outbox[0]);
    st->nout--;
    st->report_dropped++;
  }
  memcpy(st->outbox[st->nout++], addr, 18);
  report_soon(st);
}

/* call.c tries MCS again: each retry is a failed report, as before. */
static void on_report_retry(struct peer *p, const char *why, unsigned retry_ms, void *arg)
{
  struct bs *st = arg;
  size_t n = st->inflight_n ? st->inflight_n : st->nout < REPORT_BATCH ? st->nout : REPORT_BATCH;

  st->report_failures++;
  log_warn("report failed devices=%zu code=%s retry_in_ms=%u", n, why, retry_ms);
}

static void on_report_answer(void *arg, int code, const uint8_t *body, size_t len)
{
  struct bs *st = arg;
  char buf[16];

  st->report = NULL;
  if (code / 100 == 2) {
    log_info("report devices=%zu code=%s", st->inflight_n, client_code_text(code, buf, sizeof buf));
    st->reports_sent++;
    st->reported_devices += st->inflight_n;
    outbox_drop_first(st, st->inflight_n);
  } else if (code != CALL_NOTHING) {
    /* MCS understood and refused (4.xx, 5.01, 5.05): sending the same
     * again cannot help */
    char text[201], safe[201];
    size_t n = len < sizeof text - 1 ? len : sizeof text - 1;
    if (n)
      memcpy(text, body, n);
    text[n] = '\0';
    log_error("report refused devices=%zu code=%s body=\"%s\"", st->inflight_n,
              client_code_text(code, buf, sizeof buf), log_safe(text, safe, sizeof safe));
    st->report_failures++;
    st->report_dropped += st->inflight_n;
    outbox_drop_first(st, st->inflight_n);
  }
  st->inflight_n = 0;
  report_soon(st);
}

/* {"location","devices":devices}; takes devices, NULL if out of memory. */
static cJSON *devices_body(struct bs *st, cJSON *devices)
{
  cJSON *o = devices ? cJSON_CreateObject() : NULL;

  if (!o || !cJSON_AddStringToObject(o, "location", st->location)) {
    cJSON_Delete(o);
    cJSON_Delete(devices);
    return NULL;
  }
  if (!cJSON_AddItemToObject(o, "devices", devices)) {
    cJSON_Delete(devices);
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

/* The report as its call sends it, made at each attempt from the first
 * REPORT_BATCH devices of the outbox that are still heard: 0, 1 when none
 * is left, -1 when out of memory (call.c tries again later). */
static int report_body(void *arg, char **text, size_t *len)
{
  struct bs *st = arg;
  uint64_t now = now_ms();
  cJSON *devices = cJSON_CreateArray(), *body;
  size_t n = 0;

  st->inflight_n = 0;
  if (!devices)
    goto oom;
  /* devices forgotten while they waited have left: not news any more */
  for (size_t i = 0; i < st->nout && n < REPORT_BATCH;) {
    struct sighting *s = sightings_find(&st->cache, st->outbox[i]);
    cJSON *d = s ? sighting_json(s, now) : NULL;
    if (!s) {
      memmove(st->outbox + i, st->outbox + i + 1, (st->nout - i - 1) * sizeof st->outbox[0]);
      st->nout--;
      continue;
    }
    if (!d || !cJSON_AddItemToArray(devices, d)) {
      cJSON_Delete(d);
      cJSON_Delete(devices);
      goto oom;
    }
    n++;
    i++;
  }
  if (!n) {
    cJSON_Delete(devices);
    return 1;
  }
  body = devices_body(st, devices);
  *text = body ? json_print(body) : NULL;
  cJSON_Delete(body);
  if (!*text)
    goto oom;
  *len = strlen(*text);
  st->inflight_n = n;
  return 0;
oom:
  return -1;
}

static void report_start(struct bs *st)
{
  if (st->report || !st->nout)
    return;
  st->report = call_build(st->mcs, COAP_REQUEST_POST, "ble", report_body, NULL,
                          on_report_answer, st);
  if (!st->report)
    log_error("report out of memory");      /* the next arrival tries again */
}

/* ---- sightings in ------------------------------------------------------- */

static void observe(struct bs *st, const struct sight_obs *o)
{
  uint64_t now = now_ms();
  int ev;
  struct sighting *s = sightings_update(&st->cache, o, now, &ev);
  char name[WIRE_DEVICE_NAME_MAX + 1];

  if (!s)
    return;
  if (ev & SIGHT_ENTERED)
    log_info("device addr=%s type=%s rssi=%d name=\"%s\" in range", s->text,
             s->type == SIGHT_RANDOM ? "random" : "public", s->rssi,
             log_safe(s->name, name, sizeof name));
  else if (ev & SIGHT_LEFT)
    log_info("device addr=%s rssi=%d out of range", s->text, s->rssi);
  if (st->reports && sightings_take_report(&st->cache, s, now))
    outbox_add(st, s->text);
  if (ev)
    devices_changed(st);
  expire_arm(st);
}

static void on_bluez_seen(void *arg, const struct sight_obs *o)
{
  observe(arg, o);
}

/* ---- the sim backend ---------------------------------------------------- */

static void sim_arm(struct bs *st);

/* A fresh resolvable private address for a simulated phone. */
static int sim_rotate(struct sim_dev *d)
{
  uint8_t rnd[3], a[6];

  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd || irk_make_rpa(d->irk, rnd, a) < 0)
    return -1;
  wire_ble_format(a, d->addr);
  return 0;
}

static void sim_hear(struct bs *st, const struct sim_dev *d)
{
  struct sight_obs o = {
    .addr = d->addr, .type = d->type, .heard = 1, .rssi = d->rssi, .name = d->name,
    .ibeacon = d->has_ibeacon ? &d->ibeacon : NULL,
  };
  observe(st, &o);
}

/* Every simulated device advertises once a second until its time is up,
 * and is heard while the scanner scans; then it is gone at once. */
static void sim_tick(struct bs *st)
{
  uint64_t now = now_ms();
  int gone = 0;

  int advertise = now >= st->sim_next_adv;

  for (size_t i = 0; i < st->nsims;) {
    struct sim_dev *d = &st->sims[i];
    if (now >= d->expires) {
      log_info("sim addr=%s ttl over", d->addr);
      gone += sightings_remove(&st->cache, d->addr, now);
      *d = st->sims[--st->nsims];
      continue;
    }
    if (d->has_irk && d->rotate_ms && now >= d->next_rotate) {
      /* like a phone: the old address just goes quiet (and is forgotten
       * after --forget); the new one is heard from the next advertisement */
      char old[18];
      memcpy(old, d->addr, sizeof old);
      if (sim_rotate(d) == 0)
        log_info("sim addr=%s rotated to addr=%s", old, d->addr);
      d->next_rotate = now + d->rotate_ms;
      if (scanning(st))
        sim_hear(st, d);
    }
    if (advertise && scanning(st))
      sim_hear(st, d);
    i++;
  }
  if (advertise)
    st->sim_next_adv = now + SIM_ADV_INTERVAL_MS;
  if (gone)
    devices_changed(st);
  sim_arm(st);
}

static void on_sim_timer(void *arg)
{
  struct bs *st = arg;
  st->sim_timer = NULL;
  sim_tick(st);
}

static void sim_arm(struct bs *st)
{
  uint64_t now = now_ms(), next = st->sim_next_adv;

  if (st->sim_timer)
    loop_cancel(st->sim_timer);
  st->sim_timer = NULL;
  if (!st->nsims)
    return;
  for (size_t i = 0; i < st->nsims; i++) {
    if (st->sims[i].expires < next)
      next = st->sims[i].expires;
    if (st->sims[i].has_irk && st->sims[i].rotate_ms && st->sims[i].next_rotate < next)
      next = st->sims[i].next_rotate;
  }
  st->sim_timer = loop_after(next > now ? next - now : 0, on_sim_timer, st);
}

static int parse_sim_ibeacon(const cJSON *o, struct sim_dev *d, struct jerr *err)
{
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "ibeacon");
  const char *uuid;
  long long major, minor, tx = -59;

  if (!b || cJSON_IsNull(b))
    return 0;
  if (!cJSON_IsObject(b)) {
    jerr_set(err, "field 'ibeacon' must be an object {\"uuid\",\"major\",\"minor\"}");
    return -1;
  }
  if (json_get_string(b, "uuid", JSON_REQUIRED, 36, &uuid, err) < 0 ||
      json_get_int(b, "major", JSON_REQUIRED, 0, 65535, &major, err) < 0 ||
      json_get_int(b, "minor", JSON_REQUIRED, 0, 65535, &minor, err) < 0 ||
      json_get_int(b, "tx_power", JSON_OPTIONAL, -127, 20, &tx, err) < 0)
    return -1;
  if (ibeacon_uuid_parse(uuid, d->ibeacon.uuid) < 0) {
    jerr_set(err, "field 'uuid' must look like E2C56DB5-DFFB-48D2-B060-D0F5A71096E0");
    return -1;
  }
  d->ibeacon.major = (uint16_t)major;
  d->ibeacon.minor = (uint16_t)minor;
  d->ibeacon.tx_power = (int8_t)tx;
  d->has_ibeacon = 1;
  return 0;
}

/* "irk" and "rotate_ms": a phone that makes its own addresses. */
static int parse_sim_irk(const cJSON *o, struct sim_dev *d, struct jerr *err)
{
  const char *irk = NULL;
  long long rotate = 0;
  char why[128];

  if (json_get_string(o, "irk", JSON_OPTIONAL, WIRE_IRK_TEXT_MAX, &irk, err) < 0 ||
      json_get_int(o, "rotate_ms", JSON_OPTIONAL, 0, SIM_TTL_MAX_MS, &rotate, err) < 0)
    return -1;
  if (!irk) {
    if (cJSON_GetObjectItemCaseSensitive(o, "rotate_ms")) {
      jerr_set(err, "field 'rotate_ms' needs an 'irk'");
      return -1;
    }
    return 0;
  }
  if (irk_parse(irk, d->irk, why, sizeof why) < 0) {
    jerr_set(err, "field 'irk': %s", why);
    return -1;
  }
  if (rotate && rotate < SIM_ROTATE_MIN_MS) {
    jerr_set(err, "field 'rotate_ms' must be 0 (never) or at least %d", SIM_ROTATE_MIN_MS);
    return -1;
  }
  if (cJSON_GetObjectItemCaseSensitive(o, "addr") || cJSON_GetObjectItemCaseSensitive(o, "type")) {
    jerr_set(err, "a device with an 'irk' makes its own addresses: no 'addr' or 'type'");
    return -1;
  }
  d->has_irk = 1;
  d->rotate_ms = (uint64_t)rotate;
  return 1;
}

static int parse_sim_dev(const cJSON *o, struct sim_dev *d, long long *ttl, struct jerr *err)
{
  const char *addr = NULL, *name = "", *type = "public";
  long long rssi = SIM_RSSI_DEFAULT;
  uint8_t a[6];
  int phone;

  memset(d, 0, sizeof *d);
  *ttl = SIM_TTL_DEFAULT_MS;
  if ((phone = parse_sim_irk(o, d, err)) < 0 ||
      (!phone && json_get_string(o, "addr", JSON_REQUIRED, WIRE_BLE_LEN, &addr, err) < 0))
    return -1;
  if (phone) {
    type = "random";
    memset(a, 0, sizeof a);
  } else if (wire_ble_parse(addr, a) < 0) {
    jerr_set(err, "field 'addr' must be a Bluetooth address like AA:BB:CC:DD:EE:FF");
    return -1;
  }
  if (json_get_int(o, "rssi", JSON_OPTIONAL, SIGHT_RSSI_MIN_VALUE, SIGHT_RSSI_MAX_VALUE,
                   &rssi, err) < 0 ||
      json_get_string(o, "name", JSON_OPTIONAL, WIRE_DEVICE_NAME_MAX, &name, err) < 0 ||
      json_get_int(o, "ttl_ms", JSON_OPTIONAL, 1, SIM_TTL_MAX_MS, ttl, err) < 0 ||
      json_get_string(o, "type", JSON_OPTIONAL, 16, &type, err) < 0)
    return -1;
  if (wire_check_text(name)) {        /* what a radio's name may not be */
    jerr_set(err, "field 'name' %s", wire_check_text(name));
    return -1;
  }
  if (strcmp(type, "public") && strcmp(type, "random")) {
    jerr_set(err, "field 'type' must be \"public\" or \"random\"");
    return -1;
  }
  if (parse_sim_ibeacon(o, d, err) < 0)
    return -1;
  if (!phone)
    wire_ble_format(a, d->addr);
  d->type = !strcmp(type, "random") ? SIGHT_RANDOM : SIGHT_PUBLIC;
  d->rssi = (int)rssi;
  snprintf(d->name, sizeof d->name, "%s", name);
  return 0;
}

static void post_sim_adv(struct nano_req *r)
{
  struct bs *st = r->arg;
  struct sim_dev d, *slot = NULL;
  struct jerr err;
  long long ttl;
  cJSON *o = req_json(r), *answer;

  if (!o)
    return;
  if (parse_sim_dev(o, &d, &ttl, &err) < 0) {
    cJSON_Delete(o);
    req_reply_error(r, 400, "%s", err.msg);
    return;
  }
  cJSON_Delete(o);
  for (size_t i = 0; i < st->nsims; i++)
    if (d.has_irk ? st->sims[i].has_irk && !memcmp(st->sims[i].irk, d.irk, sizeof d.irk)
                  : !st->sims[i].has_irk && !strcmp(st->sims[i].addr, d.addr))
      slot = &st->sims[i];
  if (d.has_irk) {
    /* the same phone posted again keeps its address until it rotates */
    if (slot) {
      memcpy(d.addr, slot->addr, sizeof d.addr);
      d.next_rotate = slot->next_rotate;
    }
    if (!slot && sim_rotate(&d) < 0) {
      req_reply_error(r, 500, "cannot make an address (no random bytes)");
      return;
    }
    if (!slot || !d.next_rotate || d.rotate_ms != slot->rotate_ms)
      d.next_rotate = now_ms() + d.rotate_ms;
  }
  if (!slot) {
    if (st->nsims == st->max_sims) {
      req_reply_error(r, 503, "too many simulated devices (at most %zu, --max-devices)",
                      st->max_sims);
      return;
    }
    slot = &st->sims[st->nsims++];
  }
  d.expires = now_ms() + (uint64_t)ttl;
  *slot = d;
  if (!st->sim_next_adv)
    st->sim_next_adv = now_ms() + SIM_ADV_INTERVAL_MS;
  log_info("sim addr=%s rssi=%d ttl_ms=%lld%s", d.addr, d.rssi, ttl,
           d.has_irk ? " (a phone with an IRK)" : "");
  if (scanning(st))
    sim_hear(st, slot);
  sim_arm(st);
  answer = cJSON_CreateObject();
  if (answer) {
    cJSON_AddStringToObject(answer, "addr", d.addr);
    cJSON_AddNumberToObject(answer, "ttl_ms", (double)ttl);
    cJSON_AddBoolToObject(answer, "heard", scanning(st));
    if (d.has_irk)
      cJSON_AddNumberToObject(answer, "rotate_ms", (double)d.rotate_ms);
  }
  req_reply_json(r, 201, answer);
}

/* ---- scans ---------------------------------------------------------------- */

static void scanning_changed(struct bs *st)
{
  if (st->bluez)
    bluez_want_discovery(st->bluez, scanning(st));
  else if (st->sim && scanning(st)) {
    st->sim_next_adv = 0;     /* devices in range are heard as a scan starts */
    sim_tick(st);
  }
}

static void reply_devices(struct nano_req *r, struct bs *st, uint64_t since)
{
  cJSON *devices, *o;

  expire_now(st);
  devices = sightings_json(&st->cache, now_ms(), since);
  o = devices_body(st, devices);
  if (!o) {
    req_reply_error(r, 500, "out of memory");
    return;
  }
  req_reply_json(r, 205, o);
}

static void scan_done(struct bs *st, struct scan *sc)
{
  for (struct scan **pp = &st->scans; *pp; pp = &(*pp)->next)
    if (*pp == sc) {
      *pp = sc->next;
      st->nscans--;
      break;
    }
  free(sc);
  scanning_changed(st);
}

static void post_scan(struct nano_req *r)
{
  struct bs *st = r->arg;
  struct scan *sc;
  struct jerr err;
  long long duration = SCAN_DEFAULT_MS;
  cJSON *o;

  if (r->deferred) {
    /* the scan's time is up: what was heard since it started */
    sc = r->defer_arg;
    reply_devices(r, st, sc->started);
    log_info("scan done duration_ms=%llu", (unsigned long long)(now_ms() - sc->started));
    st->scans_answered++;
    scan_done(st, sc);
    return;
  }
  o = req_json(r);
  if (!o)
    return;
  if (json_get_int(o, "duration_ms", JSON_OPTIONAL, 0, SCAN_MAX_MS, &duration, &err) < 0) {
    cJSON_Delete(o);
    req_reply_error(r, 400, "%s", err.msg);
    return;
  }
  cJSON_Delete(o);
  if (st->continuous || duration == 0) {
    st->scans_answered++;
    reply_devices(r, st, 0);
    return;
  }
  if (st->nscans >= SCANS_MAX) {
    req_reply_error(r, 503, "too many scans in progress (at most %d)", SCANS_MAX);
    return;
  }
  sc = calloc(1, sizeof *sc);
  if (!sc) {
    req_reply_error(r, 500, "out of memory");
    return;
  }
  sc->started = now_ms();
  sc->next = st->scans;
  st->scans = sc;
  st->nscans++;
  if (req_defer(r, (uint64_t)duration, sc) < 0) {
    scan_done(st, sc);        /* req_defer has answered */
    return;
  }
  log_info("scan started duration_ms=%lld", duration);
  scanning_changed(st);
}

static void get_devices(struct nano_req *r)
{
  reply_devices(r, r->arg, 0);
}

/* ---- health and stats ------------------------------------------------- */

static const char *backend_state(const struct bs *st)
{
  if (st->bluez)
    return bluez_state(st->bluez);
  return scanning(st) ? "discovering" : "idle";
}

/* A scanner whose BlueZ is away still answers from its cache and
 * recovers by itself, so it stays healthy: restarting the container
 * would only lose the cache.  The state says what is going on. */
static int health_hook(cJSON *obj, void *arg)
{
  struct bs *st = arg;
  cJSON_AddStringToObject(obj, "adapter", st->sim ? "sim" : "bluez");
  cJSON_AddStringToObject(obj, "scanner", backend_state(st));
  cJSON_AddNumberToObject(obj, "devices", (double)sightings_count(&st->cache));
  return 1;
}

static void stats_hook(cJSON *obj, void *arg)
{
  struct bs *st = arg;
  cJSON_AddStringToObject(obj, "location", st->location);
  cJSON_AddStringToObject(obj, "scanner", backend_state(st));
  cJSON_AddNumberToObject(obj, "devices", (double)sightings_count(&st->cache));
  cJSON_AddNumberToObject(obj, "advertisements", (double)st->cache.heard);
  cJSON_AddNumberToObject(obj, "devices_added", (double)st->cache.added);
  cJSON_AddNumberToObject(obj, "devices_forgotten", (double)st->cache.forgotten);
  cJSON_AddNumberToObject(obj, "devices_evicted", (double)st->cache.evicted);
  cJSON_AddNumberToObject(obj, "scans_answered", (double)st->scans_answered);
  cJSON_AddNumberToObject(obj, "scans_waiting", st->nscans);
  cJSON_AddNumberToObject(obj, "reports_sent", (double)st->reports_sent);
  cJSON_AddNumberToObject(obj, "reported_devices", (double)st->reported_devices);
  cJSON_AddNumberToObject(obj, "report_failures", (double)st->report_failures);
  cJSON_AddNumberToObject(obj, "reports_dropped", (double)st->report_dropped);
  cJSON_AddNumberToObject(obj, "reports_pending", (double)st->nout);
  if (st->mcs) {
    cJSON *peers = cJSON_AddObjectToObject(obj, "peers");
    cJSON_AddItemToObject(peers, "mcs", peer_json(st->mcs));
  }
  if (st->bluez)
    bluez_add_stats(st->bluez, obj);
}

/* ---- options ------------------------------------------------------------ */

static int parse_rssi(const char *s, int *out)
{
  char *end;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || !*s || *end || v < SIGHT_RSSI_MIN_VALUE || v > SIGHT_RSSI_MAX_VALUE)
    return -1;
  *out = (int)v;
  return 0;
}

/* <mcs>/ble; the URI is checked now so that a typo fails at start. */
static int make_ble_uri(const char *mcs, char *out, size_t size)
{
  struct nano_uri u;
  char err[256];
  size_t n;

  if (uri_parse(mcs, &u, err, sizeof err) < 0) {
    fprintf(stderr, "bs: --mcs %s: %s\n", mcs, err);
    return -1;
  }
  if (u.query[0]) {
    fprintf(stderr, "bs: --mcs must not have a query\n");
    return -1;
  }
  n = strlen(mcs);
  while (n && mcs[n - 1] == '/')
    n--;
  if ((size_t)snprintf(out, size, "%.*s/ble", (int)n, mcs) >= size) {
    fprintf(stderr, "bs: --mcs is too long\n");
    return -1;
  }
  return 0;
}

static int configure(struct bs *st, struct opt *opts)
{
  const char *scan = opt_str(opts, "scan"), *adapter = opt_str(opts, "adapter");
  long long forget, every, max;
  int rssi_min;

  st->location = opt_str(opts, "location");
  if (wire_check_location(st->location)) {
    fprintf(stderr, "bs: --location '%s' %s\n", st->location,
            wire_check_location(st->location));
    return -1;
  }
  st->reports = 1;
  if (!strcmp(scan, "continuous"))
    st->continuous = 1;
  else if (strcmp(scan, "on-demand")) {
    fprintf(stderr, "bs: --scan must be continuous or on-demand\n");
    return -1;
  }
  if (opt_duration(opts, "forget", &forget) < 0 ||
      opt_duration(opts, "report-every", &every) < 0)
    return -1;
  if (forget < 100 || forget > 86400000LL || every > 86400000LL) {
    fprintf(stderr, "bs: --forget must be 100ms..24h and --report-every at most 24h\n");
    return -1;
  }
  if (parse_rssi(opt_str(opts, "rssi-min"), &rssi_min) < 0) {
    fprintf(stderr, "bs: --rssi-min must be a whole number of dBm in [-127, 20]\n");
    return -1;
  }
  if (make_ble_uri(opt_str(opts, "mcs"), st->ble_uri, sizeof st->ble_uri) < 0)
    return -1;
  st->sim = !strcmp(adapter, "sim");
  if (!st->sim && (!*adapter || strlen(adapter) > 16 ||
                   strspn(adapter, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789_") != strlen(adapter))) {
    fprintf(stderr, "bs: --adapter must be sim or a BlueZ adapter name like hci0\n");
    return -1;
  }
  max = parse_size(opt_str(opts, "max-devices"), 1, DEVICES_MAX);
  if (max < 0) {
    fprintf(stderr, "bs: --max-devices must be a number from 1 to %d\n", DEVICES_MAX);
    return -1;
  }
  if (sightings_init(&st->cache, (size_t)max, (uint64_t)forget, rssi_min, (uint64_t)every) < 0 ||
      (st->sim && !(st->sims = calloc((size_t)max, sizeof *st->sims)))) {
    fprintf(stderr, "bs: out of memory\n");
    return -1;
  }
  st->max_sims = (size_t)max;
  return 0;
}

static void bs_free(struct bs *st)
{
  bluez_free(st->bluez);
  while (st->scans) {
    struct scan *sc = st->scans;
    st->scans = sc->next;
    free(sc);
  }
  sightings_free(&st->cache);
  free(st->sims);
}

/* Who may do what on bs (with keys; nano bs --help shows it); the
 * simulated adapter's input is the building admin's. */
static const struct access_rule bs_access[] = {
  { "POST", "scan", "mcs" },
  { "GET", "devices", "mcs" },
  { "POST", "sim/*", "admin admin-*" },
  { NULL, NULL, NULL }
};

static const struct opt bs_opts[] = {
  { "location", OPT_STR, "entrance", "where this scanner is: entrance, room, or a room name" },
  { "adapter", OPT_STR, "hci0", "a BlueZ adapter (hci0, ...) or sim (POST /sim/adv)" },
  { "scan", OPT_STR, "continuous", "continuous (answer /scan from the cache) or on-demand" },
  { "mcs", OPT_STR, "coaps://mcs", "MCS, for POST <mcs>/ble reports of devices coming into range" },
  { "forget", OPT_STR, "30s", "forget a device after this much silence" },
  { "report-every", OPT_STR, "10s", "report a device to MCS at most once per this time" },
  { "rssi-min", OPT_STR, "-90", "ignore devices weaker than this (dBm, smoothed)" },
  { "max-devices", OPT_STR, "512", "devices kept (the one silent longest makes room); also simulated ones" },
  { 0 }
};

static struct bs bs_state;        /* large (the sim table), and one per process */

/* Every option before a port is bound: a usage error is exit 2, and
 * nothing was "started". */
static int bs_configure(struct opt *opts)
{
  return configure(&bs_state, opts) < 0 ? 2 : 0;
}

static int bs_start(struct nano_server *s, struct opt *opts)
{
  struct bs *st = &bs_state;

  st->ctx = server_ctx(s);
  st->mcs = peer_new(st->ctx, "mcs", opt_str(opts, "mcs"));
  if (!st->mcs)
    return 1;
  peer_set_timeout(st->mcs, REPORT_TIMEOUT_MS);
  peer_set_backoff(st->mcs, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
  peer_on_retry(st->mcs, on_report_retry, st);
  server_set_max_body(s, 4096);
  server_route(s, "scan", 0, NULL, post_scan, NULL, NULL, st);
  st->devices_res = server_route(s, "devices", 1, get_devices, NULL, NULL, NULL, st);
  if (st->sim)
    server_route(s, "sim/adv", 0, NULL, post_sim_adv, NULL, NULL, st);
  server_set_health_hook(s, health_hook, st);
  server_set_stats_hook(s, stats_hook, st);
  if (!st->sim) {
    st->bluez = bluez_new(opt_str(opts, "adapter"), on_bluez_seen, st);
    if (!st->bluez) {
      log_error("out of memory");
      peer_free(st->mcs);
      st->mcs = NULL;
      return 1;
    }
  }
  log_info("location=%s adapter=%s scan=%s forget_ms=%llu report_every_ms=%llu rssi_min=%d "
           "reports_to=%s", st->location, opt_str(opts, "adapter"), opt_str(opts, "scan"),
           (unsigned long long)st->cache.forget_ms, (unsigned long long)st->cache.report_every_ms,
           st->cache.rssi_min, st->reports ? st->ble_uri : "none");
  scanning_changed(st);
  return 0;
}

static int bs_stop(struct nano_server *s)
{
  if (server_deferred(s)) {
    /* a scan cut short by the stop is still answered, with what it heard */
    server_answer_deferred(s);
    loop_drain(300);
  }
  log_info("stopped devices=%zu", sightings_count(&bs_state.cache));
  loop_cancel(bs_state.report_timer);
  bs_state.report_timer = NULL;
  peer_free(bs_state.mcs);      /* cancels the report's call */
  bs_state.mcs = NULL;
  return 0;
}

/* After the server: the CoAP context goes first, it may still hold
 * deferred scans. */
static void bs_cleanup(void)
{
  bs_free(&bs_state);
}

const struct role bs_role = {
  bs_usage, bs_opts, bs_access, bs_configure, bs_start, bs_stop, bs_cleanup
};
