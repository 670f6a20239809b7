/* mcs.c - the Main Controller: drives the smart-meeting flow (paper Fig. 3).
 *
 * usage: nano mcs [--ae URI] [--bs [LOC=]URI]... [--bs-room [ROOM=]URI]...
 *                 [--ug URI] [--mrs [ROOM=]URI]... [--pd-room [ROOM=]URI]... [options]
 *
 *   POST /presence {"location","node","ts_ms"}   from a pd: motion started
 *   POST /ble {"location","devices":[...]}       from a room's bs: sightings
 *   GET  /participants[?state=S][&limit=N]       observable: every track
 *   GET  /timeline[?limit=N][&since=SEQ]         the steps, oldest first
 *
 * One track per person (per address until ae names one), a state machine
 * (track.c: one table, state x event -> state + actions; track_on here
 * applies it):
 *
 *   detected -> scanning -> authenticating -> guiding -> arrived -> presenting
 *                                 denied <-/          \-> expired -/
 *
 * with the wall time of every step (and of the steps that are not states:
 * granted, guidance_on, guidance_off).  Motion at a location starts one
 * scan of that location's bs (motion during a scan queues one more scan,
 * never more), and the location is scanned again while it stays busy
 * (see rescan_due); a busy entrance also takes the sightings its bs
 * pushes (entrance_push); the addresses that begin a visit go to AE in one
 * POST /auth per 64; every newly granted participant gets one
 * POST ug/guide.  A room sighting of a guided participant (or of one whose
 * guidance expired on the way) stops the guidance (DELETE ug/guide/<id>)
 * and hands them to the room's mrs (POST /present).
 *
 * A person, not an address: when ae names a participant another track
 * already follows (a phone's new private address, a badge heard from
 * another address), the two tracks become one (track_merge).  A room
 * sighting of an address mcs cannot place is asked about in a POST
 * ae/auth for that room (room_ask), batched like the entrance's.
 *
 * A visit: a track that has come to rest (denied, expired, presenting)
 * begins a new visit only after it was not seen at the entrance for
 * --visit-gap.  So a stranger standing at the door is asked about once
 * (AE logs one decision), and nobody is guided twice for one arrival; a
 * participant already presented in a meeting is not guided to it again.
 *
 * Peers are reached through call.c: every request is asynchronous, a down
 * peer parks only the calls waiting for it (one health probe with backoff
 * instead of N retries) and they are re-sent the moment it answers.  A
 * restarted ug (its uptime starts over) or one whose GET /guide no longer
 * lists a guided participant gets the guidance again; a restarted mrs gets
 * its room's presented participants again.
 *
 * This file follows the flow: presence (POST /presence), scans (bs),
 * authentication (ae), guidance (ug), arrival (a room's sighting) and
 * presentation (mrs); then the observers' resources, the tick that keeps
 * the flow going, and the setup.
 */
#include "call.h"
#include "nano.h"
#include "role.h"
#include "sightings.h"
#include "uri.h"
#include "wire.h"
#include "track.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ids, names, rooms, locations: the limits of src/wire.h, the same as
 * ae's, so every participant ae grants fits. */
#define DEVICE_NAME_MAX WIRE_DEVICE_NAME_MAX  /* bs cuts advertised names to this */
#define AUTH_BATCH WIRE_AUTH_MAX    /* addresses in one POST ae/auth */
#define HASH_MIN 1024              /* buckets; doubled as tracks grow */
#define TRACK_ADDRS_MAX 8           /* addresses one person's track keeps */

/* ---- tracks' state, guidance, addresses --------------------------------- */

/* The states and steps of a track, and what moves it, are mcs/track.h's. */

#define PRESENT_RECHECK_MIN_MS 250  /* mrs said "pending": ask again, doubling */
#define PRESENT_RECHECK_MAX_MS 2000 /* (mrs remembers a refusal for 10 s) */

enum guidance { G_NONE, G_PENDING, G_ON, G_OFF, G_FAILED };
static const char *const guidance_names[] = { "none", "pending", "on", "off", "failed" };

struct track;

/* An address heard, and whose track it is: a phone sends a new resolvable
 * private address every ~15 minutes and a person may carry a badge too,
 * so once ae names the participant one track keeps them all. */
struct addr {
  char ble[18];
  struct track *t;
  struct addr *hnext;               /* the hash bucket's */
  struct addr *tnext;               /* the track's, newest first */
};

struct track {
  char ble[18];                     /* the address heard last */
  struct addr *addrs;
  int naddrs;
  char beacon[IBEACON_KEY_MAX];     /* the badge it carries, "" if none */
  char participant[WIRE_ID_MAX + 1], name[WIRE_NAME_MAX + 1], meeting[WIRE_ID_MAX + 1];
  char room[WIRE_ROOM_MAX + 1], device[DEVICE_NAME_MAX + 1];
  int rssi;
  enum state state;
  int visit;
  uint64_t step[T_COUNT];           /* wall ms, 0: not (yet) in this visit */
  uint64_t entrance_seen;           /* wall ms of the last entrance sighting */
  uint64_t room_seen;               /* seen at a room before being granted */
  uint64_t room_asked;              /* when a room sighting was last asked about */
  char room_asked_at[WIRE_LOCATION_MAX + 1];
  enum state reask_from;            /* asked again in another room: the state
                                       to go back to if ae says no (else 0) */
  char room_seen_at[WIRE_LOCATION_MAX + 1];
  char presented[WIRE_ID_MAX + 1];  /* meeting already presented to */
  enum guidance guidance;
  uint64_t guidance_acked;          /* wall ms ug last confirmed it */
  uint64_t guidance_expires;        /* wall ms ug's --expire ends it; 0: unknown */
  int resends;
  struct call *guide, *unguide, *present;
  struct loop_timer *present_again;   /* mrs said "pending" */
  uint64_t present_backoff;
  uint64_t meeting_end;             /* wall ms, from ae's grant; 0: unknown */
  struct track *pnext;              /* by participant */
  struct track *prev, *next;        /* oldest first */
};

/* ---- configuration ------------------------------------------------- */

struct room_peer {                  /* a peer per room ("" = any room) */
  char room[WIRE_ROOM_MAX + 1];
  struct peer *peer;
};

struct sweep {                      /* the scans of one location */
  char location[WIRE_LOCATION_MAX + 1];
  struct peer *bs;
  struct call *call;
  uint64_t motion;                  /* wall ms of the motion being served */
  uint64_t queued;                  /* motion that came during a scan */
  uint64_t last_motion;             /* the latest motion start */
  uint64_t last_found;              /* the latest scan that found someone new */
  uint64_t sent;
  int rescanning;                   /* the scan in flight is a rescan */
  int pushed;                       /* (a copy for) sightings bs pushed */
  int entrance;                     /* named by --bs: people come in here */
  struct loop_timer *rescan;
  struct sweep *next;
};

struct batch {                      /* one POST ae/auth */
  int n;
  char location[WIRE_LOCATION_MAX + 1];
  char ble[AUTH_BATCH][18];
  char beacon[AUTH_BATCH][IBEACON_KEY_MAX];
  struct call *call;
  struct batch *prev, *next;        /* in flight */
};

static struct {
  coap_context_t *ctx;
  struct peer *ae, *ug;
  struct room_peer mrs[OPT_LIST_MAX];
  int nmrs;
  struct room_peer bs_room[OPT_LIST_MAX];   /* for scans on room motion */
  struct room_peer pd_room[OPT_LIST_MAX];   /* watched only: shown in /health */
  int npd_room;
  int nbs_room;
  struct sweep *sweeps;
  struct batch *batches;
  struct peer *owned[3 * OPT_LIST_MAX + 3];  /* every peer, freed at exit */
  int nowned;
  long long scan_ms, linger_ms, rescan_ms, max_age_ms, expire_ms, visit_gap_ms, watch_ms, timeout_ms;
  long max_tracks;

  /* hash tables of hash_size buckets, doubled when the addresses pass
   * twice that, so a lookup stays a short chain at 100,000 tracks */
  struct addr **by_ble;
  struct track **by_participant;
  unsigned hash_size;
  long naddrs;
  long counts[S_COUNT + 1];         /* tracks per state, for /participants
                                       (and S_NONE: one being made) */
  struct track *oldest, *newest;
  long ntracks;

  struct call *guide_check;
  uint64_t guide_check_sent;
  struct loop_timer *tick;

  coap_resource_t *participants_res;
  unsigned long presences, scans, auth_requests, guides, resends, presents;
  unsigned long room_asks, merged;
} M;

/* ---- timeline ----------------------------------------------------------- */

struct tl_entry {
  uint64_t seq, ms;
  char event[16];
  char who[WIRE_ID_MAX > WIRE_LOCATION_MAX ? WIRE_ID_MAX + 1 : WIRE_LOCATION_MAX + 1];
                                    /* participant, or location for scans */
  char ble[18];
  char detail[96];
};

static struct {
  struct tl_entry *ring;
  long size;
  uint64_t next_seq;                /* seq of the next entry; first is 1 */
} TL = { NULL, 0, 1 };

/* An entry's time is when the step happened (a detection is dated by the
 * pd's motion edge); seq is the order in which mcs learned of it. */
