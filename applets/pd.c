/* pd.c - Presence Detection: a PIR motion sensor at one location; tells
 * MCS when motion starts (paper Fig. 3, steps a and b).
 *
 * usage: nano pd --location NAME --sensor gpio:CHIP:LINE[:active-low]|sysfs:N[:active-low]|sim
 *                [--mcs URI] [--node NAME] [--debounce 50ms] [--hold 3s]
 *
 * The sensor's edges go through a software debounce and a re-trigger
 * hold (src/debounce.c), so one arrival is one motion start, not a storm.
 * Each motion start is queued for POST <mcs>/presence
 * {"location","node","ts_ms"} (ts_ms: epoch ms of the edge itself).  The
 * queue is sent one request at a time, in order, without ever blocking
 * the loop, through src/call.c like every call between roles: while MCS
 * is down (timeout, unreachable, its name does not resolve) the head
 * waits and GET <mcs>/health is tried with exponential backoff from
 * 500 ms up to --retry-max, after a 5.xx the head itself is; each retry
 * is logged and counted.  The queue holds PD_QUEUE_MAX events; when full,
 * the oldest one not on the wire is dropped and logged.  An event MCS
 * refuses (4.xx) is logged and dropped: sending it again would not change
 * the answer.
 *
 * Resources:
 *   GET  /presence     observable: {"location","motion","events","last"}
 *   POST /sim/motion   {"motion": true|false}, with --sensor sim only
 */
#include "call.h"
#include "debounce.h"
#include "gpio.h"
#include "nano.h"
#include "role.h"
#include "wire.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PD_QUEUE_MAX 32
#define PD_RETRY_FIRST_MS 500
#define PD_POST_TIMEOUT_MS 5000

static const char pd_usage[] =
  "usage: nano pd --location NAME --sensor gpio:CHIP:LINE[:active-low]|sysfs:N[:active-low]|sim\n"
  "               [--mcs URI] [--node NAME] [--debounce 50ms] [--hold 3s]\n"
  "Presence detection: a PIR sensor's motion starts, debounced and held,\n"
  "POSTed to <mcs>/presence.  GET /presence is observable; POST /sim/motion\n"
  "{\"motion\":true|false} drives the simulated sensor.";

struct pd {
  const char *location;
  char node[WIRE_ID_MAX + 1];
  char presence_uri[600];
  coap_context_t *ctx;
  coap_resource_t *presence_res;
  struct gpio_spec spec;
  struct gpio_in *sensor;

  struct debounce motion;
  struct loop_timer *motion_timer;
  uint64_t last_start_wall;       /* epoch ms of the last motion start, 0: none */
  uint64_t edges;

  /* delivery to MCS: a ring of motion-start times (epoch ms), its head
   * sent by one call (call.c: retries, backoff, waiting out MCS down) */
  uint64_t queue[PD_QUEUE_MAX];
  int qhead, qlen;
  struct peer *mcs;
  unsigned retry_max_ms;          /* the cap of its backoff */
  struct call *sending;           /* the head's call; NULL: none */
  int attempts;                   /* of the head */
  uint64_t delivered, dropped, refused, retries;
};

/* ---- delivery -------------------------------------------------------- */

static void send_head(struct pd *pd);

static void pop_head(struct pd *pd)
{
  pd->qhead = (pd->qhead + 1) % PD_QUEUE_MAX;
  pd->qlen--;
  pd->attempts = 0;
}

/* The head as its call sends it, made at each attempt: the head is the
 * oldest event kept, even after a full queue dropped the one before. */
static int head_body(void *arg, char **body, size_t *len)
{
  struct pd *pd = arg;
  cJSON *obj;

  if (!pd->qlen)
    return 1;
  obj = cJSON_CreateObject();
  if (!obj || !cJSON_AddStringToObject(obj, "location", pd->location) ||
      !cJSON_AddStringToObject(obj, "node", pd->node) ||
      !cJSON_AddNumberToObject(obj, "ts_ms", (double)pd->queue[pd->qhead]) ||
      !(*body = json_print(obj))) {
    cJSON_Delete(obj);
    return -1;
  }
  cJSON_Delete(obj);
  *len = strlen(*body);
  pd->attempts++;
  return 0;
}

