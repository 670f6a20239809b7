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
 *
 * The display itself is a web page (src/kiosk.c, --http): every change
 * of the screen goes to its event streams as GET /display's state with
 * the content rendered (src/render.c, once per copy of a meeting).
 */
#include "call.h"
#include "keys.h"
#include "kiosk.h"
#include "nano.h"
#include "render.h"
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
  int content_format;               /* ae's: 0 text (markdown), 50 JSON */
  char *html;                       /* the content as the kiosk shows it */
  const char *format;               /* "markdown", "json" or "text" */
  int64_t start_ms, end_ms;
  cJSON *participants;              /* array of ids */
  char *raw;                        /* AE's meeting JSON, as last read */
  uint64_t fetched;                 /* wall ms */
  /* a read from AE in progress: the new copy, swapped in when whole */
  struct call *call;
  struct meeting *fresh;
  int full;                         /* read the content even if unchanged */
  struct pend *pending;             /* participants waiting for a read */
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
  char *name;                       /* as mcs had it from ae; NULL: unknown */
  uint64_t shown;
};

/* A participant waiting for a read of the meeting, with the name mcs
 * gave ("" if none). */
struct pend {
  char id[WIRE_ID_MAX + 1];
  char name[WIRE_NAME_MAX + 1];
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
  int kiosk;                        /* the page is served (--http) */
  unsigned long presents, refused, fetches, refreshes, clears;
} R;

/* ---- the screen ---------------------------------------------------------- */

static cJSON *display_json(int kiosk);

/* The page's state: every change of the screen goes to its event streams. */
static void kiosk_update(void)
{
  cJSON *o;
  char *json;

  if (!R.kiosk)
    return;
  o = display_json(1);
  json = o ? json_print(o) : NULL;
  if (json)
    kiosk_publish(json, strlen(json));
  else
    log_error("out of memory for the kiosk page's state");
  free(json);
  cJSON_Delete(o);
}

static void screen_changed(void)
{
  R.updated = wall_ms();
  server_notify(R.display_res);
  kiosk_update();
}

static void attendees_clear(void)
{
  for (int i = 0; i < R.nattendees; i++) {
    free(R.attendees[i].name);
    R.attendees[i].name = NULL;
  }
  R.nattendees = 0;
}

/* The content as the page shows it, once per copy of the meeting: a JSON
 * content as tables, a text as markdown (plain text is markdown without
 * markup). */
static void render_content(struct meeting *m)
{
  struct rbuf b = { 0 };
  const char *c = m->content ? m->content : "";

  if (m->html || !R.kiosk)
    return;
  if (m->content_format == COAP_MEDIATYPE_APPLICATION_JSON &&
      render_json(c, m->content_len, &b) == 0) {
    m->format = "json";
  } else if (m->content_format == COAP_MEDIATYPE_TEXT_PLAIN) {
    rbuf_free(&b);
    m->format = "markdown";
    if (render_markdown(c, m->content_len, &b) < 0)
      log_error("meeting=%s content not rendered (out of memory)", m->id);
  } else {
    rbuf_free(&b);
    m->format = "text";
    render_text(c, m->content_len, &b);
  }
  if (b.oom) {
    rbuf_free(&b);
    m->format = "text";
  }
  m->html = b.p ? b.p : strdup("");
}

