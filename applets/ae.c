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
 */
#include "irk.h"
#include "nano.h"
#include "role.h"
#include "sightings.h"
#include "wire.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
#define BACKUP_NAME_LEN 26        /* "ae-20261127T130000.123Z.db" */
/* The event log's default bound.  A row costs about 75 bytes on disk
 * (measured: 2.78 million rows in 204 MB), so 100000 rows are ~7.5 MB of
 * database: months of a busy door (a few hundred decisions a day), ample
 * for a reader of GET /events that follows "next", and a flood of
 * /auth (3500 requests/s of 40 unknown addresses here) cannot push the
 * file past that, where without a bound it grew by 10 MB a second. */
#define EVENTS_KEEP_DEFAULT "100000"
#define EVENTS_KEEP_MAX_ROWS 1000000000LL
#define EVENTS_KEEP_MAX_DAYS 3650
/* How many rows beyond its own a write may trim: a backlog (a lower
 * --events-keep at restart, an age limit after a quiet night) is worked
 * off in steps rather than in one long stall of the loop. */
#define EVENTS_PRUNE_STEP 1000
#define EVENTS_PRUNE_START_STEP 10000
/* The -wal file is checkpointed and reused every ~1000 pages (4 MB);
 * after a larger transaction, or a reader that held a checkpoint back,
 * it is cut back to this size instead of staying at its peak. */
#define WAL_SIZE_LIMIT "8388608"

static const char ae_usage[] =
  "usage: nano ae [--db PATH] [--seed FILE.json] [--early DUR] [--sync normal|full]\n"
  "               [--events-keep ROWS|AGE] [--backup-dir DIR] [--backup-keep N]\n"
  "               [--backup-interval DUR] [--listen HOST:PORT]\n"
  "The Authentication Engine: participants, meetings and the event log in SQLite.\n"
  "POST /auth, /participants, /meetings, /events, /backup (see README).";

/* ---- the schema, migrated forward by PRAGMA user_version ----------- */

/* Each entry moves the schema from version i to i + 1 and sets
 * user_version itself, so no SQL is ever built from strings. */