static void timeline_at(uint64_t ms, const char *event, const char *who, const char *ble,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define timeline(...) timeline_at(0, __VA_ARGS__)

static void timeline_at(uint64_t ms, const char *event, const char *who, const char *ble,
                        const char *fmt, ...)
{
  struct tl_entry *e;
  va_list ap;

  if (!TL.ring)
    return;
  e = &TL.ring[(TL.next_seq - 1) % (uint64_t)TL.size];
  memset(e, 0, sizeof *e);
  e->seq = TL.next_seq++;
  e->ms = ms ? ms : wall_ms();
  snprintf(e->event, sizeof e->event, "%s", event);
  snprintf(e->who, sizeof e->who, "%s", who ? who : "");
  snprintf(e->ble, sizeof e->ble, "%s", ble ? ble : "");
  va_start(ap, fmt);
  vsnprintf(e->detail, sizeof e->detail, fmt, ap);
  va_end(ap);
}

/* ---- tracks ------------------------------------------------------------- */

static unsigned hash(const char *s)
{
  unsigned h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h & (M.hash_size - 1);
}

/* Double both hash tables (rehashing every address and participant) once
 * the addresses pass twice the buckets.  Out of memory: stay as is. */
static void hash_grow(void)
{
  unsigned size = M.hash_size * 2;
  struct addr **by_ble = calloc(size, sizeof *by_ble);
  struct track **by_participant = calloc(size, sizeof *by_participant);

  if (!by_ble || !by_participant) {
    free(by_ble);
    free(by_participant);
    return;
  }
  free(M.by_ble);
  free(M.by_participant);
  M.by_ble = by_ble;
  M.by_participant = by_participant;
  M.hash_size = size;
  for (struct track *t = M.oldest; t; t = t->next) {
    for (struct addr *a = t->addrs; a; a = a->tnext) {
      unsigned h = hash(a->ble);
      a->hnext = by_ble[h];
      by_ble[h] = a;
    }
    if (t->participant[0]) {
      unsigned h = hash(t->participant);
      t->pnext = by_participant[h];
      by_participant[h] = t;
    }
  }
}

static void track_set_state(struct track *t, enum state s)
{
  M.counts[t->state]--;
  t->state = s;
  M.counts[s]++;
}

static struct addr *addr_find(const char *ble)
{
  for (struct addr *a = M.by_ble[hash(ble)]; a; a = a->hnext)
    if (!strcmp(a->ble, ble))
      return a;
  return NULL;
}

static struct track *track_by_ble(const char *ble)
{
  struct addr *a = addr_find(ble);
  return a ? a->t : NULL;
}

static void addr_unhash(struct addr *a)
{
  M.naddrs--;
  for (struct addr **pp = &M.by_ble[hash(a->ble)]; *pp; pp = &(*pp)->hnext)
    if (*pp == a) {
      *pp = a->hnext;
      break;
    }
}

/* Keep a track's addresses to TRACK_ADDRS_MAX: the oldest goes (a phone's
 * address of hours ago will not be heard again). */
static void addrs_trim(struct track *t)
{
  struct addr **pp = &t->addrs;
  int n = 0;

  while (*pp && n++ < TRACK_ADDRS_MAX)
    pp = &(*pp)->tnext;
  if (!*pp)
    return;
  while (*pp) {
    struct addr *a = *pp;
    *pp = a->tnext;
    addr_unhash(a);
    free(a);
    t->naddrs--;
  }
}

/* ble becomes one of t's addresses (its newest).  -1 out of memory. */
static int addr_attach(struct track *t, const char *ble)
{
  struct addr *a = calloc(1, sizeof *a);
  struct addr **head;

  if (!a)
    return -1;
  if (M.naddrs >= 2 * (long)M.hash_size)
    hash_grow();
  head = &M.by_ble[hash(ble)];
  snprintf(a->ble, sizeof a->ble, "%s", ble);
  M.naddrs++;
  a->t = t;
  a->hnext = *head;
  *head = a;
  a->tnext = t->addrs;
  t->addrs = a;
  t->naddrs++;
  addrs_trim(t);
  return 0;
}

/* from's addresses become to's (newest first, as they were in from). */
static void addrs_move(struct track *to, struct track *from)
{
  struct addr *a = from->addrs, **tail = &a;
  int n = 0;

  if (!a)
    return;
  for (struct addr *x = a; x; x = x->tnext, n++) {
    x->t = to;
    tail = &x->tnext;
  }
  *tail = to->addrs;
  to->addrs = a;
  to->naddrs += n;
  from->addrs = NULL;
  from->naddrs = 0;
  addrs_trim(to);
}

static struct track *track_by_participant(const char *id)
{
  for (struct track *t = M.by_participant[hash(id)]; t; t = t->pnext)
    if (!strcmp(t->participant, id))
      return t;
  return NULL;
}

static void participant_unindex(struct track *t)
{
  if (!t->participant[0])
    return;
  for (struct track **pp = &M.by_participant[hash(t->participant)]; *pp;
       pp = &(*pp)->pnext)
    if (*pp == t) {
      *pp = t->pnext;
      break;
    }
  t->pnext = NULL;
}

static void participant_index(struct track *t, const char *id)
{
  struct track **head;

  participant_unindex(t);
  snprintf(t->participant, sizeof t->participant, "%s", id);
  head = &M.by_participant[hash(t->participant)];
  t->pnext = *head;
  *head = t;
}

static void track_free(struct track *t)
{
  while (t->addrs) {
    struct addr *a = t->addrs;
    t->addrs = a->tnext;
    addr_unhash(a);
    free(a);
  }
  participant_unindex(t);
  if (t->prev)
    t->prev->next = t->next;
  else
    M.oldest = t->next;
  if (t->next)
    t->next->prev = t->prev;
  else
    M.newest = t->prev;
  call_cancel(t->guide);
  call_cancel(t->unguide);
  call_cancel(t->present);
  loop_cancel(t->present_again);
  M.ntracks--;
  M.counts[t->state]--;
  free(t);
}

/* Room for one more track: forget the oldest track at rest with nothing
 * in flight.  0 when every track is busy (the new sighting is dropped). */
static int track_make_room(void)
{
  if (M.ntracks < M.max_tracks)
    return 1;
  for (struct track *t = M.oldest; t; t = t->next)
    if (state_is_at_rest(t->state) && !t->guide && !t->unguide && !t->present) {
      log_debug("ble=%s forgotten (track limit %ld)", t->ble, M.max_tracks);
      track_free(t);
      return 1;
    }
  return 0;
}

static struct track *track_new(const char *ble)
{
  struct track *t;

  if (!track_make_room())
    return NULL;
  t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  if (addr_attach(t, ble) < 0) {
    free(t);
    return NULL;
  }
  snprintf(t->ble, sizeof t->ble, "%s", ble);
  t->state = S_NONE;                /* until the event that made it */
  t->prev = M.newest;
  if (M.newest)
    M.newest->next = t;
  else
    M.oldest = t;
  M.newest = t;
  M.ntracks++;
  M.counts[t->state]++;
  return t;
}

static const char *track_who(const struct track *t)
{
  return t->participant[0] ? t->participant : "";
}

/* Enter state s at time ms (0: now), on the timeline and for observers. */
static void track_enter(struct track *t, enum state s, uint64_t ms, const char *detail)
{
  track_set_state(t, s);
  t->step[s] = ms ? ms : wall_ms();
  timeline_at(t->step[s], state_names[s], track_who(t), t->ble, "%s", detail ? detail : "");
  log_debug("ble=%s participant=%s state=%s", t->ble, track_who(t), state_names[s]);
  server_notify(M.participants_res);
}

static void track_step(struct track *t, enum step st, const char *detail)
{
  t->step[st] = wall_ms();
  timeline(step_names[st], track_who(t), t->ble, "%s", detail ? detail : "");
  server_notify(M.participants_res);
}

/* ---- events: what happens to a track ------------------------------------ */

/* The flow's steps, defined below in the order they happen. */
static struct sweep *sweep_find(const char *location);
static void scan_start(struct sweep *sw);
struct device;
static int device_parse(const cJSON *d, struct device *out);
static int entrance_devices(const cJSON *devices, const struct sweep *sw);
static void batch_add(struct batch **b, const char *location, struct track *t);
static void auth_send(struct batch *b);
static void guide_send(struct track *t);
static void unguide_send(struct track *t);
static void guidance_stop(struct track *t);
static int room_sighting(const struct device *d, const char *at, struct batch **b);
static void present_send(struct track *t);

/* Event e happened to t: the state mcs/track.c's table says is entered
 * at ms (0: now; detail for the timeline), then the peers' part of its
 * actions.  Returns the transition, for the caller's own part. */
static struct transition track_on(struct track *t, enum event e, uint64_t ms,
                                  const char *detail)
{
  struct transition tr = track_next(t->state, e);
  enum state from = t->state;

  if (tr.action & A_NEW_VISIT) {
    /* a clean slate but for what it was presented to */
    memset(t->step, 0, sizeof t->step);
    t->room_seen = 0;
    t->guidance = G_NONE;
    t->resends = 0;
    t->visit++;
  }
  if (tr.action & A_REASK)
    t->reask_from = from;
  if (tr.to == S_BACK) {            /* quietly, as if never re-asked */
    track_set_state(t, t->reask_from);
    t->reask_from = 0;
  } else if (tr.to != S_SAME) {
    track_enter(t, tr.to, ms, detail);
  }
  if (tr.action & A_STOP_GUIDANCE)
    guidance_stop(t);
  if (tr.action & A_CANCEL_PRESENT) {
    call_cancel(t->present);
    t->present = NULL;
    loop_cancel(t->present_again);
    t->present_again = NULL;
  }
  if (tr.action & A_GUIDE)
    guide_send(t);
  if (tr.action & A_UNGUIDE)
    unguide_send(t);
  if (tr.action & A_PRESENT)
    present_send(t);
  return tr;
}

/* ---- peers by room -------------------------------------------------- */

static struct peer *room_peer_find(struct room_peer *list, int n, const char *room)
{
  struct peer *any = NULL;
  for (int i = 0; i < n; i++) {
    if (!strcmp(list[i].room, room))
      return list[i].peer;
    if (!list[i].room[0])
      any = list[i].peer;
  }
  return any;
}

/* A room sighting at location `at` is the participant's room when the
 * names match, or when the location is the generic "room" (a deployment
 * with one meeting room, whose bs says --location room). */
static int room_matches(const struct track *t, const char *at)
{
  return !strcmp(at, t->room) || !strcmp(at, "room");
}

/* ---- presence: motion at a location starts a scan ------------------------- */

/* A pd or bs reports for its own location only: pd-entrance may not
 * say there is motion in R1, nor a stolen bs-R1 key put sightings at the
 * entrance.  Without keys (--insecure) there is no identity to hold to. */
static int location_is_callers(struct nano_req *r, const char *location)
{
  const char *id = r->identity;

  if (!id || !(strncmp(id, "pd-", 3) == 0 || strncmp(id, "bs-", 3) == 0) ||
      !strcmp(id + 3, location))
    return 1;
  req_reply_error(r, 403, "%s may not report for location '%s'", id, location);
  return 0;
}

static void post_presence(struct nano_req *r)
{
  const char *location, *node = "";
  long long ts = 0;
  struct jerr err;
  struct sweep *sw;
  uint64_t now = wall_ms(), motion;
  cJSON *o = req_json(r), *a;

  if (!o)
    return;
  if (wire_get(o, "location", WIRE_LOCATION, JSON_REQUIRED, &location, &err) < 0 ||
      wire_get(o, "node", WIRE_ID, JSON_OPTIONAL, &node, &err) < 0 ||
      json_get_int(o, "ts_ms", JSON_OPTIONAL, 0, 1LL << 50, &ts, &err) < 0) {
    req_reply_error(r, 400, "%s", err.msg);
    cJSON_Delete(o);
    return;
  }
  if (!location_is_callers(r, location)) {
    cJSON_Delete(o);
    return;
  }
  sw = sweep_find(location);
  if (!sw) {
    req_reply_error(r, 404, "no bs for location '%s'", location);
    cJSON_Delete(o);
    return;
  }
  /* The pd's own time of the motion, unless its clock is clearly off. */
  motion = ts && (uint64_t)ts <= now + 5000 && (uint64_t)ts + 60000 >= now ?
           (uint64_t)ts : now;
  M.presences++;
  timeline_at(motion, "motion", location, "", "node=%s", node ? node : "");
  if (!sw->queued || motion < sw->queued)
    sw->queued = motion;
  if (motion > sw->last_motion)
    sw->last_motion = motion;
  a = cJSON_CreateObject();
  cJSON_AddStringToObject(a, "location", location);
  if (sw->call) {
    cJSON_AddStringToObject(a, "scan", "queued");   /* after the one running */
  } else {
    scan_start(sw);
    cJSON_AddStringToObject(a, "scan", "started");
  }
  cJSON_Delete(o);
  req_reply_json(r, 204, a);
}

/* ---- scans: who is at the location ---------------------------------------- */

struct device {
  char ble[18];
  char beacon[IBEACON_KEY_MAX];     /* "" if it is not a badge */
  const char *name;
  int rssi;
  long long age_ms;
};

/* pd reports motion starts only: people who come while the motion is
 * still held start nothing.  So a location is busy for --linger after its
 * last motion start or after the last scan that found someone new (a
 * stream of arrivals keeps it busy), and a busy location is scanned again
 * every --rescan.  Someone first found by a rescan is dated by it: they
 * came after the scan before. */
static uint64_t busy_until(const struct sweep *sw)
{
  uint64_t last = sw->last_motion > sw->last_found ? sw->last_motion : sw->last_found;
  return last + (uint64_t)M.linger_ms;
}

static void rescan_due(void *arg)
{
  struct sweep *sw = arg;

  sw->rescan = NULL;
  if (!sw->call)
    scan_start(sw);
}

/* "entrance", or a location given with --bs LOCATION=URI: a building
 * with several doors has one entrance bs (and pd) at each. */
static int is_entrance(const char *location)
{
  for (const struct sweep *sw = M.sweeps; sw; sw = sw->next)
    if (sw->entrance && !strcmp(sw->location, location))
      return 1;
  return !strcmp(location, "entrance");
}

static void on_scan(void *arg, int code, const uint8_t *body, size_t len)
{
  struct sweep *sw = arg;
  const cJSON *devices;
  struct jerr err;
  cJSON *o = NULL;
  char buf[16];
  int n = 0, arrived = 0;

  sw->call = NULL;
  if (code / 100 == 2 && (o = json_parse_object(body, len, 4 << 20, &err)) &&
      cJSON_IsArray(devices = cJSON_GetObjectItemCaseSensitive(o, "devices"))) {
    n = cJSON_GetArraySize(devices);
    if (is_entrance(sw->location)) {
      arrived = entrance_devices(devices, sw);
    } else {
      const cJSON *d;
      struct device dev;
      struct batch *b = NULL;
      cJSON_ArrayForEach(d, devices)
        if (device_parse(d, &dev) && dev.age_ms <= M.max_age_ms)
          arrived += room_sighting(&dev, sw->location, &b);
      if (b)
        auth_send(b);
    }
    if (arrived)
      sw->last_found = wall_ms();
    timeline("scanned", sw->location, "", "%d devices, %d new", n, arrived);
  } else {
    log_warn("location=%s scan failed: %s", sw->location,
             code / 100 == 2 ? "malformed answer" : client_code_text(code, buf, sizeof buf));
    timeline("scan_failed", sw->location, "", "%s",
             code / 100 == 2 ? "malformed answer" : client_code_text(code, buf, sizeof buf));
  }
  cJSON_Delete(o);
  if (sw->queued)
    scan_start(sw);
  else if (M.rescan_ms && wall_ms() < busy_until(sw) && !sw->rescan)
    sw->rescan = loop_after((uint64_t)M.rescan_ms, rescan_due, sw);
}

static void scan_start(struct sweep *sw)
{
  cJSON *o = cJSON_CreateObject();
  struct call_opts co = { (unsigned)(M.scan_ms + M.timeout_ms), (uint64_t)M.expire_ms };

  loop_cancel(sw->rescan);
  sw->rescan = NULL;
  sw->sent = wall_ms();
  sw->rescanning = !sw->queued;
  sw->motion = sw->queued ? sw->queued : sw->sent;
  sw->queued = 0;
  cJSON_AddNumberToObject(o, "duration_ms", (double)M.scan_ms);
  sw->call = call_json(sw->bs, COAP_REQUEST_POST, "scan", o, &co, on_scan, sw);
  cJSON_Delete(o);
  M.scans++;
  timeline("scan", sw->location, "", "%s", peer_base(sw->bs));
}

static struct sweep *sweep_find(const char *location)
{
  struct sweep *sw;
  struct peer *bs;

  for (sw = M.sweeps; sw; sw = sw->next)
    if (!strcmp(sw->location, location))
      return sw;
  /* A room location not named on the command line: the default room bs. */
  if (is_entrance(location) ||
      !(bs = room_peer_find(M.bs_room, M.nbs_room, location)))
    return NULL;
  sw = calloc(1, sizeof *sw);
  if (!sw)
    return NULL;
  snprintf(sw->location, sizeof sw->location, "%s", location);
  sw->bs = bs;
  sw->next = M.sweeps;
  M.sweeps = sw;
  return sw;
}

/* One element of "devices"; 0 (skipped, logged) if it is not usable. */
static int device_parse(const cJSON *d, struct device *out)
{
  const char *addr = NULL;
  long long rssi = 0;
  struct jerr err;

  out->name = "";
  out->age_ms = 0;
  out->beacon[0] = '\0';
  if (!cJSON_IsObject(d) ||
      json_get_string(d, "addr", JSON_REQUIRED, WIRE_BLE_LEN, &addr, &err) < 0 ||
      wire_ble_normalize(addr, out->ble) < 0 ||
      json_get_string(d, "name", JSON_OPTIONAL, WIRE_NAME_MAX, &out->name, &err) < 0 ||
      json_get_int(d, "rssi", JSON_OPTIONAL, -200, 50, &rssi, &err) < 0 ||
      json_get_int(d, "last_seen_ms", JSON_OPTIONAL, 0, 1LL << 40, &out->age_ms, &err) < 0) {
    log_debug("a device entry skipped: %s", addr ? addr : "no addr");
    return 0;
  }
  if (!out->name || wire_check_text(out->name))
    out->name = "";             /* radio data: the key counts, a bad name not */
  if (cJSON_GetObjectItemCaseSensitive(d, "ibeacon") &&
      ibeacon_key_parse(cJSON_GetObjectItemCaseSensitive(d, "ibeacon"), out->beacon, NULL, 0) < 0)
    out->beacon[0] = '\0';      /* a beacon we cannot read is no badge */
  out->rssi = (int)rssi;
  return 1;
}

/* An entrance sighting; returns the track if it begins a visit (and so
 * needs asking AE about). */
static struct track *entrance_sighting(const struct device *d, const struct sweep *sw)
{
  struct track *t = track_by_ble(d->ble);
  uint64_t now = wall_ms();
  uint64_t seen = now - (uint64_t)(d->age_ms < (long long)now ? d->age_ms : 0);
  struct track_seen s = { t != NULL, 0, 0, 0, t && (t->guide || t->unguide || t->present), 0,
                        seen, t ? t->entrance_seen : 0 };
  enum event e = entrance_event(&s, (uint64_t)M.visit_gap_ms);

  if (!t) {
    t = track_new(d->ble);
    if (!t) {
      log_warn("ble=%s dropped: %ld tracks all busy", d->ble, M.ntracks);
      return NULL;
    }
  } else {
    if (seen > t->entrance_seen)
      t->entrance_seen = seen;
    if (track_next(t->state, e).to == S_SAME)
      return NULL;                      /* the same visit */
  }
  /* A new visit (track_on: a clean slate but for what it was presented to) */
  t->entrance_seen = seen;
  t->rssi = d->rssi;
  snprintf(t->device, sizeof t->device, "%s", d->name);
  memcpy(t->ble, d->ble, sizeof t->ble);
  memcpy(t->beacon, d->beacon, sizeof t->beacon);
  track_on(t, e, sw->motion, sw->pushed ? "entrance, pushed by bs" :
           sw->rescanning ? "entrance, on a rescan" : sw->location);
  track_on(t, E_SCANNED, sw->sent, "");
  track_on(t, E_ASKED, 0, "");
  return t;
}

/* Returns how many visits began. */
static int entrance_devices(const cJSON *devices, const struct sweep *sw)
{
  struct batch *b = NULL;
  const cJSON *d;
  struct device dev;
  int visits = 0;

  cJSON_ArrayForEach(d, devices) {
    struct track *t;
    if (!device_parse(d, &dev) || dev.age_ms > M.max_age_ms)
      continue;
    t = entrance_sighting(&dev, sw);
    if (!t)
      continue;
    visits++;
    batch_add(&b, "entrance", t);
  }
  if (b)
    auth_send(b);
  return visits;
}

/* The entrance bs pushes every device that comes into range (POST /ble,
 * as a room's does).  While the entrance is busy (a motion start or
 * someone new within --linger) a pushed sighting is asked about at once,
 * like one from a scan: a crowd keeps the PIR high, so there is no new
 * motion start to scan on, and waiting for the next rescan cost up to
 * --rescan.  The rescan stays, for a push that was lost.  Without motion
 * a push starts nothing (the paper's flow begins with presence). */
static void entrance_push(struct nano_req *r, cJSON *o, const cJSON *devices,
                          const char *location)
{
  struct sweep *sw = sweep_find(location);
  cJSON *a = cJSON_CreateObject();
  int n = cJSON_GetArraySize(devices);

  if (sw && sw->last_motion && wall_ms() < busy_until(sw)) {
    struct sweep pushed = *sw;
    pushed.sent = wall_ms();
    pushed.motion = pushed.sent;
    pushed.pushed = 1;
    if (entrance_devices(devices, &pushed))
      sw->last_found = pushed.sent;
    cJSON_AddNumberToObject(a, "considered", n);
  } else {
    cJSON_AddNumberToObject(a, "ignored", n);
  }
  cJSON_Delete(o);
  req_reply_json(r, 204, a);
}

/* ---- authentication: ae names the participant, or not --------------------- */

/* ae named t's address as the participant that track o already follows
 * (a phone that rotated its address, a second device, a badge): one
 * person, one track.  t's addresses and sightings become o's and t goes.
 * Returns the track the grant is for: o, beginning the visit t began;
 * NULL when o's own visit goes on (and it has been told of a room t was
 * seen in).  The visit goes on as it would for one address: o is not at
 * rest, or t was heard at the entrance within --visit-gap of o, or heard
 * in a room while o is presenting. */
static struct track *track_merge(struct track *o, struct track *t, const char *meeting,
                                 const char *room, int64_t end_ms)
{
  struct transition tr = track_next(o->state,
      same_person_event(o->guide || o->unguide || o->present, t->entrance_seen,
                        o->entrance_seen, (uint64_t)M.visit_gap_ms));
  uint64_t room_seen = t->room_seen;
  char at[WIRE_LOCATION_MAX + 1];

  M.merged++;
  timeline("same_person", o->participant, t->ble, "as %s", o->ble);
  log_info("participant=%s ble=%s is the same person as ble=%s", o->participant, t->ble,
           o->ble);
  snprintf(at, sizeof at, "%s", t->room_seen_at);
  addrs_move(o, t);
  memcpy(o->ble, t->ble, sizeof o->ble);
  if (t->entrance_seen > o->entrance_seen)
    o->entrance_seen = t->entrance_seen;
  if (t->device[0])
    memcpy(o->device, t->device, sizeof o->device);
  if (t->beacon[0])
    memcpy(o->beacon, t->beacon, sizeof o->beacon);
  o->rssi = t->rssi;
  if (tr.to == S_SAME) {
    track_free(t);
    if (room_seen && o->state == S_GUIDING && !room_matches(o, at) && !strcmp(room, at)) {
      /* heard in another room than theirs, where ae names a meeting on
       * now of theirs: that is where they are going */
      snprintf(o->meeting, sizeof o->meeting, "%s", meeting);
      snprintf(o->room, sizeof o->room, "%s", room);
      o->meeting_end = end_ms > 0 ? (uint64_t)end_ms : 0;
    }
    if (room_seen && room_matches(o, at))
      track_on(o, E_MERGED_IN_ROOM, 0, at);
    return NULL;
  }
  /* the visit t began (authenticating) is o's now (A_TAKE_VISIT) */
  memcpy(o->step, t->step, sizeof o->step);
  track_set_state(o, tr.to);
  o->visit++;
  o->room_seen = room_seen;
  memcpy(o->room_seen_at, at, sizeof o->room_seen_at);
  o->room_asked = t->room_asked;
  o->guidance = G_NONE;
  o->resends = 0;
  track_free(t);
  return o;
}

static void grant(struct track *t, const cJSON *g)
{
  const char *id = NULL, *name = "", *meeting = "", *room = "", *end = NULL;
  int64_t end_ms = 0;
  struct jerr err;

  if (wire_get(g, "participant", WIRE_ID, JSON_REQUIRED, &id, &err) < 0 ||
      wire_get(g, "name", WIRE_NAME, JSON_OPTIONAL, &name, &err) < 0 ||
      wire_get(g, "meeting", WIRE_ID, JSON_REQUIRED, &meeting, &err) < 0 ||
      wire_get(g, "room", WIRE_ROOM, JSON_REQUIRED, &room, &err) < 0 ||
      json_get_string(g, "end", JSON_OPTIONAL, WIRE_TIME_MAX, &end, &err) < 0)
    goto malformed;
  if (end && rfc3339_parse(end, &end_ms) < 0) {
    jerr_set(&err, "field 'end' is not an RFC 3339 time");
    goto malformed;
  }
  if (t->participant[0] && strcmp(t->participant, id)) {
    /* the address was given to someone else (ae's participant changed):
     * what the track knew of the previous holder is not theirs */
    log_info("ble=%s is participant=%s now, not %s", t->ble, id, t->participant);
    timeline("new_holder", id, t->ble, "was %s's", t->participant);
    t->presented[0] = '\0';
  }
  if (track_by_participant(id) && track_by_participant(id) != t &&
      !(t = track_merge(track_by_participant(id), t, meeting, room, end_ms)))
    return;
  participant_index(t, id);
  snprintf(t->name, sizeof t->name, "%s", name ? name : "");
  snprintf(t->meeting, sizeof t->meeting, "%s", meeting);
  snprintf(t->room, sizeof t->room, "%s", room);
  t->meeting_end = end_ms > 0 ? (uint64_t)end_ms : 0;
  track_step(t, T_GRANTED, meeting);
  if (!strcmp(t->presented, t->meeting)) {
    /* Back through the entrance during a meeting they are already in. */
    track_on(t, E_GRANTED_PRESENTED, 0, "already presented; not guided again");
    return;
  }
  if (t->room_seen && room_matches(t, t->room_seen_at)) {
    /* Walked faster than the authentication: already in the room. */
    track_on(t, E_GRANTED_IN_ROOM, 0, t->room_seen_at);
    return;
  }
  track_on(t, E_GRANTED, 0, t->room);
  return;

malformed:
  log_error("ble=%s ae's grant is malformed: %s", t->ble, err.msg);
  track_on(t, E_AE_FAILED, 0, "malformed answer from ae");
}

static void deny(struct track *t, const char *why)
{
  track_on(t, E_DENIED, 0, why);
  log_info("ble=%s device=\"%s\" denied (%s); not asked again this visit", t->ble,
           t->device, why);
}

static const cJSON *granted_for(const cJSON *granted, const struct batch *b,
                                const char *ble)
{
  const cJSON *g;
  char norm[18];

  cJSON_ArrayForEach(g, granted) {
    const cJSON *gb = cJSON_GetObjectItemCaseSensitive(g, "ble");
    if (cJSON_IsString(gb) && wire_ble_normalize(gb->valuestring, norm) == 0 && !strcmp(norm, ble))
      return g;
  }
  /* An answer without "ble" can only be matched when one was asked. */
  if (b->n == 1 && cJSON_GetArraySize(granted) == 1) {
    g = cJSON_GetArrayItem(granted, 0);
    if (!cJSON_GetObjectItemCaseSensitive(g, "ble"))
      return g;
  }
  return NULL;
}

static int in_denied(const cJSON *denied, const char *ble)
{
  const cJSON *d;
  char norm[18];
  cJSON_ArrayForEach(d, denied)
    if (cJSON_IsString(d) && wire_ble_normalize(d->valuestring, norm) == 0 && !strcmp(norm, ble))
      return 1;
  return 0;
}

static void batch_free(struct batch *b)
{
  if (b->prev)
    b->prev->next = b->next;
  else if (M.batches == b)
    M.batches = b->next;
  if (b->next)
    b->next->prev = b->prev;
  free(b);
}

static void on_auth(void *arg, int code, const uint8_t *body, size_t len)
{
  struct batch *b = arg;
  const cJSON *granted = NULL, *denied = NULL;
  cJSON *o = NULL;
  struct jerr err = { "" };
  char buf[16], why[240];

  if (code / 100 == 2) {
    o = json_parse_object(body, len, 4 << 20, &err);
    if (o) {
      granted = cJSON_GetObjectItemCaseSensitive(o, "granted");
      denied = cJSON_GetObjectItemCaseSensitive(o, "denied");
      if (!cJSON_IsArray(granted) || !cJSON_IsArray(denied)) {
        jerr_set(&err, "no granted/denied arrays");
        cJSON_Delete(o);
        o = NULL;
      }
    }
    snprintf(why, sizeof why, "malformed answer from ae: %s", err.msg);
  } else {
    snprintf(why, sizeof why, "ae: %s", client_code_text(code, buf, sizeof buf));
  }
  if (!o)
    log_error("auth of %d addresses failed: %s", b->n, why);
  for (int i = 0; i < b->n; i++) {
    struct track *t = track_by_ble(b->ble[i]);
    const cJSON *g;
    if (!t || t->state != S_AUTHENTICATING)
      continue;                 /* expired or forgotten meanwhile */
    if (t->reask_from) {
      /* asked again in another room: only a meeting there changes anything */
      const cJSON *room;
      g = o ? granted_for(granted, b, b->ble[i]) : NULL;
      room = g ? cJSON_GetObjectItemCaseSensitive(g, "room") : NULL;
      if (!cJSON_IsString(room) || !strcmp(room->valuestring, t->room)) {
        track_on(t, E_NOT_HERE, 0, NULL);   /* back to guiding or expired */
        timeline("not_here", t->participant, t->ble, "no meeting for them at %s", b->location);
        server_notify(M.participants_res);
        continue;
      }
      t->reask_from = 0;
    }
    if (!o) {
      if (code == CLIENT_TIMEOUT)
        track_on(t, E_AE_TIMEOUT, 0, "ae did not answer in time");
      else
        track_on(t, E_AE_FAILED, 0, why);
      continue;
    }
    /* matched by the address asked about: t may have been heard on
     * another of its addresses since */
    if ((g = granted_for(granted, b, b->ble[i])))
      grant(t, g);
    else
      deny(t, in_denied(denied, b->ble[i]) ? "unknown or not invited now" :
           "not in ae's answer");
  }
  cJSON_Delete(o);
  batch_free(b);
}

static void auth_send(struct batch *b)
{
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(o, "ble"), *beacons = NULL;
  struct call_opts co = { 0, (uint64_t)M.expire_ms };

  for (int i = 0; i < b->n; i++) {
    cJSON_AddItemToArray(arr, cJSON_CreateString(b->ble[i]));
    if (b->beacon[i][0] && (beacons || (beacons = cJSON_AddObjectToObject(o, "ibeacons"))))
      cJSON_AddStringToObject(beacons, b->ble[i], b->beacon[i]);
  }
  cJSON_AddStringToObject(o, "location", b->location);
  b->next = M.batches;
  if (M.batches)
    M.batches->prev = b;
  M.batches = b;
  b->call = call_json(M.ae, COAP_REQUEST_POST, "auth", o, &co, on_auth, b);
  if (!b->call) {
    log_error("out of memory asking ae");
    batch_free(b);
  }
  M.auth_requests++;
  cJSON_Delete(o);
}

/* t's address goes into the POST ae/auth being filled for location (one
 * per AUTH_BATCH addresses), sent when full; the caller sends the rest. */
static void batch_add(struct batch **b, const char *location, struct track *t)
{
  if (!*b && !(*b = calloc(1, sizeof **b))) {
    track_on(t, E_AE_FAILED, 0, "out of memory");
    return;
  }
  snprintf((*b)->location, sizeof (*b)->location, "%s", location);
  snprintf((*b)->ble[(*b)->n], sizeof (*b)->ble[0], "%s", t->ble);
  snprintf((*b)->beacon[(*b)->n++], sizeof (*b)->beacon[0], "%s", t->beacon);
  if ((*b)->n == AUTH_BATCH) {
    auth_send(*b);
    *b = NULL;
  }
}

/* ---- guidance: ug shows the way to the room ------------------------------- */

static struct call_opts until_expiry(const struct track *t)
{
  struct call_opts o = { 0, (uint64_t)M.expire_ms };
  (void)t;
  return o;
}

static void on_guide(void *arg, int code, const uint8_t *body, size_t len)
{
  struct track *t = arg;
  char buf[16];

  t->guide = NULL;
  if (code / 100 == 2) {
    struct jerr err;
    cJSON *o = body ? json_parse_object(body, len, 4096, &err) : NULL;
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(o, "expires");
    int64_t expires = 0;
    t->guidance_expires = cJSON_IsString(ex) && rfc3339_parse(ex->valuestring, &expires) == 0 &&
                          expires > 0 ? (uint64_t)expires : 0;
    cJSON_Delete(o);
    t->guidance = G_ON;
    t->guidance_acked = wall_ms();
    if (!t->step[T_GUIDANCE_ON])
      track_step(t, T_GUIDANCE_ON, t->room);
    else
      timeline("guidance_on", t->participant, t->ble, "%s again", t->room);
    track_on(t, E_GUIDE_ACKED, 0, NULL);   /* arrived or expired meanwhile: off */
    return;
  }
  t->guidance = G_FAILED;
  log_warn("participant=%s room=%s ug refused guidance: %s %.*s", t->participant,
           t->room, client_code_text(code, buf, sizeof buf), (int)(len > 120 ? 120 : len),
           body ? (const char *)body : "");
  timeline("guidance_failed", t->participant, t->ble, "ug: %s",
           client_code_text(code, buf, sizeof buf));
  server_notify(M.participants_res);
}

static void guide_send(struct track *t)
{
  cJSON *o = cJSON_CreateObject();
  struct call_opts co = until_expiry(t);

  cJSON_AddStringToObject(o, "participant", t->participant);
  cJSON_AddStringToObject(o, "room", t->room);
  t->guidance = G_PENDING;
  call_cancel(t->guide);
  t->guide = call_json(M.ug, COAP_REQUEST_POST, "guide", o, &co, on_guide, t);
  cJSON_Delete(o);
  M.guides++;
}

static void on_unguide(void *arg, int code, const uint8_t *body, size_t len)
{
  struct track *t = arg;
  char buf[16];

  (void)body;
  (void)len;
  t->unguide = NULL;
  if (code / 100 == 2 || code == 404) {
    t->guidance = G_OFF;
    track_step(t, T_GUIDANCE_OFF, code == 404 ? "was not on" : "");
    return;
  }
  log_warn("participant=%s stopping guidance failed: %s", t->participant,
           client_code_text(code, buf, sizeof buf));
}

static void unguide_send(struct track *t)
{
  char path[WIRE_ID_MAX + 16];
  struct call_opts co = until_expiry(t);

  if (t->unguide)
    return;
  snprintf(path, sizeof path, "guide/%s", t->participant);
  t->unguide = call_start(M.ug, COAP_REQUEST_DELETE, path, NULL, 0, &co, on_unguide, t);
}

/* Stop the guidance: a guide call still waiting is dropped (if it never
 * went out there is nothing to stop); one that may have reached ug is
 * followed by a DELETE, which ug sees after it (one session, NSTART 1). */
static void guidance_stop(struct track *t)
{
  int maybe_on = t->guidance == G_ON;

  if (t->guide) {
    maybe_on = maybe_on || call_attempts(t->guide) > 0;
    call_cancel(t->guide);
    t->guide = NULL;
  }
  if (maybe_on)
    unguide_send(t);
  else if (t->guidance == G_PENDING)
    t->guidance = G_NONE;
}

static int any_guidance_on(void)
{
  for (const struct track *t = M.oldest; t; t = t->next)
    if (t->state == S_GUIDING && t->guidance == G_ON)
      return 1;
  return 0;
}

static int listed(const cJSON *active, const char *participant)
{
  const cJSON *a;
  cJSON_ArrayForEach(a, active) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(a, "participant");
    if (cJSON_IsString(p) && !strcmp(p->valuestring, participant))
      return 1;
  }
  return 0;
}

