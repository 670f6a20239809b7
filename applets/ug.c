/* ug.c - User Guidance: lights the LED path from the entrance to a room
 * for a participant, and stops it on arrival (paper Fig. 3, step e).
 *
 * usage: nano ug --leds gpio:CHIP:L1,L2,..[:active-low]|sysfs:N1,N2,..[:active-low]|sim[:L1,..]
 *                --route ROOM=L1,L2,L3 [--route ...] [--expire 5m] [--step 250ms]
 *
 * A route lists the LEDs (line numbers of --leds) from the entrance to
 * its room.  A guidance shows its room's route as a chase: one lit dot
 * stepping toward the room every --step.  Several guidances at once take
 * turns by room, one whole pass each (src/ledpattern.c), so only one path
 * is ever lit at a time.  A guidance ends on DELETE, or after --expire.
 * With --leds sim every LED change is logged; on SIGTERM every LED goes
 * off before ug exits.
 *
 * Resources:
 *   POST   /guide {"participant","room"}   2.01 new, 2.04 already guided
 *                                          (to another room: re-routed)
 *   DELETE /guide/<participant>            2.02, or 4.04 if not guided
 *   GET    /guide/<participant>            the one guidance, or 4.04
 *   GET    /guide                          observable {"active":[{"participant","room","since"}]}
 *   GET    /leds                           {"leds":[{"line","on"}]}
 */
#include "gpio.h"
#include "ledpattern.h"
#include "nano.h"
#include "role.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UG_GUIDES_MAX 100000
#define UG_MIN_STEP_MS 10

static const char ug_usage[] =
  "usage: nano ug --leds gpio:CHIP:L1,L2,..[:active-low]|sysfs:N1,N2,..[:active-low]|sim[:L1,..]\n"
  "               --route ROOM=L1,L2,L3 [--route ...] [--expire 5m] [--step 250ms]\n"
  "User guidance: POST /guide {\"participant\",\"room\"} lights a chase along the\n"
  "room's route; DELETE /guide/<participant> stops it.  NANO_ROUTE holds several\n"
  "routes separated by ';'.";

struct ug;

struct guide {
  struct ug *ug;
  int used;
  char participant[WIRE_ID_MAX + 1];
  int route;
  uint64_t since;                 /* epoch ms */
  uint64_t seq;                   /* creation order, for GET /guide */
  struct loop_timer *expire;
};

struct ug {
  struct gpio_spec spec;
  struct gpio_out *out;
  char rooms[LEDPAT_MAX_ROUTES][WIRE_ROOM_MAX + 1];
  struct ledpat pat;
  uint8_t applied[GPIO_MAX_LINES];
  uint8_t failing[GPIO_MAX_LINES];
  struct loop_timer *step_timer;
  struct guide *guides;           /* --max-guides of them */
  int max_guides;
  uint64_t next_seq;
  uint64_t expire_ms;
  coap_resource_t *guide_res;
  uint64_t started, stopped, expired, rerouted;
};

/* ---- LEDs -------------------------------------------------------------- */

static void set_led(struct ug *ug, int i, int on)
{
  if (gpio_out_set(ug->out, i, on) == 0) {
    ug->applied[i] = (uint8_t)on;
    ug->failing[i] = 0;
  } else if (!ug->failing[i]) {
    ug->failing[i] = 1;         /* logged once, retried on every step */
    log_error("led line=%u cannot be set: %s", ug->spec.lines[i], strerror(errno));
  }
}

/* Switch LEDs off before others on, so that not even for a moment are
 * two lit. */
static void apply_leds(struct ug *ug)
{
  uint8_t on[LEDPAT_MAX_LEDS];

  ledpat_leds(&ug->pat, on);
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < ug->spec.nlines; i++)
      if (on[i] == pass && (on[i] != ug->applied[i] || ug->failing[i]))
        set_led(ug, i, on[i]);
}

static void pattern_run(struct ug *ug);

static void step_tick(void *arg)
{
  struct ug *ug = arg;
  ug->step_timer = NULL;
  pattern_run(ug);
}

