/* ae.c - the Authentication Engine: participants, meetings, invitations
 * and the event log in one SQLite file; answers "who is this BLE id, and
 * may they enter now?" (paper Fig. 3, step d).
 *
 * usage: nano ae [--db PATH] [--seed FILE.json] [--early DUR] [--sync normal|full]
 *                [--events-keep ROWS|AGE] [--backup-dir DIR] [--backup-keep N]
 *                [--backup-interval DUR] [--listen HOST:PORT]
 *
 *   POST /auth {"ble":[addr,...],"location":"entrance"}
 *        -> {"granted":[{"participant","name","meeting","room","end","ble"}],"denied":[addr]}
 *   GET|POST /participants, GET|PUT|DELETE /participants/<id>
 *   GET|POST /meetings, GET|DELETE /meetings/<id>, GET /meetings/<id>/content
 *   GET /events?since=<id>&limit=<n>, POST /backup
 *
 * Every answered write is committed before its answer goes out (WAL;
 * synchronous=NORMAL survives a crash of the process, FULL also a power
 * loss).  Every auth decision is one event row; a request answered 4.xx
 * changes nothing.  The event log keeps --events-keep rows (or an age),
 * trimmed by each write that adds to it.  POST /backup runs at most once
 * per --backup-interval.  SIGTERM: a verified online backup, then exit.
 * A missing or corrupt database at start is restored from the newest
 * valid backup.
 *
 * This file is the role: its resources, one handler per method through
 * server_route's slots, in the order above; the /auth group commit; the
 * seed loader; the options and main.  The rest of ae is beside it (ae.h
 * says which file holds what): the database in store.c, the backups in
 * backup.c, the decision in rule.c.
 */
#include "irk.h"
#include "nano.h"
#include "role.h"
#include "sightings.h"
#include "wire.h"
#include "ae.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ids, names, rooms, locations and times: the limits of src/wire.h. */
#define MEETING_MAX_INVITEES 1000
#define AE_MAX_CONTENT (1024 * 1024)
/* The body limit lets through every JSON encoding of the largest
 * content: inside a JSON string one byte of content takes at most six
 * (\u0001, or \u003c as Go's encoder writes '<'; Python's writes é as
 * \u00e9, three per byte), and the rest of a meeting (1000 invitees of
 * 64 bytes, title, times) fits in 128 KiB.  A content of exactly 1 MiB is
 * thus refused for its size (4.13 naming the content), never for its
 * encoding. */
#define AE_MAX_BODY   (6 * AE_MAX_CONTENT + 128 * 1024)
#define EVENTS_DEFAULT_LIMIT 100
#define EVENTS_MAX_LIMIT 1000
#define SEED_MAX_BYTES (64L * 1024 * 1024)
/* The event log's default bound.  A row costs about 75 bytes on disk
 * (measured: 2.78 million rows in 204 MB), so 100000 rows are ~7.5 MB of
 * database: months of a busy door (a few hundred decisions a day), ample
 * for a reader of GET /events that follows "next", and a flood of
 * /auth (3500 requests/s of 40 unknown addresses here) cannot push the
 * file past that, where without a bound it grew by 10 MB a second. */
#define EVENTS_KEEP_DEFAULT "100000"
#define EVENTS_KEEP_MAX_ROWS 1000000000LL
#define EVENTS_KEEP_MAX_DAYS 3650

static const char ae_usage[] =
  "usage: nano ae [--db PATH] [--seed FILE.json] [--early DUR] [--sync normal|full]\n"
  "               [--group-commit on|off] [--events-keep ROWS|AGE]\n"
  "               [--backup-dir DIR] [--backup-keep N] [--backup-interval DUR]\n"
  "               [--listen HOST:PORT]\n"
  "The Authentication Engine: participants, meetings and the event log in SQLite.\n"
  "POST /auth, /participants, /meetings, /events, /backup (see README).";


/* ---- input validation ----------------------------------------------- */

/* Ids, names, rooms and locations are checked by src/wire.c, the one
 * rule every role applies (ids: RFC 3986 unreserved and sub-delims, ':'
 * and '@').  SQL metacharacters such as ' ; ( ) = * are fine in ids and
 * names: every value is bound, never spliced into SQL. */

/* The <id> of participants/<id> or meetings/<id>: 1 if it is one, else 0
 * after answering 4.00 (a NUL, "ev%00il", must not become "ev"). */
static int uri_id_ok(struct nano_req *r, const char *what, const char *id)
{
  const char *why = wire_check_path_id(id);

  if (why)
    req_reply_error(r, 400, "the %s id in the URI %s", what, why);
  return !why;
}

static int get_id(const cJSON *o, const char *key, int required, const char **out,
                  struct jerr *err)
{
  *out = NULL;
  return wire_get(o, key, WIRE_ID, required, out, err);
}

/* A name, room or location (kind); an optional one may be "" (absent). */
static int get_text(const cJSON *o, const char *key, int required, enum wire_kind kind,
                    const char **out, struct jerr *err)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

  *out = NULL;
  if (!required && cJSON_IsString(v) && v->valuestring && !*v->valuestring)
    return 0;
  return wire_get(o, key, kind, required, out, err);
}

static int get_time(const cJSON *o, const char *key, int64_t *ms, struct jerr *err)
{
  const char *s;

  if (json_get_string(o, key, JSON_REQUIRED, WIRE_TIME_MAX, &s, err) < 0)
    return -1;
  if (rfc3339_parse(s, ms) < 0) {
    jerr_set(err, "field '%s' must be an RFC 3339 time like 2026-11-27T13:00:00Z", key);
    return -1;
  }
  return 0;
}

/* ---- JSON answers (the helpers, put_* and struct jout: ae.h) ---------- */

/* A participant's identities beyond the address (only when there are
 * any), IRKs counted but never shown: an IRK lets whoever holds it follow
 * the phone. */
static void identities_json(struct ae *ae, struct jout *j, cJSON *o, const char *id)
{
  sqlite3_stmt *s = stmt(ae, S_ID_OF);
  cJSON *arr = NULL;
  int irks = 0;

  bind_text(s, 1, id);
  while (sqlite3_step(s) == SQLITE_ROW) {
    const char *kind = col_text(s, 0);
    cJSON *one;
    if (!strcmp(kind, "irk")) {
      irks++;
      continue;
    }
    if (!arr && !(arr = cJSON_AddArrayToObject(o, "identities"))) {
      j->oom = 1;
      break;
    }
    one = put_item(j, arr, cJSON_CreateObject());
    if (one)
      put_str(j, one, kind, col_text(s, 1));
  }
  sqlite3_reset(s);
  if (irks)
    put_num(j, o, "more_irks", irks);
}

static cJSON *participant_json(struct ae *ae, struct jout *j, sqlite3_stmt *row)
{
  cJSON *o = cJSON_CreateObject();

  if (!o) {
    j->oom = 1;
    return NULL;
  }
  put_str(j, o, "id", col_text(row, 0));
  put_str(j, o, "name", col_text(row, 1));
  put_str(j, o, "ble", col_text(row, 2));
  if (sqlite3_column_int(row, 3))
    put_bool(j, o, "irk", 1);
  identities_json(ae, j, o, col_text(row, 0));
  return o;
}