/* ug's GET /guide against what we believe is on: guidance ug lost (it
 * restarted, or its LEDs were reset) is sent again, guidance that should
 * be off is stopped again.  Only what ug confirmed before the check was
 * asked is compared, so a guide in flight never looks lost. */
static void on_guide_check(void *arg, int code, const uint8_t *body, size_t len)
{
  const cJSON *active, *a;
  struct jerr err;
  cJSON *o;

  (void)arg;
  M.guide_check = NULL;
  if (code / 100 != 2 || !(o = json_parse_object(body, len, 4 << 20, &err)))
    return;
  active = cJSON_GetObjectItemCaseSensitive(o, "active");
  if (!cJSON_IsArray(active)) {
    cJSON_Delete(o);
    return;
  }
  for (struct track *t = M.oldest; t; t = t->next)
    if (t->state == S_GUIDING && t->guidance == G_ON && !t->guide &&
        t->guidance_acked < M.guide_check_sent && !listed(active, t->participant)) {
      if (t->guidance_expires && M.guide_check_sent >= t->guidance_expires) {
        /* ug's own --expire ended it: not lost, and not to be lit again */
        t->guidance = G_OFF;
        track_step(t, T_GUIDANCE_OFF, "expired at ug");
        continue;
      }
      t->resends++;
      M.resends++;
      log_warn("participant=%s guidance lost at ug (restarted?); sending it again",
               t->participant);
      timeline("guidance_lost", t->participant, t->ble, "ug lost it; sent again");
      track_on(t, E_GUIDANCE_LOST, 0, NULL);
    }
  cJSON_ArrayForEach(a, active) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(a, "participant");
    struct track *t = cJSON_IsString(p) ? track_by_participant(p->valuestring) : NULL;
    if (t && t->state != S_GUIDING && !t->guide && !t->unguide &&
        t->step[T_ARRIVED] && t->step[T_ARRIVED] < M.guide_check_sent) {
      timeline("guidance_stale", t->participant, t->ble, "still on at ug; stopping");
      track_on(t, E_GUIDANCE_STALE, 0, NULL);
    }
  }
  cJSON_Delete(o);
}

