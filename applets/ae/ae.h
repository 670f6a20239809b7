/* ae.h - what the files of ae (the Authentication Engine) share; the
 * folder's internal header, not the core's.
 *
 *   struct ae ae = { .db_path = ":memory:", .events_keep_rows = 100000 };
 *   db_open(&ae);                              the schema and statements
 *   struct auth_req a = { .location = "room-1", .now = wall_ms(),
 *                         .granted = cJSON_CreateArray(), .denied = ... };
 *   txn_begin(&ae, &err);
 *   auth_building(&ae, &a, &err);              the location's building
 *   auth_decide(&ae, &a, "AA:BB:CC:DD:EE:FF", &err);    granted or denied
 *   txn_end(&ae, 0, &err);  db_close(&ae);
 *
 * ae is cut along its concerns, as busybox keeps udhcp:
 *   store.c   the schema and its migrations, the prepared statements,
 *             transactions, the event log (its retention, and the ids
 *             readers were given)
 *   backup.c  verified online backups, their pruning, the restore of a
 *             missing or corrupt database at start
 *   rule.c    the decision: who an address is (their own, an identity, an
 *             IRK's private address, a badge beacon), the building rule,
 *             which meeting admits them now, or why not; it needs a struct
 *             ae with an open database and nothing of the server
 *   ae.c      the role: its resources (one handler per method), the /auth
 *             group commit, the seed loader, the options, main and the
 *             backup at SIGTERM
 */
#ifndef NANO_AE_H
#define NANO_AE_H

#include "nano.h"
#include "wire.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>

/* ---- prepared statements (their SQL: store.c's stmt_sql) ------------- */

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

/* ---- the role's state ------------------------------------------------- */

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
  int group;                    /* --group-commit: 1 on, 0 off */
  struct auth_wait *batch;      /* decided, not committed yet */
  int batch_open, batch_len;
  struct auth_wait *waiting;    /* committed (or failed), not answered */
  uint64_t batches, batched;    /* group commits, and the requests in them */
};

/* One /auth request's decisions: auth_building fills building, each
 * auth_decide appends to granted or denied. */
struct auth_req {
  const char *location;
  const cJSON *ibeacons;      /* {"ADDR":"UUID/MAJOR/MINOR"}: badges heard */
  const char *building;       /* the location's building, or NULL */
  char building_buf[WIRE_ROOM_MAX + 1];
  int64_t now;
  cJSON *granted, *denied;
  int ngranted, ndenied;
};

/* ---- store.c ---------------------------------------------------------- */

extern const int schema_version;  /* the migrations: user_version when current */
/* Open ae->db_path (":memory:" too), migrate it, prepare the statements. */
int db_open(struct ae *ae);
void db_close(struct ae *ae);
int txn_begin(struct ae *ae, struct jerr *err);
/* Commit when code is 0, else roll back; code, or 500 if the commit failed. */
int txn_end(struct ae *ae, int code, struct jerr *err);
/* One row of the event log (trimmed to --events-keep); 0 or 500. */
int event_add(struct ae *ae, const char *kind, const char *location,
              const char *ble, const char *participant, const char *meeting,
              const char *decision, const char *detail, struct jerr *err);
int events_prune_backlog(struct ae *ae);
/* After opening: event ids go on above every id a reader was given. */
int ids_continue(struct ae *ae, const char *backup);
/* A reader is about to be given event ids up to id: recorded first. */
void served_upto(struct ae *ae, long long id);
int check_ok(sqlite3 *db, const char *sql, char *why, size_t size);
int user_version(sqlite3 *db, int *v);

/* ---- backup.c --------------------------------------------------------- */

int fsync_path(const char *path, int is_dir);
int mkdir_p(const char *dir);
int backup_write(struct ae *ae, char *name, size_t name_size, long long *bytes,
                 struct jerr *err);
/* Open --db, restoring the newest valid backup when it is missing or
 * corrupt. */
int db_start(struct ae *ae);

/* ---- rule.c ----------------------------------------------------------- */

/* a->building from a->location at a->now; 0 or an error code. */
int auth_building(struct ae *ae, struct auth_req *a, struct jerr *err);
/* One decision for ble (upper case, as post_auth gives it), appended to
 * a->granted or a->denied and logged as one event row; 0 or an error
 * code with err saying why.  Inside a transaction. */
int auth_decide(struct ae *ae, struct auth_req *a, const char *ble, struct jerr *err);

/* ---- SQLite helpers (every file's) ------------------------------------ */

/* A statement ready for new bindings. */
static inline sqlite3_stmt *stmt(struct ae *ae, enum stmt_id id)
{
  sqlite3_stmt *s = ae->stmt[id];
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return s;
}

static inline void bind_text(sqlite3_stmt *s, int i, const char *v)
{
  if (v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

static inline const char *col_text(sqlite3_stmt *s, int i)
{
  return (const char *)sqlite3_column_text(s, i);
}

/* err says why; returns code, so error paths read "return fail(...)". */
static inline int fail(struct jerr *err, int code, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
static inline int fail(struct jerr *err, int code, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}

/* A database failure: logged in full, answered 5.00 in short. */
static inline int db_fail(struct ae *ae, const char *what, struct jerr *err)
{
  log_error("db=%s op=%s error=\"%s\"", ae->db_path, what, sqlite3_errmsg(ae->db));
  jerr_set(err, "database error");
  return 500;
}

/* Run a statement that returns no rows; SQLITE_DONE or the error code. */
static inline int step_done(sqlite3_stmt *s)
{
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

/* 1 if the query bound to s has a row (s is reset), 0 if not, -1 on error. */
static inline int has_row(sqlite3_stmt *s)
{
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static inline int exists(struct ae *ae, enum stmt_id id, const char *key)
{
  sqlite3_stmt *s = stmt(ae, id);
  bind_text(s, 1, key);
  return has_row(s);
}

/* ---- JSON output (the rule's grants and the resources' answers) ------- */

/* Adds that remember a failure, so a reply is never silently partial. */
struct jout { int oom; };

static inline void put_str(struct jout *j, cJSON *o, const char *key, const char *v)
{
  if (v && !cJSON_AddStringToObject(o, key, v))
    j->oom = 1;
}

static inline void put_num(struct jout *j, cJSON *o, const char *key, double v)
{
  if (!cJSON_AddNumberToObject(o, key, v))
    j->oom = 1;
}

static inline void put_bool(struct jout *j, cJSON *o, const char *key, int v)
{
  if (!cJSON_AddBoolToObject(o, key, v))
    j->oom = 1;
}

static inline void put_time(struct jout *j, cJSON *o, const char *key, int64_t ms)
{
  char buf[40];
  put_str(j, o, key, rfc3339((uint64_t)ms, buf, sizeof buf));
}

static inline cJSON *put_item(struct jout *j, cJSON *arr, cJSON *item)
{
  if (!item || !cJSON_AddItemToArray(arr, item)) {
    cJSON_Delete(item);
    j->oom = 1;
    return NULL;
  }
  return item;
}

#endif