/* row: the MEETING_COLS of one meeting. */
static cJSON *meeting_json(struct ae *ae, struct jout *j, sqlite3_stmt *row)
{
  cJSON *o = cJSON_CreateObject(), *who;
  sqlite3_stmt *s;

  if (!o) {
    j->oom = 1;
    return NULL;
  }
  put_str(j, o, "id", col_text(row, 0));
  put_str(j, o, "title", col_text(row, 1));
  put_str(j, o, "room", col_text(row, 2));
  put_str(j, o, "building", col_text(row, 3));
  put_str(j, o, "organizer", col_text(row, 4));
  put_time(j, o, "start", sqlite3_column_int64(row, 5));
  put_time(j, o, "end", sqlite3_column_int64(row, 6));
  put_num(j, o, "content_format", sqlite3_column_int(row, 7));
  put_num(j, o, "content_bytes", (double)sqlite3_column_int64(row, 8));
  if (!(who = cJSON_AddArrayToObject(o, "participants"))) {
    j->oom = 1;
    return o;
  }
  s = stmt(ae, S_I_OF_MEETING);
  bind_text(s, 1, col_text(row, 0));
  while (sqlite3_step(s) == SQLITE_ROW)
    put_item(j, who, cJSON_CreateString(col_text(s, 0)));
  sqlite3_reset(s);
  return o;
}

static void reply_built(struct nano_req *r, int code, struct jout *j, cJSON *o)
{
  if (j->oom || !o) {
    cJSON_Delete(o);
    req_reply_error(r, 500, "out of memory");
    return;
  }
  req_reply_json(r, code, o);
}

/* ---- participants ------------------------------------------------------ */

#define AE_IDENTITIES_MAX 16        /* beyond the address and its IRK */

struct identity {
  const char *kind;             /* "ble", "irk" or "ibeacon" */
  char text[IBEACON_KEY_MAX];   /* an address or a beacon's key */
  uint8_t irk[16];
};

struct participant {
  const char *id, *name;
  char ble[18];
  uint8_t irk[16];
  int has_irk;
  int has_identities;           /* "identities" given: replace the stored ones */
  int nidentities;
  struct identity identities[AE_IDENTITIES_MAX];
};

/* One element of "identities": {"ble":ADDR}, {"irk":IRK} or
 * {"ibeacon":{"uuid","major","minor"} or "UUID/MAJOR/MINOR"}. */
static int identity_parse(const cJSON *el, struct identity *id, struct jerr *err)
{
  const cJSON *v = cJSON_IsObject(el) && cJSON_GetArraySize(el) == 1 ? el->child : NULL;
  char why[128];

  memset(id, 0, sizeof *id);
  if (!v || !v->string) {
    jerr_set(err, "each of 'identities' is one of {\"ble\":...}, {\"irk\":...}, "
             "{\"ibeacon\":...}");
    return -1;
  }
  if (!strcmp(v->string, "ble")) {
    id->kind = "ble";
    if (cJSON_IsString(v) && wire_ble_normalize(v->valuestring, id->text) == 0)
      return 0;
    jerr_set(err, "an identity's 'ble' must be a BLE address like AA:BB:CC:DD:EE:FF");
  } else if (!strcmp(v->string, "irk")) {
    id->kind = "irk";
    if (cJSON_IsString(v) && irk_parse(v->valuestring, id->irk, why, sizeof why) == 0)
      return 0;
    jerr_set(err, "an identity's 'irk': %s", cJSON_IsString(v) ? why : "must be a string");
  } else if (!strcmp(v->string, "ibeacon")) {
    id->kind = "ibeacon";
    if (ibeacon_key_parse(v, id->text, why, sizeof why) == 0)
      return 0;
    jerr_set(err, "an identity's 'ibeacon': %s", why);
  } else {
    jerr_set(err, "'%.32s' is not a kind of identity (ble, irk, ibeacon)", v->string);
  }
  return -1;
}

static int identities_parse(const cJSON *o, struct participant *p, struct jerr *err)
{
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(o, "identities"), *el;

  if (!list)
    return 0;
  if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > AE_IDENTITIES_MAX) {
    jerr_set(err, "field 'identities' must be an array of at most %d", AE_IDENTITIES_MAX);
    return -1;
  }
  p->has_identities = 1;
  cJSON_ArrayForEach(el, list)
    if (identity_parse(el, &p->identities[p->nidentities++], err) < 0)
      return -1;
  return 0;
}

/* uri_id: the id from the URI (PUT), which the body may repeat. */
static int participant_parse(const cJSON *o, const char *uri_id, struct participant *p,
                             struct jerr *err)
{
  const char *ble, *irk;

  memset(p, 0, sizeof *p);
  if (get_id(o, "id", uri_id ? JSON_OPTIONAL : JSON_REQUIRED, &p->id, err) < 0 ||
      get_text(o, "name", JSON_REQUIRED, WIRE_NAME, &p->name, err) < 0 ||
      json_get_string(o, "ble", JSON_REQUIRED, WIRE_BLE_LEN, &ble, err) < 0)
    return 400;
  if (uri_id && p->id && strcmp(p->id, uri_id)) {
    jerr_set(err, "field 'id' differs from the id in the URI");
    return 400;
  }
  if (uri_id)
    p->id = uri_id;
  if (wire_ble_normalize(ble, p->ble) < 0) {
    jerr_set(err, "field 'ble' must be a BLE address like AA:BB:CC:DD:EE:FF");
    return 400;
  }
  irk = NULL;
  if (json_get_string(o, "irk", JSON_OPTIONAL, WIRE_IRK_TEXT_MAX, &irk, err) < 0)
    return 400;
  if (irk) {
    char why[96];
    if (irk_parse(irk, p->irk, why, sizeof why) < 0) {
      jerr_set(err, "field 'irk': %s, in the specification's byte order", why);
      return 400;
    }
    p->has_irk = 1;
  }
  return identities_parse(o, p, err) < 0 ? 400 : 0;
}

static void identity_bind(sqlite3_stmt *s, int col, const struct identity *id)
{
  if (!strcmp(id->kind, "irk"))
    sqlite3_bind_blob(s, col, id->irk, sizeof id->irk, SQLITE_STATIC);
  else
    bind_text(s, col, id->text);
}

