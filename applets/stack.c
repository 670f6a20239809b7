/* stack.c - the Docker stack file of a building, from its description.
 *
 * usage: nano stack [--sim | --keys] BUILDING.json     (- reads stdin)
 *
 * Prints the compose file that `docker stack deploy -c` takes (the shape
 * of stack.yml: every service from one image, endpoint_mode dnsrr, node
 * labels for placement, one keys secret per service), with one pd and one
 * bs per location (each entrance, each room), one mrs per room, ae and
 * mcs on the core node and ug on the guide node.  --sim prints the
 * override that runs the same stack on simulated hardware (stack.sim.yml);
 * --keys prints, per service, the identities its secret holds
 * ("SERVICE ID..."), for `nano keys pick` (README, "Keys").
 *
 * The description, one JSON object (unknown fields are errors, so a typo
 * is not a silent default):
 *
 *   {
 *     "image": "${NANO_IMAGE:-nano:latest}",          optional (this default)
 *     "core":  {"node": "nano.core"},                 ae and mcs
 *     "guide": {"node": "nano.guide",                 ug and its LEDs:
 *               "leds": [5, 6, 13, 19],               sysfs GPIO lines, in order
 *               "active_low": false},                 optional
 *     "entrances": [{"id": "entrance",                a location (A-Za-z0-9-_.)
 *                    "node": "nano.entrance",
 *                    "pir": 17,                       the PIR's sysfs GPIO line
 *                    "pir_active_low": false,         optional
 *                    "adapter": "hci0"}],             optional (hci0)
 *     "rooms": [{"id": "R1", "node": "nano.room", "pir": 17, "adapter": "hci0",
 *                "route": [5, 6, 13, 19],             ug's LEDs from the entrance to it
 *                "kiosk_port": 8080,                  optional: the node's port of
 *                                                     its display, or "${VAR:-8080}"
 *                "services": {"pd": "pd-room",        optional: service names
 *                             "bs": "bs-room", "mrs": "mrs"}}]
 *   }
 *
 * A "node" is a node label, KEY (KEY == true) or KEY=VALUE: every service
 * of that place gets the constraint node.labels.KEY == VALUE.  Services
 * are named pd-ID, bs-ID and mrs-ID (the id in lower case, '.' and '_' as
 * '-': a DNS name), unless "services" names them.  The description is
 * checked before anything is printed (exit 1, one line saying where and
 * why): ids by the wire contract (src/wire.h) and as key identities
 * (pd-ID, kiosk-ID, admin-SERVICE: 64 bytes at most, so an entrance's id
 * has at most 55 and a service name 58), no id twice, no service name
 * twice, a route only over guide.leds, and on the nodes of one label no
 * GPIO line, BLE adapter or kiosk port used twice (services with one
 * label may share a node; the check sees labels, not nodes).  At most 16
 * entrances and 16 rooms (ug's routes).  Usage errors exit 2.
 */
#include "gpio.h"
#include "json.h"
#include "keys.h"
#include "ledpattern.h"
#include "nano.h"
#include "wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK_MAX_BYTES (1 << 20)
#define STACK_MAX_ENTRANCES 16
#define STACK_MAX_ROOMS LEDPAT_MAX_ROUTES   /* one ug route per room */
#define STACK_MAX_PLACES (STACK_MAX_ENTRANCES + STACK_MAX_ROOMS)
#define SERVICE_MAX 63                      /* a DNS label */
#define LABEL_PART_MAX 100
#define IMAGE_MAX 256
#define LINE_MAX_NUMBER 100000              /* gpio_lines_parse's bound */
#define WRAP 100                            /* columns of a command line */
#define DEFAULT_IMAGE "${NANO_IMAGE:-nano:latest}"
#define DEFAULT_KIOSK_PORT 8080

static const char stack_usage[] =
  "usage: nano stack [--sim | --keys] BUILDING.json   (- reads stdin)\n"
  "The Docker stack file of a building (compose v3, stack.yml's shape); --sim\n"
  "the override for simulated hardware; --keys the identities of each\n"
  "service's secret.  The description's shape: nano stack's header, README.\n";

struct node_label {
  char key[LABEL_PART_MAX + 1];
  char value[LABEL_PART_MAX + 1];
};

struct place {                      /* an entrance or a room */
  const char *what;                 /* "entrances[0]" */
  char where[24];
  const char *id;                   /* in the cJSON tree */
  int is_room;
  struct node_label node;
  unsigned pir;
  int pir_active_low;
  char adapter[17];
  char pd[SERVICE_MAX + 1], bs[SERVICE_MAX + 1], mrs[SERVICE_MAX + 1];
  unsigned route[GPIO_MAX_LINES];
  int nroute;
  char kiosk[80];                   /* the published port as written */
  unsigned kiosk_port;
};

struct building {
  char image[IMAGE_MAX + 1];
  struct node_label core, guide;
  unsigned leds[GPIO_MAX_LINES];
  int nleds, leds_active_low;
  struct place places[STACK_MAX_PLACES];  /* the entrances, then the rooms */
  int nentrances, nplaces;
  char err[320];
};

enum stack_output { STACK_FILE, STACK_SIM, STACK_KEYS };