static const char *const migrations[] = {
  "CREATE TABLE participants("
  "  id TEXT PRIMARY KEY NOT NULL,"
  "  name TEXT NOT NULL,"
  "  ble TEXT NOT NULL UNIQUE,"           /* AA:BB:CC:DD:EE:FF, upper case */
  "  irk BLOB"                            /* identity resolving key, later */
  ") STRICT;"
  "CREATE TABLE meetings("
  "  id TEXT PRIMARY KEY NOT NULL,"
  "  title TEXT NOT NULL,"
  "  room TEXT NOT NULL,"
  "  building TEXT,"
  "  organizer TEXT REFERENCES participants(id),"
  "  start_ms INTEGER NOT NULL,"
  "  end_ms INTEGER NOT NULL CHECK (end_ms > start_ms),"
  "  content_format INTEGER NOT NULL DEFAULT 0,"
  "  content BLOB NOT NULL DEFAULT x''"  /* last: listings never read it */
  ") STRICT;"
  "CREATE INDEX meetings_organizer ON meetings(organizer);"
  "CREATE INDEX meetings_building ON meetings(building);"  /* the building rule */
  "CREATE INDEX meetings_room ON meetings(room, start_ms);"
  "CREATE TABLE invitations("
  "  participant TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,"
  "  meeting TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,"
  "  PRIMARY KEY (participant, meeting)"
  ") STRICT, WITHOUT ROWID;"
  "CREATE INDEX invitations_meeting ON invitations(meeting);"
  /* The log keeps names, not references: it outlives what it names.
   * No AUTOINCREMENT: events are never deleted from the top (retention
   * trims the oldest and always keeps the newest), so ids still only
   * grow, and each commit writes one page less. */
  "CREATE TABLE events("
  "  id INTEGER PRIMARY KEY,"
  "  time_ms INTEGER NOT NULL,"
  "  kind TEXT NOT NULL,"
  "  location TEXT, ble TEXT, participant TEXT, meeting TEXT,"
  "  decision TEXT, detail TEXT"
  ") STRICT;"
  "PRAGMA user_version = 1;",
  /* More identities than the one address: other addresses (a second
   * phone, a watch), more IRKs, badge beacons (iBeacon UUID/major/minor,
   * sightings.h's key).  Each identity is one participant's. */
  "CREATE TABLE identities("
  "  participant TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,"
  "  kind TEXT NOT NULL CHECK (kind IN ('ble', 'irk', 'ibeacon')),"
  "  value ANY NOT NULL,"                 /* text; the IRK a 16-byte blob */
  "  PRIMARY KEY (kind, value)"
  /* a rowid table: SQLite 3.40's integrity_check, which every backup
   * runs, reports false NULLs in a WITHOUT ROWID one with this index */
  ") STRICT;"
  "CREATE INDEX identities_participant ON identities(participant);"
  "PRAGMA user_version = 2;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof *migrations))

/* ---- prepared statements -------------------------------------------- */

enum stmt_id {
  S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
  S_P_GET, S_P_LIST, S_P_BY_BLE, S_P_INSERT, S_P_UPSERT, S_P_DELETE, S_P_ORGANIZES,
  S_P_IRKS, S_P_BY_BEACON, S_ID_OWNER, S_ID_HAS, S_ID_ADD, S_ID_CLEAR, S_ID_OF,
  S_M_GET, S_M_LIST, S_M_INSERT, S_M_UPSERT, S_M_DELETE, S_M_CONTENT,
  S_I_ADD, S_I_CLEAR, S_I_OF_MEETING,
  S_LOC_IS_BUILDING, S_ROOM_BUILDING, S_AUTH_PICK, S_AUTH_NEXT, S_AUTH_ANY,
  S_E_ADD, S_E_PAGE, S_E_BOUNDS, S_E_FIRST_NEWER, S_E_PRUNE, S_COUNTS, S_HEALTH,
  S_COUNT_OF_STMTS
};

#define MEETING_COLS "id, title, room, building, organizer, start_ms, end_ms, " \
                     "content_format, length(content)"

static const char *const stmt_sql[S_COUNT_OF_STMTS] = {
  [S_BEGIN] = "BEGIN IMMEDIATE",
  [S_COMMIT] = "COMMIT",
  [S_ROLLBACK] = "ROLLBACK",
  /* one request's part of a group commit, undone alone on its error */
  [S_SAVEPOINT] = "SAVEPOINT auth",
  [S_RELEASE] = "RELEASE auth",
  [S_ROLLBACK_TO] = "ROLLBACK TO auth",
  [S_P_GET] = "SELECT id, name, ble, irk IS NOT NULL FROM participants WHERE id = ?1",
  [S_P_LIST] = "SELECT id, name, ble, irk IS NOT NULL FROM participants ORDER BY id",
  /* whose address: the participant's own, or one of their identities */
  [S_P_BY_BLE] = "SELECT id, name FROM participants WHERE ble = ?1 UNION ALL "
                 "SELECT p.id, p.name FROM identities i JOIN participants p "
                 "ON p.id = i.participant WHERE i.kind = 'ble' AND i.value = ?1 LIMIT 1",
  [S_P_INSERT] = "INSERT INTO participants(id, name, ble, irk) VALUES (?1, ?2, ?3, ?4)",
  /* An upsert keeps the IRK when none is given: GET never shows it, so a
   * read-modify-PUT must not erase it. */
  [S_P_UPSERT] = "INSERT INTO participants(id, name, ble, irk) VALUES (?1, ?2, ?3, ?4) "
                 "ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                 "ble = excluded.ble, irk = coalesce(excluded.irk, irk)",
  [S_P_DELETE] = "DELETE FROM participants WHERE id = ?1",
  /* every IRK, to resolve an address no participant has (irk.h) */
  [S_P_IRKS] = "SELECT id, name, irk FROM participants WHERE irk IS NOT NULL UNION ALL "
               "SELECT p.id, p.name, i.value FROM identities i JOIN participants p "
               "ON p.id = i.participant WHERE i.kind = 'irk'",
  [S_P_BY_BEACON] = "SELECT p.id, p.name FROM identities i JOIN participants p "
                    "ON p.id = i.participant WHERE i.kind = 'ibeacon' AND i.value = ?1",
  [S_ID_OWNER] = "SELECT participant FROM identities WHERE kind = ?1 AND value = ?2 "
                 "UNION ALL SELECT id FROM participants WHERE ?1 = 'irk' AND irk = ?2 LIMIT 1",
  [S_ID_HAS] = "SELECT 1 FROM identities WHERE kind = ?1 AND value = ?2",
  [S_ID_ADD] = "INSERT INTO identities(participant, kind, value) VALUES (?1, ?2, ?3)",
  [S_ID_CLEAR] = "DELETE FROM identities WHERE participant = ?1",
  [S_ID_OF] = "SELECT kind, value FROM identities WHERE participant = ?1 ORDER BY kind, value",
  [S_P_ORGANIZES] = "SELECT id FROM meetings WHERE organizer = ?1 ORDER BY id LIMIT 1",
  [S_M_GET] = "SELECT " MEETING_COLS " FROM meetings WHERE id = ?1",
  [S_M_LIST] = "SELECT " MEETING_COLS " FROM meetings ORDER BY start_ms, id",
  [S_M_INSERT] = "INSERT INTO meetings(id, title, room, building, organizer, start_ms, "
                 "end_ms, content_format, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
  [S_M_UPSERT] = "INSERT INTO meetings(id, title, room, building, organizer, start_ms, "
                 "end_ms, content_format, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                 "ON CONFLICT(id) DO UPDATE SET title = excluded.title, room = excluded.room, "
                 "building = excluded.building, organizer = excluded.organizer, "
                 "start_ms = excluded.start_ms, end_ms = excluded.end_ms, "
                 "content_format = excluded.content_format, content = excluded.content",
  [S_M_DELETE] = "DELETE FROM meetings WHERE id = ?1",
  [S_M_CONTENT] = "SELECT content, content_format FROM meetings WHERE id = ?1",
  [S_I_ADD] = "INSERT OR IGNORE INTO invitations(participant, meeting) VALUES (?1, ?2)",
  [S_I_CLEAR] = "DELETE FROM invitations WHERE meeting = ?1",
  [S_I_OF_MEETING] = "SELECT participant FROM invitations WHERE meeting = ?1 "
                     "ORDER BY participant",
  [S_LOC_IS_BUILDING] = "SELECT 1 FROM meetings WHERE building = ?1 LIMIT 1",
  /* A room's building, from the meetings admitting now in it only (a
   * meeting for tomorrow or one that ended never decides today): a row
   * when the location is such a room, its building NULL when none of
   * them names one; the earliest start first, as the pick orders. */
  [S_ROOM_BUILDING] = "SELECT building FROM meetings WHERE room = ?1 "
                      "AND start_ms - ?2 <= ?3 AND ?3 < end_ms "
                      "ORDER BY building IS NULL, start_ms, id LIMIT 1",
  /* The building rule (README): meetings on now the participant is
   * invited to, in the location's building (or without a building); one
   * in the location's own room first, then the earliest start. */
  [S_AUTH_PICK] = "SELECT m.id, m.room, m.end_ms FROM invitations i JOIN meetings m ON m.id = i.meeting "
                  "WHERE i.participant = ?1 AND m.start_ms - ?2 <= ?3 AND ?3 < m.end_ms "
                  "AND (?4 IS NULL OR m.building IS NULL OR m.building = ?4) "
                  "ORDER BY m.room = ?5 DESC, m.start_ms, m.id LIMIT 1",
  /* Why not: the next meeting that has not ended. */
  [S_AUTH_NEXT] = "SELECT m.id, m.start_ms, m.building FROM invitations i "
                  "JOIN meetings m ON m.id = i.meeting "
                  "WHERE i.participant = ?1 AND m.end_ms > ?2 "
                  "ORDER BY m.start_ms, m.id LIMIT 1",
  [S_AUTH_ANY] = "SELECT 1 FROM invitations WHERE participant = ?1 LIMIT 1",
  /* ?9 NULL: the next id (the largest + 1); else that id (a jump) */
  [S_E_ADD] = "INSERT INTO events(id, time_ms, kind, location, ble, participant, meeting, "
              "decision, detail) VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
  [S_E_PAGE] = "SELECT id, time_ms, kind, location, ble, participant, meeting, decision, "
               "detail FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
  /* Retention works on id ranges of the rowid b-tree: min() and max()
   * are one descent each (as two subqueries; min(id), max(id) in one
   * SELECT would scan), the age test reads only the ids it may delete. */
  [S_E_BOUNDS] = "SELECT (SELECT min(id) FROM events), (SELECT max(id) FROM events)",
  [S_E_FIRST_NEWER] = "SELECT id FROM events WHERE id BETWEEN ?1 AND ?2 AND time_ms >= ?3 "
                      "ORDER BY id LIMIT 1",
  [S_E_PRUNE] = "DELETE FROM events WHERE id <= ?1",
  [S_COUNTS] = "SELECT (SELECT count(*) FROM participants), (SELECT count(*) FROM meetings), "
               "(SELECT coalesce(max(id), 0) FROM events), "
               "(SELECT coalesce(min(id), 0) FROM events)",
  [S_HEALTH] = "SELECT 1",
};

#define AE_RPA_CACHE 512            /* addresses resolved lately */
#define AE_RPA_FORGET_MS (30 * 60 * 1000)   /* one not seen that long goes */

struct ae {
  sqlite3 *db;
  sqlite3_stmt *stmt[S_COUNT_OF_STMTS];
  const char *db_path;
  const char *backup_dir;
  int backup_keep;
  int sync_full;
  long long early_ms;
  long long events_keep_rows;   /* --events-keep as a row count, or 0 */
  long long events_keep_ms;     /* --events-keep as an age, or 0 */
  long long events_added;       /* rows added in the open transaction */
  uint64_t events_pruned;
  long long served;             /* the highest event id a reader was given */
  long long id_floor;           /* the next event's id, when it must jump */
  int served_warned;            /* events-served could not be written */
  long long backup_interval_ms; /* 0: POST /backup is not limited */
  uint64_t backup_at;           /* now_ms() of the last POST /backup */
  int backup_started;           /* backup_at is set */
  unsigned backup_refused;      /* 4.29s since backup_at */
  uint64_t decisions, granted, denied;
  char last_backup[PATH_MAX + 64];
  /* Resolvable private addresses resolved lately, and to whom: a phone
   * keeps one for about 15 minutes, so most /auth of an RPA after the
   * first is a cache hit, not a scan of every IRK.  Emptied whenever a
   * participant is written (an IRK changed, someone was deleted). */
  struct rpa_seen {
    char ble[18];
    char participant[WIRE_ID_MAX + 1];
    uint64_t seen_ms;
  } rpa[AE_RPA_CACHE];
  uint64_t rpa_hits, rpa_scans, rpa_resolved;
  /* The group commit (see "auth"): the /auth requests decided in the
   * open transaction, answered when it commits. */
  struct nano_server *srv;
  struct auth_wait *batch;      /* decided, not committed yet */
  int batch_open, batch_len;
  struct auth_wait *waiting;    /* committed (or failed), not answered */
  uint64_t batches, batched;    /* group commits, and the requests in them */
};

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

/* "aa:bb:cc:dd:ee:ff" in any case -> "AA:BB:CC:DD:EE:FF"; -1 if not one. */
static int ble_normalize(const char *in, char out[18])
{
  if (strlen(in) != 17)
    return -1;
  for (int i = 0; i < 17; i++) {
    unsigned char c = (unsigned char)in[i];
    if (i % 3 == 2) {
      if (c != ':')
        return -1;
      out[i] = ':';
    } else {
      if (!isxdigit(c))
        return -1;
      out[i] = (char)toupper(c);
    }
  }
  out[17] = '\0';
  return 0;
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

/* ---- SQLite helpers -------------------------------------------------- */

/* A statement ready for new bindings. */
static sqlite3_stmt *stmt(struct ae *ae, enum stmt_id id)
{
  sqlite3_stmt *s = ae->stmt[id];
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
  if (v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
  return (const char *)sqlite3_column_text(s, i);
}

/* err says why; returns code, so error paths read "return fail(...)". */
static int fail(struct jerr *err, int code, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
static int fail(struct jerr *err, int code, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}

/* A database failure: logged in full, answered 5.00 in short. */
static int db_fail(struct ae *ae, const char *what, struct jerr *err)
{
  log_error("db=%s op=%s error=\"%s\"", ae->db_path, what, sqlite3_errmsg(ae->db));
  jerr_set(err, "database error");
  return 500;
}

/* Run a statement that returns no rows; SQLITE_DONE or the error code. */
static int step_done(sqlite3_stmt *s)
{
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

/* 1 if the query bound to s has a row (s is reset), 0 if not, -1 on error. */
static int has_row(sqlite3_stmt *s)
{
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int exists(struct ae *ae, enum stmt_id id, const char *key)
{
  sqlite3_stmt *s = stmt(ae, id);
  bind_text(s, 1, key);
  return has_row(s);
}

/* Delete the oldest events beyond --events-keep, at most limit rows;
 * returns how many went, or -1 after logging a database error.  Only
 * ids are compared: the oldest rows are the first keys of the table's
 * rowid b-tree, so this reads the rows it deletes and a few pages more,
 * never the whole log, and needs no index.  The newest row always stays,
 * so ids keep growing and a reader's since= keeps its meaning.  An age
 * limit takes ids for time order (a clock stepped back keeps some rows
 * longer, never deletes a newer one early). */
static long long events_prune(struct ae *ae, long long limit)
{
  sqlite3_stmt *s = stmt(ae, S_E_BOUNDS);
  long long lo, hi, cut;
  int rc = sqlite3_step(s);

  if (rc != SQLITE_ROW) {
    sqlite3_reset(s);
    goto fail;
  }
  if (sqlite3_column_type(s, 0) == SQLITE_NULL) {    /* no events */
    sqlite3_reset(s);
    return 0;
  }
  lo = sqlite3_column_int64(s, 0);
  hi = sqlite3_column_int64(s, 1);
  sqlite3_reset(s);
  cut = hi - 1 < lo + limit - 1 ? hi - 1 : lo + limit - 1;   /* the last id that may go */
  if (ae->events_keep_rows && hi - ae->events_keep_rows < cut)
    cut = hi - ae->events_keep_rows;
  if (ae->events_keep_ms && cut >= lo) {
    s = stmt(ae, S_E_FIRST_NEWER);
    sqlite3_bind_int64(s, 1, lo);
    sqlite3_bind_int64(s, 2, cut);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)wall_ms() - ae->events_keep_ms);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
      cut = sqlite3_column_int64(s, 0) - 1;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      goto fail;
  }
  if (cut < lo)
    return 0;
  s = stmt(ae, S_E_PRUNE);
  sqlite3_bind_int64(s, 1, cut);
  if (step_done(s) != SQLITE_DONE)
    goto fail;
  ae->events_pruned += (uint64_t)sqlite3_changes(ae->db);
  return sqlite3_changes(ae->db);
fail:
  log_error("db=%s op=events_prune error=\"%s\"", ae->db_path, sqlite3_errmsg(ae->db));
  return -1;
}

static int txn_begin(struct ae *ae, struct jerr *err)
{
  ae->events_added = 0;
  return step_done(stmt(ae, S_BEGIN)) == SQLITE_DONE ? 0 : db_fail(ae, "begin", err);
}

/* Commit when code is 0 (else roll back); returns code, or 500 when the
 * commit failed, so that nothing is answered 2.xx that is not stored.
 * A write that added events trims the log in the same commit; a failed
 * trim is logged and rolled back on its own (SQLite undoes the one
 * statement), and the write still counts. */
static int txn_end(struct ae *ae, int code, struct jerr *err)
{
  if (code == 0 && ae->events_added)
    events_prune(ae, ae->events_added + EVENTS_PRUNE_STEP);
  ae->events_added = 0;
  if (code == 0 && step_done(stmt(ae, S_COMMIT)) == SQLITE_DONE)
    return 0;
  if (code == 0)
    code = db_fail(ae, "commit", err);
  if (sqlite3_get_autocommit(ae->db) == 0 && step_done(stmt(ae, S_ROLLBACK)) != SQLITE_DONE)
    log_error("db=%s op=rollback error=\"%s\"", ae->db_path, sqlite3_errmsg(ae->db));
  return code;
}

static int event_add(struct ae *ae, const char *kind, const char *location,
                     const char *ble, const char *participant, const char *meeting,
                     const char *decision, const char *detail, struct jerr *err)
{
  sqlite3_stmt *s = stmt(ae, S_E_ADD);

  sqlite3_bind_int64(s, 1, (sqlite3_int64)wall_ms());
  bind_text(s, 2, kind);
  bind_text(s, 3, location);
  bind_text(s, 4, ble);
  bind_text(s, 5, participant);
  bind_text(s, 6, meeting);
  bind_text(s, 7, decision);
  bind_text(s, 8, detail);
  if (ae->id_floor)
    sqlite3_bind_int64(s, 9, ae->id_floor);
  if (step_done(s) != SQLITE_DONE)
    return db_fail(ae, "event", err);
  ae->id_floor = 0;
  ae->events_added++;
  /* outside a transaction (a backup, a restore): trimmed at once */
  if (sqlite3_get_autocommit(ae->db)) {
    events_prune(ae, ae->events_added + EVENTS_PRUNE_STEP);
    ae->events_added = 0;
  }
  return 0;
}

/* A pragma or check whose only good answer is one row "ok". */
static int check_ok(sqlite3 *db, const char *sql, char *why, size_t size)
{
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL), rows = 0, ok = 0;

  if (rc != SQLITE_OK) {
    snprintf(why, size, "%s", sqlite3_errmsg(db));
    return -1;
  }
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *t = col_text(s, 0);
    if (rows++ == 0) {
      ok = t && !strcmp(t, "ok");
      snprintf(why, size, "%s", t ? t : "?");
    }
  }
  if (rc != SQLITE_DONE) {
    snprintf(why, size, "%s", sqlite3_errmsg(db));
    ok = 0;
  }
  sqlite3_finalize(s);
  return ok && rows == 1 ? 0 : -1;
}

static int user_version(sqlite3 *db, int *v)
{
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);

  if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
    *v = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  return rc == SQLITE_ROW ? 0 : -1;
}

/* ---- files ------------------------------------------------------------ */

static int fsync_path(const char *path, int is_dir)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | (is_dir ? O_DIRECTORY : 0));
  int rc;

  if (fd < 0)
    return -1;
  rc = fsync(fd);
  close(fd);
  return rc;
}