/* call.c tries MCS again: say so, as each retry of the head. */
static void on_retry(struct peer *p, const char *why, unsigned retry_ms, void *arg)
{
  struct pd *pd = arg;

  pd->retries++;
  log_warn("mcs=%s presence not delivered (%s); retry in %u ms, queued=%d",
           pd->presence_uri, why, retry_ms, pd->qlen);
}

static void on_posted(void *arg, int code, const uint8_t *body, size_t len)
{
  struct pd *pd = arg;
  char buf[16];
  uint64_t ts = pd->queue[pd->qhead];

  pd->sending = NULL;
  if (code == CALL_NOTHING) {   /* the queue was empty at the attempt */
    send_head(pd);
    return;
  }
  if (code >= 200 && code < 300) {
    pd->delivered++;
    log_info("presence delivered ts_ms=%llu attempts=%d code=%s",
             (unsigned long long)ts, pd->attempts, client_code_text(code, buf, sizeof buf));
  } else {
    /* 4.xx, or a 5.01/5.05 that will never work either */
    pd->refused++;
    log_error("mcs=%s refused presence ts_ms=%llu code=%s body=%.*s; dropped",
              pd->presence_uri, (unsigned long long)ts,
              client_code_text(code, buf, sizeof buf), (int)(len > 200 ? 200 : len),
              body ? (const char *)body : "");
  }
  pop_head(pd);
  send_head(pd);
}

static void send_head(struct pd *pd)
{
  if (!pd->qlen || pd->sending)
    return;
  pd->sending = call_build(pd->mcs, COAP_REQUEST_POST, "presence", head_body, NULL,
                           on_posted, pd);
  if (!pd->sending)
    log_error("presence not sent: out of memory; queued=%d", pd->qlen);
}

static void enqueue(struct pd *pd, uint64_t ts_wall)
{
  if (pd->qlen == PD_QUEUE_MAX) {
    /* Drop the oldest event that is not on the wire right now (a head
     * whose call waits is made anew from the next one). */
    int victim = call_in_flight(pd->sending) ? (pd->qhead + 1) % PD_QUEUE_MAX : pd->qhead;
    if (victim == pd->qhead)
      pd->attempts = 0;         /* the next one is a new head */
    pd->dropped++;
    log_warn("presence dropped ts_ms=%llu: queue full (%d) while mcs is down",
             (unsigned long long)pd->queue[victim], PD_QUEUE_MAX);
    for (int i = victim; i != (pd->qhead + pd->qlen - 1) % PD_QUEUE_MAX;
         i = (i + 1) % PD_QUEUE_MAX)
      pd->queue[i] = pd->queue[(i + 1) % PD_QUEUE_MAX];
    pd->qlen--;
  }
  pd->queue[(pd->qhead + pd->qlen) % PD_QUEUE_MAX] = ts_wall;
  pd->qlen++;
  send_head(pd);
}

/* ---- motion ---------------------------------------------------------- */

static void motion_run(struct pd *pd);

static void motion_tick(void *arg)
{
  struct pd *pd = arg;
  pd->motion_timer = NULL;
  motion_run(pd);
}

/* Monotonic ms of an edge to epoch ms. */
static uint64_t to_wall(uint64_t mono)
{
  uint64_t now = now_ms(), wall = wall_ms();
  return mono <= now ? wall - (now - mono) : wall;
}

static void motion_run(struct pd *pd)
{
  uint64_t now = now_ms(), at, due;
  char ts[40];
  int ev;

  while ((ev = debounce_poll(&pd->motion, now, &at)) != MOTION_NONE) {
    if (ev == MOTION_START) {
      pd->last_start_wall = to_wall(at);
      log_info("motion start location=%s events=%llu ts=%s", pd->location,
               (unsigned long long)pd->motion.events,
               rfc3339(pd->last_start_wall, ts, sizeof ts));
      enqueue(pd, pd->last_start_wall);
    } else {
      log_info("motion end location=%s", pd->location);
    }
    server_notify(pd->presence_res);
  }
  loop_cancel(pd->motion_timer);
  pd->motion_timer = NULL;
  due = debounce_next_due(&pd->motion);
  if (due != DEBOUNCE_IDLE)
    pd->motion_timer = loop_after(due > now ? due - now : 0, motion_tick, pd);
}

static void on_edge(void *arg, int level, uint64_t t)
{
  struct pd *pd = arg;
  pd->edges++;
  debounce_edge(&pd->motion, level, t);
  motion_run(pd);
}

/* ---- resources --------------------------------------------------------- */