static void guide_check(void)
{
  struct call_opts co = { 0, (uint64_t)(M.watch_ms ? M.watch_ms : 2000) };

  if (M.guide_check || !M.ug)
    return;
  M.guide_check_sent = wall_ms();
  M.guide_check = call_start(M.ug, COAP_REQUEST_GET, "guide", NULL, 0, &co,
                             on_guide_check, NULL);
}

static void on_ug_back(struct peer *p, void *arg)
{
  (void)p;
  (void)arg;
  guide_check();
}

/* ---- arrival: a sighting in a room ---------------------------------------- */

/* A room sighting of an address no track has, or of one that was not
 * placed when last asked (--visit-gap ago): whose is it?  A phone that
 * rotated its address on the way, a fast walker who never met the
 * entrance scan, a stranger: ae decides for this room (E_ROOM_UNKNOWN
 * begins a visit, detected -> authenticating).  Or a participant seen in
 * another room than theirs (E_ROOM_ELSEWHERE): they may be invited to a
 * meeting on now here too; if ae says no, the guidance goes on as it
 * was (E_NOT_HERE).  Either way the address goes into the batch *b. */
static void room_ask(const struct device *d, const char *at, struct track *t,
                     struct transition tr, struct batch **b)
{
  uint64_t now = wall_ms();