static void screen_blank(int hidden)
{
  R.shown = NULL;
  attendees_clear();
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

static void screen_show(struct meeting *m, const char *participant, const char *name)
{
  int64_t left;

  if (R.shown != m) {
    R.shown = m;
    attendees_clear();
    render_content(m);
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
    a->name = name && *name ? strdup(name) : NULL;
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
  free(m->html);
  cJSON_Delete(m->participants);
  m->title = m->room = m->organizer = m->content = m->raw = m->html = NULL;
  m->format = NULL;
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
  m->content_format = f->content_format;
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

static void present(struct meeting *m, const char *participant, const char *name,
                    int *code, const char **why)
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
  screen_show(m, participant, name);
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
    if (!refusal(m, R.attendees[i].participant, &code)) {
      R.attendees[n++] = R.attendees[i];
    } else {
      log_info("meeting=%s participant=%s no longer invited; not shown as attending",
               m->id, R.attendees[i].participant);
      free(R.attendees[i].name);
    }
  }
  R.nattendees = n;
  render_content(m);            /* the new copy's content */
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
      log_warn("participant=%s meeting=%s not shown: %s", m->pending[i].id, m->id, why);
    } else {
      present(m, m->pending[i].id, m->pending[i].name, &code, &why);
    }
    answer_waits(m, m->pending[i].id, code, why);
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
  const cJSON *parts, *content, *format;

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
  format = cJSON_GetObjectItemCaseSensitive(o, "content_format");
  m->content_format = cJSON_IsNumber(format) ? format->valueint : 0;
  content = cJSON_GetObjectItemCaseSensitive(o, "content");
  if (cJSON_IsString(content)) {
    m->content = strdup(content->valuestring);
    m->content_len = m->content ? strlen(m->content) : 0;
  } else if (cJSON_IsObject(content) || cJSON_IsArray(content)) {
    m->content = json_print(content);
    m->content_len = m->content ? strlen(m->content) : 0;
    m->content_format = COAP_MEDIATYPE_APPLICATION_JSON;
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
  const char *participant, *meeting, *name = NULL;
  struct jerr err;
  struct meeting *m;
  struct wait *w;
  char nm[WIRE_NAME_MAX + 1];
  cJSON *o;
  int i;

  if (r->deferred) {
    present_answer(r);
    return;
  }
  if (!(o = req_json(r)))
    return;
  if (wire_get(o, "participant", WIRE_ID, JSON_REQUIRED, &participant, &err) < 0 ||
      wire_get(o, "meeting", WIRE_ID, JSON_REQUIRED, &meeting, &err) < 0 ||
      wire_get(o, "name", WIRE_NAME, JSON_OPTIONAL, &name, &err) < 0) {
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
  snprintf(nm, sizeof nm, "%s", name ? name : "");
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
  for (i = 0; i < m->npending && strcmp(m->pending[i].id, w->participant); i++)
    ;
  if (i == m->npending) {
    i = m->npending++;
  } else if (i < m->nstarted && m->call) {
    /* pending for the read under way, which may predate this arrival:
     * the next read answers them */
    memmove(m->pending + i, m->pending + i + 1,
            (size_t)(m->npending - i - 1) * sizeof *m->pending);
    m->nstarted--;
    i = m->npending - 1;
  }
  snprintf(m->pending[i].id, sizeof m->pending[i].id, "%s", w->participant);
  snprintf(m->pending[i].name, sizeof m->pending[i].name, "%s", nm);
  meeting_fetch(m, 1);
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
  char ts[40];
  cJSON_AddStringToObject(o, key, rfc3339((uint64_t)ms, ts, sizeof ts));
}

/* What the screen shows: GET /display, and for the kiosk page the same
 * with the content as HTML ("html", "format") instead of as it came. */
static cJSON *display_json(int kiosk)
{
  const struct meeting *m = R.shown;
  cJSON *o = cJSON_CreateObject(), *list;

  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "room", R.room);
  if (m) {
    cJSON_AddStringToObject(o, "meeting", m->id);
    cJSON_AddStringToObject(o, "title", m->title ? m->title : "");
    if (kiosk) {
      cJSON_AddStringToObject(o, "format", m->format ? m->format : "text");
      cJSON_AddStringToObject(o, "html", m->html ? m->html : "");
    } else {
      cJSON_AddStringToObject(o, "content", m->content ? m->content : "");
    }
    add_time(o, "start", m->start_ms);
    add_time(o, "end", m->end_ms);
  } else {
    cJSON_AddNullToObject(o, "meeting");
    cJSON_AddNullToObject(o, "title");
    cJSON_AddNullToObject(o, kiosk ? "html" : "content");
  }
  list = cJSON_AddArrayToObject(o, "attendees");
  for (int i = 0; i < R.nattendees; i++) {
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "participant", R.attendees[i].participant);
    if (R.attendees[i].name)
      cJSON_AddStringToObject(a, "name", R.attendees[i].name);
    add_time(a, "shown", (int64_t)R.attendees[i].shown);
    cJSON_AddItemToArray(list, a);
  }
  cJSON_AddBoolToObject(o, "hidden", R.hidden);
  add_time(o, "updated", (int64_t)R.updated);
  return o;
}

static void get_display(struct nano_req *r)
{
  cJSON *o = display_json(0);

  if (!o) {
    req_reply_error(r, 500, "out of memory");
    return;
  }
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
  kiosk_stats(o);
}

static int health_hook(cJSON *o, void *arg)
{
  cJSON *peers = cJSON_AddObjectToObject(o, "peers");
  (void)arg;
  cJSON_AddItemToObject(peers, "ae", peer_json(R.ae));
  return 1;
}