static int fail(struct building *b, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static int fail(struct building *b, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(b->err, sizeof b->err, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---- reading the description -------------------------------------------- */

/* obj is an object whose every key is one of allowed (NULL-terminated). */
static int only_keys(struct building *b, const cJSON *obj, const char *where,
                     const char *const *allowed)
{
  const cJSON *it;

  if (!cJSON_IsObject(obj))
    return fail(b, "%s must be an object", where);
  cJSON_ArrayForEach(it, obj) {
    const char *const *a = allowed;
    while (*a && strcmp(*a, it->string))
      a++;
    if (!*a)
      return fail(b, "%s: unknown field '%.64s'", where, it->string);
  }
  return 0;
}

static int get_string(struct building *b, const cJSON *obj, const char *where,
                      const char *key, int required, const char **out)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

  if (!v && !required)
    return 0;
  if (!cJSON_IsString(v))
    return fail(b, "%s.%s %s", where, key, v ? "must be a string" : "is missing");
  *out = v->valuestring;
  return 0;
}

static int get_bool(struct building *b, const cJSON *obj, const char *where,
                    const char *key, int *out)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

  *out = 0;
  if (!v)
    return 0;
  if (!cJSON_IsBool(v))
    return fail(b, "%s.%s must be true or false", where, key);
  *out = cJSON_IsTrue(v);
  return 0;
}

static int number_ok(const cJSON *v, double min, double max)
{
  return cJSON_IsNumber(v) && v->valuedouble >= min && v->valuedouble <= max &&
         v->valuedouble == (double)(long)v->valuedouble;
}

static int get_line(struct building *b, const cJSON *obj, const char *where,
                    const char *key, unsigned *out)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

  if (!number_ok(v, 0, LINE_MAX_NUMBER))
    return fail(b, "%s.%s %s", where, key,
                v ? "must be a GPIO line number (0-100000)" : "is missing");
  *out = (unsigned)v->valuedouble;
  return 0;
}

/* A list of distinct GPIO lines, 1 to GPIO_MAX_LINES of them. */
static int get_lines(struct building *b, const cJSON *obj, const char *where,
                     const char *key, unsigned *lines, int *n)
{
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key), *v;

  *n = 0;
  if (!cJSON_IsArray(arr) || !cJSON_GetArraySize(arr))
    return fail(b, "%s.%s %s", where, key,
                arr ? "must be a non-empty array of GPIO line numbers" : "is missing");
  cJSON_ArrayForEach(v, arr) {
    if (*n == GPIO_MAX_LINES)
      return fail(b, "%s.%s has more than %d lines", where, key, GPIO_MAX_LINES);
    if (!number_ok(v, 0, LINE_MAX_NUMBER))
      return fail(b, "%s.%s must hold GPIO line numbers (0-100000)", where, key);
    for (int i = 0; i < *n; i++)
      if (lines[i] == (unsigned)v->valuedouble)
        return fail(b, "%s.%s lists line %u twice", where, key, lines[i]);
    lines[(*n)++] = (unsigned)v->valuedouble;
  }
  return 0;
}

static int label_char_ok(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

static int label_part(const char *s, size_t n, char *out)
{
  if (!n || n > LABEL_PART_MAX)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (!label_char_ok((unsigned char)s[i]))
      return -1;
  memcpy(out, s, n);
  out[n] = '\0';
  return 0;
}

/* "KEY" (== true) or "KEY=VALUE" */
static int get_node(struct building *b, const cJSON *obj, const char *where,
                    struct node_label *out)
{
  const char *s, *eq;

  if (get_string(b, obj, where, "node", 1, &s) < 0)
    return -1;
  eq = strchr(s, '=');
  if (label_part(s, eq ? (size_t)(eq - s) : strlen(s), out->key) < 0 ||
      label_part(eq ? eq + 1 : "true", strlen(eq ? eq + 1 : "true"), out->value) < 0)
    return fail(b, "%s.node must be a node label KEY or KEY=VALUE (1-%d of "
                "A-Za-z0-9._- each)", where, LABEL_PART_MAX);
  return 0;
}

static int same_node(const struct node_label *a, const struct node_label *b)
{
  return !strcmp(a->key, b->key) && !strcmp(a->value, b->value);
}

/* A service name: 1-63 of a-z0-9-, a letter or digit at each end (a DNS
 * label: the roles reach each other by these names). */
static int service_ok(const char *s)
{
  size_t n = strlen(s);

  if (!n || n > SERVICE_MAX || s[0] == '-' || s[n - 1] == '-')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
      return 0;
  return 1;
}

/* ROLE-ID in lower case with '.' and '_' as '-'. */
static void service_default(char out[SERVICE_MAX + 1], const char *role, const char *id)
{
  size_t n = (size_t)snprintf(out, SERVICE_MAX + 1, "%s-%s", role, id);

  if (n > SERVICE_MAX) {
    out[0] = '\0';                  /* too long: service_ok says so */
    return;
  }
  for (char *p = out; *p; p++)
    *p = *p == '.' || *p == '_' ? '-' : *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
}

static int get_services(struct building *b, const cJSON *obj, struct place *p)
{
  static const char *const keys[] = { "pd", "bs", "mrs", NULL };
  const cJSON *names = cJSON_GetObjectItemCaseSensitive(obj, "services");
  char where[64];
  char *dst[3] = { p->pd, p->bs, p->mrs };
  const char *name;

  for (int i = 0; i < 3; i++)
    service_default(dst[i], keys[i], p->id);
  if (!names)
    return 0;
  snprintf(where, sizeof where, "%s.services", p->where);
  if (only_keys(b, names, where, keys) < 0)
    return -1;
  for (int i = 0; i < 3; i++) {
    name = NULL;
    if (get_string(b, names, where, keys[i], 0, &name) < 0)
      return -1;
    if (name && (strlen(name) > SERVICE_MAX || !service_ok(name)))
      return fail(b, "%s.%s: '%.64s' is not a service name (1-%d of a-z0-9-, "
                  "no '-' at either end)", where, keys[i], name, SERVICE_MAX);
    if (name)
      snprintf(dst[i], SERVICE_MAX + 1, "%s", name);
  }
  return 0;
}

/* 8080, or "${VAR:-8080}" (the port a test or a site sets at deploy time). */
static int get_kiosk(struct building *b, const cJSON *obj, struct place *p)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "kiosk_port");
  const char *s, *dflt;
  char *end;
  long port;
  size_t var;

  if (!v || number_ok(v, 1, 65535)) {
    p->kiosk_port = v ? (unsigned)v->valuedouble : DEFAULT_KIOSK_PORT;
    snprintf(p->kiosk, sizeof p->kiosk, "%u", p->kiosk_port);
    return 0;
  }
  if (!cJSON_IsString(v) || strncmp(s = v->valuestring, "${", 2) ||
      strlen(s) >= sizeof p->kiosk)
    goto bad;
  var = strspn(s + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
  if (!var || var > 64 || (s[2] >= '0' && s[2] <= '9') || strncmp(s + 2 + var, ":-", 2))
    goto bad;
  dflt = s + 2 + var + 2;
  port = strtol(dflt, &end, 10);
  if (end == dflt || *dflt < '0' || *dflt > '9' || strcmp(end, "}") || port < 1 || port > 65535)
    goto bad;
  p->kiosk_port = (unsigned)port;
  snprintf(p->kiosk, sizeof p->kiosk, "%s", s);
  return 0;
bad:
  return fail(b, "%s.kiosk_port must be a port (1-65535) or \"${VARIABLE:-PORT}\"", p->where);
}