  if (tr.to == S_DETECTED) {
    t->rssi = d->rssi;
    snprintf(t->device, sizeof t->device, "%s", d->name);
    memcpy(t->beacon, d->beacon, sizeof t->beacon);
  }
  t->room_seen = t->room_asked = now;
  snprintf(t->room_seen_at, sizeof t->room_seen_at, "%s", at);
  snprintf(t->room_asked_at, sizeof t->room_asked_at, "%s", at);
  if (tr.to == S_DETECTED)
    track_on(t, E_ASKED, 0, at);
  M.room_asks++;
  batch_add(b, at, t);
}

/* A sighting at a room (from its bs, pushed or scanned); 1 if it was the
 * arrival of a guided participant (late is still arrived: guidance that
 * expired on the way does not make the meeting's content any less
 * theirs).  Addresses it cannot place go into the batch *b for ae. */
static int room_sighting(const struct device *d, const char *at, struct batch **b)
{
  struct track *t = track_by_ble(d->ble);
  struct track_seen s = { t != NULL, t && t->participant[0], t && room_matches(t, at),
                        t && !strcmp(t->room_asked_at, at),
                        t && (t->guide || t->unguide || t->present), t && t->present,
                        wall_ms(), t ? t->room_asked : 0 };
  struct transition tr;

  if (!t && !(t = track_new(d->ble))) {
    log_warn("ble=%s at %s dropped: %ld tracks all busy", d->ble, at, M.ntracks);
    return 0;
  }
  memcpy(t->ble, d->ble, sizeof t->ble);
  tr = track_on(t, room_event(&s, (uint64_t)M.visit_gap_ms), 0, at);
  if (tr.action & (A_NEW_VISIT | A_REASK))
    room_ask(d, at, t, tr, b);
  if (tr.action & A_NOTE_ROOM) {
    t->room_seen = wall_ms();
    snprintf(t->room_seen_at, sizeof t->room_seen_at, "%s", at);
  }
  return tr.to == S_ARRIVED;
}

