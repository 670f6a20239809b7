/* mrs.c - the Meeting Room Service: what the display in one room shows.
 *
 * usage: nano mrs --room ROOM [--ae URI] [options]
 *
 *   POST /present {"participant","meeting"}   from mcs: they reached the room
 *   GET  /display                             observable: what the screen shows
 *        {"room","meeting","title","content","start","end",
 *         "attendees":[{"participant","shown"}],"hidden","updated"}
 *
 * The paper's step (f): hide what is on the display that the arriving
 * participant may not see, fetch the meeting's content from AE, show it.
 * The screen shows one meeting at a time.  A participant of the meeting
 * being shown is added to its attendees; a participant of another meeting
 * first hides the screen (content, title and attendees go), then the
 * other meeting is fetched and shown.  When the meeting ends (a timer on
 * its end time) the screen is cleared.
 *
 * What may be shown is decided here with AE's data, not taken on trust:
 * the meeting must be in this room, not over, and the participant its
 * organizer or invited.  The display follows AE's current data, never a
 * copy that may be stale: every POST /present reads the meeting again
 * (GET ae/meetings/<id>, then its content, GET ae/meetings/<id>/content,
 * block-wise when large; skipped when the meeting JSON carries
 * "content"), and the meeting on the screen is read again every
 * --refresh (its content too when anything in the meeting changed).  A
 * read that finds the meeting changed updates the screen (title, content,
 * the clear at its new end, attendees no longer invited leave it); one
 * that finds it gone, moved or over clears the screen.  A participant is
 * only ever shown by a read that started after they arrived.
 *
 * POST /present answers when AE has answered (a CoAP separate response),
 * at most PRESENT_WAIT_MS later: 2.04 "shown", 4.03/4.04/4.09 when AE's
 * data say no, or 2.04 "pending" when AE has not answered by then (a
 * down AE is retried with backoff, see call.h); a refusal found after a
 * "pending" is logged.
 */
#include "call.h"
#include "nano.h"
#include "role.h"
#include "uri.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PENDING 1024
#define MAX_ATTENDEES 4096
#define PRESENT_WAIT_MS 1000       /* POST /present waits this long for AE */

/* What the data of a meeting says: never read, read, AE does not know
 * it, or AE's answer was unusable. */
enum mstate { M_NONE, M_READY, M_MISSING, M_FAILED };

struct meeting {
  char id[WIRE_ID_MAX + 1];
  enum mstate state;
  char *title, *room, *organizer;
  char *content;
  size_t content_len;
  int64_t start_ms, end_ms;
  cJSON *participants;              /* array of ids */
  char *raw;                        /* AE's meeting JSON, as last read */
  uint64_t fetched;                 /* wall ms */
  /* a read from AE in progress: the new copy, swapped in when whole */
  struct call *call;
  struct meeting *fresh;
  int full;                         /* read the content even if unchanged */
  char (*pending)[WIRE_ID_MAX + 1];      /* participants waiting for a read */
  int npending;
  int nstarted;                     /* pending[0..nstarted) arrived before it */
  struct meeting *next;
};

/* A POST /present waiting for its answer (the arg of req_defer). */
struct wait {
  char participant[WIRE_ID_MAX + 1];
  char meeting[WIRE_ID_MAX + 1];
  int done, code;
  char why[96];
  struct wait *next;
};

struct attendee {
  char participant[WIRE_ID_MAX + 1];
  uint64_t shown;
};

static struct {
  char room[WIRE_ROOM_MAX + 1];
  struct nano_server *srv;
  struct peer *ae;
  size_t max_content;
  uint64_t refresh_ms;
  struct loop_timer *refresh_timer;
  struct wait *waits;
  struct meeting *meetings;
  /* the screen */
  struct meeting *shown;            /* NULL: blank */
  struct attendee *attendees;
  int nattendees;
  int hidden;                       /* blanked for someone who may not see it */
  uint64_t updated;
  struct loop_timer *end_timer;
  coap_resource_t *display_res;
  unsigned long presents, refused, fetches, refreshes, clears;
} R;

/* ---- the screen ---------------------------------------------------------- */