/* Step the pattern to now, show it, and wake up for the next step. */
static void pattern_run(struct ug *ug)
{
  uint64_t now = now_ms(), due;

  ledpat_advance(&ug->pat, now);
  apply_leds(ug);
  loop_cancel(ug->step_timer);
  ug->step_timer = NULL;
  due = ledpat_next_due(&ug->pat);
  if (due != LEDPAT_IDLE)
    ug->step_timer = loop_after(due > now ? due - now : 0, step_tick, ug);
}

/* The set of guided rooms changed. */
static void routes_changed(struct ug *ug)
{
  uint32_t mask = 0;

  for (int i = 0; i < ug->max_guides; i++)
    if (ug->guides[i].used)
      mask |= 1u << ug->guides[i].route;
  ledpat_set_active(&ug->pat, mask, now_ms());
  pattern_run(ug);
  server_notify(ug->guide_res);
}

/* ---- guidances ----------------------------------------------------------- */

static struct guide *guide_find(struct ug *ug, const char *participant)
{
  for (int i = 0; i < ug->max_guides; i++)
    if (ug->guides[i].used && !strcmp(ug->guides[i].participant, participant))
      return &ug->guides[i];
  return NULL;
}

static int room_find(struct ug *ug, const char *room)
{
  for (int r = 0; r < ug->pat.nroutes; r++)
    if (!strcmp(ug->rooms[r], room))
      return r;
  return -1;
}

static void guide_end(struct guide *g)
{
  loop_cancel(g->expire);
  g->expire = NULL;
  g->used = 0;
  routes_changed(g->ug);
}

static void on_expire(void *arg)
{
  struct guide *g = arg;
  g->expire = NULL;
  g->ug->expired++;
  log_info("guide expired participant=%s room=%s", g->participant, g->ug->rooms[g->route]);
  guide_end(g);
}

static void guide_arm(struct guide *g)
{
  loop_cancel(g->expire);
  g->since = wall_ms();
  g->expire = loop_after(g->ug->expire_ms, on_expire, g);
}

static cJSON *guide_json(const struct guide *g)
{
  cJSON *o = cJSON_CreateObject();
  char ts[40];

  cJSON_AddStringToObject(o, "participant", g->participant);
  cJSON_AddStringToObject(o, "room", g->ug->rooms[g->route]);
  cJSON_AddStringToObject(o, "since", rfc3339(g->since, ts, sizeof ts));
  /* when --expire ends it, so mcs can tell an expiry from a lost guidance */
  cJSON_AddStringToObject(o, "expires", rfc3339(g->since + g->ug->expire_ms, ts, sizeof ts));
  return o;
}

static void post_guide(struct nano_req *r)
{
  struct ug *ug = r->arg;
  const char *participant, *room;
  struct guide *g;
  struct jerr err;
  int route;
  cJSON *o = req_json(r);

  if (!o)
    return;
  /* The participant goes into a URI path (DELETE /guide/<id>): an id of
   * src/wire.h, the same as ae's and mcs's. */
  if (wire_get(o, "participant", WIRE_ID, JSON_REQUIRED, &participant, &err) < 0 ||
      wire_get(o, "room", WIRE_ROOM, JSON_REQUIRED, &room, &err) < 0) {
    req_reply_error(r, 400, "%s", err.msg);
    goto out;
  }
  route = room_find(ug, room);
  if (route < 0) {
    req_reply_error(r, 404, "unknown room '%s' (no --route for it)", room);
    goto out;
  }
  g = guide_find(ug, participant);
  if (g && g->route == route) {
    req_reply_json(r, 204, guide_json(g));      /* already on its way */
    goto out;
  }
  if (g) {
    log_info("guide reroute participant=%s from=%s room=%s", participant,
             ug->rooms[g->route], room);
    ug->rerouted++;
    g->route = route;
    guide_arm(g);
    routes_changed(ug);
    req_reply_json(r, 204, guide_json(g));
    goto out;
  }
  for (int i = 0; i < ug->max_guides && !g; i++)
    if (!ug->guides[i].used)
      g = &ug->guides[i];
  if (!g) {
    req_reply_error(r, 503, "too many active guidances (%d, --max-guides)", ug->max_guides);
    goto out;
  }
  memset(g, 0, sizeof *g);
  g->ug = ug;
  g->used = 1;
  snprintf(g->participant, sizeof g->participant, "%s", participant);
  g->route = route;
  g->seq = ug->next_seq++;
  guide_arm(g);
  ug->started++;
  log_info("guide start participant=%s room=%s", participant, room);
  routes_changed(ug);
  req_reply_json(r, 201, guide_json(g));
out:
  cJSON_Delete(o);
}