static void dir_of(const char *path, char *out, size_t size)
{
  const char *slash = strrchr(path, '/');

  if (!slash)
    snprintf(out, size, ".");
  else if (slash == path)
    snprintf(out, size, "/");
  else
    snprintf(out, size, "%.*s", (int)(slash - path), path);
}

static int mkdir_p(const char *dir)
{
  char buf[PATH_MAX];
  struct stat st;

  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
    return -1;
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -1;
      *p = '/';
    }
  if (mkdir(buf, 0755) < 0 && errno != EEXIST)
    return -1;
  return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* Rename path to path.REASON-TIMESTAMP if it exists (kept for a person
 * to look at, never deleted). */
static void move_aside(const char *path, const char *reason, const char *stamp)
{
  char to[PATH_MAX + 64];

  if (access(path, F_OK) != 0)
    return;
  snprintf(to, sizeof to, "%s.%s-%s", path, reason, stamp);
  if (rename(path, to) == 0)
    log_warn("file=%s moved_to=%s", path, to);
  else
    log_error("file=%s cannot move aside: %s", path, strerror(errno));
}

static void move_db_aside(const char *db_path, const char *reason)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
  char stamp[40], path[PATH_MAX + 16];
  time_t t = time(NULL);
  struct tm tm;

  gmtime_r(&t, &tm);
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
    snprintf(path, sizeof path, "%s%s", db_path, suffixes[i]);
    move_aside(path, reason, stamp);
  }
}