static void screen_changed(void)
{
  R.updated = wall_ms();
  server_notify(R.display_res);
}

static void screen_blank(int hidden)
{
  R.shown = NULL;
  R.nattendees = 0;
  R.hidden = hidden;
  loop_cancel(R.end_timer);
  R.end_timer = NULL;
  screen_changed();
}

static void on_meeting_end(void *arg)
{
  (void)arg;
  R.end_timer = NULL;
  if (R.shown)
    log_info("meeting=%s ended; display cleared", R.shown->id);
  R.clears++;
  screen_blank(0);
}

static int attendee_index(const char *participant)
{
  for (int i = 0; i < R.nattendees; i++)
    if (!strcmp(R.attendees[i].participant, participant))
      return i;
  return -1;
}

static void screen_show(struct meeting *m, const char *participant)
{
  int64_t left;

  if (R.shown != m) {
    R.shown = m;
    R.nattendees = 0;
    R.hidden = 0;
    loop_cancel(R.end_timer);
    left = m->end_ms - (int64_t)wall_ms();
    R.end_timer = loop_after(left > 0 ? (uint64_t)left : 0, on_meeting_end, NULL);
    log_info("meeting=%s title=\"%s\" shown (%zu bytes of content)", m->id,
             m->title ? m->title : "", m->content_len);
  }
  if (attendee_index(participant) < 0 && R.nattendees < MAX_ATTENDEES) {
    struct attendee *a = &R.attendees[R.nattendees++];
    snprintf(a->participant, sizeof a->participant, "%s", participant);
    a->shown = wall_ms();
    log_info("meeting=%s participant=%s attends", m->id, participant);
  }
  screen_changed();
}

/* ---- meetings ------------------------------------------------------------ */

static struct meeting *meeting_find(const char *id)
{
  for (struct meeting *m = R.meetings; m; m = m->next)
    if (!strcmp(m->id, id))
      return m;
  return NULL;
}

static void meeting_clear_data(struct meeting *m)
{
  free(m->title);
  free(m->room);
  free(m->organizer);
  free(m->content);
  free(m->raw);
  cJSON_Delete(m->participants);
  m->title = m->room = m->organizer = m->content = m->raw = NULL;
  m->participants = NULL;
  m->content_len = 0;
}

/* A copy being read, not (yet) in the list. */
static void fresh_free(struct meeting *f)
{
  if (f) {
    meeting_clear_data(f);
    free(f);
  }
}

/* Take f's data into m (m's old data goes). */
static void meeting_take(struct meeting *m, struct meeting *f)
{
  meeting_clear_data(m);
  m->title = f->title;
  m->room = f->room;
  m->organizer = f->organizer;
  m->content = f->content;
  m->content_len = f->content_len;
  m->start_ms = f->start_ms;
  m->end_ms = f->end_ms;
  m->participants = f->participants;
  m->raw = f->raw;
  memset(f, 0, sizeof *f);
}

static void meeting_free(struct meeting *m)
{
  for (struct meeting **pp = &R.meetings; *pp; pp = &(*pp)->next)
    if (*pp == m) {
      *pp = m->next;
      break;
    }
  call_cancel(m->call);
  fresh_free(m->fresh);
  meeting_clear_data(m);
  free(m->pending);
  free(m);
}

/* Keep what is shown, being read or awaited; AE is asked again anyway. */
static void meetings_prune(void)
{
  struct meeting *m = R.meetings, *next;

  for (; m; m = next) {
    next = m->next;
    if (m != R.shown && !m->call && !m->npending)
      meeting_free(m);
  }
}

static int invited(const struct meeting *m, const char *participant)
{
  const cJSON *p;

  if (m->organizer && !strcmp(m->organizer, participant))
    return 1;
  cJSON_ArrayForEach(p, m->participants) {
    const cJSON *id = cJSON_IsObject(p) ? cJSON_GetObjectItemCaseSensitive(p, "id") : p;
    if (cJSON_IsString(id) && !strcmp(id->valuestring, participant))
      return 1;
  }
  return 0;
}