/* Whose identity this is: "" for nobody.  -1 on a database error. */
static int identity_owner(struct ae *ae, const struct identity *id, char owner[WIRE_ID_MAX + 1])
{
  sqlite3_stmt *s = stmt(ae, !strcmp(id->kind, "ble") ? S_P_BY_BLE : S_ID_OWNER);
  int rc;

  if (!strcmp(id->kind, "ble")) {
    bind_text(s, 1, id->text);
  } else {
    bind_text(s, 1, id->kind);
    identity_bind(s, 2, id);
  }
  owner[0] = '\0';
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    snprintf(owner, WIRE_ID_MAX + 1, "%s", col_text(s, 0));
  sqlite3_reset(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Replace p's stored identities by the ones given (inside the
 * transaction that stores p).  An identity that is someone else's is 4.09. */
static int identities_store(struct ae *ae, const struct participant *p, struct jerr *err)
{
  sqlite3_stmt *s;
  char owner[WIRE_ID_MAX + 1];
  int rc;

  if (!p->has_identities)
    return 0;
  s = stmt(ae, S_ID_CLEAR);
  bind_text(s, 1, p->id);
  if (step_done(s) != SQLITE_DONE)
    return db_fail(ae, "identities clear", err);
  for (int i = 0; i < p->nidentities; i++) {
    const struct identity *id = &p->identities[i];
    if (identity_owner(ae, id, owner) < 0)
      return db_fail(ae, "identity owner", err);
    if (*owner && strcmp(owner, p->id))
      return fail(err, 409, "%s %s belongs to participant '%s'", id->kind,
                  strcmp(id->kind, "irk") ? id->text : "(this IRK)", owner);
    /* stored even when it is also the participant's own address or IRK
     * (a later PUT may change those and keep the identities) */
    s = stmt(ae, S_ID_HAS);
    bind_text(s, 1, id->kind);
    identity_bind(s, 2, id);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
      continue;                         /* given twice: stored once */
    if (rc != SQLITE_DONE)
      return db_fail(ae, "identity has", err);
    s = stmt(ae, S_ID_ADD);
    bind_text(s, 1, p->id);
    bind_text(s, 2, id->kind);
    identity_bind(s, 3, id);
    rc = step_done(s);
    if (rc != SQLITE_DONE)
      return db_fail(ae, "identity add", err);
  }
  return 0;
}

/* Store p (inside a transaction).  upsert: replace an existing one;
 * else an existing id is 4.09.  *created says which happened. */
static int participant_store(struct ae *ae, const struct participant *p, int upsert,
                             int *created, struct jerr *err)
{
  sqlite3_stmt *s = stmt(ae, S_P_BY_BLE);
  int rc, found;

  bind_text(s, 1, p->ble);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW && strcmp(col_text(s, 0), p->id)) {
    jerr_set(err, "BLE address %s belongs to participant '%s'", p->ble, col_text(s, 0));
    sqlite3_reset(s);
    return 409;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_fail(ae, "participant ble", err);
  if ((found = exists(ae, S_P_GET, p->id)) < 0)
    return db_fail(ae, "participant get", err);
  if (found && !upsert) {
    jerr_set(err, "participant '%s' exists", p->id);
    return 409;
  }
  *created = !found;
  s = stmt(ae, upsert ? S_P_UPSERT : S_P_INSERT);
  bind_text(s, 1, p->id);
  bind_text(s, 2, p->name);
  bind_text(s, 3, p->ble);
  if (p->has_irk)
    sqlite3_bind_blob(s, 4, p->irk, sizeof p->irk, SQLITE_STATIC);
  rc = step_done(s);
  memset(ae->rpa, 0, sizeof ae->rpa);   /* its IRK may have changed */
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    jerr_set(err, "participant '%s' conflicts with a stored one", p->id);
    return 409;
  }
  if (rc != SQLITE_DONE)
    return db_fail(ae, "participant store", err);
  if ((rc = identities_store(ae, p, err)))
    return rc;
  return event_add(ae, "participant", NULL, p->ble, p->id, NULL, NULL,
                   *created ? "created" : "updated", err);
}

static void reply_participant(struct nano_req *r, int code, const struct participant *p)
{
  struct jout j = { 0 };
  cJSON *o = cJSON_CreateObject();

  if (o) {
    put_str(&j, o, "id", p->id);
    put_str(&j, o, "name", p->name);
    put_str(&j, o, "ble", p->ble);
  }
  reply_built(r, code, &j, o);
}

static void write_participant(struct nano_req *r, const char *uri_id)
{
  struct ae *ae = r->arg;
  struct participant p;
  struct jerr err;
  int code, created = 0;
  cJSON *o = req_json(r);

  if (!o)
    return;
  code = participant_parse(o, uri_id, &p, &err);
  if (!code && !(code = txn_begin(ae, &err)))
    code = txn_end(ae, participant_store(ae, &p, uri_id != NULL, &created, &err), &err);
  if (code)
    req_reply_error(r, code, "%s", err.msg);
  else
    reply_participant(r, created ? 201 : 204, &p);
  log_debug("participant=%s code=%d", p.id ? p.id : "?", r->code);
  cJSON_Delete(o);
}

static void post_participants(struct nano_req *r)
{
  write_participant(r, NULL);
}

static void get_participants(struct nano_req *r)
{
  struct ae *ae = r->arg;
  struct jout j = { 0 };
  cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "participants");
  sqlite3_stmt *s = stmt(ae, S_P_LIST);
  int rc;

  while ((rc = sqlite3_step(s)) == SQLITE_ROW && arr)
    put_item(&j, arr, participant_json(ae, &j, s));
  sqlite3_reset(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    struct jerr err;
    cJSON_Delete(o);
    req_reply_error(r, db_fail(ae, "participant list", &err), "%s", err.msg);
    return;
  }
  if (!arr)
    j.oom = 1;
  reply_built(r, 205, &j, o);
}

/* The <id> of participants/<id>, or NULL after answering 4.04 or 4.00. */
static const char *participant_uri_id(struct nano_req *r)
{
  const char *id = r->tail;

  if (strchr(id, '/')) {
    req_reply_error(r, 404, "no resource /%.200s", r->path);
    return NULL;
  }
  return uri_id_ok(r, "participant", id) ? id : NULL;
}

static void get_participant(struct nano_req *r)
{
  struct ae *ae = r->arg;
  const char *id = participant_uri_id(r);
  struct jout j = { 0 };
  struct jerr err;
  sqlite3_stmt *s;
  int rc;

  if (!id)
    return;
  s = stmt(ae, S_P_GET);
  bind_text(s, 1, id);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    reply_built(r, 205, &j, participant_json(ae, &j, s));
  else if (rc == SQLITE_DONE)
    req_reply_error(r, 404, "no participant '%.64s'", id);
  else
    req_reply_error(r, db_fail(ae, "participant get", &err), "%s", err.msg);
  sqlite3_reset(s);
}

static void put_participant(struct nano_req *r)
{
  const char *id = participant_uri_id(r);

  if (id)
    write_participant(r, id);
}

/* Invitations go with the participant; an organizer stays until their
 * meetings are gone (a meeting keeps its organizer). */
static void delete_participant(struct nano_req *r)
{
  struct ae *ae = r->arg;
  const char *id = participant_uri_id(r);
  struct jerr err;
  sqlite3_stmt *s;
  int rc, code;

  if (!id)
    return;
  code = txn_begin(ae, &err);
  if (!code) {
    s = stmt(ae, S_P_ORGANIZES);
    bind_text(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
      code = fail(&err, 409, "participant '%s' organizes meeting '%s'; delete the meeting first",
                  id, col_text(s, 0));
    else if (rc != SQLITE_DONE)
      code = db_fail(ae, "participant organizes", &err);
    sqlite3_reset(s);
    if (!code) {
      memset(ae->rpa, 0, sizeof ae->rpa);   /* nobody resolves to them now */
      s = stmt(ae, S_P_DELETE);
      bind_text(s, 1, id);
      rc = step_done(s);
      if ((rc & 0xff) == SQLITE_CONSTRAINT)
        code = fail(&err, 409, "participant '%s' is in use", id);
      else if (rc != SQLITE_DONE)
        code = db_fail(ae, "participant delete", &err);
      else if (sqlite3_changes(ae->db) == 0)
        code = fail(&err, 404, "no participant '%.64s'", id);
      else
        code = event_add(ae, "participant", NULL, NULL, id, NULL, NULL, "deleted", &err);
    }
    code = txn_end(ae, code, &err);
  }
  if (code)
    req_reply_error(r, code, "%s", err.msg);
  else
    req_reply(r, 202, 0, NULL, 0);
}

/* ---- meetings ------------------------------------------------------- */

struct meeting {
  const char *id, *title, *room, *building, *organizer;
  int64_t start, end;
  const cJSON *invitees;      /* array of ids, or NULL */
  const char *content;
  size_t content_len;
  int content_format;
  char *owned;                /* content printed from a JSON value */
};

static int meeting_parse(const cJSON *o, struct meeting *m, struct jerr *err)
{
  const cJSON *c, *el;

  memset(m, 0, sizeof *m);
  if (get_id(o, "id", JSON_REQUIRED, &m->id, err) < 0 ||
      get_text(o, "title", JSON_REQUIRED, WIRE_NAME, &m->title, err) < 0 ||
      get_text(o, "room", JSON_REQUIRED, WIRE_ROOM, &m->room, err) < 0 ||
      get_text(o, "building", JSON_OPTIONAL, WIRE_ROOM, &m->building, err) < 0 ||
      get_id(o, "organizer", JSON_OPTIONAL, &m->organizer, err) < 0 ||
      get_time(o, "start", &m->start, err) < 0 || get_time(o, "end", &m->end, err) < 0 ||
      json_get_string_array(o, "participants", JSON_OPTIONAL, MEETING_MAX_INVITEES,
                            (size_t)-1, &m->invitees, err) < 0)
    return 400;
  if (m->end <= m->start) {
    jerr_set(err, "field 'end' must be after 'start'");
    return 400;
  }
  cJSON_ArrayForEach(el, m->invitees) {
    const char *why = wire_check_id(el->valuestring);
    if (why) {
      jerr_set(err, "an item of 'participants' %s", why);
      return 400;
    }
  }
  /* Content: a string (markdown or plain text, served as text/plain)
   * or any JSON value (served as application/json). */
  c = cJSON_GetObjectItemCaseSensitive(o, "content");
  m->content = "";
  if (cJSON_IsString(c)) {
    m->content = c->valuestring;
  } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
    if (!(m->owned = json_print(c))) {
      jerr_set(err, "out of memory");
      return 500;
    }
    m->content = m->owned;
    m->content_format = COAP_MEDIATYPE_APPLICATION_JSON;
  } else if (c && !cJSON_IsNull(c)) {
    jerr_set(err, "field 'content' must be a string, an object or an array");
    return 400;
  }
  m->content_len = strlen(m->content);
  if (m->content_len > AE_MAX_CONTENT) {
    jerr_set(err, "content of %zu bytes exceeds the limit of %d", m->content_len,
             AE_MAX_CONTENT);
    return 413;
  }
  return 0;
}