/* ---- backups ----------------------------------------------------------- */

static void backup_name(uint64_t ms, char *buf, size_t size)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;

  gmtime_r(&t, &tm);
  snprintf(buf, size, "ae-%04d%02d%02dT%02d%02d%02d.%03dZ.db", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static int is_backup_name(const char *name)
{
  size_t n = strlen(name);
  return n == BACKUP_NAME_LEN && !strncmp(name, "ae-", 3) && !strcmp(name + n - 3, ".db");
}

static int cmp_names_desc(const void *a, const void *b)
{
  return strcmp(*(char *const *)b, *(char *const *)a);
}

/* The backups in dir, newest first (their names sort by time). */
static int backup_list(const char *dir, char ***out)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  char **names = NULL;
  int n = 0, cap = 0;

  *out = NULL;
  if (!d)
    return errno == ENOENT ? 0 : -1;
  while ((e = readdir(d))) {
    if (!is_backup_name(e->d_name))
      continue;
    if (n == cap) {
      char **more = realloc(names, (size_t)(cap = cap ? cap * 2 : 16) * sizeof *names);
      if (!more)
        break;
      names = more;
    }
    if (!(names[n] = strdup(e->d_name)))
      break;
    n++;
  }
  closedir(d);
  if (n)
    qsort(names, (size_t)n, sizeof *names, cmp_names_desc);
  *out = names;
  return n;
}