static void post_ble(struct nano_req *r)
{
  const char *location;
  const cJSON *devices, *d;
  struct device dev;
  struct jerr err;
  struct batch *b = NULL;
  cJSON *o = req_json(r), *a, *arrived;
  int ignored = 0, asked = 0;

  if (!o)
    return;
  if (wire_get(o, "location", WIRE_LOCATION, JSON_REQUIRED, &location, &err) < 0) {
    req_reply_error(r, 400, "%s", err.msg);
    cJSON_Delete(o);
    return;
  }
  if (!location_is_callers(r, location)) {
    cJSON_Delete(o);
    return;
  }
  devices = cJSON_GetObjectItemCaseSensitive(o, "devices");
  if (!cJSON_IsArray(devices)) {
    req_reply_error(r, 400, "field 'devices' must be an array");
    cJSON_Delete(o);
    return;
  }
  if (is_entrance(location)) {
    entrance_push(r, o, devices, location);
    return;
  }
  a = cJSON_CreateObject();
  arrived = cJSON_AddArrayToObject(a, "arrived");
  cJSON_ArrayForEach(d, devices) {
    if (!device_parse(d, &dev) || dev.age_ms > M.max_age_ms) {
      ignored++;
      continue;
    }
    unsigned long asks = M.room_asks;
    if (room_sighting(&dev, location, &b))
      cJSON_AddItemToArray(arrived, cJSON_CreateString(track_by_ble(dev.ble)->participant));
    else if (M.room_asks != asks)
      asked++;
    else
      ignored++;
  }
  if (b)
    auth_send(b);
  cJSON_AddNumberToObject(a, "asked", asked);
  cJSON_AddNumberToObject(a, "ignored", ignored);
  cJSON_Delete(o);
  req_reply_json(r, 204, a);
}

/* ---- presentation: mrs shows them in the room ----------------------------- */

static void present_recheck(void *arg)
{
  struct track *t = arg;

  t->present_again = NULL;
  track_on(t, E_RECHECK_DUE, 0, NULL);
}

/* "shown", or "pending" while mrs asks ae (then mcs asks mrs again until
 * it says shown or no: presenting is only said once it is true). */
static int present_pending(const uint8_t *body, size_t len)
{
  struct jerr err;
  cJSON *o = body ? json_parse_object(body, len, 4096, &err) : NULL;
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
  int pending = cJSON_IsString(st) && !strcmp(st->valuestring, "pending");

  cJSON_Delete(o);
  return pending;
}

static void on_present(void *arg, int code, const uint8_t *body, size_t len)
{
  struct track *t = arg;
  char buf[16], why[160];

  t->present = NULL;
  if (code / 100 == 2 && present_pending(body, len)) {
    if (!(track_on(t, pending_event(t->step[T_ARRIVED], (uint64_t)M.expire_ms, wall_ms()), 0,
                   "mrs never confirmed the presentation").action & A_PRESENT_LATER))
      return;                       /* expired (or moved on meanwhile) */
    t->present_backoff = t->present_backoff ? t->present_backoff * 2 : PRESENT_RECHECK_MIN_MS;
    if (t->present_backoff > PRESENT_RECHECK_MAX_MS)
      t->present_backoff = PRESENT_RECHECK_MAX_MS;
    loop_cancel(t->present_again);
    t->present_again = loop_after(t->present_backoff, present_recheck, t);
    return;
  }
  t->present_backoff = 0;
  if (code / 100 == 2) {
    snprintf(t->presented, sizeof t->presented, "%s", t->meeting);
    track_on(t, E_SHOWN, 0, t->meeting);
    return;
  }
  log_warn("participant=%s meeting=%s mrs refused: %s %.*s", t->participant, t->meeting,
           client_code_text(code, buf, sizeof buf), (int)(len > 120 ? 120 : len),
           body ? (const char *)body : "");
  timeline("present_refused", t->participant, t->ble, "mrs: %s",
           client_code_text(code, buf, sizeof buf));
  /* a visit that ends here rests, so the next one is asked about again;
   * a restarted mrs that will not show them again ends presenting too */
  snprintf(why, sizeof why, "mrs: %s %.*s", client_code_text(code, buf, sizeof buf),
           (int)(len > 100 ? 100 : len), body ? (const char *)body : "");
  if (track_on(t, code == CLIENT_TIMEOUT || code / 100 == 5 ? E_MRS_FAILED : E_MRS_REFUSED,
               0, why).to == S_SAME)
    server_notify(M.participants_res);
}

static void present_send(struct track *t)
{
  struct peer *mrs = room_peer_find(M.mrs, M.nmrs, t->room);
  struct call_opts co = until_expiry(t);
  cJSON *o;

  if (!mrs) {
    log_warn("participant=%s room=%s no mrs for this room", t->participant, t->room);
    timeline("present_refused", t->participant, t->ble, "no mrs for room %s", t->room);
    return;
  }
  o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "participant", t->participant);
  cJSON_AddStringToObject(o, "meeting", t->meeting);
  if (*t->name)                     /* ae's, for the room's screen */
    cJSON_AddStringToObject(o, "name", t->name);
  call_cancel(t->present);
  t->present = call_json(mrs, COAP_REQUEST_POST, "present", o, &co, on_present, t);
  cJSON_Delete(o);
  M.presents++;
}

/* A restarted mrs lost its display: present its room's participants
 * again (and those it refused or never answered while it was going). */
static void on_mrs_restart(struct peer *p, void *arg)
{
  struct room_peer *rp = arg;
  (void)p;
  for (struct track *t = M.oldest; t; t = t->next)
    if ((t->state == S_PRESENTING || t->state == S_ARRIVED) && t->meeting[0] &&
        !t->present && room_peer_find(M.mrs, M.nmrs, t->room) == rp->peer) {
      timeline("present_again", t->participant, t->ble, "mrs restarted");
      track_on(t, E_MRS_RESTARTED, 0, NULL);
    }
}

/* ---- observers: /participants and /timeline ------------------------------- */