static int get_place(struct building *b, const cJSON *obj, struct place *p)
{
  static const char *const entrance_keys[] = {
    "id", "node", "pir", "pir_active_low", "adapter", NULL };
  static const char *const room_keys[] = {
    "id", "node", "pir", "pir_active_low", "adapter", "route", "kiosk_port", "services", NULL };
  const char *adapter = "hci0", *why;
  size_t n;

  if (only_keys(b, obj, p->where, p->is_room ? room_keys : entrance_keys) < 0 ||
      get_string(b, obj, p->where, "id", 1, &p->id) < 0)
    return -1;
  if ((why = p->is_room ? wire_check_room(p->id) : wire_check_location(p->id)))
    return fail(b, "%s.id %s", p->where, why);
  if (get_node(b, obj, p->where, &p->node) < 0 ||
      get_line(b, obj, p->where, "pir", &p->pir) < 0 ||
      get_bool(b, obj, p->where, "pir_active_low", &p->pir_active_low) < 0 ||
      get_string(b, obj, p->where, "adapter", 0, &adapter) < 0)
    return -1;
  n = strlen(adapter);
  if (!n || n > 16 || strspn(adapter, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789_") != n || !strcmp(adapter, "sim"))
    return fail(b, "%s.adapter must be a BlueZ adapter name like hci0", p->where);
  memcpy(p->adapter, adapter, n + 1);
  if (!p->is_room) {
    service_default(p->pd, "pd", p->id);
    service_default(p->bs, "bs", p->id);
    return 0;
  }
  if (get_lines(b, obj, p->where, "route", p->route, &p->nroute) < 0 ||
      get_kiosk(b, obj, p) < 0 || get_services(b, obj, p) < 0)
    return -1;
  return 0;
}

static int get_places(struct building *b, const cJSON *root, const char *key, int is_room,
                      int max)
{
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key), *it;
  int i = 0;

  if (!cJSON_IsArray(arr) || !cJSON_GetArraySize(arr))
    return fail(b, "%s %s", key, arr ? "must be a non-empty array" : "is missing");
  if (cJSON_GetArraySize(arr) > max)
    return fail(b, "%s: at most %d", key, max);
  cJSON_ArrayForEach(it, arr) {
    struct place *p = &b->places[b->nplaces];
    p->is_room = is_room;
    p->what = key;
    snprintf(p->where, sizeof p->where, "%s[%d]", key, i++);
    if (get_place(b, it, p) < 0)
      return -1;
    b->nplaces++;
  }
  return 0;
}

static int get_image(struct building *b, const cJSON *root)
{
  const char *s = DEFAULT_IMAGE;
  size_t n;

  if (get_string(b, root, "building", "image", 0, &s) < 0)
    return -1;
  n = strlen(s);
  /* a plain YAML scalar: an image reference, maybe with ${VAR:-default} */
  if (!n || n > IMAGE_MAX ||
      strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:@-${}") != n ||
      !(label_char_ok((unsigned char)s[0]) || s[0] == '$') || s[0] == '.' || s[0] == '-')
    return fail(b, "image must be an image reference (1-%d of A-Za-z0-9._/:@-, "
                "${VAR:-default} allowed)", IMAGE_MAX);
  memcpy(b->image, s, n + 1);
  return 0;
}

/* ---- checking it as a whole ---------------------------------------------- */

struct use { const struct node_label *node; unsigned n; const char *text; const char *who; char whobuf[48]; };

/* Two uses of one resource (a GPIO line, an adapter, a port) on the nodes
 * of one label. */
static int clash(struct building *b, struct use *u, int n, const char *what)
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++)
      if (same_node(u[i].node, u[j].node) &&
          (u[i].text ? !strcmp(u[i].text, u[j].text) : u[i].n == u[j].n))
        return u[i].text ?
          fail(b, "%s %s is used twice on the nodes labelled %s=%s: by %s and by %s",
               what, u[i].text, u[i].node->key, u[i].node->value, u[j].who, u[i].who) :
          fail(b, "%s %u is used twice on the nodes labelled %s=%s: by %s and by %s",
               what, u[i].n, u[i].node->key, u[i].node->value, u[j].who, u[i].who);
  return 0;
}