static int invite(struct ae *ae, const char *participant, const char *meeting,
                  const char *role, struct jerr *err)
{
  sqlite3_stmt *s;
  int found = exists(ae, S_P_GET, participant);

  if (found < 0)
    return db_fail(ae, "participant get", err);
  if (!found) {
    jerr_set(err, "unknown %s '%s'", role, participant);
    return 400;
  }
  s = stmt(ae, S_I_ADD);
  bind_text(s, 1, participant);
  bind_text(s, 2, meeting);
  return step_done(s) == SQLITE_DONE ? 0 : db_fail(ae, "invite", err);
}

/* Store m (inside a transaction) with its invitations; the organizer is
 * invited too (Alice organizes and attends). */
static int meeting_store(struct ae *ae, const struct meeting *m, int upsert, struct jerr *err)
{
  sqlite3_stmt *s;
  const cJSON *el;
  int found = exists(ae, S_M_GET, m->id), rc, code;

  if (found < 0)
    return db_fail(ae, "meeting get", err);
  if (found && !upsert)
    return fail(err, 409, "meeting '%s' exists", m->id);
  if (m->organizer && (rc = exists(ae, S_P_GET, m->organizer)) <= 0)
    return rc < 0 ? db_fail(ae, "organizer get", err)
                  : fail(err, 400, "unknown organizer '%s'", m->organizer);
  s = stmt(ae, upsert ? S_M_UPSERT : S_M_INSERT);
  bind_text(s, 1, m->id);
  bind_text(s, 2, m->title);
  bind_text(s, 3, m->room);
  bind_text(s, 4, m->building);
  bind_text(s, 5, m->organizer);
  sqlite3_bind_int64(s, 6, m->start);
  sqlite3_bind_int64(s, 7, m->end);
  sqlite3_bind_int(s, 8, m->content_format);
  sqlite3_bind_blob64(s, 9, m->content, m->content_len, SQLITE_STATIC);
  rc = step_done(s);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    jerr_set(err, "meeting '%s' conflicts with a stored one", m->id);
    return 409;
  }
  if (rc != SQLITE_DONE)
    return db_fail(ae, "meeting store", err);
  s = stmt(ae, S_I_CLEAR);
  bind_text(s, 1, m->id);
  if (step_done(s) != SQLITE_DONE)
    return db_fail(ae, "invitations clear", err);
  if (m->organizer && (code = invite(ae, m->organizer, m->id, "organizer", err)))
    return code;
  cJSON_ArrayForEach(el, m->invitees)
    if ((code = invite(ae, el->valuestring, m->id, "participant", err)))
      return code;
  return event_add(ae, "meeting", NULL, NULL, m->organizer, m->id, NULL,
                   found ? "updated" : "created", err);
}

static void reply_meeting(struct nano_req *r, int code, const char *id)
{
  struct ae *ae = r->arg;
  struct jout j = { 0 };
  struct jerr err;
  sqlite3_stmt *s = stmt(ae, S_M_GET);
  int rc;

  bind_text(s, 1, id);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    reply_built(r, code, &j, meeting_json(ae, &j, s));
  else if (rc == SQLITE_DONE)
    req_reply_error(r, 404, "no meeting '%.64s'", id);
  else
    req_reply_error(r, db_fail(ae, "meeting get", &err), "%s", err.msg);
  sqlite3_reset(s);
}

static void post_meetings(struct nano_req *r)
{
  struct ae *ae = r->arg;
  struct meeting m;
  struct jerr err;
  int code;
  cJSON *o = req_json(r);

  if (!o)
    return;
  code = meeting_parse(o, &m, &err);
  if (!code && !(code = txn_begin(ae, &err)))
    code = txn_end(ae, meeting_store(ae, &m, 0, &err), &err);
  if (code)
    req_reply_error(r, code, "%s", err.msg);
  else
    reply_meeting(r, 201, m.id);
  free(m.owned);
  cJSON_Delete(o);
}

static void get_meetings(struct nano_req *r)
{
  struct ae *ae = r->arg;
  struct jout j = { 0 };
  cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "meetings");
  sqlite3_stmt *s = stmt(ae, S_M_LIST);
  int rc;

  while ((rc = sqlite3_step(s)) == SQLITE_ROW && arr)
    put_item(&j, arr, meeting_json(ae, &j, s));
  sqlite3_reset(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    struct jerr err;
    cJSON_Delete(o);
    req_reply_error(r, db_fail(ae, "meeting list", &err), "%s", err.msg);
    return;
  }
  if (!arr)
    j.oom = 1;
  reply_built(r, 205, &j, o);
}

#define MEETING_URI_ID 256      /* a tail is shorter than the server's path */

/* The <id> of meetings/<id> or meetings/<id>/content (*content says
 * which); 0, or -1 after answering 4.04 or 4.00. */
static int meeting_uri_id(struct nano_req *r, char id[MEETING_URI_ID], int *content)
{
  const char *slash = strchr(r->tail, '/');
  size_t n = slash ? (size_t)(slash - r->tail) : strlen(r->tail);

  *content = slash && !strcmp(slash, "/content");
  if (n >= MEETING_URI_ID || (slash && !*content)) {
    req_reply_error(r, 404, "no resource /%.200s", r->path);
    return -1;
  }
  memcpy(id, r->tail, n);
  id[n] = '\0';
  return uri_id_ok(r, "meeting", id) ? 0 : -1;
}

static void get_content(struct nano_req *r, const char *id)
{
  struct ae *ae = r->arg;
  struct jerr err;
  sqlite3_stmt *s = stmt(ae, S_M_CONTENT);
  int rc;

  bind_text(s, 1, id);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    uint16_t format = (uint16_t)sqlite3_column_int(s, 1);
    size_t len = (size_t)sqlite3_column_bytes(s, 0);
    /* req_reply copies the body; Block2 when it is larger than a datagram. */
    req_reply(r, 205, format, sqlite3_column_blob(s, 0), len);
  } else if (rc == SQLITE_DONE)
    req_reply_error(r, 404, "no meeting '%.64s'", id);
  else
    req_reply_error(r, db_fail(ae, "meeting content", &err), "%s", err.msg);
  sqlite3_reset(s);
}