static void get_presence(struct nano_req *r)
{
  struct pd *pd = r->arg;
  cJSON *o = cJSON_CreateObject();
  char ts[40];

  cJSON_AddStringToObject(o, "location", pd->location);
  cJSON_AddBoolToObject(o, "motion", pd->motion.motion);
  cJSON_AddNumberToObject(o, "events", (double)pd->motion.events);
  if (pd->last_start_wall)
    cJSON_AddStringToObject(o, "last", rfc3339(pd->last_start_wall, ts, sizeof ts));
  else
    cJSON_AddNullToObject(o, "last");
  req_reply_json(r, 205, o);
}

static void post_sim_motion(struct nano_req *r)
{
  struct pd *pd = r->arg;
  struct jerr err;
  int motion;
  cJSON *o = req_json(r);

  if (!o)
    return;
  if (json_get_bool(o, "motion", JSON_REQUIRED, &motion, &err) < 0) {
    cJSON_Delete(o);
    req_reply_error(r, 400, "%s", err.msg);
    return;
  }
  cJSON_Delete(o);
  gpio_in_sim_set(pd->sensor, motion);
  req_reply_json(r, 204, NULL);
}

static void no_sim(struct nano_req *r)
{
  struct pd *pd = r->arg;
  req_reply_error(r, 404, "no simulated sensor: this pd reads %s:%u (POST /sim/motion "
                  "needs --sensor sim)", gpio_backend_name(pd->spec.backend),
                  pd->spec.lines[0]);
}

static void stats_hook(cJSON *o, void *arg)
{
  struct pd *pd = arg;
  cJSON_AddStringToObject(o, "sensor", gpio_backend_name(pd->spec.backend));
  cJSON_AddNumberToObject(o, "edges", (double)pd->edges);
  cJSON_AddNumberToObject(o, "queued", pd->qlen);
  cJSON_AddNumberToObject(o, "delivered", (double)pd->delivered);
  cJSON_AddNumberToObject(o, "retries", (double)pd->retries);
  cJSON_AddNumberToObject(o, "dropped", (double)pd->dropped);
  cJSON_AddNumberToObject(o, "refused", (double)pd->refused);
  if (pd->mcs) {
    cJSON *peers = cJSON_AddObjectToObject(o, "peers");
    cJSON_AddItemToObject(peers, "mcs", peer_json(pd->mcs));
  }
}

/* ---- setup ---------------------------------------------------------------- */

/* Options into pd; 0, or the exit code of a usage error. */
static int configure(struct pd *pd, struct opt *opts)
{
  const char *mcs = opt_str(opts, "mcs"), *node = opt_str(opts, "node");
  long long debounce_ms, hold_ms, retry_max;
  char err[256];
  size_t n;

  pd->location = opt_str(opts, "location");
  if (!pd->location) {
    fprintf(stderr, "pd: --location is required (entrance, room or a room name)\n");
    return 2;
  }
  /* What mcs takes (src/wire.h): a pd whose every report would be
   * refused must not start. */
  if (wire_check_location(pd->location)) {
    fprintf(stderr, "pd: --location '%s' %s\n", pd->location,
            wire_check_location(pd->location));
    return 2;
  }
  if (!node) {
    int rc = gethostname(pd->node, sizeof pd->node);
    pd->node[WIRE_ID_MAX] = '\0';
    if (rc < 0 || wire_check_id(pd->node))
      snprintf(pd->node, sizeof pd->node, "pd");
  } else if (!wire_check_id(node)) {
    snprintf(pd->node, sizeof pd->node, "%s", node);
  } else {
    fprintf(stderr, "pd: --node '%s' %s\n", node, wire_check_id(node));
    return 2;
  }
  if (!opt_str(opts, "sensor")) {
    fprintf(stderr, "pd: --sensor is required: gpio:CHIP:LINE[:active-low], "
            "sysfs:N[:active-low] or sim\n");
    return 2;
  }
  if (gpio_spec_parse(opt_str(opts, "sensor"), 1, &pd->spec, err, sizeof err) < 0) {
    fprintf(stderr, "pd: --sensor %s\n", err);
    return 2;
  }
  if (opt_duration(opts, "debounce", &debounce_ms) < 0 ||
      opt_duration(opts, "hold", &hold_ms) < 0 ||
      opt_duration(opts, "retry-max", &retry_max) < 0)
    return 2;
  if (retry_max < PD_RETRY_FIRST_MS) {
    fprintf(stderr, "pd: --retry-max must be at least %dms\n", PD_RETRY_FIRST_MS);
    return 2;
  }
  n = strlen(mcs);
  while (n && mcs[n - 1] == '/')
    n--;
  if (snprintf(pd->presence_uri, sizeof pd->presence_uri, "%.*s/presence", (int)n, mcs)
      >= (int)sizeof pd->presence_uri ||
      (strncmp(mcs, "coap://", 7) && strncmp(mcs, "coaps://", 8))) {
    fprintf(stderr, "pd: --mcs must be a coaps:// (or coap://) URI\n");
    return 2;
  }
  debounce_init(&pd->motion, (uint64_t)debounce_ms, (uint64_t)hold_ms);
  /* a wait of more than 49 days is no different from one of 49 days */
  pd->retry_max_ms = retry_max > UINT_MAX ? UINT_MAX : (unsigned)retry_max;
  return 0;
}