/* Why participant may not see m now, or NULL; *code the CoAP answer. */
static const char *refusal(const struct meeting *m, const char *participant, int *code)
{
  if (m->state == M_MISSING) {
    *code = 404;
    return "no such meeting at ae";
  }
  if (m->state != M_READY) {
    *code = 502;
    return "ae's answer about this meeting was unusable";
  }
  if (!m->room || strcmp(m->room, R.room)) {
    *code = 409;
    return "the meeting is in another room";
  }
  if (m->end_ms <= (int64_t)wall_ms()) {
    *code = 409;
    return "the meeting is over";
  }
  if (!invited(m, participant)) {
    *code = 403;
    return "not a participant of this meeting";
  }
  return NULL;
}

/* The paper's "hide": before anything else, a participant who may not see
 * the meeting on the screen makes the screen go blank. */
static void hide_for(const char *participant)
{
  if (R.shown && !invited(R.shown, participant)) {
    log_info("meeting=%s hidden: participant=%s may not see it", R.shown->id, participant);
    screen_blank(1);
  }
}

static void present(struct meeting *m, const char *participant, int *code,
                    const char **why)
{
  *why = refusal(m, participant, code);
  if (*why) {
    R.refused++;
    log_warn("participant=%s meeting=%s not shown: %s", participant, m->id, *why);
    if (*code == 403 && m == R.shown)
      hide_for(participant);
    return;
  }
  *code = 204;
  screen_show(m, participant);
}

/* The meeting on the screen was read again: the screen follows what AE
 * says now.  changed: its data are new. */
static void screen_follow(struct meeting *m, int changed)
{
  const char *why = NULL;
  int code, n = 0;
  int64_t left;

  if (m->state != M_READY)
    why = m->state == M_MISSING ? "no longer at ae" : NULL;
  else if (!m->room || strcmp(m->room, R.room))
    why = "moved to another room";
  else if (m->end_ms <= (int64_t)wall_ms())
    why = "over";
  if (why) {
    log_info("meeting=%s %s; display cleared", m->id, why);
    R.clears++;
    screen_blank(0);
    return;
  }
  if (m->state != M_READY || !changed)
    return;                     /* unusable now: what is shown stays */
  /* attendees who are no longer invited leave the screen */
  for (int i = 0; i < R.nattendees; i++) {
    if (!refusal(m, R.attendees[i].participant, &code))
      R.attendees[n++] = R.attendees[i];
    else
      log_info("meeting=%s participant=%s no longer invited; not shown as attending",
               m->id, R.attendees[i].participant);
  }
  R.nattendees = n;
  loop_cancel(R.end_timer);
  left = m->end_ms - (int64_t)wall_ms();
  R.end_timer = loop_after(left > 0 ? (uint64_t)left : 0, on_meeting_end, NULL);
  log_info("meeting=%s changed at ae; display updated (%zu bytes of content)", m->id,
           m->content_len);
  screen_changed();
}

/* The answer of the POSTs /present waiting for participant and m. */
static void answer_waits(const struct meeting *m, const char *participant, int code,
                         const char *why)
{
  for (struct wait *w = R.waits; w; w = w->next)
    if (!w->done && !strcmp(w->meeting, m->id) && !strcmp(w->participant, participant)) {
      w->done = 1;
      w->code = code;
      snprintf(w->why, sizeof w->why, "%s", why ? why : "");
      server_answer_deferred_arg(R.srv, w);
    }
}

static void meeting_fetch(struct meeting *m, int full);

/* A read of m from AE ended: state says how, m->fresh holds the new
 * copy (NULL when nothing changed). */