static cJSON *track_json(const struct track *t)
{
  cJSON *o = cJSON_CreateObject(), *steps;
  char ts[40];

  cJSON_AddStringToObject(o, "ble", t->ble);
  if (t->naddrs > 1) {
    cJSON *all = cJSON_AddArrayToObject(o, "addresses");
    for (const struct addr *a = t->addrs; a; a = a->tnext)
      cJSON_AddItemToArray(all, cJSON_CreateString(a->ble));
  }
  if (t->beacon[0])
    cJSON_AddStringToObject(o, "ibeacon", t->beacon);
  if (t->participant[0]) {
    cJSON_AddStringToObject(o, "participant", t->participant);
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "meeting", t->meeting);
    cJSON_AddStringToObject(o, "room", t->room);
  }
  if (t->device[0])
    cJSON_AddStringToObject(o, "device", t->device);
  cJSON_AddStringToObject(o, "state", state_names[t->state]);
  cJSON_AddStringToObject(o, "guidance", guidance_names[t->guidance]);
  cJSON_AddNumberToObject(o, "visit", t->visit);
  cJSON_AddNumberToObject(o, "resends", t->resends);
  steps = cJSON_AddObjectToObject(o, "steps");
  for (int i = 0; i < T_COUNT; i++)
    if (t->step[i])
      cJSON_AddStringToObject(steps, step_names[i], rfc3339(t->step[i], ts, sizeof ts));
  return o;
}

static void get_participants(struct nano_req *r)
{
  char want[32];
  int filter = req_query(r, "state", want, sizeof want);
  long long limit = M.max_tracks;
  cJSON *o, *list, *c;
  long n = 0;

  if (filter > 0) {
    int known = 0;
    for (int i = 0; i < S_COUNT; i++)
      known |= !strcmp(want, state_names[i]);
    filter = known ? 1 : -1;        /* an unknown state is an error, not [] */
  }
  if (filter < 0) {
    req_reply_error(r, 400, "state must be a state's name");
    return;
  }
  if (req_query_int(r, "limit", M.max_tracks, 0, 1000000, &limit) < 0)
    return;
  /* limit=0: only the counts (kept as states change), for pollers. */
  o = cJSON_CreateObject();
  list = cJSON_AddArrayToObject(o, "participants");
  for (const struct track *t = M.oldest; t && n < limit; t = t->next)
    if (!filter || !strcmp(want, state_names[t->state])) {
      cJSON_AddItemToArray(list, track_json(t));
      n++;
    }
  c = cJSON_AddObjectToObject(o, "counts");
  for (int i = 0; i < S_COUNT; i++)
    cJSON_AddNumberToObject(c, state_names[i], (double)M.counts[i]);
  req_reply_json(r, 205, o);
}

static void get_timeline(struct nano_req *r)
{
  long long limit = 100, since = 0;
  uint64_t first, from;
  cJSON *o, *list;
  char ts[40];

  if (req_query_int(r, "limit", 100, 0, 1000, &limit) < 0 ||
      req_query_int(r, "since", 0, 0, 1LL << 50, &since) < 0)
    return;
  first = TL.next_seq > (uint64_t)TL.size ? TL.next_seq - (uint64_t)TL.size : 1;
  /* The last `limit` entries, or the first `limit` after `since`. */
  from = since ? (uint64_t)since + 1 :
         (TL.next_seq > (uint64_t)limit + 1 ? TL.next_seq - (uint64_t)limit : 1);
  if (from < first)
    from = first;
  o = cJSON_CreateObject();
  list = cJSON_AddArrayToObject(o, "timeline");
  for (uint64_t s = from; s < TL.next_seq && s < from + (uint64_t)limit; s++) {
    const struct tl_entry *e = &TL.ring[(s - 1) % (uint64_t)TL.size];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "seq", (double)e->seq);
    cJSON_AddStringToObject(j, "time", rfc3339(e->ms, ts, sizeof ts));
    cJSON_AddStringToObject(j, "event", e->event);
    if (e->who[0])
      cJSON_AddStringToObject(j, "who", e->who);
    if (e->ble[0])
      cJSON_AddStringToObject(j, "ble", e->ble);
    if (e->detail[0])
      cJSON_AddStringToObject(j, "detail", e->detail);
    cJSON_AddItemToArray(list, j);
  }
  cJSON_AddNumberToObject(o, "last", (double)(TL.next_seq - 1));
  req_reply_json(r, 205, o);
}

/* ---- keeping the flow going ----------------------------------------------- */

static void tick(void *arg)
{
  static uint64_t last_check;
  uint64_t now = wall_ms();

  (void)arg;
  M.tick = loop_after(1000, tick, NULL);
  for (struct track *t = M.oldest; t; t = t->next) {
    if (track_due(t->step[T_GUIDING], (uint64_t)M.expire_ms, now) &&
        track_next(t->state, E_GUIDANCE_OVERDUE).to != S_SAME) {
      log_info("participant=%s guidance expired before arrival", t->participant);
      track_on(t, E_GUIDANCE_OVERDUE, 0, "not arrived in time");
    }
    /* the meeting is over (mrs clears its screen then): presenting, or
     * on the way to it, is no longer true */
    if (t->meeting_end && now >= t->meeting_end &&
        track_next(t->state, E_MEETING_OVER).to != S_SAME) {
      log_info("participant=%s meeting=%s ended", t->participant, t->meeting);
      track_on(t, E_MEETING_OVER, 0, t->meeting);
    }
  }
  if (M.watch_ms && now - last_check >= (uint64_t)M.watch_ms && any_guidance_on()) {
    last_check = now;
    guide_check();
  }
}

static void stats_hook(cJSON *o, void *arg)
{
  (void)arg;
  cJSON_AddNumberToObject(o, "tracks", (double)M.ntracks);
  cJSON_AddNumberToObject(o, "presences", (double)M.presences);
  cJSON_AddNumberToObject(o, "scans", (double)M.scans);
  cJSON_AddNumberToObject(o, "auth_requests", (double)M.auth_requests);
  cJSON_AddNumberToObject(o, "guides", (double)M.guides);
  cJSON_AddNumberToObject(o, "guides_resent", (double)M.resends);
  cJSON_AddNumberToObject(o, "presents", (double)M.presents);
  cJSON_AddNumberToObject(o, "room_asks", (double)M.room_asks);
  cJSON_AddNumberToObject(o, "same_person", (double)M.merged);
  cJSON_AddNumberToObject(o, "pending_requests", client_pending());
}

static void add_peer(cJSON *peers, const char *key, const struct peer *p)
{
  if (p)
    cJSON_AddItemToObject(peers, key, peer_json(p));
}

/* mcs itself is healthy when it runs; the peers are reported, not held
 * against it (a restart of mcs would not bring a dead ae back). */
static int health_hook(cJSON *o, void *arg)
{
  cJSON *peers = cJSON_AddObjectToObject(o, "peers");
  char key[WIRE_ROOM_MAX + 16];

  (void)arg;
  add_peer(peers, "ae", M.ae);
  add_peer(peers, "ug", M.ug);
  for (int i = 0; i < M.npd_room; i++) {
    if (M.pd_room[i].room[0])
      snprintf(key, sizeof key, "pd %s", M.pd_room[i].room);
    else
      snprintf(key, sizeof key, "pd-room");
    add_peer(peers, key, M.pd_room[i].peer);
  }
  for (const struct sweep *sw = M.sweeps; sw; sw = sw->next) {
    snprintf(key, sizeof key, "bs %s", sw->location);
    add_peer(peers, key, sw->bs);
  }
  for (int i = 0; i < M.nmrs; i++) {
    snprintf(key, sizeof key, "mrs %s", M.mrs[i].room[0] ? M.mrs[i].room : "*");
    add_peer(peers, key, M.mrs[i].peer);
  }
  return 1;
}

/* ---- setup ------------------------------------------------------------- */

/* "ROOM=coap://..." or "coap://..." (any room: room = "") */
static int split_room_uri(const char *spec, char room[WIRE_ROOM_MAX + 1], const char **uri)
{
  const char *eq = strchr(spec, '=');
  const char *scheme = strstr(spec, "://");

  room[0] = '\0';
  *uri = spec;
  if (!eq || (scheme && eq > scheme))
    return 0;
  if (eq == spec || eq - spec > WIRE_ROOM_MAX)
    return -1;
  snprintf(room, WIRE_ROOM_MAX + 1, "%.*s", (int)(eq - spec), spec);
  *uri = eq + 1;
  return wire_check_room(room) ? -1 : 0;
}

static struct peer *make_peer(const char *name, const char *uri)
{
  struct peer *p;

  if (!uri || !*uri)
    return NULL;                /* not deployed */
  p = peer_new(M.ctx, name, uri);
  if (p) {
    peer_set_timeout(p, (unsigned)M.timeout_ms);
    peer_watch(p, (unsigned)M.watch_ms);
    M.owned[M.nowned++] = p;
  }
  return p;
}

static int room_peers(struct opt *opts, const char *flag, const char *role,
                      struct room_peer *list, int *n)
{
  struct opt *o = opt_find(opts, flag);
  char name[WIRE_ROOM_MAX + 16];
  const char *uri;

  for (int i = 0; i < o->count; i++) {
    if (!*o->list[i])
      continue;
    if (split_room_uri(o->list[i], list[*n].room, &uri) < 0)
      return -1;                /* check_options said why */
    snprintf(name, sizeof name, "%s %s", role, list[*n].room[0] ? list[*n].room : "*");
    if (!(list[*n].peer = make_peer(name, uri)))
      return -1;
    (*n)++;
  }
  return 0;
}

static int entrance_sweeps(struct opt *opts)
{
  struct opt *o = opt_find(opts, "bs");
  char location[WIRE_LOCATION_MAX + 1], name[WIRE_LOCATION_MAX + 16];
  const char *uri;

  for (int i = 0; i < o->count; i++) {
    struct sweep *sw;
    if (!*o->list[i])
      continue;
    if (split_room_uri(o->list[i], location, &uri) < 0)
      return -1;                /* check_options said why */
    if (!location[0])
      strcpy(location, "entrance");
    sw = calloc(1, sizeof *sw);
    if (!sw)
      return -1;
    snprintf(sw->location, sizeof sw->location, "%s", location);
    sw->entrance = 1;
    snprintf(name, sizeof name, "bs %s", location);
    if (!(sw->bs = make_peer(name, uri))) {
      free(sw);
      return -1;
    }
    sw->next = M.sweeps;
    M.sweeps = sw;
  }
  return 0;
}