/* GET meetings/<id> and meetings/<id>/content */
static void get_meeting(struct nano_req *r)
{
  char id[MEETING_URI_ID];
  int content;

  if (meeting_uri_id(r, id, &content) < 0)
    return;
  if (content)
    get_content(r, id);
  else
    reply_meeting(r, 205, id);
}

static void delete_meeting(struct nano_req *r)
{
  struct ae *ae = r->arg;
  char id[MEETING_URI_ID];
  struct jerr err;
  sqlite3_stmt *s;
  int content, code;

  if (meeting_uri_id(r, id, &content) < 0)
    return;
  if (content) {                /* the content goes with its meeting only */
    req_reply_error(r, 405, "method not allowed on /%.200s", r->path);
    return;
  }
  code = txn_begin(ae, &err);
  if (!code) {
    s = stmt(ae, S_M_DELETE);
    bind_text(s, 1, id);
    if (step_done(s) != SQLITE_DONE)
      code = db_fail(ae, "meeting delete", &err);
    else if (sqlite3_changes(ae->db) == 0)
      code = fail(&err, 404, "no meeting '%.64s'", id);
    else
      code = event_add(ae, "meeting", NULL, NULL, NULL, id, NULL, "deleted", &err);
    code = txn_end(ae, code, &err);
  }
  if (code)
    req_reply_error(r, code, "%s", err.msg);
  else
    req_reply(r, 202, 0, NULL, 0);
}

/* ---- auth ----------------------------------------------------------- */

/* The addresses of the request, checked and upper-cased, each once. */
static int auth_addresses(const cJSON *list, char addrs[][18], int *n, struct jerr *err)
{
  const cJSON *el;
  char one[18];

  *n = 0;
  cJSON_ArrayForEach(el, list) {
    int dup = 0;
    if (wire_ble_normalize(el->valuestring, one) < 0) {
      jerr_set(err, "'%.17s' in 'ble' is not a BLE address like AA:BB:CC:DD:EE:FF",
               el->valuestring);
      return -1;
    }
    for (int i = 0; i < *n && !dup; i++)
      dup = !strcmp(addrs[i], one);
    if (!dup)
      memcpy(addrs[(*n)++], one, sizeof one);
  }
  return 0;
}

/* "ibeacons" (optional): the badge each address carried, checked whole so
 * a malformed one is 4.00 rather than a silent "unknown". */
static int auth_beacons(const cJSON *o, struct auth_req *a, struct jerr *err)
{
  const cJSON *el;
  char key[IBEACON_KEY_MAX], norm[18], why[128];

  a->ibeacons = cJSON_GetObjectItemCaseSensitive(o, "ibeacons");
  if (!a->ibeacons)
    return 0;
  if (!cJSON_IsObject(a->ibeacons) || cJSON_GetArraySize(a->ibeacons) > WIRE_AUTH_MAX) {
    jerr_set(err, "field 'ibeacons' must be an object of at most %d \"ADDR\":beacon",
             WIRE_AUTH_MAX);
    return -1;
  }
  cJSON_ArrayForEach(el, a->ibeacons) {
    if (wire_ble_normalize(el->string, norm) < 0) {
      jerr_set(err, "a key of 'ibeacons' is not a BLE address like AA:BB:CC:DD:EE:FF");
      return -1;
    }
    if (ibeacon_key_parse(el, key, why, sizeof why) < 0) {
      jerr_set(err, "'ibeacons' of %s: %s", norm, why);
      return -1;
    }
  }
  return 0;
}

/* ---- group commit ----------------------------------------------------
 *
 * A decision is answered only once its event row is committed.  One
 * commit per request made the commit most of a decision's cost under
 * load (WAL append, and with --sync full an fsync each).  So when a
 * request is not alone, when more datagrams wait behind it or a group is
 * already open, it joins the group: it is decided in the group's
 * transaction (under its own savepoint, so that its error undoes only
 * its rows) and its answer waits (server.h, req_hold: nothing is sent
 * yet, not even an empty ACK).  At the end of the loop's turn (loop.h:
 * up to 64 queued datagrams later) the group commits once and every
 * answer goes out on its ACK, or 5.00 for all if the commit failed:
 * nothing is answered that is not stored.  A request alone in its turn
 * is decided and committed at once: no wait when the door is quiet. */
#define AUTH_GROUP_MAX 64
/* More than one decision can add to an answer (wire.h: ids, a name of
 * 256 bytes, JSON-escaped, room, time, address) */
#define AUTH_ANSWER_MAX 1024
/* libcoap answers a deferred request by itself after this, should the
 * group never be closed: it always is, at the end of the same turn. */
#define AUTH_GROUP_WAIT_MS 1000

struct auth_wait {
  struct auth_wait *next;
  cJSON *out;                 /* the answer; NULL after an error */
  int code;                   /* the error's code, else 0 */
  char msg[256];
  int n, ngranted, ndenied;
  char location[WIRE_LOCATION_MAX + 1];
  uint64_t t0;
};

static void auth_wait_free(struct auth_wait *w)
{
  cJSON_Delete(w->out);
  free(w);
}

/* Commit the open group and release its answers. */
static void auth_group_close(struct ae *ae)
{
  struct jerr err = { 0 };
  int code;

  if (!ae->batch_open)
    return;
  code = txn_end(ae, 0, &err);
  ae->batch_open = 0;
  ae->batches++;
  ae->batched += (uint64_t)ae->batch_len;
  ae->batch_len = 0;
  while (ae->batch) {
    struct auth_wait *w = ae->batch;
    ae->batch = w->next;
    if (code && !w->code) {
      cJSON_Delete(w->out);
      w->out = NULL;
      w->code = code;
      snprintf(w->msg, sizeof w->msg, "%s", err.msg);
    }
    w->next = ae->waiting;
    ae->waiting = w;
  }
  server_answer_deferred(ae->srv);
}

static void auth_turn_end(void *arg)
{
  auth_group_close(arg);
}

/* Before any other handler: what it reads or writes comes after the
 * group's decisions, committed. */
static void auth_before_request(const struct nano_req *r, void *arg)
{
  if (strcmp(r->path, "auth"))
    auth_group_close(arg);
}

/* Decide a's addresses in the open group, under a savepoint. */
static int auth_group_decide(struct ae *ae, struct auth_req *a, char addrs[][WIRE_BLE_LEN + 1],
                             int n, struct jerr *err)
{
  int code = 0;

  if (!ae->batch_open) {
    if ((code = txn_begin(ae, err)))
      return code;
    ae->batch_open = 1;
  }
  if (step_done(stmt(ae, S_SAVEPOINT)) != SQLITE_DONE)
    return db_fail(ae, "savepoint", err);
  code = auth_building(ae, a, err);
  for (int i = 0; i < n && !code; i++)
    code = auth_decide(ae, a, addrs[i], err);
  if (code && step_done(stmt(ae, S_ROLLBACK_TO)) != SQLITE_DONE)
    log_error("db=%s op=rollback_to error=\"%s\"", ae->db_path, sqlite3_errmsg(ae->db));
  if (step_done(stmt(ae, S_RELEASE)) != SQLITE_DONE && !code)
    code = db_fail(ae, "release", err);
  return code;
}