static void fetch_done(struct meeting *m, enum mstate state)
{
  int code, changed = 0, n;
  const char *why;
  struct meeting *f = m->fresh;

  m->fresh = NULL;
  m->fetched = wall_ms();
  if (state == M_READY && f) {
    meeting_take(m, f);
    changed = 1;
  } else if (state == M_MISSING) {
    meeting_clear_data(m);
  }
  fresh_free(f);
  /* A failed read keeps a good copy on the screen; nobody joins it. */
  if (state != M_FAILED || m->state != M_READY)
    m->state = state;
  if (m == R.shown)
    screen_follow(m, changed);
  n = m->nstarted;
  for (int i = 0; i < n; i++) {
    if (state == M_FAILED) {
      code = 502;
      why = "ae's answer about this meeting was unusable";
      R.refused++;
      log_warn("participant=%s meeting=%s not shown: %s", m->pending[i], m->id, why);
    } else {
      present(m, m->pending[i], &code, &why);
    }
    answer_waits(m, m->pending[i], code, why);
  }
  /* who arrived during this read waits for one that starts now */
  memmove(m->pending, m->pending + n, (size_t)(m->npending - n) * sizeof *m->pending);
  m->npending -= n;
  m->nstarted = 0;
  if (m->npending)
    meeting_fetch(m, 1);
  meetings_prune();
}

static void on_content(void *arg, int code, const uint8_t *body, size_t len)
{
  struct meeting *m = arg, *f = m->fresh;
  char buf[16];

  m->call = NULL;
  if (code / 100 != 2 || len > R.max_content) {
    log_error("meeting=%s content not fetched: %s", m->id,
              code / 100 == 2 ? "larger than --max-content" :
              client_code_text(code, buf, sizeof buf));
    fetch_done(m, code == 404 ? M_MISSING : M_FAILED);
    return;
  }
  f->content = malloc(len + 1);
  if (!f->content) {
    fetch_done(m, M_FAILED);
    return;
  }
  if (len)                          /* an empty content comes as no body */
    memcpy(f->content, body, len);
  f->content[len] = '\0';
  f->content_len = len;
  fetch_done(m, M_READY);
}