static int by_seq(const void *a, const void *b)
{
  const struct guide *x = *(const struct guide *const *)a;
  const struct guide *y = *(const struct guide *const *)b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void get_guides(struct nano_req *r)
{
  struct ug *ug = r->arg;
  const struct guide **list = calloc((size_t)ug->max_guides, sizeof *list);
  int n = 0;
  cJSON *o, *arr;

  if (!list) {
    req_reply_error(r, 500, "out of memory");
    return;
  }
  o = cJSON_CreateObject();
  arr = cJSON_AddArrayToObject(o, "active");
  for (int i = 0; i < ug->max_guides; i++)
    if (ug->guides[i].used)
      list[n++] = &ug->guides[i];
  qsort(list, (size_t)n, sizeof list[0], by_seq);
  for (int i = 0; i < n; i++)
    cJSON_AddItemToArray(arr, guide_json(list[i]));
  free(list);
  req_reply_json(r, 205, o);
}

static void one_guide(struct nano_req *r)
{
  struct ug *ug = r->arg;
  const char *why = strchr(r->tail, '/') ? NULL : wire_check_path_id(r->tail);
  struct guide *g;

  if (why) {
    req_reply_error(r, 400, "the participant id in the URI %s", why);
    return;
  }
  g = guide_find(ug, r->tail);
  if (!g) {
    req_reply_error(r, 404, "no guidance for participant '%.128s'", r->tail);
    return;
  }
  if (r->method == COAP_REQUEST_GET) {
    req_reply_json(r, 205, guide_json(g));
    return;
  }
  ug->stopped++;
  log_info("guide stop participant=%s room=%s after_ms=%llu", g->participant,
           ug->rooms[g->route], (unsigned long long)(wall_ms() - g->since));
  guide_end(g);
  req_reply_json(r, 202, NULL);
}

static void get_leds(struct nano_req *r)
{
  struct ug *ug = r->arg;
  cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "leds");

  for (int i = 0; i < ug->spec.nlines; i++) {
    cJSON *led = cJSON_CreateObject();
    cJSON_AddNumberToObject(led, "line", ug->spec.lines[i]);
    cJSON_AddBoolToObject(led, "on", ug->applied[i]);
    cJSON_AddItemToArray(arr, led);
  }
  req_reply_json(r, 205, o);
}

static void stats_hook(cJSON *o, void *arg)
{
  struct ug *ug = arg;
  int active = 0;

  for (int i = 0; i < ug->max_guides; i++)
    active += ug->guides[i].used;
  cJSON_AddStringToObject(o, "leds", gpio_backend_name(ug->spec.backend));
  cJSON_AddNumberToObject(o, "active", active);
  cJSON_AddNumberToObject(o, "started", (double)ug->started);
  cJSON_AddNumberToObject(o, "stopped", (double)ug->stopped);
  cJSON_AddNumberToObject(o, "expired", (double)ug->expired);
  cJSON_AddNumberToObject(o, "rerouted", (double)ug->rerouted);
}

/* ---- setup ----------------------------------------------------------------- */

static int line_index(const struct gpio_spec *spec, unsigned line)
{
  for (int i = 0; i < spec->nlines; i++)
    if (spec->lines[i] == line)
      return i;
  return -1;
}