/* The second call of a request that waited for its group's commit. */
static void auth_answer(struct nano_req *r, struct ae *ae, struct auth_wait *w)
{
  if (ae->batch_open)
    auth_group_close(ae);       /* libcoap's own timeout came first */
  for (struct auth_wait **pp = &ae->waiting; *pp; pp = &(*pp)->next)
    if (*pp == w) {
      *pp = w->next;
      break;
    }
  if (w->code) {
    req_reply_error(r, w->code, "%s", w->msg);
  } else {
    ae->decisions += (uint64_t)w->n;
    ae->granted += (uint64_t)w->ngranted;
    ae->denied += (uint64_t)w->ndenied;
    log_info("auth location=%s granted=%d denied=%d ms=%llu grouped", w->location,
             w->ngranted, w->ndenied, (unsigned long long)(now_ms() - w->t0));
    req_reply_json(r, 205, w->out);
    w->out = NULL;
  }
  auth_wait_free(w);
}

/* Waits never answered (the server is going away): freed. */
static void auth_waits_free(struct ae *ae)
{
  auth_group_close(ae);
  while (ae->waiting) {
    struct auth_wait *w = ae->waiting;
    ae->waiting = w->next;
    auth_wait_free(w);
  }
}

/* Join the group: decide now, answer after the commit. */
static void auth_join_group(struct nano_req *r, struct ae *ae, struct auth_req *a,
                            char addrs[][WIRE_BLE_LEN + 1], int n, cJSON *out, uint64_t t0)
{
  struct auth_wait *w = calloc(1, sizeof *w);
  struct jerr err = { 0 };

  if (!w) {
    cJSON_Delete(out);
    req_reply_error(r, 500, "out of memory");
    return;
  }
  if (req_hold(r, AUTH_GROUP_WAIT_MS, w) < 0) {    /* answered 5.03 or 5.00 */
    cJSON_Delete(out);
    free(w);
    return;
  }
  w->t0 = t0;
  w->n = n;
  snprintf(w->location, sizeof w->location, "%s", a->location);
  w->code = auth_group_decide(ae, a, addrs, n, &err);
  if (w->code) {
    snprintf(w->msg, sizeof w->msg, "%s", err.msg);
    cJSON_Delete(out);
  } else {
    w->out = out;
    w->ngranted = a->ngranted;
    w->ndenied = a->ndenied;
  }
  w->next = ae->batch;
  ae->batch = w;
  if (++ae->batch_len >= AUTH_GROUP_MAX)
    auth_group_close(ae);
}

static void post_auth(struct nano_req *r)
{
  struct ae *ae = r->arg;
  struct auth_req a = { 0 };
  struct jerr err;
  const cJSON *list;
  char addrs[WIRE_AUTH_MAX][WIRE_BLE_LEN + 1];
  int n, code;
  uint64_t t0 = now_ms();
  cJSON *out, *o;

  if (r->deferred) {
    auth_answer(r, ae, r->defer_arg);
    return;
  }
  if (!(o = req_json(r)))
    return;
  if (json_get_string_array(o, "ble", JSON_REQUIRED, WIRE_AUTH_MAX, WIRE_BLE_LEN, &list,
                            &err) < 0 ||
      get_text(o, "location", JSON_REQUIRED, WIRE_LOCATION, &a.location, &err) < 0 ||
      auth_addresses(list, addrs, &n, &err) < 0 || auth_beacons(o, &a, &err) < 0) {
    req_reply_error(r, 400, "%s", err.msg);
    cJSON_Delete(o);
    return;
  }
  /* An answer over one datagram would be refused once made (server.h):
   * refuse before deciding, so that no decision is logged unanswered. */
  if (n > 1 && !req_can_hold(r, (size_t)n * AUTH_ANSWER_MAX)) {
    req_set_max_age(r, 2);
    req_reply_error(r, 503, "busy: too many answers wait for their clients to fetch "
                    "them, try again later or with one address");
    cJSON_Delete(o);
    return;
  }
  out = cJSON_CreateObject();
  a.granted = cJSON_AddArrayToObject(out, "granted");
  a.denied = cJSON_AddArrayToObject(out, "denied");
  a.now = (int64_t)wall_ms();
  if (!a.granted || !a.denied) {
    jerr_set(&err, "out of memory");
    code = 500;
  } else if (ae->batch_open || (ae->group && loop_coap_pending())) {
    auth_join_group(r, ae, &a, addrs, n, out, t0);
    cJSON_Delete(o);
    return;
  } else if (!(code = txn_begin(ae, &err))) {
    code = auth_building(ae, &a, &err);
    for (int i = 0; i < n && !code; i++)
      code = auth_decide(ae, &a, addrs[i], &err);
    code = txn_end(ae, code, &err);
  }
  if (code) {
    cJSON_Delete(out);
    req_reply_error(r, code, "%s", err.msg);
  } else {
    ae->decisions += (uint64_t)n;
    ae->granted += (uint64_t)a.ngranted;
    ae->denied += (uint64_t)a.ndenied;
    log_info("auth location=%s granted=%d denied=%d ms=%llu", a.location, a.ngranted,
             a.ndenied, (unsigned long long)(now_ms() - t0));
    req_reply_json(r, 205, out);
  }
  cJSON_Delete(o);
}

/* ---- events ----------------------------------------------------------- */

static cJSON *event_json(struct jout *j, sqlite3_stmt *row)
{
  static const char *const cols[] = { NULL, NULL, "kind", "location", "ble",
                                      "participant", "meeting", "decision", "detail" };
  cJSON *e = cJSON_CreateObject();

  if (!e) {
    j->oom = 1;
    return NULL;
  }
  put_num(j, e, "id", (double)sqlite3_column_int64(row, 0));
  put_time(j, e, "time", sqlite3_column_int64(row, 1));
  for (int c = 2; c < 9; c++)
    put_str(j, e, cols[c], col_text(row, c));
  return e;
}

static void get_events(struct nano_req *r)
{
  struct ae *ae = r->arg;
  struct jout j = { 0 };
  long long since, limit, next;
  cJSON *o, *arr;
  sqlite3_stmt *s;
  int rc, rows = 0;

  if (req_query_int(r, "since", 0, 0, INT64_MAX / 2, &since) < 0 ||
      req_query_int(r, "limit", EVENTS_DEFAULT_LIMIT, 1, EVENTS_MAX_LIMIT, &limit) < 0)
    return;
  o = cJSON_CreateObject();
  arr = cJSON_AddArrayToObject(o, "events");
  next = since;
  s = stmt(ae, S_E_PAGE);
  sqlite3_bind_int64(s, 1, since);
  sqlite3_bind_int64(s, 2, limit + 1);     /* one more says whether there is more */
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && arr && rows < limit) {
    next = sqlite3_column_int64(s, 0);
    put_item(&j, arr, event_json(&j, s));
    rows++;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    struct jerr err;
    cJSON_Delete(o);
    req_reply_error(r, db_fail(ae, "events", &err), "%s", err.msg);
    return;
  }
  put_num(&j, o, "next", (double)next);
  if (!cJSON_AddBoolToObject(o, "more", rc == SQLITE_ROW))
    j.oom = 1;
  if (!arr)
    j.oom = 1;
  if (rows)
    served_upto(ae, next);
  reply_built(r, 205, &j, o);
}

/* ---- backup resource ------------------------------------------------ */

/* At most one POST /backup per --backup-interval: each copy stalls the
 * loop (1.5 s for 150 MB) and leaves a file, so a client calling it in a
 * loop would keep ae from answering anything else.  Within the interval
 * the answer is 4.29 Too Many Requests (RFC 8516) with Max-Age, the
 * seconds until the next is allowed.  The first refusal of an interval
 * is logged; the others are counted into the next backup's log line.
 * Failed backups count too: they cost the same copy.  Returns 1 when
 * refused (answered). */