/* Who may do what on pd (with keys; nano pd --help shows it); the
 * simulated sensor's input is the building admin's. */
static const struct access_rule pd_access[] = {
  { "GET", "presence", "mcs" },
  { "*", "sim/*", "admin admin-*" },
  { NULL, NULL, NULL }
};

static const struct opt pd_opts[] = {
  { "location", OPT_STR, NULL, "where the sensor is: entrance, room or a room name" },
  { "sensor", OPT_STR, NULL, "gpio:CHIP:LINE[:active-low], sysfs:N[:active-low] or sim" },
  { "mcs", OPT_STR, "coaps://mcs", "the Main Controller to POST /presence to" },
  { "node", OPT_STR, NULL, "this node's name in presence reports (default: hostname)" },
  { "debounce", OPT_STR, "50ms", "a sensor level counts once it held this long" },
  { "hold", OPT_STR, "3s", "motion lasts this long after the sensor falls" },
  { "retry-max", OPT_STR, "30s", "longest wait between retries while MCS is down" },
  { "sysfs-root", OPT_STR, GPIO_SYSFS_ROOT, "the sysfs GPIO directory (tests use a fake one)" },
  { 0 }
};

static struct pd pd_state;        /* one role per process */

static int pd_configure(struct opt *opts)
{
  return configure(&pd_state, opts);
}

static int pd_start(struct nano_server *s, struct opt *opts)
{
  struct pd *pd = &pd_state;
  char err[300];

  pd->ctx = server_ctx(s);
  pd->mcs = peer_new(pd->ctx, "mcs", opt_str(opts, "mcs"));
  if (!pd->mcs)
    return 1;
  peer_set_timeout(pd->mcs, PD_POST_TIMEOUT_MS);
  peer_set_backoff(pd->mcs, PD_RETRY_FIRST_MS, pd->retry_max_ms);
  peer_on_retry(pd->mcs, on_retry, pd);
  pd->sensor = gpio_in_open(&pd->spec, opt_str(opts, "sysfs-root"), on_edge, pd, err,
                            sizeof err);
  if (!pd->sensor) {
    log_error("sensor=%s %s", opt_str(opts, "sensor"), err);
    peer_free(pd->mcs);
    return 1;
  }
  pd->presence_res = server_route(s, "presence", 1, get_presence, NULL, NULL, NULL, pd);
  if (pd->spec.backend == GPIO_SIM)
    server_route(s, "sim/motion", 0, NULL, post_sim_motion, NULL, NULL, pd);
  else
    server_route(s, "sim/*", 0, no_sim, no_sim, no_sim, no_sim, pd);
  server_set_stats_hook(s, stats_hook, pd);
  log_info("location=%s node=%s sensor=%s mcs=%s", pd->location, pd->node,
           opt_str(opts, "sensor"), pd->presence_uri);
  /* A sensor already high at start is someone there now. */
  if (gpio_in_level(pd->sensor) == 1)
    on_edge(pd, 1, now_ms());
  return 0;
}

static int pd_stop(struct nano_server *s)
{
  struct pd *pd = &pd_state;

  if (pd->qlen)
    log_warn("stopping with %d presence events not delivered", pd->qlen);
  loop_cancel(pd->motion_timer);
  peer_free(pd->mcs);           /* cancels the head's call */
  gpio_in_close(pd->sensor);
  log_info("stopped");
  return 0;
}

const struct role pd_role = {
  pd_usage, pd_opts, pd_access, pd_configure, pd_start, pd_stop, NULL
};