static void names_free(char **names, int n)
{
  for (int i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

static void backup_prune(struct ae *ae)
{
  char **names, path[PATH_MAX + 32];
  int n = backup_list(ae->backup_dir, &names);

  for (int i = ae->backup_keep; i < n; i++) {
    snprintf(path, sizeof path, "%s/%s", ae->backup_dir, names[i]);
    if (unlink(path) == 0)
      log_info("backup=%s pruned", path);
  }
  names_free(names, n > 0 ? n : 0);
}

/* Copy src's main database into a new file at path with the online
 * backup API (readers and the one writer may go on), in rollback-journal
 * mode so the copy is one self-contained file. */
static int copy_database(sqlite3 *src, const char *path, char *why, size_t size)
{
  sqlite3 *dst = NULL;
  sqlite3_backup *b;
  int rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

  if (rc != SQLITE_OK) {
    snprintf(why, size, "open %s: %s", path, dst ? sqlite3_errmsg(dst) : "out of memory");
    sqlite3_close(dst);
    return -1;
  }
  b = sqlite3_backup_init(dst, "main", src, "main");
  if (!b) {
    snprintf(why, size, "backup: %s", sqlite3_errmsg(dst));
    sqlite3_close(dst);
    return -1;
  }
  rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    snprintf(why, size, "backup: %s", sqlite3_errstr(rc));
    sqlite3_close(dst);
    return -1;
  }
  if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK ||
      check_ok(dst, "PRAGMA integrity_check", why, size) < 0) {
    if (!*why)
      snprintf(why, size, "%s", sqlite3_errmsg(dst));
    sqlite3_close(dst);
    return -1;
  }
  if (sqlite3_close(dst) != SQLITE_OK) {
    snprintf(why, size, "close failed");
    return -1;
  }
  if (fsync_path(path, 0) < 0) {
    snprintf(why, size, "fsync %s: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* An online backup into --backup-dir, verified before it counts: written
 * under a hidden temporary name, integrity_check'ed, then renamed. */
static int backup_write(struct ae *ae, char *name, size_t name_size, long long *bytes,
                        struct jerr *err)
{
  char tmp[PATH_MAX + 64], path[PATH_MAX + 64], why[256] = "";
  uint64_t ms = wall_ms(), t0 = now_ms();
  struct stat st;

  if (mkdir_p(ae->backup_dir) < 0) {
    log_error("backup_dir=%s cannot create: %s", ae->backup_dir, strerror(errno));
    jerr_set(err, "cannot create the backup directory");
    return 500;
  }
  do {
    backup_name(ms++, name, name_size);
    snprintf(path, sizeof path, "%s/%s", ae->backup_dir, name);
  } while (access(path, F_OK) == 0);
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp", ae->backup_dir, name);
  unlink(tmp);
  if (copy_database(ae->db, tmp, why, sizeof why) < 0 || rename(tmp, path) < 0) {
    log_error("backup=%s failed: %s", path, *why ? why : strerror(errno));
    unlink(tmp);
    jerr_set(err, "backup failed");
    return 500;
  }
  fsync_path(ae->backup_dir, 1);
  *bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
  snprintf(ae->last_backup, sizeof ae->last_backup, "%s", path);
  log_info("backup=%s bytes=%lld ms=%llu integrity=ok", path, *bytes,
           (unsigned long long)(now_ms() - t0));
  backup_prune(ae);
  return 0;
}

/* A backup restores only if it is sound and not from a newer nano. */
static int backup_valid(const char *path, char *why, size_t size)
{
  sqlite3 *db = NULL;
  int v = -1, ok;

  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    snprintf(why, size, "%s", db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return -1;
  }
  ok = check_ok(db, "PRAGMA integrity_check", why, size) == 0 && user_version(db, &v) == 0;
  if (ok && (v < 1 || v > SCHEMA_VERSION)) {
    snprintf(why, size, "schema version %d", v);
    ok = 0;
  }
  sqlite3_close(db);
  return ok ? 0 : -1;
}

/* The newest backup in dir that is valid, into path; 0 if found, 1 if
 * there is none. */
static int newest_valid_backup(const char *dir, char *path, size_t size)
{
  char **names, why[256];
  int n = backup_list(dir, &names), rc = 1;

  for (int i = 0; i < n && rc == 1; i++) {
    snprintf(path, size, "%s/%s", dir, names[i]);
    if (backup_valid(path, why, sizeof why) == 0)
      rc = 0;
    else
      log_warn("backup=%s skipped: not valid (%s)", path, why);
  }
  names_free(names, n > 0 ? n : 0);
  return rc;
}

/* Copy the backup to db_path through a temporary file and a rename, so
 * a crash halfway leaves no half database under the real name. */
static int restore_from(const char *backup, const char *db_path)
{
  char tmp[PATH_MAX + 16], why[256] = "", dir[PATH_MAX];
  sqlite3 *src = NULL;
  int ok;

  snprintf(tmp, sizeof tmp, "%s.restore", db_path);
  unlink(tmp);
  ok = sqlite3_open_v2(backup, &src, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
       copy_database(src, tmp, why, sizeof why) == 0 && rename(tmp, db_path) == 0;
  sqlite3_close(src);
  if (!ok) {
    log_error("backup=%s cannot restore: %s", backup, *why ? why : strerror(errno));
    unlink(tmp);
    return -1;
  }
  dir_of(db_path, dir, sizeof dir);
  fsync_path(dir, 1);
  return 0;
}

/* ---- the event ids readers were given ---------------------------------- */

/* Event ids only grow, across a restore too: a reader follows GET /events
 * with since=, so an id given out twice would be an event it never sees.
 * The highest id ae has given a reader (GET /events, /stats) is written
 * to --backup-dir/events-served before the answer goes out, beside the
 * backups, which outlive a lost database; at start, when the database's
 * last event is below it (restored from a backup, or a database lost
 * without one), the next event takes the id after it. */
#define SERVED_FILE "events-served"

static void served_path(const struct ae *ae, char *buf, size_t size)
{
  snprintf(buf, size, "%s/" SERVED_FILE, ae->backup_dir);
}

/* The recorded high-water mark, 0 when there is none. */
static long long served_read(const struct ae *ae)
{
  char path[PATH_MAX + 32], line[32], *end;
  long long v = 0;
  FILE *f;

  served_path(ae, path, sizeof path);
  if (!(f = fopen(path, "re")))
    return 0;
  if (!fgets(line, sizeof line, f) || (errno = 0, v = strtoll(line, &end, 10)) < 0 ||
      errno || (*end && *end != '\n')) {
    log_warn("file=%s unreadable; event ids continue from the database alone", path);
    v = 0;
  }
  fclose(f);
  return v;
}

/* A reader is about to be given ids up to id: record it first (a fixed
 * width line rewritten in place; fsync'ed with --sync full).  A failure
 * is logged once and does not fail the read. */
static void served_upto(struct ae *ae, long long id)
{
  char path[PATH_MAX + 32], line[32];
  int fd, n, ok;

  if (id <= ae->served)
    return;
  served_path(ae, path, sizeof path);
  n = snprintf(line, sizeof line, "%020lld\n", id);
  fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT && mkdir_p(ae->backup_dir) == 0)
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ok = fd >= 0 && pwrite(fd, line, (size_t)n, 0) == n && (!ae->sync_full || fsync(fd) == 0);
  if (fd >= 0)
    close(fd);
  if (!ok) {
    if (!ae->served_warned++)
      log_warn("file=%s cannot record the event ids served (%s): after a restore, "
               "ids could be given out again", path, strerror(errno));
    return;
  }
  if (ae->sync_full && !ae->served)
    fsync_path(ae->backup_dir, 1);
  ae->served = id;
}

/* The database's last event id, 0 when it has none, -1 on error. */
static long long events_last(struct ae *ae)
{
  sqlite3_stmt *s = stmt(ae, S_E_BOUNDS);
  long long v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 1) : -1;

  sqlite3_reset(s);
  return v;
}

/* ---- opening the database ------------------------------------------- */

enum db_state { DB_MISSING, DB_OK, DB_CORRUPT, DB_NEWER };

/* Look at the file before serving from it.  An empty file counts as
 * missing: SQLite would take it for a fresh database and lose nothing
 * visible, while a backup may hold the real data. */
static enum db_state db_inspect(const char *path, char *why, size_t size)
{
  struct stat st;
  sqlite3 *db = NULL;
  int v = 0;
  enum db_state state = DB_OK;

  if (stat(path, &st) < 0 || st.st_size == 0)
    return DB_MISSING;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    snprintf(why, size, "%s", db ? sqlite3_errmsg(db) : "cannot open");
    state = DB_CORRUPT;
  } else if (check_ok(db, "PRAGMA quick_check", why, size) < 0 || user_version(db, &v) < 0) {
    state = DB_CORRUPT;
  } else if (v > SCHEMA_VERSION) {
    snprintf(why, size, "schema version %d is newer than this nano's %d", v, SCHEMA_VERSION);
    state = DB_NEWER;
  }
  sqlite3_close(db);
  return state;
}

static int migrate(struct ae *ae)
{
  int v;

  if (user_version(ae->db, &v) < 0)
    return -1;
  for (; v < SCHEMA_VERSION; v++) {
    char *msg = NULL;
    if (sqlite3_exec(ae->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(ae->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(ae->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
      log_error("db=%s migration to version %d failed: %s", ae->db_path, v + 1,
                msg ? msg : "?");
      sqlite3_free(msg);
      sqlite3_exec(ae->db, "ROLLBACK", NULL, NULL, NULL);
      return -1;
    }
    log_info("db=%s schema_version=%d migrated", ae->db_path, v + 1);
  }
  return 0;
}

static int db_open(struct ae *ae)
{
  char *msg = NULL;
  const char *setup_sync = ae->sync_full ? "PRAGMA synchronous = FULL"
                                         : "PRAGMA synchronous = NORMAL";

  if (sqlite3_open_v2(ae->db_path, &ae->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      NULL) != SQLITE_OK) {
    log_error("db=%s cannot open: %s", ae->db_path,
              ae->db ? sqlite3_errmsg(ae->db) : "out of memory");
    return -1;
  }
  sqlite3_extended_result_codes(ae->db, 1);
  sqlite3_busy_timeout(ae->db, 5000);
  if (sqlite3_exec(ae->db, "PRAGMA journal_mode = WAL", NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(ae->db, "PRAGMA foreign_keys = ON", NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(ae->db, setup_sync, NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(ae->db, "PRAGMA temp_store = MEMORY", NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(ae->db, "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT, NULL, NULL,
                   &msg) != SQLITE_OK) {
    log_error("db=%s setup failed: %s", ae->db_path, msg ? msg : "?");
    sqlite3_free(msg);
    return -1;
  }
  if (migrate(ae) < 0)
    return -1;
  for (int i = 0; i < S_COUNT_OF_STMTS; i++)
    if (sqlite3_prepare_v3(ae->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                           &ae->stmt[i], NULL) != SQLITE_OK) {
      log_error("db=%s cannot prepare statement %d: %s", ae->db_path, i,
                sqlite3_errmsg(ae->db));
      return -1;
    }
  return 0;
}

static void db_close(struct ae *ae)
{
  for (int i = 0; i < S_COUNT_OF_STMTS; i++) {
    sqlite3_finalize(ae->stmt[i]);
    ae->stmt[i] = NULL;
  }
  if (ae->db && sqlite3_close(ae->db) != SQLITE_OK)
    log_error("db=%s close: %s", ae->db_path, sqlite3_errmsg(ae->db));
  ae->db = NULL;
}

/* Bring the log within --events-keep before serving (a database from
 * before retention, or a bound lowered since): in steps of their own
 * transactions, so the -wal stays small while millions of rows go. */
static int events_prune_backlog(struct ae *ae)
{
  struct jerr err;
  uint64_t t0 = now_ms(), before = ae->events_pruned;
  long long n;

  do {
    if (txn_begin(ae, &err))
      return -1;
    n = events_prune(ae, EVENTS_PRUNE_START_STEP);
    if (txn_end(ae, n < 0 ? 500 : 0, &err))
      return -1;
  } while (n == EVENTS_PRUNE_START_STEP);
  if (ae->events_pruned > before)
    log_info("db=%s events_pruned=%llu ms=%llu (--events-keep)", ae->db_path,
             (unsigned long long)(ae->events_pruned - before),
             (unsigned long long)(now_ms() - t0));
  return 0;
}

/* After the database is open: ids continue above every id a reader was
 * given.  A restore (backup: its path) is an event, whose id is the first
 * of the new ones; ids a reader saw that this database lacks (lost with
 * the database, or with the last commits in a power loss under --sync
 * normal) are skipped, said in the log and, without a restore, by an
 * event "gap". */
static int ids_continue(struct ae *ae, const char *backup)
{
  struct jerr err;
  long long last = events_last(ae), served = served_read(ae);
  char detail[96];

  if (last < 0) {
    log_error("db=%s cannot read the event ids: %s", ae->db_path, sqlite3_errmsg(ae->db));
    return -1;
  }
  ae->served = served;
  if (served > last) {
    ae->id_floor = served + 1;
    log_warn("db=%s events %lld..%lld were given to readers and are not in this database; "
             "new events start at id %lld", ae->db_path, last + 1, served, served + 1);
  }
  if (backup) {
    if (event_add(ae, "restore", NULL, NULL, NULL, NULL, NULL, backup, &err))
      log_warn("restore not logged as an event");
  } else if (ae->id_floor) {
    snprintf(detail, sizeof detail, "events %lld..%lld are not in this database",
             last + 1, served);
    if (event_add(ae, "gap", NULL, NULL, NULL, NULL, NULL, detail, &err))
      log_warn("gap not logged as an event");
  }
  return 0;
}

/* Open the database, restoring the newest valid backup first when the
 * file is missing or corrupt (paper Fig. 4: a restarted AE finds its data). */
static int db_start(struct ae *ae)
{
  char why[256] = "", backup[PATH_MAX + 32], dir[PATH_MAX];
  enum db_state state;
  int found;

  dir_of(ae->db_path, dir, sizeof dir);
  if (mkdir_p(dir) < 0) {
    log_error("db=%s cannot create directory %s: %s", ae->db_path, dir, strerror(errno));
    return -1;
  }
  state = db_inspect(ae->db_path, why, sizeof why);
  if (state == DB_NEWER) {
    log_error("db=%s %s; refusing to start", ae->db_path, why);
    return -1;
  }
  if (state == DB_CORRUPT)
    log_error("db=%s is corrupt: %s", ae->db_path, why);
  if (state == DB_OK)
    return db_open(ae) < 0 ? -1 : ids_continue(ae, NULL);
  found = newest_valid_backup(ae->backup_dir, backup, sizeof backup) == 0;
  if (state == DB_CORRUPT && !found) {
    /* Left where it is for a person: starting empty would hide the loss. */
    log_error("db=%s corrupt and no valid backup in %s; refusing to start",
              ae->db_path, ae->backup_dir);
    return -1;
  }
  /* A stale -wal next to a replaced file would be replayed into it. */
  move_db_aside(ae->db_path, state == DB_CORRUPT ? "corrupt" : "orphan");
  if (found) {
    if (restore_from(backup, ae->db_path) < 0)
      return -1;
    log_warn("db=%s RESTORED from backup=%s because the database was %s", ae->db_path,
             backup, state == DB_CORRUPT ? "corrupt" : "missing");
  } else {
    log_info("db=%s new database (no backup in %s)", ae->db_path, ae->backup_dir);
  }
  if (db_open(ae) < 0)
    return -1;
  return ids_continue(ae, found ? backup : NULL);
}

/* ---- JSON output ------------------------------------------------------ */

/* Adds that remember a failure, so a reply is never silently partial. */
struct jout { int oom; };

static void put_str(struct jout *j, cJSON *o, const char *key, const char *v)
{
  if (v && !cJSON_AddStringToObject(o, key, v))
    j->oom = 1;
}

static void put_num(struct jout *j, cJSON *o, const char *key, double v)
{
  if (!cJSON_AddNumberToObject(o, key, v))
    j->oom = 1;
}

static void put_bool(struct jout *j, cJSON *o, const char *key, int v)
{
  if (!cJSON_AddBoolToObject(o, key, v))
    j->oom = 1;
}

static void put_time(struct jout *j, cJSON *o, const char *key, int64_t ms)
{
  char buf[40];
  put_str(j, o, key, rfc3339((uint64_t)ms, buf, sizeof buf));
}

static cJSON *put_item(struct jout *j, cJSON *arr, cJSON *item)
{
  if (!item || !cJSON_AddItemToArray(arr, item)) {
    cJSON_Delete(item);
    j->oom = 1;
    return NULL;
  }
  return item;
}

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
    if (cJSON_IsString(v) && ble_normalize(v->valuestring, id->text) == 0)
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
  if (ble_normalize(ble, p->ble) < 0) {
    jerr_set(err, "field 'ble' must be a BLE address like AA:BB:CC:DD:EE:FF");
    return 400;
  }
  irk = NULL;
  if (json_get_string(o, "irk", JSON_OPTIONAL, 47, &irk, err) < 0)
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

/* Invitations go with the participant; an organizer stays until their
 * meetings are gone (a meeting keeps its organizer). */
static void delete_participant(struct nano_req *r, const char *id)
{
  struct ae *ae = r->arg;
  struct jerr err;
  sqlite3_stmt *s;
  int rc, code = txn_begin(ae, &err);

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

static void participant_one(struct nano_req *r)
{
  struct ae *ae = r->arg;
  const char *id = r->tail;
  struct jerr err;
  sqlite3_stmt *s;
  int rc;

  if (strchr(id, '/')) {
    req_reply_error(r, 404, "no resource /%.200s", r->path);
    return;
  }
  if (!uri_id_ok(r, "participant", id))
    return;
  if (r->method == COAP_REQUEST_PUT) {
    write_participant(r, id);
    return;
  }
  if (r->method == COAP_REQUEST_GET) {
    struct jout j = { 0 };
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
    return;
  }
  delete_participant(r, id);
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

static void delete_meeting(struct nano_req *r, const char *id)
{
  struct ae *ae = r->arg;
  struct jerr err;
  sqlite3_stmt *s;
  int code = txn_begin(ae, &err);

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

/* meetings/<id> and meetings/<id>/content */
static void meeting_one(struct nano_req *r)
{
  char id[256];                 /* a tail is shorter than the server's path */
  const char *slash = strchr(r->tail, '/');
  size_t n = slash ? (size_t)(slash - r->tail) : strlen(r->tail);
  int content = slash && !strcmp(slash, "/content");

  if (n >= sizeof id || (slash && !content)) {
    req_reply_error(r, 404, "no resource /%.200s", r->path);
    return;
  }
  memcpy(id, r->tail, n);
  id[n] = '\0';
  if (!uri_id_ok(r, "meeting", id))
    return;
  if (content && r->method != COAP_REQUEST_GET)
    req_reply_error(r, 405, "method not allowed on /%.200s", r->path);
  else if (content)
    get_content(r, id);
  else if (r->method == COAP_REQUEST_GET)
    reply_meeting(r, 205, id);
  else
    delete_meeting(r, id);
}

/* ---- auth ----------------------------------------------------------- */

struct auth_req {
  const char *location;
  const cJSON *ibeacons;      /* {"ADDR":"UUID/MAJOR/MINOR"}: badges heard */
  const char *building;       /* the location's building, or NULL */
  char building_buf[WIRE_ROOM_MAX + 1];
  int64_t now;
  cJSON *granted, *denied;
  int ngranted, ndenied;
};

/* The location's building (README, the building rule): when meetings
 * admit now in the room the location names, theirs (none if none of them
 * names one); else the location itself when a meeting names it as its
 * building; else none.  Only meetings admitting now say which building a
 * room is in, so a meeting for tomorrow with another (or a mistyped)
 * building cannot change today's decision. */
static int auth_building(struct ae *ae, struct auth_req *a, struct jerr *err)
{
  sqlite3_stmt *s = stmt(ae, S_ROOM_BUILDING);
  int rc;

  bind_text(s, 1, a->location);
  sqlite3_bind_int64(s, 2, ae->early_ms);
  sqlite3_bind_int64(s, 3, a->now);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW && col_text(s, 0)) {
    snprintf(a->building_buf, sizeof a->building_buf, "%s", col_text(s, 0));
    a->building = a->building_buf;
  }
  sqlite3_reset(s);
  if (rc == SQLITE_ROW)
    return 0;                   /* a room in use now: its building, or none */
  if (rc != SQLITE_DONE)
    return db_fail(ae, "room building", err);
  rc = exists(ae, S_LOC_IS_BUILDING, a->location);
  if (rc < 0)
    return db_fail(ae, "building", err);
  if (rc)
    a->building = a->location;
  return 0;
}

/* Why a known participant is denied, for the event log. */
static int deny_reason(struct ae *ae, struct auth_req *a, const char *participant,
                       char *detail, size_t size, struct jerr *err)
{
  sqlite3_stmt *s = stmt(ae, S_AUTH_NEXT);
  char t[40];
  int rc;

  bind_text(s, 1, participant);
  sqlite3_bind_int64(s, 2, a->now);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    int64_t opens = sqlite3_column_int64(s, 1) - ae->early_ms;
    if (opens > a->now)
      snprintf(detail, size, "too early: meeting '%s' admits from %s", col_text(s, 0),
               rfc3339((uint64_t)opens, t, sizeof t));
    else
      snprintf(detail, size, "meeting '%s' is in building '%s', not '%s'", col_text(s, 0),
               col_text(s, 2) ? col_text(s, 2) : "?", a->building ? a->building : "?");
  }
  sqlite3_reset(s);
  if (rc == SQLITE_ROW)
    return 0;
  if (rc != SQLITE_DONE)
    return db_fail(ae, "deny reason", err);
  rc = exists(ae, S_AUTH_ANY, participant);
  if (rc < 0)
    return db_fail(ae, "invitations", err);
  snprintf(detail, size, "%s", rc ? "meeting ended" : "not invited to any meeting");
  return 0;
}

static int auth_granted(struct auth_req *a, const char *ble, const char *participant,
                        const char *name, const char *meeting, const char *room,
                        int64_t end_ms, const char *resolved)
{
  struct jout j = { 0 };
  cJSON *g = cJSON_CreateObject();

  if (!g)
    return -1;
  put_str(&j, g, "participant", participant);
  put_str(&j, g, "name", name);
  put_str(&j, g, "meeting", meeting);
  put_str(&j, g, "room", room);
  put_time(&j, g, "end", end_ms);       /* when the meeting's visit ends */
  put_str(&j, g, "ble", ble);
  put_str(&j, g, "resolved", resolved);
  put_item(&j, a->granted, g);
  return j.oom ? -1 : 0;
}

/* The participant (id, name: the first two columns) that statement id
 * finds for key: 1 with participant and name set, 0 when none, else an
 * error code (what names the lookup in the log). */
static int participant_lookup(struct ae *ae, enum stmt_id id, const char *key,
                              char participant[WIRE_ID_MAX + 1], char name[WIRE_NAME_MAX + 1],
                              const char *what, struct jerr *err)
{
  sqlite3_stmt *s = stmt(ae, id);
  int rc;

  bind_text(s, 1, key);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    snprintf(participant, WIRE_ID_MAX + 1, "%s", col_text(s, 0));
    snprintf(name, WIRE_NAME_MAX + 1, "%s", col_text(s, 1));
  }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_fail(ae, what, err);
  return rc == SQLITE_ROW;
}

/* The participant whose IRK made ble, when ble is a resolvable private
 * address no participant has as theirs: from the cache of addresses
 * resolved lately, else by trying every stored IRK (irk.h).  1 with
 * participant and name set, 0 when nobody's, else an error code. */
static int rpa_resolve(struct ae *ae, const char *ble, char participant[WIRE_ID_MAX + 1],
                       char name[WIRE_NAME_MAX + 1], struct jerr *err)
{
  uint8_t addr[6];
  uint64_t now = now_ms();
  struct rpa_seen *slot = &ae->rpa[0];
  sqlite3_stmt *s;
  int rc, found = 0;

  if (bt_addr_parse(ble, addr) < 0 || !irk_is_rpa(addr))
    return 0;
  for (int i = 0; i < AE_RPA_CACHE; i++) {
    struct rpa_seen *c = &ae->rpa[i];
    if (c->ble[0] && now - c->seen_ms > AE_RPA_FORGET_MS)
      memset(c, 0, sizeof *c);
    if (c->ble[0] && !strcmp(c->ble, ble)) {
      c->seen_ms = now;
      ae->rpa_hits++;
      return participant_lookup(ae, S_P_GET, c->participant, participant, name,
                                "auth resolve", err);
    }
    if (c->seen_ms < slot->seen_ms)
      slot = c;                 /* the least lately seen, to reuse */
  }
  ae->rpa_scans++;
  s = stmt(ae, S_P_IRKS);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    if (sqlite3_column_bytes(s, 2) == 16 &&
        irk_resolves(sqlite3_column_blob(s, 2), addr)) {
      snprintf(participant, WIRE_ID_MAX + 1, "%s", col_text(s, 0));
      snprintf(name, WIRE_NAME_MAX + 1, "%s", col_text(s, 1));
      found = 1;
      break;
    }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_fail(ae, "auth resolve", err);
  if (found) {
    ae->rpa_resolved++;
    snprintf(slot->ble, sizeof slot->ble, "%.17s", ble);
    snprintf(slot->participant, sizeof slot->participant, "%s", participant);
    slot->seen_ms = now;
  }
  return found;
}

/* The participant whose badge beacon the address carried, if the request
 * says it heard one there: 1 with participant and name set, 0 when
 * nobody's, else an error code. */
static int beacon_resolve(struct ae *ae, struct auth_req *a, const char *ble,
                          char participant[WIRE_ID_MAX + 1], char name[WIRE_NAME_MAX + 1],
                          struct jerr *err)
{
  const cJSON *v = NULL, *el;
  char key[IBEACON_KEY_MAX];

  cJSON_ArrayForEach(el, a->ibeacons) {
    char norm[18];
    if (el->string && ble_normalize(el->string, norm) == 0 && !strcmp(norm, ble))
      v = el;
  }
  if (!v || ibeacon_key_parse(v, key, NULL, 0) < 0)
    return 0;
  return participant_lookup(ae, S_P_BY_BEACON, key, participant, name, "auth beacon", err);
}

/* One decision for one address, logged as one event row. */
static int auth_decide(struct ae *ae, struct auth_req *a, const char *ble, struct jerr *err)
{
  char participant[WIRE_ID_MAX + 1] = "", name[WIRE_NAME_MAX + 1] = "";
  char meeting[WIRE_ID_MAX + 1] = "", room[WIRE_ROOM_MAX + 1] = "", detail[256] = "";
  sqlite3_stmt *s;
  const char *resolved = NULL;
  int64_t end_ms = 0;
  int rc, code;

  rc = participant_lookup(ae, S_P_BY_BLE, ble, participant, name, "auth participant", err);
  if (rc < 0 || rc > 1)
    return rc;
  rc = rc ? SQLITE_ROW : SQLITE_DONE;
  if (rc == SQLITE_DONE) {
    int r = beacon_resolve(ae, a, ble, participant, name, err);
    if (r == 1)
      resolved = "ibeacon";
    else if (!r && (r = rpa_resolve(ae, ble, participant, name, err)) == 1)
      resolved = "irk";
    if (r < 0 || r > 1)
      return r;
    rc = r ? SQLITE_ROW : SQLITE_DONE;
  }
  if (rc == SQLITE_DONE) {
    snprintf(detail, sizeof detail, "unknown address");
  } else {
    s = stmt(ae, S_AUTH_PICK);
    bind_text(s, 1, participant);
    sqlite3_bind_int64(s, 2, ae->early_ms);
    sqlite3_bind_int64(s, 3, a->now);
    bind_text(s, 4, a->building);
    bind_text(s, 5, a->location);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      snprintf(meeting, sizeof meeting, "%s", col_text(s, 0));
      snprintf(room, sizeof room, "%s", col_text(s, 1));
      end_ms = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      return db_fail(ae, "auth meeting", err);
    if (rc == SQLITE_DONE && (code = deny_reason(ae, a, participant, detail, sizeof detail, err)))
      return code;
  }
  if (*meeting) {
    snprintf(detail, sizeof detail, "room %s%s%s%s", room, resolved ? " (resolved by " : "",
             resolved ? resolved : "", resolved ? ")" : "");
    if (auth_granted(a, ble, participant, name, meeting, room, end_ms, resolved) < 0) {
      jerr_set(err, "out of memory");
      return 500;
    }
    a->ngranted++;
  } else {
    struct jout j = { 0 };
    put_item(&j, a->denied, cJSON_CreateString(ble));
    if (j.oom) {
      jerr_set(err, "out of memory");
      return 500;
    }
    a->ndenied++;
  }
  return event_add(ae, "auth", a->location, ble, *participant ? participant : NULL,
                   *meeting ? meeting : NULL, *meeting ? "granted" : "denied", detail, err);
}

/* The addresses of the request, checked and upper-cased, each once. */
static int auth_addresses(const cJSON *list, char addrs[][18], int *n, struct jerr *err)
{
  const cJSON *el;
  char one[18];

  *n = 0;
  cJSON_ArrayForEach(el, list) {
    int dup = 0;
    if (ble_normalize(el->valuestring, one) < 0) {
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
    if (ble_normalize(el->string, norm) < 0) {
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
 * its rows) and its answer waits, a separate response (server.h,
 * req_defer).  At the end of the loop's turn (loop.h: up to 64 queued
 * datagrams later) the group commits once and every answer goes out,
 * or 5.00 for all if the commit failed: nothing is answered that is not
 * stored.  A request alone in its turn is decided and committed at once
 * and answered on the ACK as before: no extra datagram and no wait when
 * the door is quiet. */
#define AUTH_GROUP_MAX 64
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
  if (req_defer(r, AUTH_GROUP_WAIT_MS, w) < 0) {   /* answered 5.03 or 5.00 */
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
  out = cJSON_CreateObject();
  a.granted = cJSON_AddArrayToObject(out, "granted");
  a.denied = cJSON_AddArrayToObject(out, "denied");
  a.now = (int64_t)wall_ms();
  if (!a.granted || !a.denied) {
    jerr_set(&err, "out of memory");
    code = 500;
  } else if (ae->batch_open || loop_coap_pending()) {
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

/* A query number: digits only, within [min, max]. */
static int query_number(struct nano_req *r, const char *name, long long def, long long min,
                        long long max, long long *out)
{
  char buf[24], *end;
  int rc = req_query(r, name, buf, sizeof buf);

  *out = def;
  if (rc == 0)
    return 0;
  if (rc > 0 && buf[0] >= '0' && buf[0] <= '9') {
    errno = 0;
    *out = strtoll(buf, &end, 10);
    if (!errno && !*end && *out >= min && *out <= max)
      return 0;
  }
  req_reply_error(r, 400, "query '%s' must be an integer in [%lld, %lld]", name, min, max);
  return -1;
}

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

  if (query_number(r, "since", 0, 0, INT64_MAX / 2, &since) < 0 ||
      query_number(r, "limit", EVENTS_DEFAULT_LIMIT, 1, EVENTS_MAX_LIMIT, &limit) < 0)
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
  server_route(s, "participants/*", 0, participant_one, NULL, participant_one,
               participant_one, ae);
  server_route(s, "meetings", 0, get_meetings, post_meetings, NULL, NULL, ae);
  server_route(s, "meetings/*", 0, meeting_one, NULL, NULL, meeting_one, ae);
  server_route(s, "events", 0, get_events, NULL, NULL, NULL, ae);
  server_route(s, "backup", 0, NULL, post_backup, NULL, NULL, ae);
  server_set_stats_hook(s, ae_stats, ae);
  server_set_health_hook(s, ae_health, ae);
  server_set_request_hook(s, auth_before_request, ae);
  ae->srv = s;
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
  log_info("db=%s sync=%s early_ms=%lld events_keep=%s backup_dir=%s backup_interval_ms=%lld "
           "ready", ae->db_path, ae->sync_full ? "full" : "normal", ae->early_ms,
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