static int backup_refuse(struct nano_req *r, struct ae *ae)
{
  uint64_t now = now_ms(), next;
  unsigned secs;
  uint8_t buf[4];

  if (!ae->backup_interval_ms || !ae->backup_started)
    return 0;
  next = ae->backup_at + (uint64_t)ae->backup_interval_ms;
  if (now >= next)
    return 0;
  secs = (unsigned)((next - now + 999) / 1000);
  if (ae->backup_refused++ == 0)
    log_warn("backup refused: the last one started %llu ms ago, --backup-interval is %lld ms; "
             "next allowed in %u s (refusals until then are not logged)",
             (unsigned long long)(now - ae->backup_at), ae->backup_interval_ms, secs);
  coap_add_option(r->response, COAP_OPTION_MAXAGE,
                  coap_encode_var_safe(buf, sizeof buf, secs), buf);
  req_reply_error(r, 429, "a backup was made %llu s ago; the next is allowed in %u s",
                  (unsigned long long)((now - ae->backup_at) / 1000), secs);
  return 1;
}

static void post_backup(struct nano_req *r)
{
  struct ae *ae = r->arg;
  struct jerr err;
  struct jout j = { 0 };
  char name[64];
  long long bytes = 0;
  int code;
  cJSON *o;

  if (backup_refuse(r, ae))
    return;
  if (ae->backup_refused)
    log_info("backup requests refused=%u in the last interval", ae->backup_refused);
  ae->backup_refused = 0;
  ae->backup_at = now_ms();
  ae->backup_started = 1;
  code = backup_write(ae, name, sizeof name, &bytes, &err);
  if (code) {
    req_reply_error(r, code, "%s", err.msg);
    return;
  }
  if (event_add(ae, "backup", NULL, NULL, NULL, NULL, NULL, name, &err))
    log_warn("backup=%s not logged as an event", name);
  o = cJSON_CreateObject();
  if (o) {
    put_str(&j, o, "file", name);
    put_str(&j, o, "path", ae->last_backup);
    put_num(&j, o, "bytes", (double)bytes);
  }
  reply_built(r, 201, &j, o);
}

/* ---- seed --------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long size;

  if (!f)
    return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && size <= SEED_MAX_BYTES &&
      fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1))) {
    *len = fread(buf, 1, (size_t)size, f);
    if (*len != (size_t)size) {
      free(buf);
      buf = NULL;
    }
  } else if (!errno) {
    errno = EFBIG;
  }
  fclose(f);
  return buf;
}

static int seed_items(struct ae *ae, const cJSON *root, const char *key, struct jerr *err,
                      int *count)
{
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, key), *el;
  int i = 0, code = 0, created;

  *count = 0;
  if (!list)
    return 0;
  if (!cJSON_IsArray(list)) {
    jerr_set(err, "'%s' must be an array", key);
    return 400;
  }
  cJSON_ArrayForEach(el, list) {
    struct jerr why;
    if (!cJSON_IsObject(el)) {
      jerr_set(&why, "not an object");
      code = 400;
    } else if (!strcmp(key, "participants")) {
      struct participant p;
      if (!(code = participant_parse(el, NULL, &p, &why)))
        code = participant_store(ae, &p, 1, &created, &why);
    } else {
      struct meeting m;
      if (!(code = meeting_parse(el, &m, &why)))
        code = meeting_store(ae, &m, 1, &why);
      free(m.owned);
    }
    if (code) {
      jerr_set(err, "%s[%d]: %s", key, i, why.msg);
      return code;
    }
    i++;
  }
  *count = i;
  return 0;
}

/* Load participants and meetings, each upserted by id, all or nothing. */
static int seed_load(struct ae *ae, const char *path)
{
  struct jerr err;
  size_t len = 0;
  char *text = read_file(path, &len);
  cJSON *root;
  int np = 0, nm = 0, code;

  if (!text) {
    log_error("seed=%s cannot read: %s", path, strerror(errno));
    return -1;
  }
  root = json_parse_object((const uint8_t *)text, len, (size_t)SEED_MAX_BYTES, &err);
  free(text);
  if (!root) {
    log_error("seed=%s %s", path, err.msg);
    return -1;
  }
  if (!(code = txn_begin(ae, &err))) {
    code = seed_items(ae, root, "participants", &err, &np);
    if (!code)
      code = seed_items(ae, root, "meetings", &err, &nm);
    code = txn_end(ae, code, &err);
  }
  cJSON_Delete(root);
  if (code) {
    log_error("seed=%s not loaded: %s", path, err.msg);
    return -1;
  }
  log_info("seed=%s participants=%d meetings=%d loaded", path, np, nm);
  return 0;
}

/* ---- stats and health --------------------------------------------------- */

static void ae_stats(cJSON *o, void *arg)
{
  struct ae *ae = arg;
  sqlite3_stmt *s = stmt(ae, S_COUNTS);

  if (sqlite3_step(s) == SQLITE_ROW) {
    cJSON_AddNumberToObject(o, "participants", (double)sqlite3_column_int64(s, 0));
    cJSON_AddNumberToObject(o, "meetings", (double)sqlite3_column_int64(s, 1));
    cJSON_AddNumberToObject(o, "last_event", (double)sqlite3_column_int64(s, 2));
    cJSON_AddNumberToObject(o, "first_event", (double)sqlite3_column_int64(s, 3));
    served_upto(ae, sqlite3_column_int64(s, 2));
  }
  sqlite3_reset(s);
  cJSON_AddNumberToObject(o, "events_pruned", (double)ae->events_pruned);
  cJSON_AddNumberToObject(o, "decisions", (double)ae->decisions);
  cJSON_AddNumberToObject(o, "rpa_cache_hits", (double)ae->rpa_hits);
  cJSON_AddNumberToObject(o, "rpa_scans", (double)ae->rpa_scans);
  cJSON_AddNumberToObject(o, "rpa_resolved", (double)ae->rpa_resolved);
  cJSON_AddNumberToObject(o, "granted", (double)ae->granted);
  cJSON_AddNumberToObject(o, "denied", (double)ae->denied);
  /* requests decided in a group commit, and the commits they took */
  cJSON_AddNumberToObject(o, "grouped_requests", (double)ae->batched);
  cJSON_AddNumberToObject(o, "group_commits", (double)ae->batches);
  cJSON_AddStringToObject(o, "db", ae->db_path);
  cJSON_AddStringToObject(o, "sync", ae->sync_full ? "full" : "normal");
  cJSON_AddBoolToObject(o, "group_commit", ae->group);
  if (*ae->last_backup)
    cJSON_AddStringToObject(o, "last_backup", ae->last_backup);
}

static int ae_health(cJSON *o, void *arg)
{
  struct ae *ae = arg;
  int ok = has_row(stmt(ae, S_HEALTH)) == 1;

  cJSON_AddStringToObject(o, "db", ok ? "ok" : "error");
  return ok;
}

/* ---- main -------------------------------------------------------------- */

/* --events-keep: digits alone are a row count ("100000"); with a unit,
 * an age: d (days, here) or s, m, h, ms (the common duration parser). */