static char *dup_field(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

static int parse_meeting(struct meeting *m, const cJSON *o, struct jerr *err)
{
  const char *room, *title, *start, *end;
  const cJSON *parts, *content;

  if (wire_get(o, "room", WIRE_ROOM, JSON_REQUIRED, &room, err) < 0 ||
      wire_get(o, "title", WIRE_NAME, JSON_OPTIONAL, &title, err) < 0 ||
      json_get_string(o, "start", JSON_REQUIRED, WIRE_TIME_MAX, &start, err) < 0 ||
      json_get_string(o, "end", JSON_REQUIRED, WIRE_TIME_MAX, &end, err) < 0)
    return -1;
  if (rfc3339_parse(start, &m->start_ms) < 0 || rfc3339_parse(end, &m->end_ms) < 0) {
    jerr_set(err, "start/end are not RFC 3339 times");
    return -1;
  }
  parts = cJSON_GetObjectItemCaseSensitive(o, "participants");
  if (parts && !cJSON_IsArray(parts)) {
    jerr_set(err, "participants is not an array");
    return -1;
  }
  m->participants = parts ? cJSON_Duplicate(parts, 1) : cJSON_CreateArray();
  m->title = dup_field(o, "title");
  m->room = dup_field(o, "room");
  m->organizer = dup_field(o, "organizer");
  content = cJSON_GetObjectItemCaseSensitive(o, "content");
  if (cJSON_IsString(content)) {
    m->content = strdup(content->valuestring);
    m->content_len = m->content ? strlen(m->content) : 0;
  }
  return 0;
}

static void on_meeting(void *arg, int code, const uint8_t *body, size_t len)
{
  struct meeting *m = arg, *f = m->fresh;
  struct jerr err;
  cJSON *o;
  char buf[16], path[WIRE_ID_MAX + 32];
  struct call_opts co = { 0, 10 * 60 * 1000 };

  m->call = NULL;
  if (code / 100 != 2) {
    log_warn("meeting=%s not fetched from ae: %s", m->id,
             client_code_text(code, buf, sizeof buf));
    fetch_done(m, code == 404 ? M_MISSING : M_FAILED);
    return;
  }
  /* Nothing changed at AE since the last read: the content neither
   * (unless this read is for someone arriving, who gets all of it). */
  if (!m->full && m->state == M_READY && m->raw && strlen(m->raw) == len &&
      !memcmp(m->raw, body, len)) {
    fresh_free(f);
    m->fresh = NULL;
    fetch_done(m, M_READY);
    return;
  }
  o = json_parse_object(body, len, 4 << 20, &err);
  if (!o || parse_meeting(f, o, &err) < 0 || !(f->raw = strndup((const char *)body, len))) {
    log_error("meeting=%s ae's answer is unusable: %s", m->id, o ? err.msg : "out of memory");
    cJSON_Delete(o);
    fetch_done(m, M_FAILED);
    return;
  }
  cJSON_Delete(o);
  if (f->content || strcmp(f->room, R.room)) {
    /* Content at hand, or none needed: this room will not show it. */
    fetch_done(m, M_READY);
    return;
  }
  snprintf(path, sizeof path, "meetings/%s/content", m->id);
  m->call = call_start(R.ae, COAP_REQUEST_GET, path, NULL, 0, &co, on_content, m);
  if (!m->call)
    fetch_done(m, M_FAILED);
}

/* Read m from AE again (full: its content too, changed or not); who is
 * pending now is answered by this read. */
static void meeting_fetch(struct meeting *m, int full)
{
  struct call_opts co = { 0, 10 * 60 * 1000 };
  char path[WIRE_ID_MAX + 16];

  if (m->call)
    return;
  m->fresh = calloc(1, sizeof *m->fresh);
  m->full = full;
  m->nstarted = m->npending;
  R.fetches++;
  snprintf(path, sizeof path, "meetings/%s", m->id);
  if (m->fresh)
    m->call = call_start(R.ae, COAP_REQUEST_GET, path, NULL, 0, &co, on_meeting, m);
  if (!m->call)
    fetch_done(m, M_FAILED);
}

static struct meeting *meeting_new(const char *id)
{
  struct meeting *m = calloc(1, sizeof *m);

  if (!m)
    return NULL;
  snprintf(m->id, sizeof m->id, "%s", id);
  m->next = R.meetings;
  R.meetings = m;
  return m;
}

/* The meeting on the screen is read again every --refresh. */
static void on_refresh(void *arg)
{
  (void)arg;
  R.refresh_timer = loop_after(R.refresh_ms, on_refresh, NULL);
  if (R.shown && !R.shown->call) {
    R.refreshes++;
    meeting_fetch(R.shown, 0);
  }
}

/* ---- resources --------------------------------------------------------- */

static void wait_unlink(struct wait *w)
{
  for (struct wait **pp = &R.waits; *pp; pp = &(*pp)->next)
    if (*pp == w) {
      *pp = w->next;
      return;
    }
}

/* The second call of a deferred POST /present: AE has answered, or
 * PRESENT_WAIT_MS passed first ("pending": the read goes on). */
static void present_answer(struct nano_req *r)
{
  struct wait *w = r->defer_arg;
  cJSON *a;

  wait_unlink(w);
  if (w->done && w->code / 100 != 2) {
    req_reply_error(r, w->code, "%s", w->why);
    free(w);
    return;
  }
  a = cJSON_CreateObject();
  cJSON_AddStringToObject(a, "participant", w->participant);
  cJSON_AddStringToObject(a, "meeting", w->meeting);
  cJSON_AddStringToObject(a, "status", w->done ? "shown" : "pending");
  req_reply_json(r, 204, a);
  free(w);
}

static void post_present(struct nano_req *r)
{
  const char *participant, *meeting;
  struct jerr err;
  struct meeting *m;
  struct wait *w;
  cJSON *o;
  int i;

  if (r->deferred) {
    present_answer(r);
    return;
  }
  if (!(o = req_json(r)))
    return;
  if (wire_get(o, "participant", WIRE_ID, JSON_REQUIRED, &participant, &err) < 0 ||
      wire_get(o, "meeting", WIRE_ID, JSON_REQUIRED, &meeting, &err) < 0) {
    req_reply_error(r, 400, "%s", err.msg);
    cJSON_Delete(o);
    return;
  }
  R.presents++;
  m = meeting_find(meeting);
  if (m && m->npending == MAX_PENDING) {
    req_reply_error(r, 503, "too many participants waiting for meeting %s", meeting);
    cJSON_Delete(o);
    return;
  }
  w = calloc(1, sizeof *w);
  if (!m)
    m = meeting_new(meeting);
  if (m && !m->pending)
    m->pending = calloc(MAX_PENDING, sizeof *m->pending);
  if (!w || !m || !m->pending) {
    free(w);
    if (m && m != R.shown && !m->call && !m->npending)
      meeting_free(m);
    req_reply_error(r, 500, "out of memory");
    cJSON_Delete(o);
    return;
  }
  snprintf(w->participant, sizeof w->participant, "%s", participant);
  snprintf(w->meeting, sizeof w->meeting, "%s", meeting);
  cJSON_Delete(o);
  if (req_defer(r, PRESENT_WAIT_MS, w) < 0) {       /* answered 5.0x */
    free(w);
    meetings_prune();
    return;
  }
  w->next = R.waits;
  R.waits = w;
  /* Someone for another meeting: hide what is shown first, if they may
   * not see it.  For the meeting shown, AE's answer decides. */
  if (m != R.shown)
    hide_for(w->participant);
  for (i = 0; i < m->npending && strcmp(m->pending[i], w->participant); i++)
    ;
  if (i == m->npending)
    snprintf(m->pending[m->npending++], WIRE_ID_MAX + 1, "%s", w->participant);
  else if (i < m->nstarted && m->call) {
    /* pending for the read under way, which may predate this arrival:
     * the next read answers them */
    memmove(m->pending + i, m->pending + i + 1,
            (size_t)(m->npending - i - 1) * sizeof *m->pending);
    m->nstarted--;
    snprintf(m->pending[m->npending - 1], WIRE_ID_MAX + 1, "%s", w->participant);
  }
  meeting_fetch(m, 1);
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
  char ts[40];
  cJSON_AddStringToObject(o, key, rfc3339((uint64_t)ms, ts, sizeof ts));
}

static void get_display(struct nano_req *r)
{
  const struct meeting *m = R.shown;
  cJSON *o = cJSON_CreateObject(), *list;

  cJSON_AddStringToObject(o, "room", R.room);
  if (m) {
    cJSON_AddStringToObject(o, "meeting", m->id);
    cJSON_AddStringToObject(o, "title", m->title ? m->title : "");
    cJSON_AddStringToObject(o, "content", m->content ? m->content : "");
    add_time(o, "start", m->start_ms);
    add_time(o, "end", m->end_ms);
  } else {
    cJSON_AddNullToObject(o, "meeting");
    cJSON_AddNullToObject(o, "title");
    cJSON_AddNullToObject(o, "content");
  }
  list = cJSON_AddArrayToObject(o, "attendees");
  for (int i = 0; i < R.nattendees; i++) {
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "participant", R.attendees[i].participant);
    add_time(a, "shown", (int64_t)R.attendees[i].shown);
    cJSON_AddItemToArray(list, a);
  }
  cJSON_AddBoolToObject(o, "hidden", R.hidden);
  add_time(o, "updated", (int64_t)R.updated);
  req_reply_json(r, 205, o);
}