static const char mrs_usage[] =
  "usage: nano mrs --room ROOM [--ae URI] [--http HOST:PORT|off] [options]\n"
  "The meeting room service: what the display in ROOM shows (GET /display),\n"
  "and the display itself: a web page for the room's screen (a browser in\n"
  "kiosk mode), http://HOST:PORT/ (GET /, GET /events: server-sent events).\n"
  "On loopback (the default) the page is open to whoever is on the node; on\n"
  "any other address it needs a kiosk token, http://HOST:PORT/?token=TOKEN:\n"
  "--kiosk-token, or the key of the identity kiosk-ROOM in the keys file (its\n"
  "hex digits, as nano keys new printed them); without one mrs does not start.\n"
  "A token given is required on loopback too.";

/* The kiosk page's options, checked before any port is bound: 0 (off
 * leaves c->listen NULL), 2 on a usage error, 1 when the page would be
 * served beyond the node without a token. */
static int kiosk_options(struct opt *opts, const char *room, struct kiosk_config *c,
                         char *token, size_t tokensize)
{
  const char *http = opt_str(opts, "http"), *flag = opt_str(opts, "kiosk-token");
  long long clients = parse_size(opt_str(opts, "http-max-clients"), 1, 256), timeout;
  struct sockaddr_storage sa;
  socklen_t salen;
  int loopback;
  char err[160], id[KEY_ID_MAX + 1];
  const struct psk *k;

  memset(c, 0, sizeof *c);
  if (!http || !strcmp(http, "off"))
    return 0;
  if (kiosk_listen_parse(http, &sa, &salen, &loopback, err, sizeof err) < 0) {
    fprintf(stderr, "mrs: --http %s, or off\n", err);
    return 2;
  }
  if (clients < 0 || opt_duration(opts, "http-timeout", &timeout) < 0 || timeout < 1000) {
    fprintf(stderr, "mrs: --http-max-clients 1..256; --http-timeout at least 1s\n");
    return 2;
  }
  role_identity_of("kiosk", room, id, sizeof id);
  if (flag) {
    size_t n = strlen(flag);
    if (n < 16 || n > 128 || strspn(flag, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789-._~") != n) {
      fprintf(stderr, "mrs: --kiosk-token must be 16 to 128 of A-Z a-z 0-9 -._~\n");
      return 2;
    }
    snprintf(token, tokensize, "%s", flag);
  } else if ((k = role_key(id))) {
    for (size_t i = 0; i < k->key_len && 2 * i + 2 < tokensize; i++)
      snprintf(token + 2 * i, tokensize - 2 * i, "%02x", k->key[i]);
  } else {
    *token = '\0';
  }
  if (!loopback && !*token) {
    fprintf(stderr, "mrs: --http %s is not a loopback address, and the page shows what "
            "meetings hold: give it a kiosk token (--kiosk-token, or a %s line in the keys "
            "file), or serve it on loopback; not starting\n", http, id);
    return 1;
  }
  c->listen = http;
  c->token = *token ? token : NULL;
  c->max_clients = (int)clients;
  c->timeout_ms = (uint64_t)timeout;
  return 0;
}

/* Who may do what on mrs (with keys; nano mrs --help shows it). */
static const struct access_rule mrs_access[] = {
  { "POST", "present", "mcs" },
  { NULL, NULL, NULL }
};

static const struct opt mrs_opts[] = {
  { "room", OPT_STR, NULL, "the room whose display this is (required)" },
  { "ae", OPT_STR, "coaps://ae", "authentication engine" },
  { "timeout", OPT_STR, "3s", "per request to ae" },
  { "retry-max", OPT_STR, "2s", "cap of the exponential retry backoff" },
  { "max-content", OPT_STR, "4194304", "largest meeting content in bytes" },
  { "refresh", OPT_STR, "5s", "read the meeting on the screen from ae again this often" },
  { "http", OPT_STR, "127.0.0.1:8080", "HOST:PORT of the kiosk page (IPv4, [IPv6], localhost), or off" },
  { "http-max-clients", OPT_STR, "8", "HTTP connections at once (1-256); more are closed at once" },
  { "http-timeout", OPT_STR, "30s", "an HTTP client that sends no whole request or takes no data this long is dropped; keep-alive every half" },
  { "kiosk-token", OPT_STR, NULL, "the page's token (16-128 of A-Z a-z 0-9 -._~); default: the key of kiosk-ROOM in the keys file" },
  { 0 }
};

/* What mrs_configure checked, for mrs_start; the token is wiped once
 * the page has its copy. */
static struct {
  long long timeout, retry_max;
  struct kiosk_config kiosk;
  char token[2 * KEY_MAX + 1];
} mrs_conf;

/* Every option before a port is bound: a usage error is exit 2. */
static int mrs_configure(struct opt *opts)
{
  const char *room = opt_str(opts, "room"), *mc = opt_str(opts, "max-content");
  long long refresh;
  char *end, err[160];
  struct nano_uri u;

  R.max_content = (size_t)strtoull(mc, &end, 10);
  if (!room || wire_check_room(room)) {
    if (room)
      fprintf(stderr, "mrs: --room '%s' %s\n", room, wire_check_room(room));
    else
      fprintf(stderr, "mrs: --room ROOM is required (letters, digits and -_.)\n");
    return 2;
  }
  if (opt_duration(opts, "timeout", &mrs_conf.timeout) < 0 ||
      opt_duration(opts, "retry-max", &mrs_conf.retry_max) < 0 ||
      opt_duration(opts, "refresh", &refresh) < 0 ||
      *end || !R.max_content || R.max_content > (64u << 20) ||
      uri_parse(opt_str(opts, "ae"), &u, err, sizeof err) < 0 || refresh < 100) {
    fprintf(stderr, "mrs: --max-content 1..64 MiB; --ae coaps://HOST[:PORT]; "
            "--refresh at least 100ms\n");
    return 2;
  }
  R.refresh_ms = (uint64_t)refresh;
  snprintf(R.room, sizeof R.room, "%s", room);
  return kiosk_options(opts, room, &mrs_conf.kiosk, mrs_conf.token, sizeof mrs_conf.token);
}

static int mrs_start(struct nano_server *s, struct opt *opts)
{
  long long retry_max = mrs_conf.retry_max;
  int rc;

  R.srv = s;
  R.ae = peer_new(server_ctx(s), "ae", opt_str(opts, "ae"));
  R.attendees = calloc(MAX_ATTENDEES, sizeof *R.attendees);
  if (!R.ae || !R.attendees) {
    log_error("out of memory");
    goto fail;
  }
  peer_set_timeout(R.ae, (unsigned)mrs_conf.timeout);
  peer_set_serial(R.ae, 1);       /* contents are block-wise */
  peer_set_backoff(R.ae, retry_max < 250 ? (unsigned)retry_max : 250, (unsigned)retry_max);
  server_route(s, "present", 0, NULL, post_present, NULL, NULL, NULL);
  R.display_res = server_route(s, "display", 1, get_display, NULL, NULL, NULL, NULL);
  server_set_stats_hook(s, stats_hook, NULL);
  server_set_health_hook(s, health_hook, NULL);
  R.updated = wall_ms();
  if (mrs_conf.kiosk.listen) {
    rc = kiosk_start(&mrs_conf.kiosk);
    memset(mrs_conf.token, 0, sizeof mrs_conf.token);
    if (rc < 0)
      goto fail;
    R.kiosk = 1;
    kiosk_update();
  }
  R.refresh_timer = loop_after(R.refresh_ms, on_refresh, NULL);
  log_info("room=%s refresh_ms=%llu", R.room, (unsigned long long)R.refresh_ms);
  return 0;
fail:
  peer_free(R.ae);
  free(R.attendees);
  return 1;
}

static int mrs_stop(struct nano_server *s)
{
  log_info("stopped");
  kiosk_stop();
  loop_cancel(R.end_timer);
  loop_cancel(R.refresh_timer);
  R.shown = NULL;
  attendees_clear();
  while (R.meetings)
    meeting_free(R.meetings);
  peer_free(R.ae);                /* cancels its calls: before the context goes */
  free(R.attendees);
  return 0;
}

/* After the server, which may still have answered a deferred wait. */
static void mrs_cleanup(void)
{
  memset(mrs_conf.token, 0, sizeof mrs_conf.token);
  while (R.waits) {             /* deferred answers the server forgot */
    struct wait *w = R.waits;
    R.waits = w->next;
    free(w);
  }
}

const struct role mrs_role = {
  mrs_usage, mrs_opts, mrs_access, mrs_configure, mrs_start, mrs_stop, mrs_cleanup
};