static int check_clashes(struct building *b)
{
  struct use u[STACK_MAX_PLACES + GPIO_MAX_LINES];
  int n = 0;

  memset(u, 0, sizeof u);
  for (int i = 0; i < b->nleds; i++, n++) {
    u[n].node = &b->guide;
    u[n].n = b->leds[i];
    u[n].who = "guide.leds";
  }
  for (int i = 0; i < b->nplaces; i++, n++) {
    u[n].node = &b->places[i].node;
    u[n].n = b->places[i].pir;
    snprintf(u[n].whobuf, sizeof u[n].whobuf, "%s.pir", b->places[i].where);
    u[n].who = u[n].whobuf;
  }
  if (clash(b, u, n, "GPIO line") < 0)
    return -1;
  for (int i = 0; i < b->nplaces; i++) {
    u[i].node = &b->places[i].node;
    u[i].text = b->places[i].adapter;
    snprintf(u[i].whobuf, sizeof u[i].whobuf, "%s.adapter", b->places[i].where);
    u[i].who = u[i].whobuf;
  }
  if (clash(b, u, b->nplaces, "adapter") < 0)
    return -1;
  n = 0;
  for (int i = b->nentrances; i < b->nplaces; i++, n++) {
    u[n].node = &b->places[i].node;
    u[n].text = NULL;
    u[n].n = b->places[i].kiosk_port;
    snprintf(u[n].whobuf, sizeof u[n].whobuf, "%s.kiosk_port", b->places[i].where);
    u[n].who = u[n].whobuf;
  }
  return clash(b, u, n, "kiosk port");
}

static int check_routes(struct building *b)
{
  for (int i = b->nentrances; i < b->nplaces; i++) {
    const struct place *p = &b->places[i];
    for (int j = 0; j < p->nroute; j++) {
      int k = 0;
      while (k < b->nleds && b->leds[k] != p->route[j])
        k++;
      if (k == b->nleds)
        return fail(b, "%s.route uses line %u, which is not one of guide.leds",
                    p->where, p->route[j]);
    }
  }
  return 0;
}

/* Ids are unique among all places (a location is an entrance or a room),
 * and so are the service names, with ae, mcs and ug. */
static int check_names(struct building *b)
{
  const char *names[3 * STACK_MAX_PLACES + 3] = { "ae", "mcs", "ug" };
  const char *whose[3 * STACK_MAX_PLACES + 3] = { "ae", "mcs", "ug" };
  int n = 3;

  for (int i = 0; i < b->nplaces; i++) {
    struct place *p = &b->places[i];
    for (int j = 0; j < i; j++)
      if (!strcmp(p->id, b->places[j].id))
        return fail(b, "%s.id '%s' is also %s's", p->where, p->id, b->places[j].where);
    char *svc[3] = { p->pd, p->bs, p->mrs };
    for (int k = 0; k < (p->is_room ? 3 : 2); k++) {
      if (!service_ok(svc[k]))
        return fail(b, "%s.id '%s' makes no service name (1-%d of a-z0-9-): give "
                    "\"services\" names", p->where, p->id, SERVICE_MAX);
      for (int j = 0; j < n; j++)
        if (!strcmp(svc[k], names[j]))
          return fail(b, "service name '%s' of %s is also %s's", svc[k], p->where, whose[j]);
      names[n] = svc[k];
      whose[n++] = p->where;
    }
  }
  return 0;
}

/* The identities the services are started as (pd-ID, bs-ID, mrs-ID,
 * kiosk-ID) and their admins (admin-SERVICE) must be key identities. */
static int check_identities(struct building *b)
{
  char id[128];

  for (int i = 0; i < b->nplaces; i++) {
    const struct place *p = &b->places[i];
    const char *forms[] = { "pd", "bs", "mrs", "kiosk", "admin", "admin", "admin" };
    const char *args[] = { p->id, p->id, p->id, p->id, p->pd, p->bs, p->mrs };
    for (int k = 0; k < 7; k++) {
      if (!p->is_room && (k == 2 || k == 3 || k == 6))
        continue;
      snprintf(id, sizeof id, "%s-%s", forms[k], args[k]);
      if (!key_identity_ok(id, strlen(id)))
        return fail(b, "%s: identity '%s' is not a key identity (1-%d of A-Za-z0-9-_.@)",
                    p->where, id, KEY_ID_MAX);
    }
  }
  return 0;
}