static void stats_hook(cJSON *o, void *arg)
{
  int n = 0;
  (void)arg;
  for (const struct meeting *m = R.meetings; m; m = m->next)
    n++;
  cJSON_AddNumberToObject(o, "presents", (double)R.presents);
  cJSON_AddNumberToObject(o, "refused", (double)R.refused);
  cJSON_AddNumberToObject(o, "fetches", (double)R.fetches);
  cJSON_AddNumberToObject(o, "refreshes", (double)R.refreshes);
  cJSON_AddNumberToObject(o, "clears", (double)R.clears);
  cJSON_AddNumberToObject(o, "meetings_cached", n);
}

static int health_hook(cJSON *o, void *arg)
{
  cJSON *peers = cJSON_AddObjectToObject(o, "peers");
  (void)arg;
  cJSON_AddItemToObject(peers, "ae", peer_json(R.ae));
  return 1;
}

static const char mrs_usage[] =
  "usage: nano mrs --room ROOM [--ae URI] [options]\n"
  "The meeting room service: what the display in ROOM shows (GET /display).";

/* Who may do what on mrs (with keys; nano mrs --help shows it). */
static const struct access_rule mrs_access[] = {
  { "POST", "present", "mcs" },
  { NULL, NULL, NULL }
};

int cmd_mrs(int argc, char **argv)
{
  struct opt opts[] = {
    ROLE_COMMON_OPTS,
    { "room", OPT_STR, NULL, "the room whose display this is (required)" },
    { "ae", OPT_STR, "coaps://ae", "authentication engine" },
    { "timeout", OPT_STR, "3s", "per request to ae" },
    { "retry-max", OPT_STR, "2s", "cap of the exponential retry backoff" },
    { "max-content", OPT_STR, "4194304", "largest meeting content in bytes" },
    { "refresh", OPT_STR, "5s", "read the meeting on the screen from ae again this often" },
    { 0 }
  };
  struct nano_server *s;
  long long timeout, retry_max, refresh;
  const char *room, *mc, *ae;
  char *end, err[160];
  struct nano_uri u;
  int rc;

  role_set_access(mrs_access);
  rc = role_options("mrs", opts, argc, argv, mrs_usage);

  if (rc >= 0)
    return rc;
  /* Every option before a port is bound: a usage error is exit 2. */
  room = opt_str(opts, "room");
  mc = opt_str(opts, "max-content");
  ae = opt_str(opts, "ae");
  R.max_content = (size_t)strtoull(mc, &end, 10);
  if (!room || wire_check_room(room)) {
    if (room)
      fprintf(stderr, "mrs: --room '%s' %s\n", room, wire_check_room(room));
    else
      fprintf(stderr, "mrs: --room ROOM is required (letters, digits and -_.)\n");
    opt_free(opts);
    return 2;
  }
  if (opt_duration(opts, "timeout", &timeout) < 0 ||
      opt_duration(opts, "retry-max", &retry_max) < 0 ||
      opt_duration(opts, "refresh", &refresh) < 0 ||
      *end || !R.max_content || R.max_content > (64u << 20) ||
      uri_parse(ae, &u, err, sizeof err) < 0 || refresh < 100) {
    fprintf(stderr, "mrs: --max-content 1..64 MiB; --ae coaps://HOST[:PORT]; "
            "--refresh at least 100ms\n");
    opt_free(opts);
    return 2;
  }
  R.refresh_ms = (uint64_t)refresh;
  rc = role_serve("mrs", opts, &s);
  if (rc >= 0)
    return rc;
  snprintf(R.room, sizeof R.room, "%s", room);
  R.srv = s;
  R.ae = peer_new(server_ctx(s), "ae", ae);
  R.attendees = calloc(MAX_ATTENDEES, sizeof *R.attendees);
  if (!R.ae || !R.attendees) {
    log_error("out of memory");
    peer_free(R.ae);
    free(R.attendees);
    role_finish(s, opts);
    return 1;
  }
  peer_set_timeout(R.ae, (unsigned)timeout);
  peer_set_serial(R.ae, 1);       /* contents are block-wise */
  call_set_backoff(retry_max < 250 ? (unsigned)retry_max : 250, (unsigned)retry_max);
  server_route(s, "present", 0, NULL, post_present, NULL, NULL, NULL);
  R.display_res = server_route(s, "display", 1, get_display, NULL, NULL, NULL, NULL);
  server_set_stats_hook(s, stats_hook, NULL);
  server_set_health_hook(s, health_hook, NULL);
  R.updated = wall_ms();
  R.refresh_timer = loop_after(R.refresh_ms, on_refresh, NULL);
  log_info("room=%s refresh_ms=%llu", R.room, (unsigned long long)R.refresh_ms);
  loop_run();
  log_info("stopped");
  loop_cancel(R.end_timer);
  loop_cancel(R.refresh_timer);
  R.shown = NULL;
  while (R.meetings)
    meeting_free(R.meetings);
  peer_free(R.ae);
  free(R.attendees);
  role_finish(s, opts);
  while (R.waits) {             /* deferred answers the server forgot */
    struct wait *w = R.waits;
    R.waits = w->next;
    free(w);
  }
  return 0;
}