/* "R1=17,27,22" into room and lines; -1 with a message printed. */
static int route_parse(const char *text, char *room, unsigned *lines, int *n)
{
  const char *eq = strchr(text, '='), *why;
  char err[200];

  if (!eq || eq == text || eq - text > WIRE_ROOM_MAX) {
    fprintf(stderr, "ug: --route '%s': expected ROOM=L1,L2,... with a room name of "
            "1-%d characters\n", text, WIRE_ROOM_MAX);
    return -1;
  }
  memcpy(room, text, (size_t)(eq - text));
  room[eq - text] = '\0';
  if ((why = wire_check_room(room))) {
    fprintf(stderr, "ug: --route '%s': the room name %s\n", text, why);
    return -1;
  }
  if (gpio_lines_parse(eq + 1, strlen(eq + 1), LEDPAT_MAX_LEDS, lines, n, err,
                       sizeof err) < 0) {
    fprintf(stderr, "ug: --route '%s': %s\n", text, err);
    return -1;
  }
  return 0;
}

static int configure_routes(struct ug *ug, struct opt *routes, uint64_t step_ms)
{
  unsigned lines[LEDPAT_MAX_ROUTES][LEDPAT_MAX_LEDS];
  int nlines[LEDPAT_MAX_ROUTES];
  int derive = ug->spec.backend == GPIO_SIM && ug->spec.nlines == 0;

  if (routes->count == 0) {
    fprintf(stderr, "ug: at least one --route ROOM=L1,L2,... is required\n");
    return -1;
  }
  for (int r = 0; r < routes->count; r++) {
    if (route_parse(routes->list[r], ug->rooms[r], lines[r], &nlines[r]) < 0)
      return -1;
    for (int q = 0; q < r; q++)
      if (!strcmp(ug->rooms[q], ug->rooms[r])) {
        fprintf(stderr, "ug: room '%s' has two --route\n", ug->rooms[r]);
        return -1;
      }
    /* Plain "sim": the LEDs are the routes' lines, in order of appearance. */
    for (int i = 0; derive && i < nlines[r]; i++)
      if (line_index(&ug->spec, lines[r][i]) < 0) {
        if (ug->spec.nlines == GPIO_MAX_LINES) {
          fprintf(stderr, "ug: the routes use more than %d LEDs\n", GPIO_MAX_LINES);
          return -1;
        }
        ug->spec.lines[ug->spec.nlines++] = lines[r][i];
      }
  }
  ledpat_init(&ug->pat, ug->spec.nlines, step_ms);
  for (int r = 0; r < routes->count; r++) {
    uint8_t idx[LEDPAT_MAX_LEDS];
    for (int i = 0; i < nlines[r]; i++) {
      int k = line_index(&ug->spec, lines[r][i]);
      if (k < 0) {
        fprintf(stderr, "ug: --route %s uses line %u, which is not in --leds\n",
                ug->rooms[r], lines[r][i]);
        return -1;
      }
      idx[i] = (uint8_t)k;
    }
    ledpat_add_route(&ug->pat, idx, nlines[r]);
  }
  return 0;
}

static int configure(struct ug *ug, struct opt *opts)
{
  long long step_ms, expire_ms, max;
  char err[256];

  if (!opt_str(opts, "leds")) {
    fprintf(stderr, "ug: --leds is required: gpio:CHIP:L1,L2,.., sysfs:N1,N2,.. or sim\n");
    return 2;
  }
  if (gpio_spec_parse(opt_str(opts, "leds"), GPIO_MAX_LINES, &ug->spec, err,
                      sizeof err) < 0) {
    fprintf(stderr, "ug: --leds %s\n", err);
    return 2;
  }
  if (opt_duration(opts, "step", &step_ms) < 0 || opt_duration(opts, "expire", &expire_ms) < 0)
    return 2;
  if (step_ms < UG_MIN_STEP_MS || expire_ms < 1) {
    fprintf(stderr, "ug: --step must be at least %dms and --expire more than 0\n",
            UG_MIN_STEP_MS);
    return 2;
  }
  if (configure_routes(ug, opt_find(opts, "route"), (uint64_t)step_ms) < 0)
    return 2;
  ug->expire_ms = (uint64_t)expire_ms;
  max = parse_size(opt_str(opts, "max-guides"), 1, UG_GUIDES_MAX);
  if (max < 0) {
    fprintf(stderr, "ug: --max-guides must be a number from 1 to %d\n", UG_GUIDES_MAX);
    return 2;
  }
  ug->max_guides = (int)max;
  ug->guides = calloc((size_t)max, sizeof *ug->guides);
  if (!ug->guides) {
    fprintf(stderr, "ug: out of memory for %lld guidances\n", max);
    return 1;
  }
  return 0;
}