static int events_keep_parse(const char *v, struct ae *ae)
{
  size_t n = v ? strlen(v) : 0;
  char *end;
  long long x;

  ae->events_keep_rows = ae->events_keep_ms = 0;
  if (!n || !isdigit((unsigned char)v[0]))
    return -1;
  errno = 0;
  x = strtoll(v, &end, 10);
  if (errno)
    return -1;
  if (!*end) {
    ae->events_keep_rows = x;
    return x >= 1 && x <= EVENTS_KEEP_MAX_ROWS ? 0 : -1;
  }
  ae->events_keep_ms = parse_duration_ms(v);
  return ae->events_keep_ms > 0 &&
         ae->events_keep_ms <= EVENTS_KEEP_MAX_DAYS * 24LL * 3600 * 1000 ? 0 : -1;
}

static int ae_configure(struct ae *ae, struct opt *opts)
{
  const char *sync = opt_str(opts, "sync"), *keep = opt_str(opts, "backup-keep");
  const char *group = opt_str(opts, "group-commit");
  char *end;
  long n;

  ae->db_path = opt_str(opts, "db");
  ae->backup_dir = opt_str(opts, "backup-dir");
  if (!ae->db_path || !*ae->db_path || !ae->backup_dir || !*ae->backup_dir) {
    fprintf(stderr, "ae: --db and --backup-dir must not be empty\n");
    return -1;
  }
  if (strlen(ae->db_path) > PATH_MAX - 64 || strlen(ae->backup_dir) > PATH_MAX - 64) {
    fprintf(stderr, "ae: --db or --backup-dir is too long\n");
    return -1;
  }
  if (strcmp(sync, "normal") && strcmp(sync, "full")) {
    fprintf(stderr, "ae: --sync must be normal or full\n");
    return -1;
  }
  ae->sync_full = !strcmp(sync, "full");
  /* on by default, with either --sync: a grouped answer goes out on the
   * ACK like any other (server.h, req_hold), so grouping costs no
   * datagram, and one commit per group keeps the WAL, and its
   * checkpoints, from stalling everyone (bench/b10-ae.sh: p99 3.3 ms
   * one commit a request, 0.8 ms grouped, 16 clients, --sync normal).
   * "auto", the default of the release before, is "on". */
  if (!strcmp(group, "on") || !strcmp(group, "auto"))
    ae->group = 1;
  else if (!strcmp(group, "off"))
    ae->group = 0;
  else {
    fprintf(stderr, "ae: --group-commit must be on or off\n");
    return -1;
  }
  errno = 0;
  n = strtol(keep, &end, 10);
  if (errno || *end || n < 1 || n > 10000) {
    fprintf(stderr, "ae: --backup-keep must be a number from 1 to 10000\n");
    return -1;
  }
  ae->backup_keep = (int)n;
  if (events_keep_parse(opt_str(opts, "events-keep"), ae) < 0) {
    fprintf(stderr, "ae: --events-keep must be a row count (1 to %lld) or an age "
            "like 30d, 12h, 90m (at most %d days)\n", EVENTS_KEEP_MAX_ROWS,
            EVENTS_KEEP_MAX_DAYS);
    return -1;
  }
  if (opt_duration(opts, "backup-interval", &ae->backup_interval_ms) < 0)
    return -1;
  return opt_duration(opts, "early", &ae->early_ms);
}

static void ae_routes(struct nano_server *s, struct ae *ae)
{
  server_set_max_body(s, AE_MAX_BODY);
  server_route(s, "auth", 0, NULL, post_auth, NULL, NULL, ae);
  server_route(s, "participants", 0, get_participants, post_participants, NULL, NULL, ae);
  server_route(s, "participants/*", 0, get_participant, NULL, put_participant,
               delete_participant, ae);
  server_route(s, "meetings", 0, get_meetings, post_meetings, NULL, NULL, ae);
  server_route(s, "meetings/*", 0, get_meeting, NULL, NULL, delete_meeting, ae);
  server_route(s, "events", 0, get_events, NULL, NULL, NULL, ae);
  server_route(s, "backup", 0, NULL, post_backup, NULL, NULL, ae);
  server_set_stats_hook(s, ae_stats, ae);
  server_set_health_hook(s, ae_health, ae);
  server_set_request_hook(s, auth_before_request, ae);
  ae->srv = s;
  if (ae->group)
    loop_set_turn_end(auth_turn_end, ae);
}

/* SIGTERM (Swarm stopping the task): the request in progress is done,
 * the loop has stopped reading; save a verified backup before exiting. */
static int ae_terminate(struct ae *ae)
{
  struct jerr err;
  char name[64];
  long long bytes;

  if (backup_write(ae, name, sizeof name, &bytes, &err)) {
    log_error("backup before exit failed: %s", err.msg);
    return 1;
  }
  if (event_add(ae, "backup", NULL, NULL, NULL, NULL, NULL, name, &err))
    log_warn("backup=%s not logged as an event", name);
  log_info("backup=%s written before exit", ae->last_backup);
  return 0;
}

/* Who may do what on ae (with keys; nano ae --help shows it): mcs asks
 * for decisions, a room's mrs reads its meetings, the building's admins
 * do everything. */
static const struct access_rule ae_access[] = {
  { "POST", "auth", "mcs" },
  { "GET", "meetings/*", "mrs mrs-*" },
  { "*", "*", "admin admin-*" },
  { NULL, NULL, NULL }
};

static const struct opt ae_opts[] = {
  { "db", OPT_STR, "/data/ae.db", "SQLite database file" },
  { "seed", OPT_STR, NULL, "JSON {\"participants\":[...],\"meetings\":[...]} to load at start (upsert by id)" },
  { "early", OPT_STR, "15m", "how long before a meeting's start its participants are admitted" },
  { "sync", OPT_STR, "normal", "normal: answered writes survive a crash of the process; full: also a power loss (slower)" },
  { "group-commit", OPT_STR, "on", "decide /auth requests that arrive together in one commit: on or off" },
  { "backup-dir", OPT_STR, "/data/backup", "where POST /backup and SIGTERM write verified backups" },
  { "backup-keep", OPT_STR, "5", "how many backups to keep" },
  { "backup-interval", OPT_STR, "60s", "POST /backup at most once per this; sooner is 4.29 (0: no limit)" },
  { "events-keep", OPT_STR, EVENTS_KEEP_DEFAULT, "event log retention: newest ROWS, or an AGE like 30d, 12h, 90m" },
  { 0 }
};

static struct ae ae_state;        /* one role per process */

/* before the port is bound: a usage error starts nothing */
static int ae_role_configure(struct opt *opts)
{
  return ae_configure(&ae_state, opts) < 0 ? 2 : 0;
}

static int ae_start(struct nano_server *s, struct opt *opts)
{
  struct ae *ae = &ae_state;

  if (db_start(ae) < 0 || (opt_str(opts, "seed") && seed_load(ae, opt_str(opts, "seed")) < 0) ||
      events_prune_backlog(ae) < 0) {
    db_close(ae);
    return 1;
  }
  ae_routes(s, ae);
  log_info("db=%s sync=%s group_commit=%s early_ms=%lld events_keep=%s backup_dir=%s "
           "backup_interval_ms=%lld ready", ae->db_path, ae->sync_full ? "full" : "normal",
           ae->group ? "on" : "off", ae->early_ms,
           opt_str(opts, "events-keep"), ae->backup_dir, ae->backup_interval_ms);
  return 0;
}

static int ae_stop(struct nano_server *s)
{
  struct ae *ae = &ae_state;
  int rc;

  /* answers of the last group go out before the backup */
  auth_group_close(ae);
  loop_drain(50);
  loop_set_turn_end(NULL, NULL);
  rc = loop_stopped_by_signal() ? ae_terminate(ae) : 0;
  auth_waits_free(ae);
  db_close(ae);
  log_info("stopped");
  return rc;
}

const struct role ae_role = {
  ae_usage, ae_opts, ae_access, ae_role_configure, ae_start, ae_stop, NULL
};