static int read_building(struct building *b, const cJSON *root)
{
  static const char *const top_keys[] = { "image", "core", "guide", "entrances", "rooms", NULL };
  static const char *const core_keys[] = { "node", NULL };
  static const char *const guide_keys[] = { "node", "leds", "active_low", NULL };
  const cJSON *core = cJSON_GetObjectItemCaseSensitive(root, "core");
  const cJSON *guide = cJSON_GetObjectItemCaseSensitive(root, "guide");

  if (only_keys(b, root, "the building", top_keys) < 0 || get_image(b, root) < 0)
    return -1;
  if (!core || !guide)
    return fail(b, "%s is missing", core ? "guide" : "core");
  if (only_keys(b, core, "core", core_keys) < 0 || get_node(b, core, "core", &b->core) < 0 ||
      only_keys(b, guide, "guide", guide_keys) < 0 || get_node(b, guide, "guide", &b->guide) < 0 ||
      get_lines(b, guide, "guide", "leds", b->leds, &b->nleds) < 0 ||
      get_bool(b, guide, "guide", "active_low", &b->leds_active_low) < 0)
    return -1;
  if (get_places(b, root, "entrances", 0, STACK_MAX_ENTRANCES) < 0)
    return -1;
  b->nentrances = b->nplaces;
  if (get_places(b, root, "rooms", 1, STACK_MAX_ROOMS) < 0)
    return -1;
  return check_names(b) < 0 || check_identities(b) < 0 || check_routes(b) < 0 ||
         check_clashes(b) < 0 ? -1 : 0;
}

/* ---- printing ------------------------------------------------------------ */

#define ROOMS(b, p) (const struct place *p = (b)->places + (b)->nentrances; p < (b)->places + (b)->nplaces; p++)
#define PLACES(b, p) (const struct place *p = (b)->places; p < (b)->places + (b)->nplaces; p++)

/* command: ["ROLE", "--flag", "value", ...] with each flag and its value
 * kept on one line, wrapped under the first item past WRAP columns. */
static void print_command(FILE *out, char **items, int n)
{
  static const char lead[] = "    command: [";
  int col = fprintf(out, "%s\"%s\"", lead, items[0]);

  for (int i = 1; i < n; i++) {
    int pair = i + 1 < n && !strncmp(items[i], "--", 2) && strncmp(items[i + 1], "--", 2);
    int len = (int)strlen(items[i]) + 4 + (pair ? (int)strlen(items[i + 1]) + 4 : 0);
    if (col + len + 1 > WRAP)
      col = fprintf(out, ",\n%*s", (int)sizeof lead - 1, "") - 2;
    else
      col += fprintf(out, ", ");
    col += fprintf(out, "\"%s\"", items[i]);
    if (pair)
      col += fprintf(out, ", \"%s\"", items[++i]);
  }
  fprintf(out, "]\n");
}

/* an argument is at most ROOM=LINES: 64 + 1 + 32 lines of 6 digits and ',' */
#define ARG_MAX (WIRE_ROOM_MAX + 2 + GPIO_MAX_LINES * 8)
struct argv { char *v[4 * STACK_MAX_PLACES + 8]; int n; char buf[4 * STACK_MAX_PLACES + 8][ARG_MAX]; };