static int number_opt(struct opt *opts, const char *name, long min, long max, long *out)
{
  const char *v = opt_str(opts, name);
  char *end;
  long n = v ? strtol(v, &end, 10) : -1;

  if (!v || !*v || *end || n < min || n > max) {
    fprintf(stderr, "mcs: --%s must be a number from %ld to %ld\n", name, min, max);
    return -1;
  }
  *out = n;
  return 0;
}

/* A peer's URI ("" leaves the peer out), with a NAME= in front where the
 * flag takes one; 0 if usable, else -1 with a message. */
static int peer_spec_ok(const char *flag, const char *spec, int named)
{
  char name[WIRE_ROOM_MAX + 1], err[160];
  const char *uri = spec;
  struct nano_uri u;

  if (!*spec)
    return 0;
  if ((named && split_room_uri(spec, name, &uri) < 0) ||
      uri_parse(uri, &u, err, sizeof err) < 0) {
    fprintf(stderr, "mcs: --%s %s: expected %scoaps://HOST[:PORT]\n", flag, spec,
            named ? "[NAME=]" : "");
    return -1;
  }
  return 0;
}

/* Every option, checked before a port is bound: a usage error is exit 2. */
static int check_options(struct opt *opts)
{
  static const char *const named[] = { "bs", "bs-room", "mrs", "pd-room" };
  long long retry_max;

  if (opt_duration(opts, "scan", &M.scan_ms) < 0 ||
      opt_duration(opts, "linger", &M.linger_ms) < 0 ||
      opt_duration(opts, "rescan", &M.rescan_ms) < 0 ||
      opt_duration(opts, "max-age", &M.max_age_ms) < 0 ||
      opt_duration(opts, "expire", &M.expire_ms) < 0 ||
      opt_duration(opts, "visit-gap", &M.visit_gap_ms) < 0 ||
      opt_duration(opts, "watch", &M.watch_ms) < 0 ||
      opt_duration(opts, "timeout", &M.timeout_ms) < 0 ||
      opt_duration(opts, "retry-max", &retry_max) < 0 ||
      number_opt(opts, "max-tracks", 1, 1000000, &M.max_tracks) < 0 ||
      number_opt(opts, "timeline", 16, 1000000, &TL.size) < 0)
    return -1;
  if (M.timeout_ms < 100 || M.expire_ms < 1000 || M.scan_ms > 60000) {
    fprintf(stderr, "mcs: --timeout >= 100ms, --expire >= 1s, --scan <= 60s\n");
    return -1;
  }
  call_set_backoff(retry_max < 250 ? (unsigned)retry_max : 250, (unsigned)retry_max);
  if (!*opt_str(opts, "ae") || !*opt_str(opts, "ug")) {
    fprintf(stderr, "mcs: --ae and --ug are required (coaps://HOST[:PORT])\n");
    return -1;
  }
  if (peer_spec_ok("ae", opt_str(opts, "ae"), 0) < 0 ||
      peer_spec_ok("ug", opt_str(opts, "ug"), 0) < 0)
    return -1;
  for (size_t f = 0; f < sizeof named / sizeof named[0]; f++) {
    struct opt *o = opt_find(opts, named[f]);
    for (int i = 0; i < o->count; i++)
      if (peer_spec_ok(named[f], o->list[i], 1) < 0)
        return -1;
  }
  return 0;
}

/* The peers and the timeline, once the server runs (-1: out of memory). */
static int setup_state(struct opt *opts)
{
  TL.ring = calloc((size_t)TL.size, sizeof *TL.ring);
  M.hash_size = HASH_MIN;
  M.by_ble = calloc(M.hash_size, sizeof *M.by_ble);
  M.by_participant = calloc(M.hash_size, sizeof *M.by_participant);
  if (!TL.ring || !M.by_ble || !M.by_participant)
    return -1;
  M.ae = make_peer("ae", opt_str(opts, "ae"));
  M.ug = make_peer("ug", opt_str(opts, "ug"));
  if (!M.ae || !M.ug)
    return -1;
  peer_set_serial(M.ae, 1);       /* its answers to 64 addresses are block-wise */
  if (entrance_sweeps(opts) < 0 ||
      room_peers(opts, "bs-room", "bs", M.bs_room, &M.nbs_room) < 0 ||
      room_peers(opts, "mrs", "mrs", M.mrs, &M.nmrs) < 0 ||
      room_peers(opts, "pd-room", "pd", M.pd_room, &M.npd_room) < 0)
    return -1;
  /* Room bs named per room get their sweep now, so /health shows them. */
  for (int i = 0; i < M.nbs_room; i++)
    if (M.bs_room[i].room[0])
      sweep_find(M.bs_room[i].room);
  peer_on_up(M.ug, on_ug_back, NULL);
  peer_on_restart(M.ug, on_ug_back, NULL);
  for (int i = 0; i < M.nmrs; i++)
    peer_on_restart(M.mrs[i].peer, on_mrs_restart, &M.mrs[i]);
  return 0;
}

static void teardown(void)
{
  while (M.oldest)
    track_free(M.oldest);
  while (M.sweeps) {
    struct sweep *sw = M.sweeps;
    M.sweeps = sw->next;
    call_cancel(sw->call);
    loop_cancel(sw->rescan);
    free(sw);
  }
  while (M.batches) {
    call_cancel(M.batches->call);
    batch_free(M.batches);
  }
  call_cancel(M.guide_check);
  for (int i = 0; i < M.nowned; i++)
    peer_free(M.owned[i]);           /* cancels their calls */
  loop_cancel(M.tick);
  free(TL.ring);
  free(M.by_ble);
  free(M.by_participant);
}

static const char mcs_usage[] =
  "usage: nano mcs [--ae URI] [--bs [LOC=]URI]... [--bs-room [ROOM=]URI]...\n"
  "                [--ug URI] [--mrs [ROOM=]URI]... [--pd-room [ROOM=]URI]... [options]\n"
  "The main controller: motion -> scan -> auth -> guidance -> arrival -> display.\n"
  "A peer given as an empty string is not deployed.";

/* Who may do what on mcs (with keys; nano mcs --help shows it): the pd
 * and bs of a location report for that location only (post_presence and
 * post_ble check that the location is the caller's). */
static const struct access_rule mcs_access[] = {
  { "POST", "presence", "pd-*" },
  { "POST", "ble", "bs-*" },
  { NULL, NULL, NULL }
};

static const struct opt mcs_opts[] = {
  { "ae", OPT_STR, "coaps://ae", "authentication engine" },
  { "bs", OPT_LIST, "coaps://bs", "entrance bs: URI, or LOCATION=URI (repeatable)" },
  { "bs-room", OPT_LIST, "coaps://bs-room", "room bs, scanned on room motion: URI (any room) or ROOM=URI" },
  { "pd-room", OPT_LIST, "coaps://pd-room", "room pd, only watched (/health): URI or ROOM=URI (repeatable)" },
  { "ug", OPT_STR, "coaps://ug", "user guidance" },
  { "mrs", OPT_LIST, "coaps://mrs", "meeting room service: URI (any room) or ROOM=URI" },
  { "scan", OPT_STR, "1s", "duration_ms asked of a bs (a continuous bs answers at once)" },
  { "linger", OPT_STR, "5s", "a location is busy this long after a motion start or someone new" },
  { "rescan", OPT_STR, "500ms", "scan a busy location again this often (0: only on motion)" },
  { "max-age", OPT_STR, "30s", "ignore sightings older than this" },
  { "expire", OPT_STR, "10m", "guidance not completed by then expires; peers retried that long" },
  { "visit-gap", OPT_STR, "10m", "unseen at the entrance this long: the next sighting is a new visit" },
  { "watch", OPT_STR, "2s", "check peers' /health and ug's /guide this often (0: off)" },
  { "timeout", OPT_STR, "3s", "per request to a peer" },
  { "retry-max", OPT_STR, "2s", "cap of the exponential retry backoff" },
  { "max-tracks", OPT_STR, "5000", "tracks kept (the oldest at rest are forgotten)" },
  { "timeline", OPT_STR, "4096", "timeline entries kept" },
  { 0 }
};

static int mcs_configure(struct opt *opts)
{
  return check_options(opts) < 0 ? 2 : 0;
}

static int mcs_start(struct nano_server *s, struct opt *opts)
{
  M.ctx = server_ctx(s);
  if (setup_state(opts) < 0) {
    log_error("out of memory");
    teardown();
    return 1;
  }
  server_route(s, "presence", 0, NULL, post_presence, NULL, NULL, NULL);
  server_route(s, "ble", 0, NULL, post_ble, NULL, NULL, NULL);
  M.participants_res = server_route(s, "participants", 1, get_participants, NULL, NULL,
                                    NULL, NULL);
  server_route(s, "timeline", 0, get_timeline, NULL, NULL, NULL, NULL);
  server_set_stats_hook(s, stats_hook, NULL);
  server_set_health_hook(s, health_hook, NULL);
  server_set_max_body(s, 256 * 1024);
  M.tick = loop_after(1000, tick, NULL);
  return 0;
}

static int mcs_stop(struct nano_server *s)
{
  log_info("stopped");
  teardown();
  return 0;
}

const struct role mcs_role = {
  mcs_usage, mcs_opts, mcs_access, mcs_configure, mcs_start, mcs_stop, NULL
};