static void all_off(struct ug *ug)
{
  int failed = 0;

  for (int i = 0; i < ug->spec.nlines; i++) {
    if (gpio_out_set(ug->out, i, 0) < 0) {
      log_error("led line=%u cannot be switched off: %s", ug->spec.lines[i],
                strerror(errno));
      failed = 1;
      continue;
    }
    ug->applied[i] = 0;
  }
  if (!failed)
    log_info("leds off");
}

/* Who may do what on ug (with keys; nano ug --help shows it). */
static const struct access_rule ug_access[] = {
  { "GET POST", "guide", "mcs" },
  { "GET DELETE", "guide/*", "mcs" },
  { NULL, NULL, NULL }
};

static const struct opt ug_opts[] = {
  { "leds", OPT_STR, NULL, "gpio:CHIP:L1,L2,..[:active-low], sysfs:N1,N2,..[:active-low] or sim[:L1,..]" },
  { "route", OPT_LIST, NULL, "ROOM=L1,L2,L3: the LEDs from the entrance to ROOM (repeat)" },
  { "expire", OPT_STR, "5m", "a guidance not stopped ends after this long" },
  { "step", OPT_STR, "250ms", "how long the chase's dot stays on one LED" },
  { "sysfs-root", OPT_STR, GPIO_SYSFS_ROOT, "the sysfs GPIO directory (tests use a fake one)" },
  { "max-guides", OPT_STR, "64", "guidances at once (a 65th is 5.03)" },
  { 0 }
};

static struct ug ug_state;        /* one role per process */

static int ug_configure(struct opt *opts)
{
  return configure(&ug_state, opts);
}

static int ug_start(struct nano_server *s, struct opt *opts)
{
  struct ug *ug = &ug_state;
  char err[300];

  ug->out = gpio_out_open(&ug->spec, opt_str(opts, "sysfs-root"), err, sizeof err);
  if (!ug->out) {
    log_error("leds=%s %s", opt_str(opts, "leds"), err);
    return 1;
  }
  ug->guide_res = server_route(s, "guide", 1, get_guides, post_guide, NULL, NULL, ug);
  server_route(s, "guide/*", 0, one_guide, NULL, NULL, one_guide, ug);
  server_route(s, "leds", 0, get_leds, NULL, NULL, NULL, ug);
  server_set_stats_hook(s, stats_hook, ug);
  log_info("leds=%s lines=%d routes=%d step_ms=%llu expire_ms=%llu",
           opt_str(opts, "leds"), ug->spec.nlines, ug->pat.nroutes,
           (unsigned long long)ug->pat.step_ms, (unsigned long long)ug->expire_ms);
  return 0;
}

/* Every LED off before exiting: a path left lit would guide no one. */
static int ug_stop(struct nano_server *s)
{
  struct ug *ug = &ug_state;

  loop_cancel(ug->step_timer);
  for (int i = 0; i < ug->max_guides; i++)
    loop_cancel(ug->guides[i].expire);
  all_off(ug);
  gpio_out_close(ug->out);
  log_info("stopped");
  return 0;
}

static void ug_cleanup(void)
{
  free(ug_state.guides);
}

const struct role ug_role = {
  ug_usage, ug_opts, ug_access, ug_configure, ug_start, ug_stop, ug_cleanup
};