static void arg(struct argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void arg(struct argv *a, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(a->buf[a->n], sizeof a->buf[a->n], fmt, ap);
  va_end(ap);
  a->v[a->n] = a->buf[a->n];
  a->n++;
}

static void print_lines(FILE *out, const unsigned *lines, int n)
{
  for (int i = 0; i < n; i++)
    fprintf(out, "%s%u", i ? "," : "", lines[i]);
}

static void print_secret(FILE *out, const char *svc)
{
  fprintf(out, "    secrets: [{source: nano-keys-%s, target: nano-keys, uid: \"65534\", "
          "gid: \"65534\", mode: 0400}]\n", svc);
}

static void print_placement(FILE *out, const struct node_label *n)
{
  fprintf(out, "    deploy:\n      <<: *deploy\n"
          "      placement: {constraints: [node.labels.%s == %s]}\n", n->key, n->value);
}

/* The node labels, each with the services it places: unit -2 is the core
 * (ae, mcs), -1 the guide (ug), 0.. the places. */
static const struct node_label *unit_node(const struct building *b, int i)
{
  return i == -2 ? &b->core : i == -1 ? &b->guide : &b->places[i].node;
}

static void print_unit(FILE *out, const struct building *b, int i)
{
  const struct place *p = i >= 0 ? &b->places[i] : NULL;

  if (!p)
    fprintf(out, "%s", i == -2 ? "ae, mcs" : "ug (the LEDs)");
  else if (p->is_room)
    fprintf(out, "%s, %s, %s", p->pd, p->bs, p->mrs);
  else
    fprintf(out, "%s, %s", p->pd, p->bs);
}

static int label_width(const struct node_label *l)
{
  return (int)(strlen(l->key) + strlen(l->value)) + 1;
}

/* In the order a reader walks in: the places, then the core and the guide;
 * each label once, at the first unit it places. */
static void print_labels(FILE *out, const struct building *b)
{
  int order[STACK_MAX_PLACES + 2], n = 0, width = 0;

  for (int i = 0; i < b->nplaces; i++)
    order[n++] = i;
  order[n++] = -2;
  order[n++] = -1;
  for (int k = 0; k < n; k++)
    if (label_width(unit_node(b, order[k])) > width)
      width = label_width(unit_node(b, order[k]));
  for (int k = 0; k < n; k++) {
    const struct node_label *l = unit_node(b, order[k]);
    int seen = 0;
    for (int j = 0; j < k && !seen; j++)
      seen = same_node(unit_node(b, order[j]), l);
    if (seen)
      continue;
    fprintf(out, "#   docker node update --label-add %s=%s NODE%*s   ", l->key, l->value,
            width - label_width(l), "");
    for (int j = k; j < n; j++)
      if (same_node(unit_node(b, order[j]), l)) {
        fprintf(out, "%s", j == k ? "" : ", ");
        print_unit(out, b, order[j]);
      }
    fprintf(out, "\n");
  }
}

static void print_header(FILE *out, const struct building *b)
{
  fprintf(out,
    "# stack.yml - the six roles of nano on a Docker Swarm (paper Fig. 5),\n"
    "# made by `nano stack BUILDING.json` from the building's description.\n"
    "#\n"
    "#   docker stack deploy -c stack.yml nano                  # the building\n"
    "#   docker stack deploy -c stack.yml -c stack.sim.yml nano # a laptop: sim\n"
    "#\n"
    "# Every service runs the same image; node labels place the roles:\n");
  print_labels(out, b);
  fprintf(out,
    "#\n"
    "# Hardware under Swarm: a service can get neither `devices` nor\n"
    "# `privileged`, so GPIO roles use the sysfs backend on a bind mount of the\n"
    "# host's /sys (its class/gpio links point into /sys/devices), and bs talks\n"
    "# to the host's bluetoothd through a bind mount of the system D-Bus socket.\n"
    "# (With plain docker run, libgpiod works too:\n"
    "#   docker run --device /dev/gpiochip0 --network nano_net nano pd --sensor gpio:gpiochip0:17)\n"
    "#\n"
    "# Every link is CoAP over DTLS with pre-shared keys (coaps://, port 5684):\n"
    "# each service gets its own keys file as the Docker secret nano-keys-SERVICE,\n"
    "# mounted at /run/secrets/nano-keys where the role looks by default.  A file\n"
    "# holds the role's own line, the lines of those that call it, and the line\n"
    "# of an admin identity for that role alone (admin-SERVICE), so a stolen pd\n"
    "# does not hold the key of anyone who may change ae (README, \"Keys\";\n"
    "# `nano stack --keys BUILDING.json` lists each secret's identities).  The\n"
    "# plain port 5683 answers GET /health on loopback only (the health check).\n"
    "#\n"
    "# CoAP is UDP: every service uses endpoint_mode dnsrr, because UDP through\n"
    "# Swarm's VIP keeps stale IPVS entries after a task is replaced\n"
    "# (moby#36878); the roles re-resolve a peer's name when it stops answering.\n"
    "version: \"3.8\"\n"
    "\n"
    "x-role: &role\n"
    "  image: %s\n"
    "  networks: [net]\n"
    "  healthcheck:\n"
    "    test: [\"CMD\", \"/nano\", \"health\"]\n"
    "    interval: 5s\n"
    "    timeout: 3s\n"
    "    retries: 3\n"
    "    start_period: 2s\n"
    "  stop_grace_period: 10s\n"
    "\n"
    "x-deploy: &deploy\n"
    "  endpoint_mode: dnsrr\n"
    "  replicas: 1\n"
    "  restart_policy: {condition: any, delay: 1s, window: 10s}\n"
    "  # monitor (15 s) > start_period (2 s) + interval (5 s) x retries (3)\n"
    "  update_config: {parallelism: 1, order: stop-first, failure_action: rollback, monitor: 15s}\n"
    "  rollback_config: {parallelism: 1, order: stop-first}\n"
    "  resources:\n"
    "    limits: {memory: 16M}\n"
    "\n"
    "services:\n", b->image);
}

static void print_ae(FILE *out, const struct building *b)
{
  fprintf(out, "  ae:\n    <<: *role\n");
  print_secret(out, "ae");
  fprintf(out,
    "    command: [\"ae\", \"--db\", \"/data/ae.db\", \"--backup-dir\", \"/data/backup\"]\n"
    "    volumes:\n"
    "      - ae-data:/data\n"
    "    # the SIGTERM backup must fit: it takes milliseconds, 30 s is plenty\n"
    "    stop_grace_period: 30s\n");
  print_placement(out, &b->core);
  fprintf(out,
    "      # four meeting uploads of up to 6 MiB each at once (--max-body)\n"
    "      resources:\n"
    "        limits: {memory: 48M}\n\n");
}

/* mcs names every location's bs and every room's mrs and pd (a peer it
 * only watches, in /health); one room's pd unnamed, as the paper's. */
static void print_mcs(FILE *out, const struct building *b)
{
  static struct argv a;
  int nrooms = b->nplaces - b->nentrances;

  a.n = 0;
  arg(&a, "mcs");
  for PLACES(b, p) {
    arg(&a, p->is_room ? "--bs-room" : "--bs");
    arg(&a, "%s=coaps://%s", p->id, p->bs);
  }
  for ROOMS(b, p) {
    arg(&a, "--pd-room");
    if (nrooms == 1)
      arg(&a, "coaps://%s", p->pd);
    else
      arg(&a, "%s=coaps://%s", p->id, p->pd);
  }
  for ROOMS(b, p) {
    arg(&a, "--mrs");
    arg(&a, "%s=coaps://%s", p->id, p->mrs);
  }
  fprintf(out, "  mcs:\n    <<: *role\n");
  print_secret(out, "mcs");
  print_command(out, a.v, a.n);
  print_placement(out, &b->core);
  fprintf(out, "\n");
}

static void print_mrs(FILE *out, const struct place *p, int first)
{
  /* a number as a number (compose wants an integer); ${VAR:-N} is quoted */
  const char *q = p->kiosk[0] == '$' ? "\"" : "";

  if (first)
    fprintf(out,
      "  # A room's screen is a browser in kiosk mode on its node (README,\n"
      "  # \"The room's display\"): it opens http://127.0.0.1:8080/?token=TOKEN.\n"
      "  # The page leaves the container through a port published on the node\n"
      "  # itself (mode: host, not the routing mesh, which would open it on every\n"
      "  # node), so it can be reached from the network too: mrs serves it only\n"
      "  # with a token, the key of kiosk-ROOM in its secret.\n");
  fprintf(out, "  %s:\n    <<: *role\n", p->mrs);
  print_secret(out, p->mrs);
  fprintf(out,
    "    command: [\"mrs\", \"--room\", \"%s\", \"--http\", \"0.0.0.0:8080\"]\n"
    "    ports:\n"
    "      - {target: 8080, published: %s%s%s, protocol: tcp, mode: host}\n",
    p->id, q, p->kiosk, q);
  print_placement(out, &p->node);
  fprintf(out, "\n");
}

static void print_pd(FILE *out, const struct place *p)
{
  fprintf(out, "  %s:\n    <<: *role\n", p->pd);
  print_secret(out, p->pd);
  fprintf(out,
    "    command: [\"pd\", \"--location\", \"%s\", \"--sysfs-root\", \"/host/sys/class/gpio\"]\n"
    "    user: \"0\"\n"
    "    environment:\n"
    "      NANO_SENSOR: \"sysfs:%u%s\"\n"
    "    volumes:\n"
    "      - /sys:/host/sys\n", p->id, p->pir, p->pir_active_low ? ":active-low" : "");
  print_placement(out, &p->node);
  fprintf(out, "\n");
}

static void print_bs(FILE *out, const struct place *p)
{
  fprintf(out, "  %s:\n    <<: *role\n", p->bs);
  print_secret(out, p->bs);
  fprintf(out,
    "    command: [\"bs\", \"--location\", \"%s\"]\n"
    "    user: \"0\"\n"
    "    environment:\n"
    "      NANO_ADAPTER: \"%s\"\n"
    "    volumes:\n"
    "      - /run/dbus:/run/dbus\n", p->id, p->adapter);
  print_placement(out, &p->node);
  fprintf(out, "\n");
}

static void print_ug(FILE *out, const struct building *b)
{
  static struct argv a;
  char route[ARG_MAX];

  a.n = 0;
  arg(&a, "ug");
  for ROOMS(b, p) {
    int n = snprintf(route, sizeof route, "%s=", p->id);
    for (int i = 0; i < p->nroute; i++)
      n += snprintf(route + n, sizeof route - (size_t)n, "%s%u", i ? "," : "", p->route[i]);
    arg(&a, "--route");
    arg(&a, "%s", route);
  }
  arg(&a, "--sysfs-root");
  arg(&a, "/host/sys/class/gpio");
  fprintf(out, "  ug:\n    <<: *role\n");
  print_secret(out, "ug");
  print_command(out, a.v, a.n);
  fprintf(out, "    user: \"0\"\n    environment:\n      NANO_LEDS: \"sysfs:");
  print_lines(out, b->leds, b->nleds);
  fprintf(out, "%s\"\n    volumes:\n      - /sys:/host/sys\n",
          b->leds_active_low ? ":active-low" : "");
  print_placement(out, &b->guide);
}

static void print_secrets(FILE *out, const struct building *b)
{
  fprintf(out,
    "\nnetworks:\n"
    "  net:\n"
    "    driver: overlay\n"
    "    attachable: true\n"
    "\n"
    "volumes:\n"
    "  ae-data:\n"
    "\n"
    "# Made before the deploy, one per service, from one keys file kept offline\n"
    "# (README, \"Keys\"), e.g.\n"
    "#   nano keys pick building.keys ae mcs");
  for ROOMS(b, p)
    fprintf(out, " mrs-%s", p->id);
  fprintf(out,
    " admin-ae | docker secret create nano-keys-ae -\n"
    "# NANO_SECRETS prefixes their names (tests use their own).\n"
    "secrets:\n");
  const char *fixed[] = { "ae", "mcs" };
  for (int i = 0; i < 2; i++)
    fprintf(out, "  nano-keys-%s: {external: true, name: \"${NANO_SECRETS:-}nano-keys-%s\"}\n",
            fixed[i], fixed[i]);
  for ROOMS(b, p)
    fprintf(out, "  nano-keys-%s: {external: true, name: \"${NANO_SECRETS:-}nano-keys-%s\"}\n",
            p->mrs, p->mrs);
  for PLACES(b, p) {
    fprintf(out, "  nano-keys-%s: {external: true, name: \"${NANO_SECRETS:-}nano-keys-%s\"}\n",
            p->pd, p->pd);
    fprintf(out, "  nano-keys-%s: {external: true, name: \"${NANO_SECRETS:-}nano-keys-%s\"}\n",
            p->bs, p->bs);
  }
  fprintf(out, "  nano-keys-ug: {external: true, name: \"${NANO_SECRETS:-}nano-keys-ug\"}\n");
}

static void print_stack(FILE *out, const struct building *b)
{
  print_header(out, b);
  print_ae(out, b);
  print_mcs(out, b);
  for ROOMS(b, p)
    print_mrs(out, p, p == b->places + b->nentrances);
  for PLACES(b, p) {
    print_pd(out, p);
    print_bs(out, p);
  }
  print_ug(out, b);
  print_secrets(out, b);
}

static void print_sim(FILE *out, const struct building *b)
{
  fprintf(out,
    "# stack.sim.yml - the same stack with simulated hardware, for a laptop or\n"
    "# a test: every hardware role switches to its sim backend, runs\n"
    "# unprivileged, and its host mounts are replaced by empty tmpfs dirs (a\n"
    "# compose override merges volumes by their target path).  Made by\n"
    "# `nano stack --sim BUILDING.json`.\n"
    "#\n"
    "#   docker stack deploy -c stack.yml -c stack.sim.yml nano\n"
    "version: \"3.8\"\n"
    "\n"
    "x-sim-gpio: &sim-gpio\n"
    "  user: \"65534:65534\"\n"
    "  volumes:\n"
    "    - {type: tmpfs, target: /host/sys}\n"
    "\n"
    "x-sim-ble: &sim-ble\n"
    "  user: \"65534:65534\"\n"
    "  environment:\n"
    "    NANO_ADAPTER: \"sim\"\n"
    "  volumes:\n"
    "    - {type: tmpfs, target: /run/dbus}\n"
    "\n"
    "services:\n");
  for PLACES(b, p)
    fprintf(out, "  %s:\n    <<: *sim-gpio\n    environment: {NANO_SENSOR: \"sim\"}\n", p->pd);
  fprintf(out, "  ug:\n    <<: *sim-gpio\n    environment: {NANO_LEDS: \"sim\"}\n");
  for PLACES(b, p)
    fprintf(out, "  %s: *sim-ble\n", p->bs);
}

/* Who calls whom: each secret holds the service's own identity, those of
 * its callers, and admin-SERVICE (README, "Keys"). */
static void print_keys(FILE *out, const struct building *b)
{
  fprintf(out, "ae ae mcs");
  for ROOMS(b, p)
    fprintf(out, " mrs-%s", p->id);
  fprintf(out, " admin-ae\nmcs mcs");
  for PLACES(b, p)
    fprintf(out, " pd-%s bs-%s", p->id, p->id);
  fprintf(out, " admin-mcs\n");
  for ROOMS(b, p)
    fprintf(out, "%s mrs-%s mcs kiosk-%s admin-%s\n", p->mrs, p->id, p->id, p->mrs);
  for PLACES(b, p) {
    fprintf(out, "%s pd-%s mcs admin-%s\n", p->pd, p->id, p->pd);
    fprintf(out, "%s bs-%s mcs admin-%s\n", p->bs, p->id, p->bs);
  }
  fprintf(out, "ug ug mcs admin-ug\n");
}

/* The whole of the tool but reading the file: parse, check, print one of
 * the outputs.  0, or -1 with the reason in err (nothing printed). */
int stack_print(const char *json, size_t len, int what, FILE *out, char *err, size_t errsize)
{
  struct building *b = calloc(1, sizeof *b);
  struct jerr jerr;
  cJSON *root;
  int rc = -1;

  if (!b) {
    snprintf(err, errsize, "out of memory");
    return -1;
  }
  root = json_parse_object((const uint8_t *)json, len, STACK_MAX_BYTES, &jerr);
  if (!root)
    snprintf(err, errsize, "%s", jerr.msg);
  else if (read_building(b, root) < 0)
    snprintf(err, errsize, "%s", b->err);
  else {
    if (what == STACK_SIM)
      print_sim(out, b);
    else if (what == STACK_KEYS)
      print_keys(out, b);
    else
      print_stack(out, b);
    rc = 0;
  }
  cJSON_Delete(root);
  free(b);
  return rc;
}

static char *read_all(FILE *f, size_t *len)
{
  size_t cap = 0, n = 0, got;
  char *buf = NULL, *bigger;

  for (;;) {
    if (n == cap) {
      if (cap > STACK_MAX_BYTES)
        break;                  /* json_parse_object says it is too long */
      if (!(bigger = realloc(buf, cap = cap ? cap * 2 : 4096))) {
        free(buf);
        return NULL;
      }
      buf = bigger;
    }
    if (!(got = fread(buf + n, 1, cap - n, f)))
      break;
    n += got;
  }
  if (ferror(f)) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

int cmd_stack(int argc, char **argv)
{
  int what = STACK_FILE;
  const char *path;
  char err[400], *json;
  size_t len = 0;
  FILE *f;

  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    fputs(stack_usage, stdout);
    return 0;
  }
  if (argc == 3 && !strcmp(argv[1], "--sim"))
    what = STACK_SIM;
  else if (argc == 3 && !strcmp(argv[1], "--keys"))
    what = STACK_KEYS;
  else if (argc != 2 || (argv[1][0] == '-' && argv[1][1])) {
    fputs(stack_usage, stderr);
    return 2;
  }
  path = argv[argc - 1];
  f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) {
    fprintf(stderr, "stack: %s: %s\n", path, strerror(errno));
    return 1;
  }
  json = read_all(f, &len);
  if (f != stdin)
    fclose(f);
  if (!json) {
    fprintf(stderr, "stack: %s: cannot read it\n", path);
    return 1;
  }
  if (stack_print(json, len, what, stdout, err, sizeof err) < 0) {
    fprintf(stderr, "stack: %s: %s\n", path, err);
    free(json);
    return 1;
  }
  free(json);
  return fflush(stdout) == 0 ? 0 : 1;
}
